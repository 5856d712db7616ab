#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "maunet/autograd/ops/activation.hpp"
#include "maunet/autograd/ops/conv2d.hpp"
#include "maunet/core/arena.hpp"
#include "support/conv_outputs.hpp"
#include "support/gradcheck.hpp"
#include "support/random_tensor.hpp"

using namespace maunet;
using maunet::testing::conv2d_outputs;
using maunet::testing::gradcheck;
using maunet::testing::max_abs_diff;

namespace {

using maunet::testing::random;

// The direct definition, seven loops, in double:
// y[n,o,i,j] = b[o] + sum_{c,u,v} w[o,c,u,v] x[n,c,s*i+u-p,s*j+v-p] (x = 0 outside the image).
Tensor<double> naive_conv2d(const Tensor<double>& x, const Tensor<double>& w, const Tensor<double>* b, Index s,
                            Index p) {
    const Index N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
    const Index O = w.dim(0), kH = w.dim(2), kW = w.dim(3);
    const Index Ho = (H + 2 * p - kH) / s + 1, Wo = (W + 2 * p - kW) / s + 1;
    Tensor<double> y(Shape{N, O, Ho, Wo});
    for (Index n = 0; n < N; ++n)
        for (Index o = 0; o < O; ++o)
            for (Index i = 0; i < Ho; ++i)
                for (Index j = 0; j < Wo; ++j) {
                    double acc = b ? (*b)(o) : 0.0;
                    for (Index c = 0; c < C; ++c)
                        for (Index u = 0; u < kH; ++u)
                            for (Index v = 0; v < kW; ++v) {
                                const Index h = s * i + u - p, ww = s * j + v - p;
                                if (h >= 0 && h < H && ww >= 0 && ww < W) acc += w(o, c, u, v) * x(n, c, h, ww);
                            }
                    y(n, o, i, j) = acc;
                }
    return y;
}

// The weight gradient by its definition, in double:
// dW[o,c,u,v] = sum_{n,i,j} G[n,o,i,j] x[n,c,s*i+u-p,s*j+v-p] (x = 0 outside the image).
Tensor<double> naive_conv2d_weight_grad(const Tensor<double>& x, const Tensor<double>& g, Index kH, Index kW, Index s,
                                        Index p) {
    const Index N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
    const Index O = g.dim(1), Ho = g.dim(2), Wo = g.dim(3);
    Tensor<double> dw(Shape{O, C, kH, kW});
    for (Index o = 0; o < O; ++o)
        for (Index c = 0; c < C; ++c)
            for (Index u = 0; u < kH; ++u)
                for (Index v = 0; v < kW; ++v) {
                    double acc = 0.0;
                    for (Index n = 0; n < N; ++n)
                        for (Index i = 0; i < Ho; ++i)
                            for (Index j = 0; j < Wo; ++j) {
                                const Index h = s * i + u - p, ww = s * j + v - p;
                                if (h >= 0 && h < H && ww >= 0 && ww < W) acc += g(n, o, i, j) * x(n, c, h, ww);
                            }
                    dw(o, c, u, v) = acc;
                }
    return dw;
}

struct Case {
    Index batch, c_in, c_out, h, w, kh, kw, stride, padding;
};

// Every combination of: kernels 1x1, 3x3, 5x5, 2x3; strides 1, 2, 3; padding
// 0, 1, 2; odd 7x9 and small 5x4 images; batch 1 and 3; channels 1, 2, 4.
std::vector<Case> forward_cases() {
    std::vector<Case> cases;
    const std::vector<std::array<Index, 2>> kernels = {{1, 1}, {3, 3}, {5, 5}, {2, 3}};
    const std::vector<std::array<Index, 2>> images = {{7, 9}, {5, 4}};
    const std::vector<std::array<Index, 3>> shapes = {{1, 1, 2}, {3, 2, 4}, {3, 4, 1}};  // batch, c_in, c_out
    for (const auto& k : kernels)
        for (const auto& im : images)
            for (const auto& bc : shapes)
                for (Index s : {1, 2, 3})
                    for (Index p : {0, 1, 2}) {
                        if (k[0] > im[0] + 2 * p || k[1] > im[1] + 2 * p) continue;
                        cases.push_back({bc[0], bc[1], bc[2], im[0], im[1], k[0], k[1], s, p});
                    }
    return cases;
}

}  // namespace

TEST_CASE("conv2d forward matches the direct seven-loop convolution", "[ops][conv2d]") {
    const auto cases = forward_cases();
    REQUIRE(cases.size() > 150);
    std::uint64_t seed = 100;
    for (const Case& t : cases) {
        const Tensor<double> x = random(Shape{t.batch, t.c_in, t.h, t.w}, ++seed);
        const Tensor<double> w = random(Shape{t.c_out, t.c_in, t.kh, t.kw}, ++seed);
        const Tensor<double> b = random(Shape{t.c_out}, ++seed);
        const Tensor<double> expected = naive_conv2d(x, w, &b, t.stride, t.padding);
        const Tensor<double> expected_nobias = naive_conv2d(x, w, nullptr, t.stride, t.padding);
        const Conv2dOptions opt{t.stride, t.padding};
        INFO("x " << x.shape() << ", w " << w.shape() << ", stride " << t.stride << ", padding " << t.padding);

        const Tensor<double> yd = conv2d(Var<double>(x), Var<double>(w), Var<double>(b), opt).value();
        REQUIRE(yd.shape() == expected.shape());
        CHECK(max_abs_diff(yd, expected) < 1e-12);
        const Tensor<double> yn = conv2d(Var<double>(x), Var<double>(w), Var<double>(), opt).value();
        CHECK(max_abs_diff(yn, expected_nobias) < 1e-12);

        const Tensor<float> yf =
            conv2d(Var<float>(x.cast<float>()), Var<float>(w.cast<float>()), Var<float>(b.cast<float>()), opt).value();
        CHECK(max_abs_diff(yf.cast<double>(), expected) < 1e-5);
    }
}

TEST_CASE("conv2d on hand-computed values: a 3x3 all-ones kernel on a ramp", "[ops][conv2d]") {
    // x[h, w] = 4h + w on a 4x4 image:   0  1  2  3 /  4  5  6  7 /  8  9 10 11 / 12 13 14 15
    Tensor<float> x(Shape{1, 1, 4, 4});
    for (Index i = 0; i < 16; ++i) x[i] = static_cast<float>(i);
    Var<float> xv(x), w(Tensor<float>::ones(Shape{1, 1, 3, 3})), b(Tensor<float>(Shape{1}, {0.5f}));

    // No padding: each output is the sum of a 3x3 block, plus the bias.
    //   (0,0): 0+1+2+4+5+6+8+9+10 = 45     (0,1): 1+2+3+5+6+7+9+10+11 = 54
    //   (1,0): 4+5+6+8+9+10+12+13+14 = 81  (1,1): 5+6+7+9+10+11+13+14+15 = 90
    const Tensor<float> y = conv2d(xv, w, b).value();
    CHECK(y.shape() == Shape{1, 1, 2, 2});
    CHECK(y(0, 0, 0, 0) == 45.5f);
    CHECK(y(0, 0, 0, 1) == 54.5f);
    CHECK(y(0, 0, 1, 0) == 81.5f);
    CHECK(y(0, 0, 1, 1) == 90.5f);

    // Padding 1: same size; corners see only 2x2 of the image.
    //   (0,0): 0+1+4+5 = 10   (0,3): 2+3+6+7 = 18   (3,0): 8+9+12+13 = 42   (3,3): 10+11+14+15 = 50
    //   (0,1): 0+1+2+4+5+6 = 18                     (2,1): 4+5+6+8+9+10+12+13+14 = 81
    const Tensor<float> yp = conv2d(xv, w, Var<float>(), Conv2dOptions{1, 1}).value();
    CHECK(yp.shape() == Shape{1, 1, 4, 4});
    CHECK(yp(0, 0, 0, 0) == 10.0f);
    CHECK(yp(0, 0, 0, 3) == 18.0f);
    CHECK(yp(0, 0, 3, 0) == 42.0f);
    CHECK(yp(0, 0, 3, 3) == 50.0f);
    CHECK(yp(0, 0, 0, 1) == 18.0f);
    CHECK(yp(0, 0, 2, 1) == 81.0f);

    // Stride 2, padding 1: outputs at window centres (0,0), (0,2), (2,0), (2,2) of the padded sweep.
    //   (0,0): 10   (0,1): 1+2+3+5+6+7 = 24   (1,0): 4+5+8+9+12+13 = 51   (1,1): 5+6+7+9+10+11+13+14+15 = 90
    const Tensor<float> ys = conv2d(xv, w, Var<float>(), Conv2dOptions{2, 1}).value();
    CHECK(ys.shape() == Shape{1, 1, 2, 2});
    CHECK(ys(0, 0, 0, 0) == 10.0f);
    CHECK(ys(0, 0, 0, 1) == 24.0f);
    CHECK(ys(0, 0, 1, 0) == 51.0f);
    CHECK(ys(0, 0, 1, 1) == 90.0f);
}

TEST_CASE("conv2d backward matches finite differences for x, weight and bias", "[ops][conv2d][gradcheck]") {
    using V = std::vector<Var<double>>;
    const std::vector<Case> cases = {
        {1, 1, 1, 4, 4, 3, 3, 1, 0},  // the smallest 3x3
        {2, 3, 2, 5, 6, 3, 3, 1, 1},  // batch and channels, "same" padding
        {3, 2, 4, 7, 9, 3, 3, 2, 1},  // odd image, stride 2
        {2, 2, 3, 7, 5, 2, 3, 3, 2},  // non-square kernel, stride 3, padding 2
        {2, 4, 2, 5, 5, 1, 1, 1, 0},  // pointwise (no im2col)
        {1, 2, 2, 6, 7, 5, 5, 1, 2},  // 5x5
        {2, 2, 3, 5, 4, 3, 3, 1, 2},  // padding k-1: dx's flipped correlation needs no padding
        {1, 2, 2, 5, 6, 2, 3, 1, 1},  // stride 1, non-square kernel: dx through col2im
    };
    std::uint64_t seed = 500;
    for (const Case& t : cases) {
        const Conv2dOptions opt{t.stride, t.padding};
        const Tensor<double> x = random(Shape{t.batch, t.c_in, t.h, t.w}, ++seed);
        const Tensor<double> w = random(Shape{t.c_out, t.c_in, t.kh, t.kw}, ++seed);
        const Tensor<double> b = random(Shape{t.c_out}, ++seed);
        auto with_bias = gradcheck([opt](const V& v) { return conv2d(v[0], v[1], v[2], opt); }, {x, w, b});
        INFO("x " << x.shape() << ", w " << w.shape() << ", stride " << t.stride << ", padding " << t.padding << "\n"
                  << with_bias.summary);
        CHECK(with_bias.max_error() < 1e-6);
        auto no_bias = gradcheck([opt](const V& v) { return conv2d(v[0], v[1], Var<double>(), opt); }, {x, w});
        INFO(no_bias.summary);
        CHECK(no_bias.max_error() < 1e-6);
        // Only the weight wants a gradient (a frozen input), then only the input (a frozen layer).
        auto weight_only = gradcheck([opt](const V& v) { return conv2d(v[0], v[1], v[2], opt); }, {x, w, b}, 2, 1e-6,
                                     {false, true, false});
        CHECK(weight_only.max_error() < 1e-6);
        auto input_only = gradcheck([opt](const V& v) { return conv2d(v[0], v[1], v[2], opt); }, {x, w, b}, 3, 1e-6,
                                    {true, false, false});
        CHECK(input_only.max_error() < 1e-6);
    }
}

TEST_CASE("conv2d gives the same results for any thread count, bit-identical for a fixed one",
          "[ops][conv2d][threads]") {
    const Tensor<double> x = random(Shape{5, 3, 9, 8}, 1), w = random(Shape{4, 3, 3, 3}, 2), b = random(Shape{4}, 3);
    const Tensor<double> seed_grad = random(Shape{5, 4, 9, 8}, 4);
    const int before = num_threads();
    auto run = [&](int threads) {
        set_num_threads(threads);
        return conv2d_outputs(x, w, b, seed_grad);
    };
    const auto one = run(1), two = run(2);
    // The partial dW sums of chunks 1.. live in scratch memory that is never cleared: left full of
    // NaN, it must not reach the result (each chunk's first GEMM overwrites it).
    double* stale = detail::scratch<double>(detail::ScratchSlot::partials, 4 * 3 * 9 * 2);
    std::fill(stale, stale + 4 * 3 * 9 * 2, std::numeric_limits<double>::quiet_NaN());
    const auto two_again = run(2), three = run(3);
    set_num_threads(before);
    for (std::size_t i = 0; i < 4; ++i) {
        CHECK(max_abs_diff(one[i], two[i]) < 1e-12);
        CHECK(max_abs_diff(one[i], three[i]) < 1e-12);
        CHECK(max_abs_diff(two[i], two_again[i]) == 0.0);
        CHECK(std::all_of(two_again[i].begin(), two_again[i].end(), [](double v) { return std::isfinite(v); }));
    }
}

TEST_CASE("conv2d gradients accumulate over backward calls", "[ops][conv2d]") {
    const Tensor<double> x = random(Shape{2, 2, 5, 5}, 7), w = random(Shape{3, 2, 3, 3}, 8);
    Var<double> xv(x, true), wv(w, true);
    conv2d(xv, wv, Var<double>(), Conv2dOptions{1, 1}).backward(Tensor<double>::ones(Shape{2, 3, 5, 5}));
    const Tensor<double> gx = xv.grad(), gw = wv.grad();
    conv2d(xv, wv, Var<double>(), Conv2dOptions{1, 1}).backward(Tensor<double>::ones(Shape{2, 3, 5, 5}));
    Tensor<double> twice_x = gx, twice_w = gw;
    twice_x.array() *= 2.0;
    twice_w.array() *= 2.0;
    CHECK(max_abs_diff(xv.grad(), twice_x) < 1e-12);
    CHECK(max_abs_diff(wv.grad(), twice_w) < 1e-12);
}

// dx is stored into a new gradient buffer without zero-filling it first (BackwardContext::
// grad_to_write), and added into one that exists. The new buffer is drawn from an arena whose free
// blocks of dx's size are full of NaN, so a value the op failed to store would show.
TEST_CASE("conv2d stores dx into a new, unfilled gradient buffer and adds into an existing one, on every path",
          "[ops][conv2d]") {
    using detail::ConvPath;
    struct Layer {
        Index c_in, c_out, size, k, padding;
    };
    // 3 x 3 "same" (Winograd, direct, GEMM with dx as a forward GEMM), 1 x 1 (pointwise), and
    // 2 x 3 with stride 1 (dx through col2im: the buffer is zero-filled and added into).
    const std::vector<Layer> layers = {{8, 8, 16, 3, 1}, {3, 5, 6, 1, 0}, {2, 3, 6, 2, 1}};
    std::uint64_t seed = 900;
    for (const Layer& l : layers)
        for (ConvPath path : {ConvPath::winograd, ConvPath::winograd_batch, ConvPath::direct, ConvPath::gemm}) {
            const maunet::testing::ConvPathGuard guard(path);
            const Index kw = l.k == 2 ? 3 : l.k, out_w = l.size + 2 * l.padding - kw + 1;
            const Index out_h = l.size + 2 * l.padding - l.k + 1;
            const Tensor<double> x = random(Shape{2, l.c_in, l.size, l.size}, ++seed);
            const Tensor<double> w1 = random(Shape{l.c_out, l.c_in, l.k, kw}, ++seed);
            const Tensor<double> w2 = random(Shape{l.c_out, l.c_in, l.k, kw}, ++seed);
            const Tensor<double> g1 = random(Shape{2, l.c_out, out_h, out_w}, ++seed);
            const Tensor<double> g2 = random(Shape{2, l.c_out, out_h, out_w}, ++seed);
            const Conv2dOptions opt{1, l.padding};
            auto dx_of = [&](const Tensor<double>& w, const Tensor<double>& g) {
                Var<double> xv(x, true);
                conv2d(xv, Var<double>(w), Var<double>(), opt).backward(g);
                return xv.grad();
            };
            const Tensor<double> dx1 = dx_of(w1, g1), dx2 = dx_of(w2, g2);

            Arena arena;
            const ArenaScope scope(&arena);
            {  // blocks of dx's size, full of NaN, go back to the arena's free list
                std::vector<Tensor<double>> dirty;
                for (int i = 0; i < 6; ++i)
                    dirty.push_back(Tensor<double>::full(x.shape(), std::numeric_limits<double>::quiet_NaN()));
            }
            Var<double> xv(x, true);
            Var<double> y1 = conv2d(xv, Var<double>(w1), Var<double>(), opt);
            Var<double> y2 = conv2d(xv, Var<double>(w2), Var<double>(), opt);
            y2.backward(g2);  // a new buffer: stored
            INFO("layer " << l.c_in << " -> " << l.c_out << ", " << l.k << "x" << kw << ", path " << int(path));
            CHECK(max_abs_diff(xv.grad(), dx2) < 1e-12);
            y1.backward(g1);  // the buffer exists: added
            Tensor<double> sum = dx1;
            sum.array() += dx2.array();
            CHECK(max_abs_diff(xv.grad(), sum) < 1e-12);
        }
}

// The GEMM path sums the weight gradient over groups of up to 4 images of a batch chunk (one
// product with the images' columns side by side), stores it into a new, unfilled buffer (drawn
// here from an arena whose free blocks of dW's size are full of NaN) and adds into an existing one.
// Batches 1, 3, 5 and 9 (groups with every remainder), 1 to 3 threads (chunks of every size); a 3x3
// "same" layer, a strided 2x3 kernel and a 1x1 layer (pointwise: one image at a time).
TEST_CASE("conv2d's GEMM-path weight gradient over groups of images, stored into a new buffer or added",
          "[ops][conv2d]") {
    struct Layer {
        Index c_in, c_out, h, w, kh, kw, stride, padding;
    };
    const std::vector<Layer> layers = {{3, 4, 6, 5, 3, 3, 1, 1}, {2, 3, 7, 6, 2, 3, 2, 1}, {3, 5, 4, 4, 1, 1, 1, 0}};
    const maunet::testing::ConvPathGuard guard(detail::ConvPath::gemm);
    const int before = num_threads();
    std::uint64_t seed = 1200;
    for (const Layer& l : layers)
        for (Index batch : {1, 3, 5, 9})
            for (int threads : {1, 2, 3}) {
                set_num_threads(threads);
                const Conv2dOptions opt{l.stride, l.padding};
                const Index out_h = (l.h + 2 * l.padding - l.kh) / l.stride + 1;
                const Index out_w = (l.w + 2 * l.padding - l.kw) / l.stride + 1;
                const Tensor<double> x = random(Shape{batch, l.c_in, l.h, l.w}, ++seed);
                const Tensor<double> w = random(Shape{l.c_out, l.c_in, l.kh, l.kw}, ++seed);
                const Tensor<double> g1 = random(Shape{batch, l.c_out, out_h, out_w}, ++seed);
                const Tensor<double> g2 = random(Shape{batch, l.c_out, out_h, out_w}, ++seed);
                const Tensor<double> dw1 = naive_conv2d_weight_grad(x, g1, l.kh, l.kw, l.stride, l.padding);
                const Tensor<double> dw2 = naive_conv2d_weight_grad(x, g2, l.kh, l.kw, l.stride, l.padding);

                Arena arena;
                const ArenaScope scope(&arena);
                {  // blocks of dW's size, full of NaN, go back to the arena's free list
                    std::vector<Tensor<double>> dirty;
                    for (int i = 0; i < 6; ++i)
                        dirty.push_back(Tensor<double>::full(w.shape(), std::numeric_limits<double>::quiet_NaN()));
                }
                Var<double> wv(w, true);
                Var<double> y1 = conv2d(Var<double>(x), wv, Var<double>(), opt);
                Var<double> y2 = conv2d(Var<double>(x), wv, Var<double>(), opt);
                INFO("layer " << l.c_in << " -> " << l.c_out << ", " << l.kh << "x" << l.kw << " stride " << l.stride
                              << ", batch " << batch << ", " << threads << " threads");
                y2.backward(g2);  // a new buffer: stored
                CHECK(max_abs_diff(wv.grad(), dw2) < 1e-12);
                y1.backward(g1);  // the buffer exists: added
                Tensor<double> sum = dw1;
                sum.array() += dw2.array();
                CHECK(max_abs_diff(wv.grad(), sum) < 1e-12);
            }
    set_num_threads(before);
}

TEST_CASE("conv2d rejects bad shapes and arguments with clear messages", "[ops][conv2d][errors]") {
    Var<float> x(Tensor<float>(Shape{2, 3, 8, 8}));
    Var<float> w(Tensor<float>(Shape{4, 3, 3, 3}));
    Var<float> b(Tensor<float>(Shape{4}));
    Var<float> none;
    CHECK_NOTHROW(conv2d(x, w, b));

    CHECK_THROWS_AS(conv2d(Var<float>(Tensor<float>(Shape{3, 8, 8})), w, b), ShapeError);
    CHECK_THROWS_WITH(conv2d(Var<float>(Tensor<float>(Shape{3, 8, 8})), w, b),
                      Catch::Contains("conv2d: input must have rank 4 [N, C_in, H, W], got shape [3, 8, 8]"));
    CHECK_THROWS_WITH(conv2d(x, Var<float>(Tensor<float>(Shape{4, 3, 3})), b),
                      Catch::Contains("conv2d: weight must have rank 4"));
    CHECK_THROWS_AS(conv2d(x, Var<float>(Tensor<float>(Shape{4, 2, 3, 3})), b), ShapeError);
    CHECK_THROWS_WITH(conv2d(x, Var<float>(Tensor<float>(Shape{4, 2, 3, 3})), b),
                      Catch::Contains("conv2d: input [2, 3, 8, 8] has 3 channels, weight [4, 2, 3, 3] expects 2"));
    CHECK_THROWS_AS(conv2d(x, w, Var<float>(Tensor<float>(Shape{3}))), ShapeError);
    CHECK_THROWS_WITH(conv2d(x, w, Var<float>(Tensor<float>(Shape{4, 1}))),
                      Catch::Contains("conv2d: bias has shape [4, 1], expected [4]"));
    CHECK_THROWS_AS(conv2d(x, w, b, Conv2dOptions{0, 0}), ArgumentError);
    CHECK_THROWS_WITH(conv2d(x, w, b, Conv2dOptions{0, 0}), Catch::Contains("stride must be >= 1, got 0"));
    CHECK_THROWS_WITH(conv2d(x, w, b, Conv2dOptions{1, -1}), Catch::Contains("padding must be >= 0, got -1"));
    Var<float> small(Tensor<float>(Shape{1, 3, 2, 5}));
    CHECK_THROWS_AS(conv2d(small, w, none), ArgumentError);
    CHECK_THROWS_WITH(conv2d(small, w, none),
                      Catch::Contains("conv2d: kernel 3x3 is larger than the padded input 2x5"));
    CHECK_NOTHROW(conv2d(small, w, none, Conv2dOptions{1, 1}));  // padded to 4x7, fits
    CHECK_THROWS_AS(conv2d(Var<float>(Tensor<float>(Shape{0, 3, 8, 8})), w, b), ShapeError);
    CHECK_THROWS_WITH(conv2d(Var<float>(Tensor<float>(Shape{0, 3, 8, 8})), w, b),
                      Catch::Contains("conv2d: input [0, 3, 8, 8] is empty"));
    CHECK_THROWS_WITH(conv2d(x, Var<float>(Tensor<float>(Shape{0, 3, 3, 3})), none),
                      Catch::Contains("conv2d: weight [0, 3, 3, 3] is empty"));
    CHECK_THROWS_AS(conv2d(none, w, b), ArgumentError);  // an undefined input
}

TEST_CASE("conv2d_relu equals relu(conv2d) on every path and its gradients match finite differences",
          "[ops][conv2d][gradcheck]") {
    using V = std::vector<Var<double>>;
    using maunet::detail::ConvPath;
    const ConvPath before = detail::conv_path().load();
    // 3x3 "same" (direct and Winograd apply), 5x5 padding 2 (direct), strided and 1x1 (GEMM).
    const std::vector<Case> cases = {{2, 3, 4, 6, 7, 3, 3, 1, 1}, {1, 2, 3, 20, 18, 3, 3, 1, 1},
                                     {2, 2, 3, 7, 6, 5, 5, 1, 2}, {2, 3, 2, 7, 9, 3, 3, 2, 1},
                                     {2, 4, 3, 5, 5, 1, 1, 1, 0}};
    std::uint64_t seed = 800;
    for (ConvPath path :
         {ConvPath::automatic, ConvPath::gemm, ConvPath::direct, ConvPath::winograd, ConvPath::winograd_batch})
        for (const Case& t : cases) {
            detail::conv_path() = path;
            const Conv2dOptions opt{t.stride, t.padding};
            const Tensor<double> x = random(Shape{t.batch, t.c_in, t.h, t.w}, ++seed);
            const Tensor<double> w = random(Shape{t.c_out, t.c_in, t.kh, t.kw}, ++seed);
            const Tensor<double> b = random(Shape{t.c_out}, ++seed);
            INFO("path " << static_cast<int>(path) << ", x " << x.shape() << ", w " << w.shape());
            const Tensor<double> fused = conv2d_relu(Var<double>(x), Var<double>(w), Var<double>(b), opt).value();
            const Tensor<double> separate = relu(conv2d(Var<double>(x), Var<double>(w), Var<double>(b), opt)).value();
            CHECK(max_abs_diff(fused, separate) == 0.0);
            Index positive = 0, zero = 0;
            for (double v : fused) (v > 0.0 ? positive : zero) += 1;
            CHECK(positive > 0);  // both sides of the kink are exercised
            CHECK(zero > 0);
            auto report = gradcheck([opt](const V& v) { return conv2d_relu(v[0], v[1], v[2], opt); }, {x, w, b});
            INFO(report.summary);
            CHECK(report.max_error() < 1e-6);
        }
    detail::conv_path() = before;
}

TEST_CASE("the bias gradient's channel sums: every value once, in an order fixed by the length",
          "[ops][conv2d]") {
    // fixed_order_sum keeps eight partial sums; lengths around multiples of 8 take the tail loop.
    for (Index n : {0, 1, 7, 8, 9, 16, 61}) {
        std::vector<float> x(static_cast<std::size_t>(n));
        double exact = 0;
        for (Index q = 0; q < n; ++q) {
            x[static_cast<std::size_t>(q)] = static_cast<float>(q % 5) - 1.5f;  // exact in float
            exact += x[static_cast<std::size_t>(q)];
        }
        INFO("length " << n);
        CHECK(detail::fixed_order_sum(x.data(), n) == static_cast<float>(exact));
    }
    // db[o] += sums over images and pixels, whatever the thread count.
    const Tensor<float> g = random<float>(Shape{3, 5, 4, 7}, 11);
    std::vector<float> db1(5, 1.0f), db2(5, 1.0f);
    const int before = num_threads();
    set_num_threads(1);
    detail::add_channel_sums(g.data(), 3, 5, 28, db1.data());
    set_num_threads(2);
    detail::add_channel_sums(g.data(), 3, 5, 28, db2.data());
    set_num_threads(before);
    for (Index o = 0; o < 5; ++o) {
        double s = 1.0;
        for (Index n = 0; n < 3; ++n)
            for (Index q = 0; q < 28; ++q) s += g[(n * 5 + o) * 28 + q];
        CHECK(db1[static_cast<std::size_t>(o)] == db2[static_cast<std::size_t>(o)]);
        CHECK(db1[static_cast<std::size_t>(o)] == Approx(s).epsilon(1e-5));
    }
}
