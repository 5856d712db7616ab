#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "maunet/autograd/ops/upsample.hpp"
#include "support/gradcheck.hpp"
#include "support/random_tensor.hpp"

using namespace maunet;
using maunet::testing::gradcheck;
using maunet::testing::max_abs_diff;

namespace {

using maunet::testing::random;

template <class T>
Tensor<double> naive_nearest(const Tensor<T>& x, Index f) {
    const Index N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
    Tensor<double> y(Shape{N, C, H * f, W * f});
    for (Index n = 0; n < N; ++n)
        for (Index c = 0; c < C; ++c)
            for (Index i = 0; i < H * f; ++i)
                for (Index j = 0; j < W * f; ++j) y.at(n, c, i, j) = x.at(n, c, i / f, j / f);
    return y;
}

// PyTorch's bilinear interpolation with align_corners = False, written out per output cell.
template <class T>
Tensor<double> naive_bilinear(const Tensor<T>& x, Index f) {
    const Index N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
    Tensor<double> y(Shape{N, C, H * f, W * f});
    auto source = [f](Index d, Index extent, Index& i0, Index& i1, double& lambda) {
        const double src = std::max(0.0, (d + 0.5) / static_cast<double>(f) - 0.5);
        i0 = static_cast<Index>(std::floor(src));
        i1 = std::min(i0 + 1, extent - 1);
        lambda = src - static_cast<double>(i0);
    };
    for (Index n = 0; n < N; ++n)
        for (Index c = 0; c < C; ++c)
            for (Index i = 0; i < H * f; ++i)
                for (Index j = 0; j < W * f; ++j) {
                    Index r0, r1, c0, c1;
                    double ly, lx;
                    source(i, H, r0, r1, ly);
                    source(j, W, c0, c1, lx);
                    y.at(n, c, i, j) = (1 - ly) * (1 - lx) * x.at(n, c, r0, c0) + (1 - ly) * lx * x.at(n, c, r0, c1) +
                                       ly * (1 - lx) * x.at(n, c, r1, c0) + ly * lx * x.at(n, c, r1, c1);
                }
    return y;
}

const std::vector<std::pair<Shape, Index>> cases = {
    {Shape{2, 3, 5, 7}, 2}, {Shape{1, 2, 3, 4}, 3}, {Shape{3, 1, 4, 4}, 4}, {Shape{1, 1, 1, 3}, 2}, {Shape{2, 2, 3, 3}, 1},
};

template <class T>
void check_forward_against_naive() {
    for (const auto& [shape, f] : cases) {
        Rng rng(9);
        const Tensor<T> xv = Tensor<T>::uniform(shape, rng, T(-2), T(2));
        INFO("shape " << shape << " factor " << f);
        const Tensor<T> yn = upsample_nearest2d(Var<T>(xv), f).value();
        const Tensor<T> yb = upsample_bilinear2d(Var<T>(xv), f).value();
        REQUIRE(yn.shape() == Shape{shape[0], shape[1], shape[2] * f, shape[3] * f});
        REQUIRE(yb.shape() == yn.shape());
        CHECK(max_abs_diff(yn.template cast<double>(), naive_nearest(xv, f)) == 0.0);
        CHECK(max_abs_diff(yb.template cast<double>(), naive_bilinear(xv, f)) <
              (std::is_same_v<T, float> ? 1e-5 : 1e-13));
    }
}

}  // namespace

TEST_CASE("upsample forward matches a naive computation", "[ops][upsample]") {
    check_forward_against_naive<float>();
    check_forward_against_naive<double>();
}

TEST_CASE("upsample_bilinear2d matches PyTorch's align_corners=False values", "[ops][upsample]") {
    // torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    Var<float> x(Tensor<float>(Shape{1, 1, 2, 2}, {1, 2, 3, 4}));
    const Tensor<float> expected(Shape{1, 1, 4, 4}, {1.00f, 1.25f, 1.75f, 2.00f,  //
                                                     1.50f, 1.75f, 2.25f, 2.50f,  //
                                                     2.50f, 2.75f, 3.25f, 3.50f,  //
                                                     3.00f, 3.25f, 3.75f, 4.00f});
    CHECK(max_abs_diff(upsample_bilinear2d(x, 2).value(), expected) == 0.0);
    // Factor 3 on a 1x2 image [1, 2]: every one of the 3 output rows reads row 0; along the row the
    // sources are -1/3 (clamped to 0), 0, 1/3, 2/3, 1, 4/3 (held at the edge).
    Var<double> row(Tensor<double>(Shape{1, 1, 1, 2}, {1, 2}));
    const Tensor<double> y3 = upsample_bilinear2d(row, 3).value();
    REQUIRE(y3.shape() == Shape{1, 1, 3, 6});
    const double expected3[6] = {1.0, 1.0, 4.0 / 3, 5.0 / 3, 2.0, 2.0};
    for (Index i = 0; i < 3; ++i)
        for (Index j = 0; j < 6; ++j) CHECK(y3.at(0, 0, i, j) == Approx(expected3[j]).epsilon(1e-15));
}

TEST_CASE("upsample_bilinear2d reproduces constants and linear ramps", "[ops][upsample]") {
    for (Index f : {2, 3, 4, 5}) {
        Var<float> c(Tensor<float>(Shape{2, 2, 3, 5}, 0.7f));
        const Tensor<float> yc = upsample_bilinear2d(c, f).value();
        CHECK(std::all_of(yc.begin(), yc.end(), [](float v) { return v == 0.7f; }));

        // x[i, j] = 2 i - 3 j + 1: exact wherever the source coordinate lies inside [0, extent - 1].
        const Index H = 4, W = 6;
        Tensor<double> ramp(Shape{1, 1, H, W});
        for (Index i = 0; i < H; ++i)
            for (Index j = 0; j < W; ++j) ramp.at(0, 0, i, j) = 2.0 * i - 3.0 * j + 1;
        const Tensor<double> y = upsample_bilinear2d(Var<double>(ramp), f).value();
        Index interior = 0;
        for (Index i = 0; i < H * f; ++i)
            for (Index j = 0; j < W * f; ++j) {
                const double si = (i + 0.5) / static_cast<double>(f) - 0.5, sj = (j + 0.5) / static_cast<double>(f) - 0.5;
                if (si < 0 || si > H - 1 || sj < 0 || sj > W - 1) continue;
                ++interior;
                const double expected = 2.0 * si - 3.0 * sj + 1;
                if (f == 2 || f == 4)
                    CHECK(y.at(0, 0, i, j) == expected);  // weights are dyadic: exact in binary
                else
                    CHECK(y.at(0, 0, i, j) == Approx(expected).epsilon(1e-14).margin(1e-14));
            }
        CHECK(interior > 0);
    }
}

TEST_CASE("upsample backward sums the gradient of each source cell", "[ops][upsample]") {
    // Nearest: each cell gets the sum of its f x f block.
    Var<double> x(Tensor<double>(Shape{1, 1, 1, 2}), true);
    Var<double> y = upsample_nearest2d(x, 2);
    y.backward(Tensor<double>(Shape{1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8}));
    CHECK(max_abs_diff(x.grad(), Tensor<double>(Shape{1, 1, 1, 2}, {14, 22})) == 0.0);
    // Bilinear: the weights of each output sum to 1, so a gradient of ones sums to f^2 per input on average.
    Var<double> z(random(Shape{2, 3, 5, 4}, 4), true);
    Var<double> u = upsample_bilinear2d(z, 3);
    u.backward(Tensor<double>(u.shape(), 1.0));
    CHECK(z.grad().array().sum() == Approx(static_cast<double>(u.shape().numel())));
}

TEST_CASE("upsample backward matches finite differences", "[ops][upsample][gradcheck]") {
    using V = std::vector<Var<double>>;
    std::uint64_t seed = 31;
    for (const auto& [shape, f] : cases) {
        const Tensor<double> x = random(shape, seed++);
        INFO("shape " << shape << " factor " << f);
        const Index factor = f;
        auto rn = gradcheck([factor](const V& v) { return upsample_nearest2d(v[0], factor); }, {x});
        INFO(rn.summary);
        CHECK(rn.max_error() < 1e-6);
        auto rb = gradcheck([factor](const V& v) { return upsample_bilinear2d(v[0], factor); }, {x});
        INFO(rb.summary);
        CHECK(rb.max_error() < 1e-6);
    }
}

TEST_CASE("upsample rejects bad inputs with a clear message", "[ops][upsample][errors]") {
    Var<float> x(Tensor<float>(Shape{1, 2, 3, 3}));
    Var<float> flat(Tensor<float>(Shape{2, 3, 3}));
    CHECK_THROWS_AS(upsample_nearest2d(x, 0), ArgumentError);
    CHECK_THROWS_WITH(upsample_nearest2d(x, 0), Catch::Contains("upsample_nearest2d: factor must be an integer >= 1, got 0"));
    CHECK_THROWS_WITH(upsample_bilinear2d(x, -2), Catch::Contains("upsample_bilinear2d: factor must be an integer >= 1, got -2"));
    CHECK_THROWS_AS(upsample_bilinear2d(flat, 2), ShapeError);
    CHECK_THROWS_WITH(upsample_bilinear2d(flat, 2), Catch::Contains("expected an NCHW input of rank 4, got shape [2, 3, 3]"));
}
