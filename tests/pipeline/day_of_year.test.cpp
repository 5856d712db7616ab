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

TEST_CASE("day_of_year_series: standard obs mapped onto model years by fraction of the year", "[pipeline][time]") {
    // 2001 (common year): every date keeps its noleap day number.
    std::vector<double> common(365);
    for (int i = 0; i < 365; ++i) common[static_cast<std::size_t>(i)] = i;
    const auto to_noleap = day_of_year_series(common, "days since 2001-01-01", "standard", 365);
    CHECK(to_noleap.days_in_year == 365);
    for (int i = 0; i < 365; ++i) CHECK(to_noleap.doy[static_cast<std::size_t>(i)] == i + 1);
    // 2000 (leap year) onto noleap: 366 days squeezed, monotonic, 1 and 365 at the ends, one day
    // (mid-year) shares its number with the next.
    std::vector<double> leap(366);
    for (int i = 0; i < 366; ++i) leap[static_cast<std::size_t>(i)] = i;
    const auto squeezed = day_of_year_series(leap, "days since 2000-01-01", "gregorian", 365);
    CHECK(squeezed.doy.front() == 1);
    CHECK(squeezed.doy.back() == 365);
    CHECK(squeezed.doy[58] == 59);  // 28 Feb
    CHECK(squeezed.doy[59] == 60);  // 29 Feb
    CHECK(squeezed.doy[60] == 61);  // 1 Mar: 60.5 / 366 * 365 = 60.3
    int repeats = 0;
    for (std::size_t i = 1; i < squeezed.doy.size(); ++i) {
        CHECK(squeezed.doy[i] - squeezed.doy[i - 1] >= 0);
        CHECK(squeezed.doy[i] - squeezed.doy[i - 1] <= 1);
        repeats += squeezed.doy[i] == squeezed.doy[i - 1];
    }
    CHECK(repeats == 1);
    // Onto 360_day: 1 Jan -> 1, 30 Jun 2001 (day 181, fraction 0.4945) -> 179, 31 Dec -> 360.
    const auto to360 = day_of_year_series({0, 180, 364}, "days since 2001-01-01", "standard", 360);
    CHECK(to360.days_in_year == 360);
    CHECK(to360.doy == std::vector<int>{1, 179, 360});
    // Onto all_leap (366 days, as the standard convention): the standard series itself.
    const auto to366 = day_of_year_series({59, 364}, "days since 2001-01-01", "standard", 366);
    CHECK(to366.doy == std::vector<int>{61, 366});
    // noleap onto 366: 1 Mar (day 60, fraction 0.1630) -> 60, 31 Dec -> 366.
    CHECK(day_of_year_series({59, 364}, "days since 2001-01-01", "noleap", 366).doy == std::vector<int>{60, 366});
    // A 360_day model onto the observations' 366: 30 Dec (day 360) -> 366; 1 Jan -> 1.
    const auto from360 = day_of_year_series({0, 359}, "days since 2001-01-01", "360_day", 366);
    CHECK(from360.doy == std::vector<int>{1, 366});
    // The calendar's own length: the plain series.
    CHECK(day_of_year_series({59}, "days since 2001-01-01", "noleap", 365).doy == std::vector<int>{60});
    CHECK_THROWS_WITH(day_of_year_series({0}, "days since 2001-01-01", "noleap", 364),
                      Catch::Contains("360, 365 or 366"));
}
