#include <catch2/catch.hpp>

#include "maunet/stats/linear_scaling.hpp"
#include "bias_correction_test_data.hpp"

using namespace maunet;
using namespace maunet::stats;
using namespace maunet::testing;

namespace {
const double kNaN = std::numeric_limits<double>::quiet_NaN();
}

TEST_CASE("linear scaling matches the observed means exactly", "[stats][bias][linear_scaling]") {
    BiasCorrectionConfig cfg;
    cfg.wet_day_threshold = 0.0;
    const auto obs = series<double>(400, 3, 4, 1, precipitation(0.4));
    const auto sim = series<double>(500, 3, 4, 2, precipitation(0.2, 0.8, 3.0));
    LinearScaling<double> mult(Kind::multiplicative, cfg);
    mult.fit(obs, sim);
    const auto y = mult.apply(sim);
    const auto tn = series<double>(300, 3, 4, 3, [](Rng& r) { return r.normal(15.0, 4.0); });
    const auto sn = series<double>(350, 3, 4, 4, [](Rng& r) { return r.normal(12.0, 4.0); });
    LinearScaling<double> add(Kind::additive);
    add.fit(tn, sn);
    const auto z = add.apply(sn);
    for (Index i = 0; i < 3; ++i)
        for (Index j = 0; j < 4; ++j) {
            CHECK(mean_of(cell_values(y, i, j)) == Approx(mean_of(cell_values(obs, i, j))).epsilon(1e-12));
            CHECK(mean_of(cell_values(z, i, j)) == Approx(mean_of(cell_values(tn, i, j))).epsilon(1e-12));
            // The multiplicative factor is one number per cell.
            const double f = mean_of(cell_values(obs, i, j)) / mean_of(cell_values(sim, i, j));
            CHECK(y(7, i, j) == Approx(sim(7, i, j) * f));
        }
}

TEST_CASE("linear scaling: cap, threshold, NaN, never-wet and all-missing cells", "[stats][bias][linear_scaling]") {
    // Cell (0,0): factor 50 capped at 10. (0,1): obs all NaN. (1,0): sim never wet. (1,1): one NaN.
    Tensor<float> obs(Shape{4, 2, 2}), sim(Shape{4, 2, 2});
    for (Index t = 0; t < 4; ++t) {
        obs(t, 0, 0) = 50.f, sim(t, 0, 0) = 1.f;
        obs(t, 0, 1) = static_cast<float>(kNaN), sim(t, 0, 1) = 2.f;
        obs(t, 1, 0) = 3.f, sim(t, 1, 0) = 0.05f;
        obs(t, 1, 1) = 4.f, sim(t, 1, 1) = 2.f;
    }
    sim(2, 1, 1) = static_cast<float>(kNaN);
    LinearScaling<float> ls;
    ls.fit(obs, sim);
    const auto y = ls.apply(sim);
    for (Index t = 0; t < 4; ++t) {
        CHECK(y(t, 0, 0) == 10.f);
        CHECK(std::isnan(y(t, 0, 1)));
        CHECK(y(t, 1, 0) == 0.f);  // dry in, dry out; no NaN, no division by zero
        if (t == 2) CHECK(std::isnan(y(t, 1, 1)));
        else CHECK(y(t, 1, 1) == 4.f);
    }
    Tensor<float> light(Shape{1, 2, 2}, {0.2f, 0.2f, 0.2f, 0.2f});
    obs.fill(0.1f);  // obs mean 0.1, sim mean 1 (cell 0,0): 0.2 * 0.1 = 0.02 < 0.1 -> dry
    ls.fit(obs, sim);
    CHECK(ls.apply(light)(0, 0, 0) == 0.f);
}

TEST_CASE("linear scaling with day-of-year windows corrects each season with its own means",
          "[stats][bias][linear_scaling]") {
    // Additive bias +3 in the first half of the year, -2 in the second; 360-day calendar.
    const auto doy = doy_cycle(4, 360);
    const auto T = static_cast<Index>(doy.size());
    const auto obs = series<double>(T, 1, 1, 9, [](Rng& r) { return r.normal(0, 1); });
    Tensor<double> sim(obs.shape());
    for (Index t = 0; t < T; ++t) sim[t] = obs[t] + (doy[static_cast<std::size_t>(t)] <= 180 ? 3.0 : -2.0);
    BiasCorrectionConfig cfg;
    cfg.window_half_width_days = 10;
    LinearScaling<double> ls(Kind::additive, cfg);
    ls.fit(obs, doy, sim, doy, 360);
    const auto y = ls.apply(sim, doy, 360);
    for (Index t = 0; t < T; ++t) {
        const int d = doy[static_cast<std::size_t>(t)];
        if ((d >= 15 && d <= 165) || (d >= 195 && d <= 345)) REQUIRE(y[t] == Approx(obs[t]).margin(1e-9));
    }
    CHECK_THROWS_WITH(ls.apply(sim), Catch::Contains("fitted with day-of-year windows"));
    CHECK_THROWS_WITH(ls.apply(sim, doy, 365), Catch::Contains("fitted with days_in_year 360 but apply() got 365"));
}

TEST_CASE("linear scaling: bad inputs throw", "[stats][bias][linear_scaling][errors]") {
    LinearScaling<float> ls;
    CHECK_THROWS_WITH(ls.apply(Tensor<float>(Shape{2, 2, 2})), Catch::Contains("apply() called before fit()"));
    CHECK_THROWS_WITH(ls.fit(Tensor<float>(Shape{2, 2, 3}), Tensor<float>(Shape{5, 2, 2})),
                      Catch::Contains("LinearScaling::fit: obs [2, 2, 3] and sim [5, 2, 2] must share the grid"));
    CHECK_THROWS_AS(ls.fit(Tensor<float>(Shape{2, 2, 3}), Tensor<float>(Shape{5, 2, 2})), ShapeError);
    ls.fit(Tensor<float>(Shape{2, 2, 3}), Tensor<float>(Shape{5, 2, 3}));
    CHECK_THROWS_WITH(ls.apply(Tensor<float>(Shape{2, 3, 3})),
                      Catch::Contains("input [2, 3, 3] does not match the fitted grid [time, 2, 3]"));
    BiasCorrectionConfig cfg;
    cfg.window_half_width_days = 15;
    LinearScaling<float> windowed(Kind::multiplicative, cfg);
    CHECK_THROWS_WITH(windowed.fit(Tensor<float>(Shape{2, 2, 3}), Tensor<float>(Shape{2, 2, 3})),
                      Catch::Contains("window_half_width_days = 15 needs day-of-year vectors"));
    cfg.max_ratio = -1;
    CHECK_THROWS_WITH(LinearScaling<float>(Kind::additive, cfg), Catch::Contains("LinearScaling: expected a finite max_ratio"));
}
