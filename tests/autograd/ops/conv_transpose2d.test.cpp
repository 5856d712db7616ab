#include <catch2/catch.hpp>

#include <array>
#include <vector>

#include "maunet/autograd/ops/conv2d.hpp"
#include "maunet/autograd/ops/conv_transpose2d.hpp"
#include "support/conv_outputs.hpp"
#include "support/gradcheck.hpp"
#include "support/random_tensor.hpp"

using namespace maunet;
using maunet::testing::gradcheck;
using maunet::testing::layer_outputs;
using maunet::testing::max_abs_diff;

namespace {

using maunet::testing::random;

// The direct definition as a scatter: every input pixel x[n,c,i,j] adds x * w[c,o,u,v] onto
// y[n,o,s*i+u-p,s*j+v-p] when that lands inside the output.
Tensor<double> naive_conv_transpose2d(const Tensor<double>& x, const Tensor<double>& w, const Tensor<double>* b,
                                      Index s, Index p, Index op) {
    const Index N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
    const Index O = w.dim(1), kH = w.dim(2), kW = w.dim(3);
    const Index Ho = (H - 1) * s - 2 * p + kH + op, Wo = (W - 1) * s - 2 * p + kW + op;
    Tensor<double> y(Shape{N, O, Ho, Wo});
    for (Index n = 0; n < N; ++n)
        for (Index o = 0; o < O; ++o)
            for (Index h = 0; h < Ho; ++h)
                for (Index ww = 0; ww < Wo; ++ww) y(n, o, h, ww) = b ? (*b)(o) : 0.0;
    for (Index n = 0; n < N; ++n)
        for (Index c = 0; c < C; ++c)
            for (Index i = 0; i < H; ++i)
                for (Index j = 0; j < W; ++j)
                    for (Index o = 0; o < O; ++o)
                        for (Index u = 0; u < kH; ++u)
                            for (Index v = 0; v < kW; ++v) {
                                const Index h = s * i + u - p, ww = s * j + v - p;
                                if (h >= 0 && h < Ho && ww >= 0 && ww < Wo) y(n, o, h, ww) += x(n, c, i, j) * w(c, o, u, v);
                            }
    return y;
}

double dot(const Tensor<double>& a, const Tensor<double>& b) {
    double s = 0;
    for (Index i = 0; i < a.numel(); ++i) s += a[i] * b[i];
    return s;
}

struct Case {
    Index batch, c_in, c_out, h, w, kh, kw, stride, padding, output_padding;
};

std::vector<Case> forward_cases() {
    std::vector<Case> cases;
    const std::vector<std::array<Index, 2>> kernels = {{1, 1}, {2, 2}, {3, 3}, {5, 5}, {2, 3}};
    const std::vector<std::array<Index, 2>> images = {{7, 9}, {3, 4}, {1, 1}};
    const std::vector<std::array<Index, 3>> shapes = {{1, 1, 2}, {3, 2, 4}, {3, 4, 1}};  // batch, c_in, c_out
    for (const auto& k : kernels)
        for (const auto& im : images)
            for (const auto& bc : shapes)
                for (Index s : {1, 2, 3})
                    for (Index p : {0, 1, 2})
                        for (Index op = 0; op < s; ++op) {
                            const Index ho = (im[0] - 1) * s - 2 * p + k[0] + op;
                            const Index wo = (im[1] - 1) * s - 2 * p + k[1] + op;
                            if (ho < 1 || wo < 1) continue;
                            cases.push_back({bc[0], bc[1], bc[2], im[0], im[1], k[0], k[1], s, p, op});
                        }
    return cases;
}

}  // namespace

TEST_CASE("conv_transpose2d forward matches a naive scatter", "[ops][conv_transpose2d]") {
    const auto cases = forward_cases();
    REQUIRE(cases.size() > 300);
    std::uint64_t seed = 200;
    for (const Case& t : cases) {
        const Tensor<double> x = random(Shape{t.batch, t.c_in, t.h, t.w}, ++seed);
        const Tensor<double> w = random(Shape{t.c_in, t.c_out, t.kh, t.kw}, ++seed);
        const Tensor<double> b = random(Shape{t.c_out}, ++seed);
        const ConvTranspose2dOptions opt{t.stride, t.padding, t.output_padding};
        INFO("x " << x.shape() << ", w " << w.shape() << ", stride " << t.stride << ", padding " << t.padding
                  << ", output_padding " << t.output_padding);
        const Tensor<double> expected = naive_conv_transpose2d(x, w, &b, t.stride, t.padding, t.output_padding);
        const Tensor<double> yd = conv_transpose2d(Var<double>(x), Var<double>(w), Var<double>(b), opt).value();
        REQUIRE(yd.shape() == expected.shape());
        CHECK(max_abs_diff(yd, expected) < 1e-12);
        const Tensor<double> yn = conv_transpose2d(Var<double>(x), Var<double>(w), Var<double>(), opt).value();
        CHECK(max_abs_diff(yn, naive_conv_transpose2d(x, w, nullptr, t.stride, t.padding, t.output_padding)) < 1e-12);
        const Tensor<float> yf = conv_transpose2d(Var<float>(x.cast<float>()), Var<float>(w.cast<float>()),
                                                  Var<float>(b.cast<float>()), opt)
                                     .value();
        CHECK(max_abs_diff(yf.cast<double>(), expected) < 1e-5);
    }
}

TEST_CASE("conv_transpose2d on hand-computed values", "[ops][conv_transpose2d]") {
    // A 2x2 all-ones kernel with stride 2 repeats every pixel into a 2x2 block (nearest upsampling).
    Var<float> x(Tensor<float>(Shape{1, 1, 2, 2}, {1, 2, 3, 4}));
    Var<float> ones(Tensor<float>::ones(Shape{1, 1, 2, 2}));
    const Tensor<float> y = conv_transpose2d(x, ones, Var<float>(), ConvTranspose2dOptions{2, 0, 0}).value();
    CHECK(y.shape() == Shape{1, 1, 4, 4});
    const std::vector<float> expected = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    CHECK(std::vector<float>(y.begin(), y.end()) == expected);

    // One pixel of value 2 with a [1 2; 3 4] kernel, stride 1, bias 1: the kernel doubled, plus 1.
    Var<float> one_pixel(Tensor<float>(Shape{1, 1, 1, 1}, {2}));
    Var<float> k(Tensor<float>(Shape{1, 1, 2, 2}, {1, 2, 3, 4}));
    const Tensor<float> z = conv_transpose2d(one_pixel, k, Var<float>(Tensor<float>(Shape{1}, {1}))).value();
    CHECK(std::vector<float>(z.begin(), z.end()) == std::vector<float>{3, 5, 7, 9});

    // Stride 2, 3x3 ones, padding 1, output_padding 1 on a 2x2 input of ones: output 4x4 (PyTorch's
    // "same x2" upsampling). Overlaps where windows of neighbouring pixels meet: row/column 1 is shared.
    //   per axis, the count of pixels covering output index t in 0..3: t=0:1 t=1:2 t=2:1 t=3:1
    Var<float> x1(Tensor<float>::ones(Shape{1, 1, 2, 2}));
    Var<float> k3(Tensor<float>::ones(Shape{1, 1, 3, 3}));
    const Tensor<float> u = conv_transpose2d(x1, k3, Var<float>(), ConvTranspose2dOptions{2, 1, 1}).value();
    CHECK(u.shape() == Shape{1, 1, 4, 4});
    const float count[4] = {1, 2, 1, 1};
    for (Index i = 0; i < 4; ++i)
        for (Index j = 0; j < 4; ++j) CHECK(u(0, 0, i, j) == count[i] * count[j]);
}

TEST_CASE("conv_transpose2d is the adjoint of conv2d", "[ops][conv_transpose2d]") {
    // <conv2d(z, W), x> == <z, conv_transpose2d(x, W)> for x [N, C_in, H, W], W [C_in, C_out, kH, kW]
    // and z of conv_transpose2d's output shape [N, C_out, H_out, W_out].
    const std::vector<Case> cases = {
        {1, 1, 1, 4, 4, 3, 3, 1, 0, 0}, {2, 3, 2, 5, 6, 3, 3, 2, 1, 1}, {3, 2, 4, 7, 9, 2, 3, 3, 2, 2},
        {2, 4, 3, 3, 5, 5, 5, 2, 2, 0}, {1, 2, 2, 4, 3, 1, 1, 1, 0, 0}, {2, 2, 3, 3, 3, 3, 2, 3, 0, 1},
    };
    std::uint64_t seed = 300;
    for (const Case& t : cases) {
        const ConvTranspose2dOptions opt{t.stride, t.padding, t.output_padding};
        const Tensor<double> x = random(Shape{t.batch, t.c_in, t.h, t.w}, ++seed);
        const Tensor<double> w = random(Shape{t.c_in, t.c_out, t.kh, t.kw}, ++seed);
        const Tensor<double> y = conv_transpose2d(Var<double>(x), Var<double>(w), Var<double>(), opt).value();
        const Tensor<double> z = random(y.shape(), ++seed);
        const Tensor<double> cz =
            conv2d(Var<double>(z), Var<double>(w), Var<double>(), Conv2dOptions{t.stride, t.padding}).value();
        INFO("x " << x.shape() << ", w " << w.shape() << ", y " << y.shape() << ", conv2d(z) " << cz.shape());
        REQUIRE(cz.shape() == x.shape());
        CHECK(dot(cz, x) == Approx(dot(z, y)).epsilon(1e-12));
    }
}

TEST_CASE("conv_transpose2d backward matches finite differences for x, weight and bias",
          "[ops][conv_transpose2d][gradcheck]") {
    using V = std::vector<Var<double>>;
    const std::vector<Case> cases = {
        {1, 1, 1, 3, 3, 3, 3, 1, 0, 0},  // smallest
        {2, 3, 2, 4, 5, 2, 2, 2, 0, 0},  // the U-Net upsampler: 2x2, stride 2
        {3, 2, 3, 3, 4, 3, 3, 2, 1, 1},  // "same x2" with output_padding
        {2, 2, 2, 3, 3, 2, 3, 3, 2, 2},  // non-square kernel, stride 3, padding 2
        {2, 4, 2, 3, 5, 1, 1, 1, 0, 0},  // pointwise
        {1, 2, 2, 2, 3, 5, 5, 1, 1, 0},  // 5x5
    };
    std::uint64_t seed = 700;
    for (const Case& t : cases) {
        const ConvTranspose2dOptions opt{t.stride, t.padding, t.output_padding};
        const Tensor<double> x = random(Shape{t.batch, t.c_in, t.h, t.w}, ++seed);
        const Tensor<double> w = random(Shape{t.c_in, t.c_out, t.kh, t.kw}, ++seed);
        const Tensor<double> b = random(Shape{t.c_out}, ++seed);
        auto with_bias = gradcheck([opt](const V& v) { return conv_transpose2d(v[0], v[1], v[2], opt); }, {x, w, b});
        INFO("x " << x.shape() << ", w " << w.shape() << ", stride " << t.stride << ", padding " << t.padding
                  << ", output_padding " << t.output_padding << "\n"
                  << with_bias.summary);
        CHECK(with_bias.max_error() < 1e-6);
        auto no_bias =
            gradcheck([opt](const V& v) { return conv_transpose2d(v[0], v[1], Var<double>(), opt); }, {x, w});
        INFO(no_bias.summary);
        CHECK(no_bias.max_error() < 1e-6);
        auto weight_only = gradcheck([opt](const V& v) { return conv_transpose2d(v[0], v[1], v[2], opt); }, {x, w, b},
                                     2, 1e-6, {false, true, false});
        CHECK(weight_only.max_error() < 1e-6);
        auto input_only = gradcheck([opt](const V& v) { return conv_transpose2d(v[0], v[1], v[2], opt); }, {x, w, b},
                                    3, 1e-6, {true, false, false});
        CHECK(input_only.max_error() < 1e-6);
    }
}

TEST_CASE("conv_transpose2d gives the same results for any thread count", "[ops][conv_transpose2d][threads]") {
    const Tensor<double> x = random(Shape{5, 3, 4, 5}, 1), w = random(Shape{3, 2, 2, 2}, 2), b = random(Shape{2}, 3);
    const Tensor<double> seed_grad = random(Shape{5, 2, 8, 10}, 4);
    const int before = num_threads();
    auto run = [&](int threads) {
        set_num_threads(threads);
        return layer_outputs([](const Var<double>& xv, const Var<double>& wv, const Var<double>& bv) {
            return conv_transpose2d(xv, wv, bv, ConvTranspose2dOptions{2, 0, 0});
        }, x, w, b, seed_grad);
    };
    const auto one = run(1), two = run(2), two_again = run(2), three = run(3);
    set_num_threads(before);
    for (std::size_t i = 0; i < 4; ++i) {
        CHECK(max_abs_diff(one[i], two[i]) < 1e-12);
        CHECK(max_abs_diff(one[i], three[i]) < 1e-12);
        CHECK(max_abs_diff(two[i], two_again[i]) == 0.0);
    }
}

TEST_CASE("conv_transpose2d rejects bad shapes and arguments with clear messages", "[ops][conv_transpose2d][errors]") {
    Var<float> x(Tensor<float>(Shape{2, 3, 4, 4}));
    Var<float> w(Tensor<float>(Shape{3, 5, 2, 2}));
    Var<float> b(Tensor<float>(Shape{5}));
    Var<float> none;
    CHECK_NOTHROW(conv_transpose2d(x, w, b, ConvTranspose2dOptions{2, 0, 0}));

    CHECK_THROWS_AS(conv_transpose2d(Var<float>(Tensor<float>(Shape{3, 4, 4})), w, b), ShapeError);
    CHECK_THROWS_WITH(conv_transpose2d(Var<float>(Tensor<float>(Shape{3, 4, 4})), w, b),
                      Catch::Contains("conv_transpose2d: input must have rank 4 [N, C_in, H, W], got shape [3, 4, 4]"));
    CHECK_THROWS_WITH(conv_transpose2d(x, Var<float>(Tensor<float>(Shape{3, 5, 2})), b),
                      Catch::Contains("conv_transpose2d: weight must have rank 4"));
    CHECK_THROWS_AS(conv_transpose2d(x, Var<float>(Tensor<float>(Shape{5, 3, 2, 2})), none), ShapeError);
    CHECK_THROWS_WITH(conv_transpose2d(x, Var<float>(Tensor<float>(Shape{5, 3, 2, 2})), none),
                      Catch::Contains("conv_transpose2d: input [2, 3, 4, 4] has 3 channels, weight [5, 3, 2, 2] expects 5"));
    CHECK_THROWS_AS(conv_transpose2d(x, w, Var<float>(Tensor<float>(Shape{3}))), ShapeError);
    CHECK_THROWS_WITH(conv_transpose2d(x, w, Var<float>(Tensor<float>(Shape{3}))),
                      Catch::Contains("conv_transpose2d: bias has shape [3], expected [5]"));
    CHECK_THROWS_AS(conv_transpose2d(x, w, b, ConvTranspose2dOptions{0, 0, 0}), ArgumentError);
    CHECK_THROWS_WITH(conv_transpose2d(x, w, b, ConvTranspose2dOptions{0, 0, 0}),
                      Catch::Contains("stride must be >= 1, got 0"));
    CHECK_THROWS_WITH(conv_transpose2d(x, w, b, ConvTranspose2dOptions{1, -1, 0}),
                      Catch::Contains("padding must be >= 0, got -1"));
    CHECK_THROWS_AS(conv_transpose2d(x, w, b, ConvTranspose2dOptions{2, 0, 2}), ArgumentError);
    CHECK_THROWS_WITH(conv_transpose2d(x, w, b, ConvTranspose2dOptions{2, 0, 2}),
                      Catch::Contains("output_padding must be >= 0 and smaller than stride 2, got 2"));
    CHECK_THROWS_WITH(conv_transpose2d(x, w, b, ConvTranspose2dOptions{1, 0, -1}),
                      Catch::Contains("output_padding must be >= 0"));
    Var<float> pixel(Tensor<float>(Shape{1, 3, 1, 1}));
    CHECK_THROWS_AS(conv_transpose2d(pixel, w, b, ConvTranspose2dOptions{1, 1, 0}), ArgumentError);
    CHECK_THROWS_WITH(conv_transpose2d(pixel, w, b, ConvTranspose2dOptions{1, 1, 0}),
                      Catch::Contains("conv_transpose2d: output would be 0x0"));
    CHECK_THROWS_WITH(conv_transpose2d(Var<float>(Tensor<float>(Shape{2, 3, 0, 4})), w, b),
                      Catch::Contains("conv_transpose2d: input [2, 3, 0, 4] is empty"));
    CHECK_THROWS_WITH(conv_transpose2d(x, Var<float>(Tensor<float>(Shape{3, 0, 2, 2})), none),
                      Catch::Contains("conv_transpose2d: weight [3, 0, 2, 2] is empty"));
}
