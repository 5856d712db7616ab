#include <catch2/catch.hpp>

#include "maunet/stats/bias_correction_common.hpp"
#include "bias_correction_test_data.hpp"

using maunet::Index; using maunet::Tensor; using maunet::Shape; using maunet::ArgumentError;
using namespace maunet::stats;

TEST_CASE("bias correction common: circular day distance wraps the year", "[stats][bias]") {
    CHECK(circular_day_distance(1, 365, 365) == 1);
    CHECK(circular_day_distance(360, 5, 365) == 10);
    CHECK(circular_day_distance(60, 45, 366) == 15);
    CHECK(circular_day_distance(1, 360, 360) == 1);
    CHECK(circular_day_distance(100, 100, 365) == 0);
    CHECK(circular_day_distance(1, 184, 366) == 183);
}

TEST_CASE("bias correction common: the sliding window equals a rebuilt window", "[stats][bias]") {
    for (int days : {365, 366, 360}) {
        const int years = 3;
        const auto doy = maunet::testing::doy_cycle(years, days);
        const auto x = maunet::testing::series<float>(static_cast<Index>(doy.size()), 1, 2, 5, maunet::testing::precipitation(0.3));
        const maunet::stats::detail::DayWindows w(days, 15);
        REQUIRE(w.buckets == days);
        const auto s = maunet::stats::detail::collect_samples(x, w.buckets_of(doy, x.dim(0)), w.buckets, Kind::multiplicative, 0.1);
        maunet::stats::detail::WindowSample<float> sliding(s, 1, 15);
        for (int b = 0; b < days; ++b) {
            sliding.move_to(b);
            // Naive: the values of cell 1 whose doy is within 15 days of b + 1.
            std::vector<float> expect;
            for (Index t = 0; t < x.dim(0); ++t)
                if (circular_day_distance(doy[static_cast<std::size_t>(t)], b + 1, days) <= 15)
                    expect.push_back(x(t, 0, 1) < 0.1f ? 0.0f : x(t, 0, 1));
            std::sort(expect.begin(), expect.end());
            REQUIRE(sliding.sorted() == expect);
        }
        CHECK(maunet::stats::detail::DayWindows(days, 0).whole_series());
        CHECK(maunet::stats::detail::DayWindows(days, days / 2).whole_series());
    }
}

TEST_CASE("bias correction common: bad configurations and inputs throw", "[stats][bias][errors]") {
    BiasCorrectionConfig c;
    c.max_ratio = 0.5;
    CHECK_THROWS_WITH(maunet::stats::detail::check_config(c, "op"), Catch::Contains("op: expected a finite max_ratio >= 1, got 0.5"));
    c = {};
    c.wet_day_threshold = -1;
    CHECK_THROWS_WITH(maunet::stats::detail::check_config(c, "op"), Catch::Contains("wet_day_threshold >= 0, got -1"));
    c = {};
    c.window_half_width_days = -3;
    CHECK_THROWS_AS(maunet::stats::detail::check_config(c, "op"), ArgumentError);
    CHECK_THROWS_WITH(maunet::stats::detail::check_days_in_year(364, "op"), Catch::Contains("365, 366 or 360, got 364"));
    CHECK_THROWS_WITH(maunet::stats::detail::check_doy({1, 2}, 3, 365, "op", "doy"),
                      Catch::Contains("doy has 2 days of year but the series has 3 time steps"));
    CHECK_THROWS_WITH(maunet::stats::detail::check_doy({1, 361}, 2, 360, "op", "doy"),
                      Catch::Contains("doy[1] = 361 is outside 1..360"));
    CHECK_THROWS_WITH(maunet::stats::detail::check_series(Tensor<float>(Shape{3, 4}), "op", "obs"),
                      Catch::Contains("obs must have shape [time, H, W]"));
    CHECK_THROWS_WITH(maunet::stats::detail::check_same_grid(Tensor<float>(Shape{3, 4, 5}), Tensor<float>(Shape{2, 4, 6}), "op",
                                              "obs", "sim"),
                      Catch::Contains("obs [3, 4, 5] and sim [2, 4, 6] must share the grid"));
}
