#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "maunet/pipeline/time_match.hpp"

using maunet::Index;
using namespace maunet::pipeline;

namespace {
TimeAxis daily(int n, const char* units, const char* calendar, double offset = 0) {
    TimeAxis t;
    for (int i = 0; i < n; ++i) t.values.push_back(i + offset);
    t.units = units;
    t.calendar = calendar;
    t.name = std::string("'") + calendar + ".nc'";
    return t;
}
}  // namespace

TEST_CASE("match_dates: standard obs against noleap, 360_day and all_leap models", "[pipeline][time]") {
    // Obs: 2000-01-01 .. 2000-12-31 (366 days, a leap year) at 00:00.
    const TimeAxis obs = daily(366, "days since 2000-01-01", "standard");
    // noleap model at 12:00 from 2000-01-01: 365 days; 29 Feb has no partner.
    const DateMatch n = match_dates(obs, daily(365, "days since 2000-01-01 12:00:00", "noleap"));
    CHECK(n.a.size() == 365);
    CHECK(n.a[58] == 58);
    CHECK(n.b[58] == 58);
    CHECK(n.a[59] == 60);  // 1 Mar (obs index 60) pairs with noleap index 59
    CHECK(n.b[59] == 59);
    // 360_day: 360 days; 31st days and 29/30 Feb unmatched -> 360 - 2 (30 Feb, and 29 Feb exists in both) ...
    const DateMatch d = match_dates(obs, daily(360, "days since 2000-01-01", "360_day"));
    // Dates common to both: every (month, day) with day <= 30 that exists in 2000: 366 - 7 (31sts) = 359,
    // minus nothing else (29 Feb 2000 exists in both; 30 Feb only in 360_day).
    CHECK(d.a.size() == 359);
    // all_leap over 2000: every date matches.
    const DateMatch l = match_dates(obs, daily(366, "days since 2000-01-01", "all_leap"));
    CHECK(l.a.size() == 366);
    for (std::size_t i = 0; i < l.a.size(); ++i) CHECK(l.a[i] == l.b[i]);
    // A prediction shifted by a year matches nothing.
    CHECK(match_dates(obs, daily(366, "days since 2001-01-01", "standard")).a.empty());
    // A partial overlap: obs from 2000-01-01, model from 2000-12-01 (noleap): 31 days.
    const DateMatch p = match_dates(obs, daily(365, "days since 2000-12-01", "noleap"));
    CHECK(p.a.size() == 31);
    CHECK(p.a.front() == 335);
    CHECK(p.b.front() == 0);
}

TEST_CASE("match_dates: sub-daily axes match by minute; errors name the axis", "[pipeline][time]") {
    TimeAxis a, b;
    a.units = "hours since 2020-01-01";
    b.units = "hours since 2020-01-01 03:00:00";
    a.calendar = b.calendar = "standard";
    a.name = "'a.nc'";
    b.name = "'b.nc'";
    for (int i = 0; i < 16; ++i) a.values.push_back(3.0 * i), b.values.push_back(3.0 * i);
    const DateMatch m = match_dates(a, b);
    CHECK(m.a.size() == 15);
    CHECK(m.a.front() == 1);
    CHECK(m.b.front() == 0);
    TimeAxis none;
    none.name = "'x.npy'";
    CHECK_THROWS_WITH(match_dates(none, b), Catch::Contains("'x.npy'") && Catch::Contains("no CF time axis"));
    TimeAxis dup = daily(3, "days since 2000-01-01", "standard");
    dup.values = {0, 0.25, 1};  // sub-daily spacing irregular -> matched by day -> 2000-01-01 twice
    CHECK_THROWS_WITH(match_dates(dup, daily(3, "days since 2000-01-01", "standard")),
                      Catch::Contains("more than once"));
}

TEST_CASE("regular_step_seconds: the spacing of a regular axis, NaN otherwise", "[pipeline][time]") {
    CHECK(regular_step_seconds({0, 1, 2, 3}, "days since 2000-01-01") == 86400.0);
    CHECK(regular_step_seconds({0, 3, 6}, "hours since 2000-01-01") == 10800.0);
    CHECK(std::isnan(regular_step_seconds({0, 31, 60, 91}, "days since 2000-01-01")));  // months
    CHECK(std::isnan(regular_step_seconds({0}, "days since 2000-01-01")));
    CHECK(std::isnan(regular_step_seconds({0, 1}, "")));
}

TEST_CASE("common_period: each axis keeps its own steps between the first and last common date",
          "[pipeline][time]") {
    // Obs 2020-01-01 .. 2021-12-31 (standard, 731 days); model noleap from 2020-07-01 for 300 days.
    const TimeAxis obs = daily(731, "days since 2020-01-01", "standard");
    const TimeAxis model = daily(300, "days since 2020-07-01 12:00:00", "noleap");
    const CommonPeriod p = common_period(match_dates(obs, model), "'obs.nc'", "'model.nc'");
    CHECK(p.a_first == 182);  // 2020-07-01 in a leap year
    CHECK(p.b_first == 0);
    CHECK(p.b_last == 299);
    CHECK(p.a_last == 182 + 299);  // no 29 February between July 2020 and April 2021
    CHECK_THROWS_WITH(common_period(match_dates(obs, daily(10, "days since 1990-01-01", "noleap")), "'obs.nc'",
                                    "'model.nc'"),
                      Catch::Contains("'obs.nc' and 'model.nc' have no date in common"));
}
