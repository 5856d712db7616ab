#include <catch2/catch.hpp>

#include <limits>

#include "maunet/stats/quantiles.hpp"

using namespace maunet;
using namespace maunet::stats;

TEST_CASE("quantiles: Hazen plotting positions and type-5 quantiles by hand", "[stats][quantiles]") {
    const auto p = plotting_positions(4);
    REQUIRE(p == std::vector<double>{0.125, 0.375, 0.625, 0.875});
    const std::vector<double> x = {1, 2, 4, 8};
    CHECK(quantile_sorted(x.data(), 4, 0.125) == 1.0);   // h = 0
    CHECK(quantile_sorted(x.data(), 4, 0.5) == 3.0);     // h = 1.5 -> between 2 and 4
    CHECK(quantile_sorted(x.data(), 4, 0.8) == Approx(4 + 0.7 * 4));  // h = 2.7
    CHECK(quantile_sorted(x.data(), 4, 0.0) == 1.0);     // clamped
    CHECK(quantile_sorted(x.data(), 4, 1.0) == 8.0);
    CHECK(quantile_table(x.data(), 4, p) == x);          // the sample itself at its positions
    CHECK(empirical_quantile({8, std::numeric_limits<double>::quiet_NaN(), 2, 1, 4}, 0.5) == 3.0);
}

TEST_CASE("quantiles: the ECDF inverts the quantile function, ties take the mid rank", "[stats][quantiles]") {
    const std::vector<double> x = {0, 0, 0, 1, 3, 7};
    for (double q : {0.5, 1.0, 2.0, 4.0, 6.5}) {
        const double p = ecdf_sorted(x.data(), 6, q);
        CHECK(quantile_sorted(x.data(), 6, p) == Approx(q));
    }
    CHECK(ecdf_sorted(x.data(), 6, 0.0) == Approx(1.5 / 6));   // ranks 0..2 -> mid-rank 1.5 / 6
    CHECK(ecdf_sorted(x.data(), 6, -1.0) == Approx(0.5 / 6));  // clamped
    CHECK(ecdf_sorted(x.data(), 6, 99.0) == Approx(5.5 / 6));
}

TEST_CASE("quantiles: table lookups interpolate, report the ends and average tied runs", "[stats][quantiles]") {
    const std::vector<double> xs = {0, 0, 1, 3}, ys = {10, 20, 30, 50};
    auto r = interpolate_table(xs, ys, 2.0);
    CHECK(r.where == TableLookup::Where::inside);
    CHECK(r.value == Approx(40.0));
    CHECK(interpolate_table(xs, ys, 0.0).value == Approx(15.0));  // tied run 10, 20
    CHECK(interpolate_table(xs, ys, 0.5).value == Approx(25.0));
    CHECK(interpolate_table(xs, ys, 3.0).value == Approx(50.0));
    CHECK(interpolate_table(xs, ys, -0.1).where == TableLookup::Where::below);
    CHECK(interpolate_table(xs, ys, 3.1).where == TableLookup::Where::above);
    const std::vector<double> table = {1, 2, 4, 8};  // at positions 1/8, 3/8, 5/8, 7/8
    CHECK(table_quantile(table, 0.5) == Approx(3.0));
    CHECK(table_quantile(table, 0.05) == 1.0);
    CHECK(table_quantile(table, 0.95) == 8.0);
}

TEST_CASE("quantiles: bad arguments throw", "[stats][quantiles][errors]") {
    CHECK_THROWS_WITH(plotting_positions(0), Catch::Contains("expected n >= 1, got 0"));
    CHECK_THROWS_WITH(empirical_quantile({1, 2}, 1.5), Catch::Contains("probability in [0, 1], got 1.5"));
    CHECK_THROWS_AS(empirical_quantile({std::numeric_limits<double>::quiet_NaN()}, 0.5), ArgumentError);
    CHECK_THROWS_WITH(empirical_quantile({}, 0.5), Catch::Contains("at least one non-NaN value"));
}
