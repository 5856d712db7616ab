#include <catch2/catch.hpp>

#include <vector>

#include "maunet/pipeline/day_of_year.hpp"

using maunet::pipeline::day_of_year_series;

TEST_CASE("day_of_year_series: Gregorian dates keep their day number in every year", "[pipeline][time]") {
    // days since 1999-01-01: 1999-01-01, 1999-02-28, 1999-03-01, 2000-02-29, 2000-03-01, 1999-12-31.
    const std::vector<double> t{0, 58, 59, 365 + 59, 365 + 60, 364};
    const auto s = day_of_year_series(t, "days since 1999-01-01", "standard");
    CHECK(s.days_in_year == 366);
    CHECK(s.doy == std::vector<int>{1, 59, 61, 60, 61, 366});
}

TEST_CASE("day_of_year_series: model calendars", "[pipeline][time]") {
    const auto d360 = day_of_year_series({0, 29, 30, 359, 360}, "days since 2000-01-01", "360_day");
    CHECK(d360.days_in_year == 360);
    CHECK(d360.doy == std::vector<int>{1, 30, 31, 360, 1});
    const auto noleap = day_of_year_series({0, 59, 364}, "days since 2001-01-01", "noleap");
    CHECK(noleap.days_in_year == 365);
    CHECK(noleap.doy == std::vector<int>{1, 60, 365});
    const auto leap = day_of_year_series({59, 365}, "days since 2001-01-01", "all_leap");
    CHECK(leap.days_in_year == 366);
    CHECK(leap.doy == std::vector<int>{60, 366});
    // Hours.
    const auto hours = day_of_year_series({24.0 * 31 + 5}, "hours since 2018-01-01 00:00:00", "proleptic_gregorian");
    CHECK(hours.doy == std::vector<int>{32});
}

TEST_CASE("day_of_year_series: bad arguments", "[pipeline][time][errors]") {
    CHECK_THROWS_WITH(day_of_year_series({}, "days since 2000-01-01", "standard"),
                      Catch::Contains("at least one time value"));
    CHECK_THROWS_WITH(day_of_year_series({1.0}, "", "standard"), Catch::Contains("no units"));
    CHECK_THROWS_AS(day_of_year_series({1.0}, "days since 2000-01-01", "julian_martian"), maunet::Error);
}
