#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <numeric>

#include "maunet/autograd/ops/pooling.hpp"
#include "support/gradcheck.hpp"

using namespace maunet;
using maunet::testing::gradcheck;
using maunet::testing::max_abs_diff;

namespace {

// Distinct values (a shuffled evenly spaced grid in (-1, 1)): no ties in any window, and a
// finite-difference step of 1e-6 cannot change which cell is the largest.
Tensor<double> distinct_values(Shape s, std::uint64_t seed) {
    Tensor<double> t(std::move(s));
    const Index n = t.numel();
    std::vector<Index> perm(static_cast<std::size_t>(n));
    std::iota(perm.begin(), perm.end(), Index(0));
    Rng rng(seed);
    for (Index i = n - 1; i > 0; --i)
        std::swap(perm[static_cast<std::size_t>(i)], perm[rng.below(static_cast<std::uint64_t>(i + 1))]);
    for (Index i = 0; i < n; ++i) t[i] = -1.0 + 2.0 * (static_cast<double>(perm[static_cast<std::size_t>(i)]) + 0.5) / n;
    return t;
}

// Pooling written out with Tensor::at and no shared code with the library.
template <class T>
Tensor<T> naive_pool(const Tensor<T>& x, Index k, Index s, bool take_max) {
    if (s == 0) s = k;
    const Index N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
    const Index Ho = (H - k) / s + 1, Wo = (W - k) / s + 1;
    Tensor<T> y(Shape{N, C, Ho, Wo});
    for (Index n = 0; n < N; ++n)
        for (Index c = 0; c < C; ++c)
            for (Index i = 0; i < Ho; ++i)
                for (Index j = 0; j < Wo; ++j) {
                    double best = -std::numeric_limits<double>::infinity(), sum = 0;
                    for (Index u = 0; u < k; ++u)
                        for (Index v = 0; v < k; ++v) {
                            const double val = x.at(n, c, i * s + u, j * s + v);
                            best = std::max(best, val);
                            sum += val;
                        }
                    y.at(n, c, i, j) = static_cast<T>(take_max ? best : sum / static_cast<double>(k * k));
                }
    return y;
}

struct Case {
    Shape shape;
    Index kernel, stride;
};

const std::vector<Case> cases = {
    {Shape{2, 3, 7, 9}, 2, 0},  // odd sizes: the last row and column are dropped
    {Shape{1, 2, 5, 5}, 3, 2},  // overlapping windows
    {Shape{3, 1, 6, 6}, 2, 1},  // overlap, stride 1
    {Shape{2, 2, 8, 7}, 3, 1},
    {Shape{1, 1, 4, 4}, 4, 0},  // one window
    {Shape{2, 3, 5, 6}, 1, 2},  // kernel 1: subsampling
};

template <class T>
void check_forward_against_naive() {
    for (const auto& cs : cases) {
        Rng rng(7);
        const Tensor<T> xv = Tensor<T>::uniform(cs.shape, rng, T(-2), T(2));
        Var<T> x(xv);
        const Tensor<T> ymax = max_pool2d(x, cs.kernel, cs.stride).value();
        const Tensor<T> yavg = avg_pool2d(x, cs.kernel, cs.stride).value();
        INFO("shape " << cs.shape << " kernel " << cs.kernel << " stride " << cs.stride);
        const Tensor<T> nmax = naive_pool(xv, cs.kernel, cs.stride, true);
        const Tensor<T> navg = naive_pool(xv, cs.kernel, cs.stride, false);
        REQUIRE(ymax.shape() == nmax.shape());
        REQUIRE(yavg.shape() == navg.shape());
        CHECK(max_abs_diff(ymax, nmax) == 0.0);
        CHECK(max_abs_diff(yavg, navg) < 1e-5);
    }
}

}  // namespace

TEST_CASE("pooling output size follows PyTorch with ceil_mode = false", "[ops][pooling]") {
    Var<float> x(Tensor<float>(Shape{2, 3, 7, 9}));
    CHECK(max_pool2d(x, 2).shape() == Shape{2, 3, 3, 4});
    CHECK(avg_pool2d(x, 3, 2).shape() == Shape{2, 3, 3, 4});
    CHECK(max_pool2d(x, 3, 1).shape() == Shape{2, 3, 5, 7});
    CHECK(avg_pool2d(x, 7).shape() == Shape{2, 3, 1, 1});
}

TEST_CASE("pooling forward matches a naive computation", "[ops][pooling]") {
    check_forward_against_naive<float>();
    check_forward_against_naive<double>();
}

TEST_CASE("max_pool2d hand example and its gradient routing", "[ops][pooling]") {
    // 1x1x4x4, k = 2: the windows' maxima are 6, 8, 14, 16 at known places.
    Var<double> x(Tensor<double>(Shape{1, 1, 4, 4}, {1, 6, 2, 3,  //
                                                     5, 4, 8, 7,  //
                                                     9, 10, 16, 11,  //
                                                     14, 13, 12, 15}),
                  true);
    Var<double> y = max_pool2d(x, 2);
    CHECK(y.value()(0, 0, 0, 0) == 6);
    CHECK(y.value()(0, 0, 0, 1) == 8);
    CHECK(y.value()(0, 0, 1, 0) == 14);
    CHECK(y.value()(0, 0, 1, 1) == 16);
    y.backward(Tensor<double>(Shape{1, 1, 2, 2}, {1, 2, 3, 4}));
    const Tensor<double> expected(Shape{1, 1, 4, 4}, {0, 1, 0, 0,  //
                                                      0, 0, 2, 0,  //
                                                      0, 0, 4, 0,  //
                                                      3, 0, 0, 0});
    CHECK(max_abs_diff(x.grad(), expected) == 0.0);
}

TEST_CASE("max_pool2d: overlapping windows add their gradients on a shared maximum", "[ops][pooling]") {
    // The centre of a 3x3 plane is the largest value of all four 2x2 windows (stride 1).
    Var<double> x(Tensor<double>(Shape{1, 1, 3, 3}, {1, 2, 3, 4, 9, 5, 6, 7, 8}), true);
    Var<double> y = max_pool2d(x, 2, 1);
    CHECK(max_abs_diff(y.value(), Tensor<double>(Shape{1, 1, 2, 2}, {9, 9, 9, 9})) == 0.0);
    y.backward(Tensor<double>(Shape{1, 1, 2, 2}, {1, 10, 100, 1000}));
    CHECK(x.grad()(0, 0, 1, 1) == 1111);
    CHECK(x.grad().array().abs().sum() == 1111);
}

TEST_CASE("max_pool2d: the first maximum wins on ties, and NaN propagates", "[ops][pooling]") {
    Var<double> x(Tensor<double>(Shape{1, 1, 2, 4}, {1, 3, 2, 2,  //
                                                     3, 0, 2, 2}),
                  true);
    Var<double> y = max_pool2d(x, 2);
    y.backward(Tensor<double>(Shape{1, 1, 1, 2}, {1, 1}));
    const Tensor<double> expected(Shape{1, 1, 2, 4}, {0, 1, 1, 0,  //
                                                      0, 0, 0, 0});
    CHECK(max_abs_diff(x.grad(), expected) == 0.0);

    const double nan = std::numeric_limits<double>::quiet_NaN();
    Var<double> z(Tensor<double>(Shape{1, 1, 2, 2}, {1, nan, 5, 2}));
    CHECK(std::isnan(max_pool2d(z, 2).value()[0]));
}

TEST_CASE("max_pool2d 2x2: the first NaN of a window wins wherever it sits, and takes the gradient",
          "[ops][pooling]") {
    // The 2 x 2 stride-2 pool has its own unrolled loop; the rule must be the general one.
    const double nan = std::numeric_limits<double>::quiet_NaN();
    Var<double> x(Tensor<double>(Shape{1, 1, 2, 8}, {3, 1, nan, 9, 7, 7, 1, 2,  //
                                                     nan, 4, 9, 9, 7, 8, 2, nan}),
                  true);
    Var<double> y = max_pool2d(x, 2);
    CHECK(std::isnan(y.value()[0]));  // NaN in the window's third place
    CHECK(std::isnan(y.value()[1]));  // NaN first
    CHECK(y.value()[2] == 8);
    CHECK(std::isnan(y.value()[3]));  // NaN last
    y.backward(Tensor<double>(Shape{1, 1, 1, 4}, {1, 2, 3, 4}));
    const Tensor<double> expected(Shape{1, 1, 2, 8}, {0, 0, 2, 0, 0, 0, 0, 0,  //
                                                      1, 0, 0, 0, 0, 3, 0, 4});
    CHECK(max_abs_diff(x.grad(), expected) == 0.0);
}

TEST_CASE("max_pool2d 2x2: the backward's cell is the forward's for every window of NaN, infinities and ties",
          "[ops][pooling]") {
    // The 2 x 2 stride-2 backward finds each window's arg-max again from x, branch-free on the
    // bits; it must pick the cell a scan in window order picks (the first maximum, or the first
    // NaN) for all 5^4 windows over {NaN, -inf, 1, 2, +inf}, in a fresh gradient buffer (the
    // first of two pools of x) and in one that already holds a gradient (the second).
    const auto check = [](auto zero) {
        using T = decltype(zero);
        const T nan = std::numeric_limits<T>::quiet_NaN(), inf = std::numeric_limits<T>::infinity();
        const T values[5] = {nan, -inf, T(1), T(2), inf};
        const Index windows = 625;
        Tensor<T> xt(Shape{1, 1, 3, 2 * windows + 1});  // an odd size: a last row and column no window covers
        for (Index w = 0; w < windows; ++w) {
            const Index code[4] = {w % 5, w / 5 % 5, w / 25 % 5, w / 125};
            xt.at(0, 0, 0, 2 * w) = values[code[0]];
            xt.at(0, 0, 0, 2 * w + 1) = values[code[1]];
            xt.at(0, 0, 1, 2 * w) = values[code[2]];
            xt.at(0, 0, 1, 2 * w + 1) = values[code[3]];
        }
        Var<T> x(xt, true);
        Var<T> y = max_pool2d(x, 2) + max_pool2d(x, 2);
        Tensor<T> seed(Shape{1, 1, 1, windows});
        for (Index w = 0; w < windows; ++w) seed[w] = T(w + 1);
        y.backward(seed);
        for (Index w = 0; w < windows; ++w) {
            const T v[4] = {xt.at(0, 0, 0, 2 * w), xt.at(0, 0, 0, 2 * w + 1), xt.at(0, 0, 1, 2 * w),
                            xt.at(0, 0, 1, 2 * w + 1)};
            Index best = 0;  // the scan, written out here
            for (Index k = 1; k < 4; ++k)
                if (v[k] > v[best] || (std::isnan(v[k]) && !std::isnan(v[best]))) best = k;
            const T got[4] = {x.grad().at(0, 0, 0, 2 * w), x.grad().at(0, 0, 0, 2 * w + 1), x.grad().at(0, 0, 1, 2 * w),
                              x.grad().at(0, 0, 1, 2 * w + 1)};
            INFO("window " << w << ": " << v[0] << " " << v[1] << " " << v[2] << " " << v[3]);
            for (Index k = 0; k < 4; ++k) CHECK(got[k] == (k == best ? T(2 * (w + 1)) : T(0)));
            const T out = y.value()[w] / T(2);
            CHECK(((std::isnan(out) && std::isnan(v[best])) || out == v[best]));
        }
        for (Index c = 0; c < 2 * windows + 1; ++c) CHECK(x.grad().at(0, 0, 2, c) == T(0));  // the uncovered row
        CHECK(x.grad().at(0, 0, 0, 2 * windows) == T(0));                                    // and column
        CHECK(x.grad().at(0, 0, 1, 2 * windows) == T(0));
    };
    check(float{});
    check(double{});
}

TEST_CASE("avg_pool2d spreads the gradient evenly, adding where windows overlap", "[ops][pooling]") {
    Var<double> x(Tensor<double>(Shape{1, 1, 3, 3}), true);
    Var<double> y = avg_pool2d(x, 2, 1);
    y.backward(Tensor<double>(Shape{1, 1, 2, 2}, {4, 4, 4, 4}));
    // Corner cells sit in one window, edge cells in two, the centre in four.
    const Tensor<double> expected(Shape{1, 1, 3, 3}, {1, 2, 1, 2, 4, 2, 1, 2, 1});
    CHECK(max_abs_diff(x.grad(), expected) == 0.0);
}

TEST_CASE("pooling backward matches finite differences", "[ops][pooling][gradcheck]") {
    using V = std::vector<Var<double>>;
    std::uint64_t seed = 11;
    for (const auto& cs : cases) {
        const Tensor<double> x = distinct_values(cs.shape, seed++);
        const Index k = cs.kernel, s = cs.stride;
        INFO("shape " << cs.shape << " kernel " << k << " stride " << s);
        auto rmax = gradcheck([k, s](const V& v) { return max_pool2d(v[0], k, s); }, {x});
        INFO(rmax.summary);
        CHECK(rmax.max_error() < 1e-6);
        auto ravg = gradcheck([k, s](const V& v) { return avg_pool2d(v[0], k, s); }, {x});
        INFO(ravg.summary);
        CHECK(ravg.max_error() < 1e-6);
    }
}

TEST_CASE("pooling under NoGradGuard records nothing", "[ops][pooling]") {
    Var<float> x(Tensor<float>(Shape{1, 2, 4, 4}, 1.0f), true);
    NoGradGuard guard;
    CHECK(max_pool2d(x, 2).is_leaf());
    CHECK(avg_pool2d(x, 2).is_leaf());
}

TEST_CASE("pooling rejects bad inputs with a clear message", "[ops][pooling][errors]") {
    Var<float> x(Tensor<float>(Shape{1, 2, 5, 4}));
    Var<float> flat(Tensor<float>(Shape{2, 5, 4}));
    CHECK_THROWS_AS(max_pool2d(flat, 2), ShapeError);
    CHECK_THROWS_WITH(max_pool2d(flat, 2), Catch::Contains("max_pool2d: expected an NCHW input of rank 4, got shape [2, 5, 4]"));
    CHECK_THROWS_AS(avg_pool2d(x, 0), ArgumentError);
    CHECK_THROWS_WITH(avg_pool2d(x, 0), Catch::Contains("avg_pool2d: kernel must be >= 1, got 0"));
    CHECK_THROWS_AS(max_pool2d(x, 2, -1), ArgumentError);
    CHECK_THROWS_WITH(max_pool2d(x, 2, -1), Catch::Contains("stride must be >= 1 (or 0, meaning stride = kernel), got -1"));
    CHECK_THROWS_AS(max_pool2d(x, 5), ArgumentError);
    CHECK_THROWS_WITH(max_pool2d(x, 5), Catch::Contains("kernel 5 is larger than the input's 5x4 spatial extent"));
}

TEST_CASE("max_pool2d 2x2 without a gradient (its branch-free loop) gives the values of the recorded one",
          "[ops][pooling]") {
    // Inference takes a loop that keeps no arg-max; it must pick the same value: NaN wherever it
    // sits, and on ties the first maximum (-0 before +0 keeps -0).
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const Tensor<double> xv(Shape{1, 2, 2, 6}, {3, 1, nan, 9, -0.0, 0.0,  //
                                                nan, 4, 9, 9, 0.0, -1,    //
                                                1, 2, 5, 5, -3, -2,       //
                                                2, 1, 5, 6, -2, -3});
    const Tensor<double> recorded = max_pool2d(Var<double>(xv, true), 2).value();
    const Tensor<double> plain = max_pool2d(Var<double>(xv), 2).value();
    REQUIRE(plain.shape() == Shape{1, 2, 1, 3});
    for (Index i = 0; i < plain.numel(); ++i) {
        INFO("output " << i);
        CHECK(std::isnan(plain[i]) == std::isnan(recorded[i]));
        if (!std::isnan(recorded[i])) {
            CHECK(plain[i] == recorded[i]);
            CHECK(std::signbit(plain[i]) == std::signbit(recorded[i]));
        }
    }
    CHECK(std::isnan(plain[0]));
    CHECK(std::isnan(plain[1]));
    CHECK(std::signbit(plain[2]));  // -0 came first
    CHECK(plain[3] == 2);
    CHECK(plain[4] == 6);
    CHECK(plain[5] == -2);
}
