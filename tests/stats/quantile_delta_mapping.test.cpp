#include <catch2/catch.hpp>

#include "maunet/stats/quantile_delta_mapping.hpp"
#include "maunet/stats/quantile_mapping.hpp"
#include "bias_correction_test_data.hpp"
#include "support/gradcheck.hpp"

using namespace maunet;
using namespace maunet::stats;
using namespace maunet::testing;

TEST_CASE("QDM: sim = 2 x obs maps back to obs when the future equals the history", "[stats][bias][qdm]") {
    const auto obs = series<double>(3000, 1, 2, 71, [](Rng& r) { return gamma_draw(r, 0.8, 5.0); });
    Tensor<double> sim(obs.shape());
    for (Index k = 0; k < obs.numel(); ++k) sim[k] = 2 * obs[k];
    QuantileDeltaMapping<double> qdm;
    qdm.fit(obs, sim);
    const auto y = qdm.apply(sim);
    for (Index k = 0; k < obs.numel(); ++k)
        if (obs[k] >= 0.2) REQUIRE(y[k] == Approx(obs[k]).epsilon(1e-6));
}

TEST_CASE("QDM preserves the relative change of quantiles (Cannon et al. 2015)", "[stats][bias][qdm]") {
    // obs ~ Gamma(0.6, 6); sim_hist biased (Gamma(0.8, 8)); sim_future = sim_hist climate with a
    // changing shape. The corrected future's quantiles divided by obs quantiles must equal
    // the model's future / historical quantile ratios.
    const auto gen = [](double k, double theta) { return [=](Rng& r) { return gamma_draw(r, k, theta); }; };
    const auto obs = series<double>(20000, 1, 1, 81, gen(0.6, 6.0));  // shape differs from hist: QM is not a pure scaling
    const auto hist = series<double>(20000, 1, 1, 82, gen(0.8, 8.0));
    const auto fut = series<double>(20000, 1, 1, 83, gen(1.1, 8.0));
    BiasCorrectionConfig cfg;
    cfg.wet_day_threshold = 0.0;  // continuous (no dry days) for a clean quantile check
    QuantileDeltaMapping<double> qdm(Kind::multiplicative, cfg, 200);
    qdm.fit(obs, hist);
    const auto y = qdm.apply(fut);
    const auto vo = cell_values(obs, 0, 0), vh = cell_values(hist, 0, 0), vf = cell_values(fut, 0, 0),
               vy = cell_values(y, 0, 0);
    for (double p : {0.3, 0.5, 0.75, 0.9, 0.95}) {
        const double change = sample_quantile(vf, p) / sample_quantile(vh, p);
        CHECK(sample_quantile(vy, p) / sample_quantile(vo, p) == Approx(change).epsilon(0.02));
    }
    // Plain QM does not preserve it (the check above is not trivially true).
    QuantileMapping<double> qm(Kind::multiplicative, cfg, 200);
    qm.fit(obs, hist);
    const auto vq = cell_values(qm.apply(fut), 0, 0);
    double worst = 0;
    for (double p : {0.1, 0.3, 0.5, 0.9}) {
        const double qm_ratio = sample_quantile(vq, p) / sample_quantile(vo, p);
        worst = maunet::testing::max_or_nan(worst, std::abs(qm_ratio / (sample_quantile(vf, p) / sample_quantile(vh, p)) - 1.0));
    }
    CHECK(worst > 0.1);

    // Additive: differences of quantiles preserved on normal series.
    const auto to = series<double>(20000, 1, 1, 91, [](Rng& r) { return r.normal(10, 2); });
    const auto th = series<double>(20000, 1, 1, 92, [](Rng& r) { return r.normal(12, 3); });
    const auto tf = series<double>(20000, 1, 1, 93, [](Rng& r) { return r.normal(14, 4); });
    QuantileDeltaMapping<double> add(Kind::additive, {}, 200);
    add.fit(to, th);
    const auto ty = add.apply(tf);
    const auto wo = cell_values(to, 0, 0), wh = cell_values(th, 0, 0), wf = cell_values(tf, 0, 0),
               wy = cell_values(ty, 0, 0);
    for (double q : {0.05, 0.25, 0.5, 0.75, 0.95})
        CHECK(sample_quantile(wy, q) - sample_quantile(wo, q) ==
              Approx(sample_quantile(wf, q) - sample_quantile(wh, q)).margin(0.05));
}

TEST_CASE("QDM precipitation care: threshold, cap, NaN, never-wet, extrapolation", "[stats][bias][qdm]") {
    auto obs = series<float>(800, 2, 2, 101, precipitation(0.5));
    auto hist = series<float>(800, 2, 2, 102, precipitation(0.3));
    auto fut = series<float>(800, 2, 2, 103, precipitation(0.3, 0.8, 7.0));
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (Index t = 0; t < 800; ++t) {
        hist(t, 0, 0) = nan;  // all-missing simulation cell
        hist(t, 0, 1) = 0.f;  // never wet
        fut(t, 0, 1) = 0.f;
    }
    fut(5, 1, 1) = nan;
    QuantileDeltaMapping<float> qdm;
    qdm.fit(obs, hist);
    const auto y = qdm.apply(fut);
    for (Index t = 0; t < 800; ++t) {
        REQUIRE(std::isnan(y(t, 0, 0)));
        REQUIRE(y(t, 0, 1) == 0.f);
        REQUIRE((y(t, 1, 0) == 0.f || y(t, 1, 0) >= 0.1f));
        if (t == 5) REQUIRE(std::isnan(y(t, 1, 1)));
        else REQUIRE(std::isfinite(y(t, 1, 1)));
        if (std::isfinite(y(t, 1, 1)) && fut(t, 1, 1) >= 0.1f) REQUIRE(y(t, 1, 1) <= 10.f * fut(t, 1, 1) * 1.0001f);
    }
    // Cap: obs 50 x sim everywhere -> factor 10. Values beyond the range keep the end ratio.
    Tensor<double> h(Shape{100, 1, 1}), o(Shape{100, 1, 1});
    for (Index t = 0; t < 100; ++t) h[t] = 1.0 + t, o[t] = 50.0 * (1.0 + t);
    QuantileDeltaMapping<double> capped(Kind::multiplicative, {}, 100);
    capped.fit(o, h);
    Tensor<double> f(Shape{100, 1, 1});
    for (Index t = 0; t < 100; ++t) f[t] = 2.0 * (1.0 + t);
    const auto c = capped.apply(f);
    for (Index t = 0; t < 100; ++t) CHECK(c[t] == Approx(10.0 * f[t]));
    for (Index t = 0; t < 100; ++t) o[t] = 3.0 * (1.0 + t);
    capped.fit(o, h);
    f[99] = 1000.0;  // far beyond everything: ratio at the top quantile (3) is held
    CHECK(capped.apply(f)[99] == Approx(3000.0));
}

TEST_CASE("QDM with day-of-year windows over a 365-day calendar", "[stats][bias][qdm]") {
    const auto doy = doy_cycle(8, 365);
    const auto T = static_cast<Index>(doy.size());
    const auto obs = series<double>(T, 1, 1, 111, [](Rng& r) { return r.normal(0, 1); });
    Tensor<double> hist(obs.shape()), fut(obs.shape());
    Rng rng(5);
    for (Index t = 0; t < T; ++t) {
        const bool winter = doy[static_cast<std::size_t>(t)] <= 60 || doy[static_cast<std::size_t>(t)] > 335;
        hist[t] = rng.normal(winter ? 5 : -5, 1);
        fut[t] = rng.normal(winter ? 7 : -4, 1);  // +2 in winter, +1 elsewhere
    }
    BiasCorrectionConfig cfg;
    cfg.window_half_width_days = 15;
    QuantileDeltaMapping<double> qdm(Kind::additive, cfg, 50);
    qdm.fit(obs, doy, hist, doy, 365);
    const auto y = qdm.apply(fut, doy, 365);
    double winter_mean = 0, summer_mean = 0;
    Index nw = 0, ns = 0;
    for (Index t = 0; t < T; ++t) {
        const int d = doy[static_cast<std::size_t>(t)];
        if (d <= 40 || d > 355) winter_mean += y[t], ++nw;        // deep winter, wraps the new year
        if (d > 100 && d < 300) summer_mean += y[t], ++ns;
    }
    CHECK(winter_mean / static_cast<double>(nw) == Approx(2.0).margin(0.1));
    CHECK(summer_mean / static_cast<double>(ns) == Approx(1.0).margin(0.1));
}

TEST_CASE("QDM: bad inputs throw", "[stats][bias][qdm][errors]") {
    CHECK_THROWS_WITH(QuantileDeltaMapping<float>(Kind::additive, {}, 0),
                      Catch::Contains("QuantileDeltaMapping: expected n_quantiles >= 2, got 0"));
    QuantileDeltaMapping<float> qdm;
    CHECK_THROWS_WITH(qdm.apply(Tensor<float>(Shape{3, 2, 2})),
                      Catch::Contains("QuantileDeltaMapping::apply: apply() called before fit()"));
    CHECK_THROWS_AS(qdm.fit(Tensor<float>(Shape{3, 2, 2}), Tensor<float>(Shape{3, 2, 1})), ShapeError);
    qdm.fit(Tensor<float>(Shape{3, 2, 2}), Tensor<float>(Shape{3, 2, 2}));
    CHECK_THROWS_WITH(qdm.apply(Tensor<float>(Shape{4, 1, 2})),
                      Catch::Contains("input [4, 1, 2] does not match the fitted grid [time, 2, 2]"));
    CHECK_THROWS_WITH(qdm.apply(Tensor<float>(Shape{2, 2, 2}), {1, 367}, 366),
                      Catch::Contains("doy[1] = 367 is outside 1..366"));
}
