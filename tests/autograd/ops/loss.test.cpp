#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "maunet/autograd/ops/loss.hpp"
#include "maunet/autograd/ops/rain_loss.hpp"
#include "support/gradcheck.hpp"
#include "support/random_tensor.hpp"

using namespace maunet;
using maunet::testing::gradcheck;

namespace {
using maunet::testing::random;
// A 0/1 mask with about `valid` of the cells set, and at least one of each.
Tensor<double> random_mask(Shape s, std::uint64_t seed, double valid = 0.7) {
    Rng rng(seed);
    Tensor<double> m(std::move(s));
    for (auto& v : m) v = rng.uniform() < valid ? 1.0 : 0.0;
    m[0] = 1.0;
    if (m.numel() > 1) m[1] = 0.0;
    return m;
}
// target + an offset of magnitude in [0.1, 1] with a random sign: never equal to the target,
// so that mae stays off its kink.
Tensor<double> prediction_near(const Tensor<double>& target, std::uint64_t seed) {
    Tensor<double> p = target;
    Rng rng(seed);
    for (auto& v : p) v += (rng.uniform() < 0.5 ? -1.0 : 1.0) * rng.uniform(0.1, 1.0);
    return p;
}
using V = std::vector<Var<double>>;
const double not_a_number = std::numeric_limits<double>::quiet_NaN();

struct Naive {
    double mse, mae, weighted;
};
// The three losses with plain loops over the valid cells.
Naive naive_losses(const Tensor<double>& p, const Tensor<double>& t, const Tensor<double>& mask, double y_ref) {
    double count = 0, se = 0, ae = 0, wse = 0, wsum = 0;
    for (Index i = 0; i < p.numel(); ++i) {
        if (mask.numel() > 0 && mask[i] == 0) continue;
        const double d = p[i] - t[i];
        const double w = 1 + t[i] / y_ref;
        count += 1;
        se += d * d;
        ae += std::abs(d);
        wse += w * d * d;
        wsum += w;
    }
    return {se / count, ae / count, wse / wsum};
}

void check_all_zero(const Var<double>& v) {
    REQUIRE(v.has_grad());
    for (double g : v.grad()) CHECK(g == 0.0);
}
}  // namespace

TEST_CASE("losses match plain loops, with and without a mask", "[ops][loss]") {
    for (const Shape& shape : {Shape{7}, Shape{2, 1, 5, 7}, Shape{3, 2, 4, 3}}) {
        INFO("shape " << shape);
        const Tensor<double> t = random(shape, 1, 0.0, 10.0);
        const Tensor<double> p = prediction_near(t, 2);
        for (const Tensor<double>& mask : {Tensor<double>(), random_mask(shape, 3)}) {
            INFO("mask " << (mask.numel() ? "random" : "empty"));
            const Naive n = naive_losses(p, t, mask, 4.0);
            const Var<double> pv(p), tv(t);
            const Var<double> mse = mse_loss(pv, tv, mask);
            CHECK(mse.shape() == Shape{});
            CHECK(mse.value().item() == Approx(n.mse).epsilon(1e-13));
            CHECK(mae_loss(pv, tv, mask).value().item() == Approx(n.mae).epsilon(1e-13));
            CHECK(intensity_weighted_mse(pv, tv, 4.0, mask).value().item() == Approx(n.weighted).epsilon(1e-13));
        }
    }
    // Hand-computed: d = (1, 2, 3) with the middle cell missing.
    Var<float> p = Var<float>::parameter(Tensor<float>(Shape{3}, {1, 2, 3}));
    const Var<float> t(Tensor<float>(Shape{3}));
    const Tensor<float> mask(Shape{3}, {1, 0, 1});
    Var<float> l = mse_loss(p, t, mask);
    CHECK(l.value().item() == 5.0f);  // (1 + 9) / 2
    l.backward();
    CHECK(p.grad()[0] == 1.0f);  // 2 * 1 / 2
    CHECK(p.grad()[1] == 0.0f);
    CHECK(p.grad()[2] == 3.0f);  // 2 * 3 / 2
    CHECK(mae_loss(p, t).value().item() == 2.0f);
    // w = 1 + t / 2 = (1.5, 3): (1.5 * 1 + 3 * 4) / 4.5 = 3.
    const Var<float> t2(Tensor<float>(Shape{2}, {1, 4}));
    const Var<float> p2(Tensor<float>(Shape{2}, {2, 6}));
    CHECK(intensity_weighted_mse(p2, t2, 2.0).value().item() == Approx(3.0f));
}

TEST_CASE("loss backward matches finite differences for prediction and target", "[ops][loss][gradcheck]") {
    for (const Shape& shape : {Shape{7}, Shape{2, 3, 4, 5}, Shape{3, 1, 5, 7}}) {
        const Tensor<double> t = random(shape, 4, 0.0, 8.0);
        const Tensor<double> p = prediction_near(t, 5);
        for (const Tensor<double>& mask : {Tensor<double>(), random_mask(shape, 6)}) {
            INFO("shape " << shape << " mask " << (mask.numel() ? "random" : "empty"));
            auto check = [&](const testing::DoubleFn& f) {
                auto r = gradcheck(f, {p, t});
                INFO(r.summary);
                CHECK(r.max_error() < 1e-6);
            };
            check([mask](const V& v) { return mse_loss(v[0], v[1], mask); });
            check([mask](const V& v) { return mae_loss(v[0], v[1], mask); });
            check([mask](const V& v) { return intensity_weighted_mse(v[0], v[1], 3.0, mask); });
            check([mask](const V& v) { return intensity_weighted_mse(v[0], v[1], 0.5, mask); });
        }
    }
    // Only the prediction requires a gradient (a fixed observation as target).
    const Tensor<double> t = random(Shape{2, 1, 3, 3}, 7, 0.0, 8.0);
    auto r = gradcheck([](const V& v) { return intensity_weighted_mse(v[0], v[1], 2.0); },
                       {prediction_near(t, 8), t}, 1, 1e-6, {true, false});
    CHECK(r.max_error() < 1e-6);
}

TEST_CASE("mae takes the subgradient 0 where prediction equals target", "[ops][loss]") {
    Var<double> p = Var<double>::parameter(Tensor<double>(Shape{3}, {1.0, 2.0, 3.0}));
    const Var<double> t(Tensor<double>(Shape{3}, {1.0, 0.0, 5.0}));
    mae_loss(p, t).backward();
    CHECK(p.grad()[0] == 0.0);
    CHECK(p.grad()[1] == Approx(1.0 / 3));
    CHECK(p.grad()[2] == Approx(-1.0 / 3));
}

TEST_CASE("a loss with no valid cell is 0 with zero gradients", "[ops][loss]") {
    const Tensor<double> none(Shape{2, 3}, 0.0);
    Tensor<double> p_values = random(Shape{2, 3}, 9);
    p_values[4] = not_a_number;  // missing cells may hold NaN
    for (int which = 0; which < 3; ++which) {
        INFO("loss " << which);
        Var<double> p = Var<double>::parameter(p_values);
        Var<double> t = Var<double>::parameter(random(Shape{2, 3}, 10, 0.0, 5.0));
        Var<double> l = which == 0   ? mse_loss(p, t, none)
                        : which == 1 ? mae_loss(p, t, none)
                                     : intensity_weighted_mse(p, t, 1.0, none);
        CHECK(l.value().item() == 0.0);
        l.backward();
        check_all_zero(p);
        check_all_zero(t);
    }
    // An empty batch with the default mask is the same case.
    CHECK(mse_loss(Var<double>(Tensor<double>(Shape{0, 4})), Var<double>(Tensor<double>(Shape{0, 4})))
              .value()
              .item() == 0.0);
}

TEST_CASE("NaN in masked-out cells does not leak into losses or gradients", "[ops][loss]") {
    const Shape shape{2, 1, 4, 5};
    const Tensor<double> mask = random_mask(shape, 11, 0.6);
    Tensor<double> t = random(shape, 12, 0.0, 6.0);
    Tensor<double> p = prediction_near(t, 13);
    // The same data with NaN written into every missing cell (pred in some, target in others).
    Tensor<double> t_nan = t, p_nan = p;
    for (Index i = 0; i < mask.numel(); ++i)
        if (mask[i] == 0) {
            if (i % 2 == 0 || i % 3 == 0) p_nan[i] = not_a_number;
            if (i % 2 == 1 || i % 3 == 0) t_nan[i] = not_a_number;
        }

    for (int which = 0; which < 3; ++which) {
        INFO("loss " << which);
        auto loss = [which, &mask](const Var<double>& a, const Var<double>& b) {
            return which == 0   ? mse_loss(a, b, mask)
                   : which == 1 ? mae_loss(a, b, mask)
                                : intensity_weighted_mse(a, b, 2.0, mask);
        };
        Var<double> pc = Var<double>::parameter(p), tc = Var<double>::parameter(t);
        Var<double> pn = Var<double>::parameter(p_nan), tn = Var<double>::parameter(t_nan);
        Var<double> clean = loss(pc, tc), dirty = loss(pn, tn);
        REQUIRE(std::isfinite(dirty.value().item()));
        CHECK(dirty.value().item() == clean.value().item());
        clean.backward();
        dirty.backward();
        CHECK(pn.grad().all_finite());
        CHECK(tn.grad().all_finite());
        for (Index i = 0; i < mask.numel(); ++i) {
            CHECK(pn.grad()[i] == pc.grad()[i]);
            CHECK(tn.grad()[i] == tc.grad()[i]);
            if (mask[i] == 0) CHECK(pn.grad()[i] == 0.0);
        }
    }
    // Without a mask a NaN is data, and it shows.
    CHECK(std::isnan(mse_loss(Var<double>(p_nan), Var<double>(t)).value().item()));
}

TEST_CASE("intensity weights give heavy rain more weight", "[ops][loss]") {
    // The same error of 1 on a dry cell and on a 20 mm cell: the wet cell's gradient is larger.
    Var<double> p = Var<double>::parameter(Tensor<double>(Shape{2}, {1.0, 21.0}));
    const Var<double> t(Tensor<double>(Shape{2}, {0.0, 20.0}));
    intensity_weighted_mse(p, t, 10.0).backward();
    CHECK(p.grad()[1] == Approx(3.0 * p.grad()[0]));  // w = 3 vs w = 1
}

TEST_CASE("loss errors", "[ops][loss][errors]") {
    const Var<float> a(Tensor<float>(Shape{2, 3})), b(Tensor<float>(Shape{3, 2}));
    CHECK_THROWS_AS(mse_loss(a, b), ShapeError);
    CHECK_THROWS_WITH(mse_loss(a, b), Catch::Contains("mse_loss: prediction [2, 3] and target [3, 2] differ in shape"));
    CHECK_THROWS_WITH(mae_loss(a, b), Catch::Contains("mae_loss: prediction [2, 3] and target [3, 2]"));
    CHECK_THROWS_WITH(intensity_weighted_mse(a, b, 1.0),
                      Catch::Contains("intensity_weighted_mse: prediction [2, 3] and target [3, 2]"));
    CHECK_THROWS_AS(mse_loss(a, a, Tensor<float>(Shape{6}, 1.0f)), ShapeError);
    CHECK_THROWS_WITH(mae_loss(a, a, Tensor<float>(Shape{6}, 1.0f)),
                      Catch::Contains("mae_loss: mask [6] and prediction [2, 3] differ in shape"));
    Tensor<float> half(Shape{2, 3}, 1.0f);
    half[4] = 0.5f;
    CHECK_THROWS_AS(mse_loss(a, a, half), ArgumentError);
    CHECK_THROWS_WITH(mse_loss(a, a, half),
                      Catch::Contains("mse_loss: mask values must be 0 (missing) or 1 (valid), found 0.5 at element 4"));
    half[4] = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_WITH(intensity_weighted_mse(a, a, 1.0, half), Catch::Contains("found nan at element 4"));
    CHECK_THROWS_AS(intensity_weighted_mse(a, a, 0.0), ArgumentError);
    CHECK_THROWS_WITH(intensity_weighted_mse(a, a, -2.0),
                      Catch::Contains("intensity_weighted_mse: y_ref must be a finite number > 0, got -2"));
    const Var<float> negative(Tensor<float>(Shape{2, 3}, {0, 0, 0, -3, 0, 0}));
    CHECK_THROWS_WITH(intensity_weighted_mse(a, negative, 2.0),
                      Catch::Contains("weights 1 + target / y_ref must be >= 0, but target -3 at element 3"));
    // ...unless that cell is masked out.
    const Tensor<float> skip(Shape{2, 3}, {1, 1, 1, 0, 1, 1});
    CHECK(intensity_weighted_mse(a, negative, 2.0, skip).value().item() == 0.0f);
}

TEST_CASE("tail_weighted_mse: value by hand, and gradients match finite differences", "[ops][loss][gradcheck]") {
    const Tensor<double> t = random(Shape{2, 1, 4, 5}, 21, -1.0, 3.0);
    const Tensor<double> p = prediction_near(t, 22);
    const Tensor<double> m = random_mask(t.shape(), 23);
    const double tau = 1.0, lambda = 2.0;
    double s = 0, w = 0;
    for (Index i = 0; i < t.numel(); ++i) {
        if (m[i] == 0) continue;
        const double wi = 1 + lambda * std::max(0.0, t[i] - tau);
        s += wi * (p[i] - t[i]) * (p[i] - t[i]);
        w += wi;
    }
    CHECK(tail_weighted_mse(Var<double>(p), Var<double>(t), tau, lambda, m).value().item() == Approx(s / w).epsilon(1e-14));
    // lambda = 0 is the MSE.
    CHECK(tail_weighted_mse(Var<double>(p), Var<double>(t), tau, 0.0, m).value().item() ==
          Approx(mse_loss(Var<double>(p), Var<double>(t), m).value().item()).epsilon(1e-14));
    // Targets kept away from the kink at tau, where w is not differentiable.
    Tensor<double> t_off = t;
    for (auto& v : t_off)
        if (std::abs(v - tau) < 0.01) v += 0.05;
    auto r = gradcheck([&](const V& v) { return tail_weighted_mse(v[0], v[1], tau, lambda, m); }, {p, t_off});
    INFO(r.summary);
    CHECK(r.max_error() < 1e-6);
    CHECK_THROWS_WITH(tail_weighted_mse(Var<double>(p), Var<double>(t), tau, -1.0),
                      Catch::Contains("lambda must be a finite number >= 0, got -1"));
}

TEST_CASE("bernoulli_gamma_nll: value by hand, gradients match finite differences, missing cells ignored",
          "[ops][loss][gradcheck]") {
    const Index N = 2, H = 3, W = 4;
    const Tensor<double> theta = random(Shape{N, 3, H, W}, 31, -1.0, 1.0);
    Tensor<double> y = random(Shape{N, 1, H, W}, 32, 0.0, 6.0);
    for (Index i = 0; i < y.numel(); i += 3) y[i] = 0.0;  // dry cells
    y[4] = 0.05;                                          // below the threshold: dry too
    Tensor<double> m = random_mask(y.shape(), 33, 0.8);
    y[1] = not_a_number;  // a missing cell (m[1] == 0) holding NaN
    const double thr = 0.1;
    double total = 0, count = 0;
    for (Index n = 0; n < N; ++n)
        for (Index j = 0; j < H * W; ++j) {
            const Index i = n * H * W + j;
            if (m[i] == 0) continue;
            const double l = theta[(n * 3) * H * W + j], a = std::exp(theta[(n * 3 + 1) * H * W + j]),
                         b = std::exp(theta[(n * 3 + 2) * H * W + j]), p = 1 / (1 + std::exp(-l));
            total += y[i] > thr ? -std::log(p) - ((a - 1) * std::log(y[i]) - y[i] / b - a * std::log(b) - std::lgamma(a))
                                : -std::log(1 - p);
            count += 1;
        }
    const Var<double> loss = bernoulli_gamma_nll(Var<double>(theta), y, thr, m);
    CHECK(loss.value().item() == Approx(total / count).epsilon(1e-13));
    auto r = gradcheck([&](const V& v) { return bernoulli_gamma_nll(v[0], y, thr, m); }, {theta});
    INFO(r.summary);
    CHECK(r.max_error() < 1e-6);
    Var<double> th(theta, true);
    bernoulli_gamma_nll(th, y, thr, m).backward();
    CHECK(th.grad().all_finite());

    CHECK_THROWS_WITH(bernoulli_gamma_nll(Var<double>(Tensor<double>(Shape{N, 2, H, W})), y, thr),
                      Catch::Contains("bernoulli_gamma_nll: expected parameters [N, 3, H, W]"));
    Tensor<double> negative = y;
    negative[0] = -1.0;
    CHECK_THROWS_WITH(bernoulli_gamma_nll(Var<double>(theta), negative, thr, m),
                      Catch::Contains("amounts must be >= 0 where valid, found -1"));
}
