#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <numeric>

#include "maunet/autograd/ops/elementwise.hpp"
#include "maunet/autograd/ops/max_average_pool.hpp"
#include "maunet/core/threading.hpp"
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

// The max and the mean of every window, with Tensor::at, in double.
struct NaivePools {
    Tensor<double> max, avg;
};
template <class T>
NaivePools naive_pools(const Tensor<T>& x, Index k, Index s) {
    if (s == 0) s = k;
    const Index N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
    const Index Ho = (H - k) / s + 1, Wo = (W - k) / s + 1;
    NaivePools p{Tensor<double>(Shape{N, C, Ho, Wo}), Tensor<double>(Shape{N, C, Ho, Wo})};
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
                    p.max.at(n, c, i, j) = best;
                    p.avg.at(n, c, i, j) = sum / static_cast<double>(k * k);
                }
    return p;
}

double sigmoid(double w) { return 1.0 / (1.0 + std::exp(-w)); }

// The expected output of each mode, from the naive pools.
template <class T>
Tensor<double> naive_mode(const Tensor<T>& x, PoolMode mode, const Tensor<T>& w, Index k, Index s) {
    const NaivePools p = naive_pools(x, k, s);
    const Shape& ps = p.max.shape();
    const Index N = ps[0], C = ps[1], Ho = ps[2], Wo = ps[3];
    if (mode == PoolMode::max) return p.max;
    if (mode == PoolMode::avg) return p.avg;
    if (mode == PoolMode::concat) {
        Tensor<double> y(Shape{N, 2 * C, Ho, Wo});
        for (Index n = 0; n < N; ++n)
            for (Index c = 0; c < C; ++c)
                for (Index i = 0; i < Ho; ++i)
                    for (Index j = 0; j < Wo; ++j) {
                        y.at(n, c, i, j) = p.max.at(n, c, i, j);
                        y.at(n, C + c, i, j) = p.avg.at(n, c, i, j);
                    }
        return y;
    }
    Tensor<double> y(ps);
    for (Index n = 0; n < N; ++n)
        for (Index c = 0; c < C; ++c)
            for (Index i = 0; i < Ho; ++i)
                for (Index j = 0; j < Wo; ++j) {
                    const double a = mode == PoolMode::mean ? 0.5 : sigmoid(static_cast<double>(w.at(c)));
                    y.at(n, c, i, j) = a * p.max.at(n, c, i, j) + (1 - a) * p.avg.at(n, c, i, j);
                }
    return y;
}

struct Case {
    Shape shape;
    Index kernel, stride;
};

const std::vector<Case> cases = {
    {Shape{2, 3, 7, 9}, 2, 0},  // odd sizes, batch and channels > 1
    {Shape{1, 2, 5, 5}, 3, 2},  // overlapping windows
    {Shape{3, 2, 6, 6}, 2, 1},
    {Shape{2, 1, 4, 6}, 2, 2},
};

const std::vector<PoolMode> all_modes = {PoolMode::mean, PoolMode::concat, PoolMode::learned, PoolMode::max,
                                         PoolMode::avg};

template <class T>
void check_forward_against_naive() {
    for (const auto& cs : cases) {
        Rng rng(3);
        const Tensor<T> xv = Tensor<T>::uniform(cs.shape, rng, T(-2), T(2));
        const Tensor<T> wv = Tensor<T>::uniform(Shape{cs.shape[1]}, rng, T(-2), T(2));
        for (PoolMode mode : all_modes) {
            INFO("mode " << to_string(mode) << " shape " << cs.shape << " kernel " << cs.kernel << " stride "
                         << cs.stride);
            const Var<T> w = mode == PoolMode::learned ? Var<T>(wv) : Var<T>();
            const Tensor<T> y = max_average_pool2d(Var<T>(xv), mode, w, cs.kernel, cs.stride).value();
            const Tensor<double> expected = naive_mode(xv, mode, wv, cs.kernel, cs.stride);
            REQUIRE(y.shape() == expected.shape());
            CHECK(max_abs_diff(y.template cast<double>(), expected) < (std::is_same_v<T, float> ? 1e-5 : 1e-13));
        }
    }
}

}  // namespace

TEST_CASE("max_average_pool2d forward matches a naive computation in every mode", "[ops][max_average_pool]") {
    check_forward_against_naive<float>();
    check_forward_against_naive<double>();
}

TEST_CASE("max_average_pool2d mean is one fused node equal to (max + avg) / 2", "[ops][max_average_pool]") {
    Rng rng(5);
    Var<double> x(Tensor<double>::uniform(Shape{2, 3, 7, 9}, rng), true);
    Var<double> y = max_average_pool2d(x, PoolMode::mean);
    CHECK(std::string(y.creator_name()) == "max_average_pool2d_mean");
    CHECK(autograd::tape_of(y.data_ptr()).size() == 1);
    Var<double> composed = (max_pool2d(x, 2) + avg_pool2d(x, 2)) * 0.5;
    CHECK(max_abs_diff(y.value(), composed.value()) < 1e-15);
}

TEST_CASE("max_average_pool2d mean: hand example of the backward", "[ops][max_average_pool]") {
    // One 2x2 window, max 4 at (0, 1): it gets g/2 + g/8, the others g/8.
    Var<double> x(Tensor<double>(Shape{1, 1, 2, 2}, {1, 4, 2, 3}), true);
    Var<double> y = max_average_pool2d(x, PoolMode::mean);
    CHECK(y.value()[0] == Approx((4.0 + 2.5) / 2));
    y.backward(Tensor<double>(Shape{1, 1, 1, 1}, {8.0}));
    CHECK(max_abs_diff(x.grad(), Tensor<double>(Shape{1, 1, 2, 2}, {1, 5, 1, 1})) == 0.0);
}

TEST_CASE("max_average_pool2d mean 2x2: the backward's cell is the forward's for every window of NaN, infinities "
          "and ties",
          "[ops][max_average_pool]") {
    // The 2 x 2 stride-2 mean finds each window's arg-max again in the backward; for all 5^4
    // windows over {NaN, -inf, 1, 2, +inf} the cell a scan in window order picks must get g/2 +
    // g/8 and the others g/8, into a fresh gradient buffer (the first of two pools of x) and into
    // one that already holds a gradient (the second); the forward is (max + sum/4) / 2 with the
    // sum taken in window order.
    const auto check = [](auto zero) {
        using T = decltype(zero);
        const T nan = std::numeric_limits<T>::quiet_NaN(), inf = std::numeric_limits<T>::infinity();
        const T values[5] = {nan, -inf, T(1), T(2), inf};
        const Index windows = 625;
        Tensor<T> xt(Shape{1, 1, 3, 2 * windows + 1});  // an odd size: a last row and column no window covers
        for (Index w = 0; w < windows; ++w) {
            xt.at(0, 0, 0, 2 * w) = values[w % 5];
            xt.at(0, 0, 0, 2 * w + 1) = values[w / 5 % 5];
            xt.at(0, 0, 1, 2 * w) = values[w / 25 % 5];
            xt.at(0, 0, 1, 2 * w + 1) = values[w / 125];
        }
        Var<T> x(xt, true);
        Var<T> first = max_average_pool2d(x, PoolMode::mean);
        Var<T> y = first + max_average_pool2d(x, PoolMode::mean);
        Tensor<T> seed(Shape{1, 1, 1, windows});
        for (Index w = 0; w < windows; ++w) seed[w] = T(8 * (w + 1));
        y.backward(seed);
        for (Index w = 0; w < windows; ++w) {
            const T v[4] = {xt.at(0, 0, 0, 2 * w), xt.at(0, 0, 0, 2 * w + 1), xt.at(0, 0, 1, 2 * w),
                            xt.at(0, 0, 1, 2 * w + 1)};
            Index best = 0;  // the scan, written out here
            for (Index k = 1; k < 4; ++k)
                if (v[k] > v[best] || (std::isnan(v[k]) && !std::isnan(v[best]))) best = k;
            const T g = seed[w], one_use[4] = {g / 8, g / 8, g / 8, g / 8};
            const T got[4] = {x.grad().at(0, 0, 0, 2 * w), x.grad().at(0, 0, 0, 2 * w + 1), x.grad().at(0, 0, 1, 2 * w),
                              x.grad().at(0, 0, 1, 2 * w + 1)};
            INFO("window " << w << ": " << v[0] << " " << v[1] << " " << v[2] << " " << v[3]);
            for (Index k = 0; k < 4; ++k) CHECK(got[k] == 2 * (one_use[k] + (k == best ? g / 2 : T(0))));
            const T expected = (v[best] + (T(0) + v[0] + v[1] + v[2] + v[3]) / T(4)) / T(2);
            const T out = first.value()[w];
            CHECK(((std::isnan(out) && std::isnan(expected)) || out == expected));
        }
        for (Index c = 0; c < 2 * windows + 1; ++c) CHECK(x.grad().at(0, 0, 2, c) == T(0));  // the uncovered row
        CHECK(x.grad().at(0, 0, 0, 2 * windows) == T(0));                                    // and column
        CHECK(x.grad().at(0, 0, 1, 2 * windows) == T(0));
    };
    check(float{});
    check(double{});
}

TEST_CASE("max_average_pool2d concat: max channels first, then average channels", "[ops][max_average_pool]") {
    Var<float> x(Tensor<float>(Shape{1, 2, 2, 2}, {1, 4, 2, 3,  //
                                                   -1, -5, -2, -8}));
    const Tensor<float> y = max_average_pool2d(x, PoolMode::concat).value();
    REQUIRE(y.shape() == Shape{1, 4, 1, 1});
    CHECK(y[0] == 4.0f);
    CHECK(y[1] == -1.0f);
    CHECK(y[2] == 2.5f);
    CHECK(y[3] == -4.0f);
}

TEST_CASE("max_average_pool2d learned: weight gradient by its formula", "[ops][max_average_pool]") {
    // dL/dw_c = sum g (M - A) s (1 - s); with g = 1 and one window per plane.
    Var<double> x(Tensor<double>(Shape{2, 2, 2, 2}, {1, 4, 2, 3,  //
                                                     0, 0, 0, 8,  //
                                                     5, 1, 1, 1,  //
                                                     2, 2, 2, 6}),
                  true);
    Var<double> w(Tensor<double>(Shape{2}, {0.3, -1.2}), true);
    Var<double> y = max_average_pool2d(x, PoolMode::learned, w);
    y.backward(Tensor<double>(y.shape(), 1.0));
    const double s0 = sigmoid(0.3), s1 = sigmoid(-1.2);
    // (M - A): plane (0,0) 4 - 2.5, (0,1) 8 - 2, (1,0) 5 - 2, (1,1) 6 - 3.
    CHECK(w.grad()[0] == Approx((1.5 + 3.0) * s0 * (1 - s0)).epsilon(1e-14));
    CHECK(w.grad()[1] == Approx((6.0 + 3.0) * s1 * (1 - s1)).epsilon(1e-14));
    // dL/dx at the arg-max of plane (0,0): s0 + (1 - s0)/4; elsewhere (1 - s0)/4.
    CHECK(x.grad()[1] == Approx(s0 + (1 - s0) / 4));
    CHECK(x.grad()[0] == Approx((1 - s0) / 4));
}

TEST_CASE("max_average_pool2d backward matches finite differences in every mode",
          "[ops][max_average_pool][gradcheck]") {
    using V = std::vector<Var<double>>;
    std::uint64_t seed = 21;
    for (const auto& cs : cases) {
        const Tensor<double> x = distinct_values(cs.shape, seed++);
        Rng rng(seed++);
        const Tensor<double> w = Tensor<double>::uniform(Shape{cs.shape[1]}, rng, -2.0, 2.0);
        const Index k = cs.kernel, s = cs.stride;
        for (PoolMode mode : all_modes) {
            INFO("mode " << to_string(mode) << " shape " << cs.shape << " kernel " << k << " stride " << s);
            if (mode == PoolMode::learned) {
                auto f = [k, s](const V& v) { return max_average_pool2d(v[0], PoolMode::learned, v[1], k, s); };
                auto both = gradcheck(f, {x, w});
                INFO(both.summary);
                CHECK(both.max_error() < 1e-6);
                auto weight_only = gradcheck(f, {x, w}, 2, 1e-6, {false, true});
                INFO(weight_only.summary);
                CHECK(weight_only.max_error() < 1e-6);
                auto input_only = gradcheck(f, {x, w}, 3, 1e-6, {true, false});
                INFO(input_only.summary);
                CHECK(input_only.max_error() < 1e-6);
            } else {
                auto r = gradcheck([mode, k, s](const V& v) { return max_average_pool2d(v[0], mode, Var<double>(), k, s); },
                                   {x});
                INFO(r.summary);
                CHECK(r.max_error() < 1e-6);
            }
        }
    }
}

TEST_CASE("max_average_pool2d rejects bad arguments with a clear message", "[ops][max_average_pool][errors]") {
    Var<float> x(Tensor<float>(Shape{2, 3, 6, 6}));
    Var<float> w3(Tensor<float>(Shape{3}));
    Var<float> w4(Tensor<float>(Shape{4}));
    CHECK_THROWS_AS(max_average_pool2d(x, PoolMode::learned), ArgumentError);
    CHECK_THROWS_WITH(max_average_pool2d(x, PoolMode::learned),
                      Catch::Contains("mode learned needs a per-channel weight of shape [3]"));
    CHECK_THROWS_AS(max_average_pool2d(x, PoolMode::learned, w4), ShapeError);
    CHECK_THROWS_WITH(max_average_pool2d(x, PoolMode::learned, w4),
                      Catch::Contains("expects a weight of shape [3] (one value per channel of input [2, 3, 6, 6]), got [4]"));
    CHECK_THROWS_AS(max_average_pool2d(x, PoolMode::mean, w3), ArgumentError);
    CHECK_THROWS_WITH(max_average_pool2d(x, PoolMode::mean, w3), Catch::Contains("mode mean takes none"));
    CHECK_THROWS_WITH(max_average_pool2d(x, PoolMode::concat, w3), Catch::Contains("mode concat takes none"));
    CHECK_THROWS_AS(max_average_pool2d(x, PoolMode::mean, Var<float>(), 0), ArgumentError);
    CHECK_THROWS_WITH(max_average_pool2d(x, PoolMode::mean, Var<float>(), 0),
                      Catch::Contains("max_average_pool2d: kernel must be >= 1, got 0"));
    CHECK_THROWS_WITH(max_average_pool2d(x, PoolMode::max, Var<float>(), 2, -3),
                      Catch::Contains("stride must be >= 1 (or 0, meaning stride = kernel), got -3"));
    CHECK_THROWS_WITH(max_average_pool2d(x, PoolMode::avg, Var<float>(), 7),
                      Catch::Contains("kernel 7 is larger than the input's 6x6 spatial extent"));
    Var<float> flat(Tensor<float>(Shape{3, 6, 6}));
    CHECK_THROWS_AS(max_average_pool2d(flat, PoolMode::mean), ShapeError);
}

TEST_CASE("max_average_pool2d learned gives bit-identical results for 1 and 2 threads", "[ops][max_average_pool]") {
    Rng rng(17);
    const Tensor<double> xv = Tensor<double>::uniform(Shape{4, 3, 9, 7}, rng);
    const Tensor<double> wv = Tensor<double>::uniform(Shape{3}, rng);
    const Tensor<double> seed = Tensor<double>::uniform(Shape{4, 3, 4, 3}, rng);
    auto run = [&](int threads) {
        set_num_threads(threads);
        Var<double> x(xv, true), w(wv, true);
        Var<double> y = max_average_pool2d(x, PoolMode::learned, w, 3, 2);
        y.backward(seed);
        return std::vector<Tensor<double>>{y.value(), x.grad(), w.grad()};
    };
    const int before = num_threads();
    const auto one = run(1), two = run(2);
    set_num_threads(before);
    for (std::size_t i = 0; i < one.size(); ++i) CHECK(max_abs_diff(one[i], two[i]) == 0.0);
}
