#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <string>

#include "maunet/io/cf_time.hpp"

using maunet::io::Calendar;
using maunet::io::CivilTime;
using maunet::io::decode_time;
using maunet::io::encode_time;
using maunet::io::parse_calendar;
using maunet::io::parse_time_units;
using maunet::io::TimeUnit;

namespace {

CivilTime civil(int y, int mo, int d, int h = 0, int mi = 0, double s = 0) { return CivilTime{y, mo, d, h, mi, s}; }

// An independent, obviously correct day counter: the month lengths written out by hand,
// stepping one day at a time.
bool naive_leap(int y, Calendar c) {
    if (c == Calendar::noleap || c == Calendar::day360) return false;
    if (c == Calendar::all_leap) return true;
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}
int naive_month_length(int y, int m, Calendar c) {
    if (c == Calendar::day360) return 30;
    static const int lengths[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && naive_leap(y, c) ? 29 : lengths[m - 1];
}
void naive_next_day(CivilTime& t, Calendar c) {
    if (++t.day > naive_month_length(t.year, t.month, c)) {
        t.day = 1;
        if (++t.month > 12) {
            t.month = 1;
            ++t.year;
        }
    }
}

}  // namespace

TEST_CASE("cf_time parses calendars and their names", "[io][cf_time]") {
    CHECK(parse_calendar("standard") == Calendar::proleptic_gregorian);
    CHECK(parse_calendar("gregorian") == Calendar::proleptic_gregorian);
    CHECK(parse_calendar("Proleptic_Gregorian") == Calendar::proleptic_gregorian);
    CHECK(parse_calendar("") == Calendar::proleptic_gregorian);
    CHECK(parse_calendar("noleap") == Calendar::noleap);
    CHECK(parse_calendar("365_day") == Calendar::noleap);
    CHECK(parse_calendar("all_leap") == Calendar::all_leap);
    CHECK(parse_calendar("366_day") == Calendar::all_leap);
    CHECK(parse_calendar("360_day") == Calendar::day360);
    for (Calendar c : {Calendar::proleptic_gregorian, Calendar::noleap, Calendar::all_leap, Calendar::day360})
        CHECK(parse_calendar(maunet::io::calendar_name(c)) == c);
    CHECK_THROWS_AS(parse_calendar("julian"), maunet::ArgumentError);
    CHECK_THROWS_WITH(parse_calendar("julian"), Catch::Contains("calendar 'julian' is not supported"));
    CHECK_THROWS_WITH(parse_calendar("none"), Catch::Contains("expected standard"));
}

TEST_CASE("cf_time knows leap years and month lengths", "[io][cf_time]") {
    using maunet::io::days_in_month;
    using maunet::io::days_in_year;
    using maunet::io::is_leap_year;
    const Calendar g = Calendar::proleptic_gregorian;
    CHECK_FALSE(is_leap_year(1900, g));
    CHECK(is_leap_year(2000, g));
    CHECK(is_leap_year(2004, g));
    CHECK_FALSE(is_leap_year(2100, g));
    CHECK_FALSE(is_leap_year(1999, g));
    CHECK(days_in_month(1900, 2, g) == 28);
    CHECK(days_in_month(2000, 2, g) == 29);
    CHECK(days_in_year(2000, g) == 366);
    CHECK(days_in_year(1900, g) == 365);
    CHECK(days_in_month(2000, 2, Calendar::noleap) == 28);
    CHECK(days_in_year(2000, Calendar::noleap) == 365);
    CHECK(days_in_month(2001, 2, Calendar::all_leap) == 29);
    CHECK(days_in_year(2001, Calendar::all_leap) == 366);
    for (int m = 1; m <= 12; ++m) CHECK(days_in_month(2001, m, Calendar::day360) == 30);
    CHECK(days_in_year(2001, Calendar::day360) == 360);
    CHECK(days_in_month(2001, 4, g) == 30);
    CHECK(days_in_month(2001, 12, g) == 31);
    CHECK_THROWS_WITH(days_in_month(2001, 13, g), Catch::Contains("month must be in 1..12, found 13"));
}

TEST_CASE("cf_time day of year is 1-based and ends at the year length", "[io][cf_time]") {
    using maunet::io::day_of_year;
    const Calendar g = Calendar::proleptic_gregorian;
    CHECK(day_of_year(civil(1999, 1, 1), g) == 1);
    CHECK(day_of_year(civil(1999, 12, 31), g) == 365);
    CHECK(day_of_year(civil(2000, 12, 31), g) == 366);
    CHECK(day_of_year(civil(2000, 3, 1), g) == 61);
    CHECK(day_of_year(civil(2000, 3, 1), Calendar::noleap) == 60);
    CHECK(day_of_year(civil(2001, 3, 1), Calendar::all_leap) == 61);
    CHECK(day_of_year(civil(2001, 12, 30), Calendar::day360) == 360);
    CHECK(day_of_year(civil(2001, 2, 30), Calendar::day360) == 60);
    CHECK_THROWS_WITH(day_of_year(civil(1900, 2, 29), g), Catch::Contains("day 29 does not exist"));
    CHECK_THROWS_WITH(day_of_year(civil(2001, 2, 30), Calendar::noleap), Catch::Contains("day 30 does not exist"));
    CHECK_THROWS_WITH(day_of_year(civil(2001, 1, 31), Calendar::day360), Catch::Contains("day 31 does not exist"));
}

TEST_CASE("cf_time parses units in their usual spellings", "[io][cf_time]") {
    auto u = parse_time_units("days since 1850-01-01");
    CHECK(u.unit == TimeUnit::days);
    CHECK(u.reference == civil(1850, 1, 1));
    u = parse_time_units("days since 1950-01-01 00:00:00");
    CHECK(u.reference == civil(1950, 1, 1));
    u = parse_time_units("Hour since 2001-12-31T23:00:00Z");  // Stage IV's spelling
    CHECK(u.unit == TimeUnit::hours);
    CHECK(u.reference == civil(2001, 12, 31, 23));
    CHECK(u.utc_offset_minutes == 0);
    u = parse_time_units("  seconds since 1970-1-1 0:0:0.5 UTC ");
    CHECK(u.unit == TimeUnit::seconds);
    CHECK(u.reference == civil(1970, 1, 1, 0, 0, 0.5));
    u = parse_time_units("minutes since 2000-01-01 06:30");
    CHECK(u.unit == TimeUnit::minutes);
    CHECK(u.reference == civil(2000, 1, 1, 6, 30));
    u = parse_time_units("hours since 2000-01-01 00:00:00 +05:30");
    CHECK(u.utc_offset_minutes == 330);
    u = parse_time_units("hours since 2000-01-01 00:00:00 -0800");
    CHECK(u.utc_offset_minutes == -480);
    CHECK(parse_time_units("d since 2000-01-01").unit == TimeUnit::days);
    CHECK(parse_time_units("s since 2000-01-01").unit == TimeUnit::seconds);
}

TEST_CASE("cf_time rejects bad units with a sentence", "[io][cf_time][errors]") {
    using maunet::ArgumentError;
    CHECK_THROWS_AS(parse_time_units("days after 1850-01-01"), ArgumentError);
    CHECK_THROWS_WITH(parse_time_units("days after 1850-01-01"), Catch::Contains("no ' since '"));
    CHECK_THROWS_WITH(parse_time_units("fortnights since 1850-01-01"), Catch::Contains("unknown unit 'fortnights'"));
    CHECK_THROWS_WITH(parse_time_units("months since 2000-01-01"), Catch::Contains("no fixed length"));
    CHECK_THROWS_WITH(parse_time_units("years since 2000-01-01"), Catch::Contains("no fixed length"));
    CHECK_THROWS_WITH(parse_time_units("days since 1850/01/01"), Catch::Contains("expected '-' after the year"));
    CHECK_THROWS_WITH(parse_time_units("days since 1850-13-01"), Catch::Contains("out of range"));
    CHECK_THROWS_WITH(parse_time_units("days since 1850-01-01 25:00"), Catch::Contains("out of range"));
    CHECK_THROWS_WITH(parse_time_units("days since"), Catch::Contains("no ' since '"));
    CHECK_THROWS_WITH(parse_time_units("days since yesterday"), Catch::Contains("no year"));
    CHECK_THROWS_WITH(parse_time_units("days since 1850-01-01 junk"), Catch::Contains("unexpected text 'junk'"));
    CHECK_THROWS_WITH(parse_time_units("days since 1850-01-01 +25:00"), Catch::Contains("bad time zone"));
    CHECK_THROWS_WITH(parse_time_units(""), Catch::Contains("time units '' cannot be parsed"));
}

TEST_CASE("cf_time decodes known dates", "[io][cf_time]") {
    const Calendar g = Calendar::proleptic_gregorian;
    // Unix time: two famous instants.
    auto unix_units = parse_time_units("seconds since 1970-01-01 00:00:00");
    CHECK(decode_time(946684800.0, unix_units, g) == civil(2000, 1, 1));
    CHECK(decode_time(1234567890.0, unix_units, g) == civil(2009, 2, 13, 23, 31, 30));
    CHECK(decode_time(-86400.0, unix_units, g) == civil(1969, 12, 31));
    // The observations file: month ends of 1999, 'days since 1950-01-01', standard calendar.
    CHECK(decode_time(17927.0, "days since 1950-01-01 00:00:00", "standard") == civil(1999, 1, 31));
    CHECK(decode_time(17955.0, "days since 1950-01-01 00:00:00", "standard") == civil(1999, 2, 28));
    CHECK(decode_time(18261.0, "days since 1950-01-01 00:00:00", "standard") == civil(1999, 12, 31));
    // Stage IV during Hurricane Florence: first and last hour.
    CHECK(decode_time(146396.0, "Hour since 2001-12-31T23:00:00Z", "proleptic_gregorian") ==
          civil(2018, 9, 13, 19));
    CHECK(decode_time(146418.0, "Hour since 2001-12-31T23:00:00Z", "proleptic_gregorian") ==
          civil(2018, 9, 14, 17));
    // 29 February exists in 2000 and not in 1900: 1900-02-28 + 1 day is 1 March.
    CHECK(decode_time(1.0, "days since 1900-02-28", "standard") == civil(1900, 3, 1));
    CHECK(decode_time(1.0, "days since 2000-02-28", "standard") == civil(2000, 2, 29));
    CHECK(decode_time(2.0, "days since 2000-02-28", "gregorian") == civil(2000, 3, 1));
    // 1850-01-01 to 2000-02-29: 150 years of 365 days, 36 leap days (1852..1996 without 1900),
    // then 31 + 28 days.
    CHECK(encode_time(civil(2000, 2, 29), "days since 1850-01-01", "standard") == 150 * 365 + 36 + 59);
    // noleap: 365 days later is always the same date a year on.
    CHECK(decode_time(365.0, "days since 1850-01-01", "noleap") == civil(1851, 1, 1));
    CHECK(decode_time(59.0, "days since 1850-01-01", "365_day") == civil(1850, 3, 1));
    CHECK(decode_time(364.5, "days since 1850-01-01", "noleap") == civil(1850, 12, 31, 12));
    CHECK(decode_time(-365.0, "days since 2000-01-01", "noleap") == civil(1999, 1, 1));
    CHECK(decode_time(200.0 * 365, "days since 1850-01-01", "noleap") == civil(2050, 1, 1));
    // all_leap: 29 February every year.
    CHECK(decode_time(59.0, "days since 2001-01-01", "all_leap") == civil(2001, 2, 29));
    CHECK(decode_time(366.0, "days since 2001-01-01", "366_day") == civil(2002, 1, 1));
    // 360_day: 30 February exists, 360 days are one year.
    CHECK(decode_time(59.0, "days since 2000-01-01", "360_day") == civil(2000, 2, 30));
    CHECK(decode_time(360.0, "days since 2000-01-01", "360_day") == civil(2001, 1, 1));
    CHECK(decode_time(-1.0, "days since 2000-01-01", "360_day") == civil(1999, 12, 30));
    // Time zones: the reference is local to its zone; decoded times are UTC.
    CHECK(decode_time(0.0, "hours since 2000-01-01 00:00:00 +05:30", "standard") == civil(1999, 12, 31, 18, 30));
    CHECK(decode_time(1.5, "minutes since 2000-01-01", "standard") == civil(2000, 1, 1, 0, 1, 30));
}

TEST_CASE("cf_time agrees with a naive day-by-day count in every calendar", "[io][cf_time]") {
    for (Calendar c : {Calendar::proleptic_gregorian, Calendar::noleap, Calendar::all_leap, Calendar::day360}) {
        const auto units = parse_time_units("days since 1890-03-01 12:00:00");
        CivilTime t = civil(1890, 3, 1, 12);
        int mismatches = 0;
        for (int day = 0; day < 365 * 220; ++day) {  // across 1900 and 2000
            if (!(decode_time(static_cast<double>(day), units, c) == t)) ++mismatches;
            if (encode_time(t, units, c) != static_cast<double>(day)) ++mismatches;
            naive_next_day(t, c);
        }
        INFO("calendar " << maunet::io::calendar_name(c));
        CHECK(mismatches == 0);
    }
}

TEST_CASE("cf_time round trips civil times and values", "[io][cf_time]") {
    std::mt19937 gen(7);
    std::uniform_int_distribution<int> year(1600, 2400), month(1, 12), day(1, 31), hour(0, 23), minute(0, 59),
        second(0, 59);
    for (Calendar c : {Calendar::proleptic_gregorian, Calendar::noleap, Calendar::all_leap, Calendar::day360}) {
        for (const char* u : {"days since 1850-01-01", "hours since 2001-12-30T23:00:00Z", "minutes since 1979-07-15 06:00",
                              "seconds since 1970-01-01"}) {
            const auto units = parse_time_units(u);
            for (int i = 0; i < 300; ++i) {
                CivilTime t = civil(year(gen), month(gen), 1, hour(gen), minute(gen), second(gen));
                t.day = std::min(day(gen), maunet::io::days_in_month(t.year, t.month, c));
                const double v = encode_time(t, units, c);
                const CivilTime back = decode_time(v, units, c);
                INFO(u << " " << maunet::io::calendar_name(c) << " " << maunet::io::to_string(t) << " -> " << v
                       << " -> " << maunet::io::to_string(back));
                CHECK(back.year == t.year);
                CHECK(back.month == t.month);
                CHECK(back.day == t.day);
                CHECK(back.hour == t.hour);
                CHECK(back.minute == t.minute);
                // a double holding ~1e5 days resolves ~3e-6 s
                CHECK(back.second == Approx(t.second).margin(1e-5));
                // value -> civil -> value for whole and half values
                const double w = std::floor(v) + 0.5;
                CHECK(encode_time(decode_time(w, units, c), units, c) == Approx(w).epsilon(1e-12));
            }
        }
    }
}

TEST_CASE("cf_time formats units and civil times", "[io][cf_time]") {
    auto u = parse_time_units("hours since 2001-12-31T23:00:00Z");
    CHECK(maunet::io::format_time_units(u) == "hours since 2001-12-31 23:00:00");
    u = parse_time_units("minutes since 2000-01-01 00:00:00 -08:00");
    CHECK(maunet::io::format_time_units(u) == "minutes since 2000-01-01 00:00:00 -08:00");
    const auto again = parse_time_units(maunet::io::format_time_units(u));
    CHECK(again.utc_offset_minutes == -480);
    CHECK(again.unit == TimeUnit::minutes);
    CHECK(maunet::io::to_string(civil(1999, 1, 31)) == "1999-01-31T00:00:00");
    CHECK(maunet::io::to_string(civil(2018, 9, 13, 19, 5, 7.25)) == "2018-09-13T19:05:07.250000");
}

TEST_CASE("cf_time rejects invalid dates and values", "[io][cf_time][errors]") {
    using maunet::ArgumentError;
    const auto units = parse_time_units("days since 2000-01-01");
    CHECK_THROWS_AS(encode_time(civil(1900, 2, 29), units, Calendar::proleptic_gregorian), ArgumentError);
    CHECK_THROWS_WITH(encode_time(civil(1900, 2, 29), units, Calendar::proleptic_gregorian),
                      Catch::Contains("day 29 does not exist in 1900-2"));
    CHECK_NOTHROW(encode_time(civil(1900, 2, 30), units, Calendar::day360));
    CHECK_THROWS_WITH(encode_time(civil(2000, 1, 1, 24), units, Calendar::noleap),
                      Catch::Contains("hour must be in 0..23, found 24"));
    CHECK_THROWS_WITH(encode_time(civil(2000, 1, 1, 0, 60), units, Calendar::noleap),
                      Catch::Contains("minute must be in 0..59"));
    CHECK_THROWS_WITH(encode_time(civil(2000, 1, 1, 0, 0, 60.0), units, Calendar::noleap),
                      Catch::Contains("second must be in [0, 60)"));
    CHECK_THROWS_WITH(decode_time(std::nan(""), units, Calendar::noleap), Catch::Contains("must be finite"));
    CHECK_THROWS_WITH(decode_time(1e300, units, Calendar::noleap), Catch::Contains("billion days"));
    // A reference date that does not exist in the calendar.
    CHECK_THROWS_WITH(decode_time(0.0, "days since 2001-02-30", "noleap"), Catch::Contains("day 30 does not exist"));
    CHECK(decode_time(0.0, "days since 2001-02-30", "360_day") == civil(2001, 2, 30));
}
