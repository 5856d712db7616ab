// maunet/io/cf_time.hpp: CF-convention time axes ("days since 1850-01-01", calendars).
//
// A CF time coordinate stores numbers such as 17927 together with units "days since
// 1950-01-01 00:00:00" and a calendar. This header turns such a number into a civil date
// (CivilTime: year, month, day, hour, minute, second) and back, for the calendars that
// climate data use:
//
//   standard, gregorian, proleptic_gregorian   365 or 366 days; leap years every 4 years,
//                                              except centuries not divisible by 400
//   noleap, 365_day                            every year 365 days (February 28)
//   all_leap, 366_day                          every year 366 days (February 29)
//   360_day                                    12 months of 30 days (February 30 exists)
//
// Simplification, on purpose: CF's "standard"/"gregorian" calendar is Julian before
// 1582-10-15 and Gregorian after; here it is treated as proleptic Gregorian for every date.
// The two agree from 1582-10-15 on, i.e. for every observational and climate-model date
// maunet handles. "julian" and "none" are rejected with an ArgumentError.
//
// Units: "<unit> since <reference>" with unit one of days/day/d, hours/hour/hr/h,
// minutes/minute/min, seconds/second/sec/s (case-insensitive; months and years are
// rejected because they have no fixed length). The reference is YYYY-MM-DD, optionally
// followed by ' ' or 'T' and HH:MM[:SS[.fff]], and optionally a time zone: Z, UTC, GMT or
// +H[H][:MM] / -H[H][:MM] / +HHMM. Month and day may have one digit ("1950-1-1").
// Decoded CivilTimes are in UTC, rounded to the nearest microsecond; a double value carries
// about 16 digits, so "days since 1850" resolves a few microseconds in the 22nd century.
//
// Method: a date becomes an integer day number in its calendar (for the Gregorian calendar
// Howard Hinnant's days_from_civil, exact for any year; for the fixed-length calendars
// year * length + day of year), so value = ((day(t) - day(ref)) * 86400 + (sod(t) -
// sod(ref)) + utc_offset) / seconds_per_unit, with sod = seconds of the day. Decoding runs
// the same steps backwards with a floor division by 86400.
//
// No dependency on netCDF: the CF reader and writer (io/netcdf.hpp) use it, so can anyone.
#pragma once

#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>

#include "maunet/core/errors.hpp"

namespace maunet::io {

enum class Calendar { proleptic_gregorian, noleap, all_leap, day360 };

// A date and time of day in some calendar. Months and days are 1-based.
struct CivilTime {
    int year = 1970;
    int month = 1;
    int day = 1;
    int hour = 0;
    int minute = 0;
    double second = 0.0;

    friend bool operator==(const CivilTime& a, const CivilTime& b) {
        return a.year == b.year && a.month == b.month && a.day == b.day && a.hour == b.hour &&
               a.minute == b.minute && a.second == b.second;
    }
    friend bool operator!=(const CivilTime& a, const CivilTime& b) { return !(a == b); }
};

enum class TimeUnit { days, hours, minutes, seconds };

// Parsed "<unit> since <reference>".
struct TimeUnits {
    TimeUnit unit = TimeUnit::days;
    CivilTime reference;            // as written in the units string (local to its zone)
    double utc_offset_minutes = 0;  // the zone of `reference`: +05:30 -> 330

    double seconds_per_unit() const {
        switch (unit) {
            case TimeUnit::days: return 86400.0;
            case TimeUnit::hours: return 3600.0;
            case TimeUnit::minutes: return 60.0;
            case TimeUnit::seconds: return 1.0;
        }
        return 1.0;
    }
};

namespace detail {

inline std::string lower_case(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

inline std::string trimmed(const std::string& s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return {};
    const auto last = s.find_last_not_of(" \t\r\n");
    return s.substr(first, last - first + 1);
}

// Floor division and the matching non-negative remainder, for dates before the epoch.
// At most 80 characters of a text for an error message (an attribute can be megabytes long).
inline std::string quoted_prefix(const std::string& s) { return s.size() <= 80 ? s : s.substr(0, 77) + "..."; }

inline long long floor_div(long long a, long long b) {
    long long q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

constexpr std::array<int, 13> kCumulativeDaysNoLeap{0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365};
constexpr std::array<int, 13> kCumulativeDaysLeap{0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366};

// Howard Hinnant, "chrono-Compatible Low-Level Date Algorithms": days since 1970-01-01 in
// the proleptic Gregorian calendar, exact for every year.
inline long long gregorian_days_from_civil(long long y, int m, int d) {
    y -= m <= 2;
    const long long era = floor_div(y, 400);
    const long long yoe = y - era * 400;                                            // [0, 399]
    const long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;          // [0, 365]
    const long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;                   // [0, 146096]
    return era * 146097 + doe - 719468;
}

inline void gregorian_civil_from_days(long long z, int& year, int& month, int& day) {
    z += 719468;
    const long long era = floor_div(z, 146097);
    const long long doe = z - era * 146097;                                        // [0, 146096]
    const long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;    // [0, 399]
    const long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                  // [0, 365]
    const long long mp = (5 * doy + 2) / 153;                                       // [0, 11]
    day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    year = static_cast<int>(yoe + era * 400 + (month <= 2));
}

}  // namespace detail

// "standard", "gregorian", "proleptic_gregorian" (and "" = CF's default) -> proleptic
// Gregorian; "noleap"/"365_day"; "all_leap"/"366_day"; "360_day". Case-insensitive.
inline Calendar parse_calendar(const std::string& name) {
    const std::string n = detail::lower_case(detail::trimmed(name));
    if (n.empty() || n == "standard" || n == "gregorian" || n == "proleptic_gregorian")
        return Calendar::proleptic_gregorian;
    if (n == "noleap" || n == "365_day") return Calendar::noleap;
    if (n == "all_leap" || n == "366_day") return Calendar::all_leap;
    if (n == "360_day") return Calendar::day360;
    throw ArgumentError(maunet::detail::cat(
        "calendar '", detail::quoted_prefix(name),
        "' is not supported; expected standard, gregorian, proleptic_gregorian, noleap, 365_day, all_leap, "
        "366_day or 360_day"));
}

// The CF name of a calendar ("proleptic_gregorian", "noleap", "all_leap", "360_day").
inline std::string calendar_name(Calendar calendar) {
    switch (calendar) {
        case Calendar::proleptic_gregorian: return "proleptic_gregorian";
        case Calendar::noleap: return "noleap";
        case Calendar::all_leap: return "all_leap";
        case Calendar::day360: return "360_day";
    }
    return "proleptic_gregorian";
}

inline bool is_leap_year(int year, Calendar calendar) {
    switch (calendar) {
        case Calendar::proleptic_gregorian:
            return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        case Calendar::noleap: return false;
        case Calendar::all_leap: return true;
        case Calendar::day360: return false;
    }
    return false;
}

// 360, 365 or 366.
inline int days_in_year(int year, Calendar calendar) {
    if (calendar == Calendar::day360) return 360;
    return is_leap_year(year, calendar) ? 366 : 365;
}

inline int days_in_month(int year, int month, Calendar calendar) {
    require(month >= 1 && month <= 12, "days_in_month: month must be in 1..12, found ", month);
    if (calendar == Calendar::day360) return 30;
    const auto& cum = is_leap_year(year, calendar) ? detail::kCumulativeDaysLeap : detail::kCumulativeDaysNoLeap;
    return cum[static_cast<std::size_t>(month)] - cum[static_cast<std::size_t>(month - 1)];
}

// Throws ArgumentError unless `t` is a valid date and time of day in `calendar`.
inline void validate_civil_time(const CivilTime& t, Calendar calendar) {
    require(t.month >= 1 && t.month <= 12, "CivilTime: month must be in 1..12, found ", t.month);
    const int dim = days_in_month(t.year, t.month, calendar);
    require(t.day >= 1 && t.day <= dim, "CivilTime: day ", t.day, " does not exist in ", t.year, "-", t.month,
            " of the ", calendar_name(calendar), " calendar (which has ", dim, " days)");
    require(t.hour >= 0 && t.hour <= 23, "CivilTime: hour must be in 0..23, found ", t.hour);
    require(t.minute >= 0 && t.minute <= 59, "CivilTime: minute must be in 0..59, found ", t.minute);
    require(std::isfinite(t.second) && t.second >= 0.0 && t.second < 60.0,
            "CivilTime: second must be in [0, 60), found ", t.second);
}

// Day of the year, 1-based (1 January = 1; 31 December = 365 in a Gregorian common year,
// 360 in the 360_day calendar).
inline int day_of_year(const CivilTime& t, Calendar calendar) {
    validate_civil_time(t, calendar);
    if (calendar == Calendar::day360) return (t.month - 1) * 30 + t.day;
    const auto& cum = is_leap_year(t.year, calendar) ? detail::kCumulativeDaysLeap : detail::kCumulativeDaysNoLeap;
    return cum[static_cast<std::size_t>(t.month - 1)] + t.day;
}

namespace detail {

// A day number, consecutive within `calendar` (the epoch differs between calendars).
inline long long day_number(const CivilTime& t, Calendar calendar) {
    const long long y = t.year;
    switch (calendar) {
        case Calendar::proleptic_gregorian: return gregorian_days_from_civil(y, t.month, t.day);
        case Calendar::noleap:
        case Calendar::all_leap:
        case Calendar::day360: return y * days_in_year(t.year, calendar) + day_of_year(t, calendar) - 1;
    }
    return 0;
}

inline void civil_from_day_number(long long n, Calendar calendar, CivilTime& t) {
    if (calendar == Calendar::proleptic_gregorian) {
        gregorian_civil_from_days(n, t.year, t.month, t.day);
        return;
    }
    const int length = days_in_year(0, calendar);
    const long long year = floor_div(n, length);
    int doy0 = static_cast<int>(n - year * length);  // 0-based day of year
    t.year = static_cast<int>(year);
    if (calendar == Calendar::day360) {
        t.month = doy0 / 30 + 1;
        t.day = doy0 % 30 + 1;
        return;
    }
    const auto& cum = calendar == Calendar::all_leap ? kCumulativeDaysLeap : kCumulativeDaysNoLeap;
    int month = 1;
    while (doy0 >= cum[static_cast<std::size_t>(month)]) ++month;
    t.month = month;
    t.day = doy0 - cum[static_cast<std::size_t>(month - 1)] + 1;
}

inline double second_of_day(const CivilTime& t) { return t.hour * 3600.0 + t.minute * 60.0 + t.second; }

// Reads an unsigned integer at s[pos...], at most `max_digits` digits.
inline bool read_int(const std::string& s, std::size_t& pos, int& value, int max_digits = 9) {
    const std::size_t start = pos;
    long long v = 0;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos])) &&
           static_cast<int>(pos - start) < max_digits) {
        v = v * 10 + (s[pos] - '0');
        ++pos;
    }
    value = static_cast<int>(v);
    return pos > start;
}

}  // namespace detail

// Parses "<unit> since <reference>"; throws ArgumentError naming the string and what was
// expected. See the top of this file for the accepted forms.
inline TimeUnits parse_time_units(const std::string& units) {
    const auto fail = [&units](const std::string& why) {
        return ArgumentError(maunet::detail::cat("time units '", detail::quoted_prefix(units), "' cannot be parsed: ", why,
                                         "; expected '<days|hours|minutes|seconds> since YYYY-MM-DD[ HH:MM:SS]'"));
    };
    const std::string s = detail::trimmed(units);
    const std::string lower = detail::lower_case(s);
    const auto since = lower.find(" since ");
    if (since == std::string::npos) throw fail("no ' since '");
    const std::string unit = detail::trimmed(lower.substr(0, since));
    TimeUnits out;
    if (unit == "days" || unit == "day" || unit == "d")
        out.unit = TimeUnit::days;
    else if (unit == "hours" || unit == "hour" || unit == "hr" || unit == "hrs" || unit == "h")
        out.unit = TimeUnit::hours;
    else if (unit == "minutes" || unit == "minute" || unit == "min" || unit == "mins")
        out.unit = TimeUnit::minutes;
    else if (unit == "seconds" || unit == "second" || unit == "sec" || unit == "secs" || unit == "s")
        out.unit = TimeUnit::seconds;
    else if (unit == "months" || unit == "month" || unit == "years" || unit == "year")
        throw fail("unit '" + unit + "' has no fixed length and is not supported");
    else
        throw fail("unknown unit '" + unit + "'");

    const std::string ref = detail::trimmed(lower.substr(since + 7));
    std::size_t pos = 0;
    CivilTime& r = out.reference;
    bool negative_year = false;
    if (pos < ref.size() && ref[pos] == '-') {
        negative_year = true;
        ++pos;
    }
    if (!detail::read_int(ref, pos, r.year)) throw fail("no year in the reference date");
    if (negative_year) r.year = -r.year;
    if (pos >= ref.size() || ref[pos] != '-') throw fail("expected '-' after the year");
    ++pos;
    if (!detail::read_int(ref, pos, r.month, 2)) throw fail("no month in the reference date");
    if (pos >= ref.size() || ref[pos] != '-') throw fail("expected '-' after the month");
    ++pos;
    if (!detail::read_int(ref, pos, r.day, 2)) throw fail("no day in the reference date");

    // Optional time of day, after 'T' or blanks.
    std::size_t after_sep = pos;
    if (after_sep < ref.size() && ref[after_sep] == 't') ++after_sep;
    else
        while (after_sep < ref.size() && ref[after_sep] == ' ') ++after_sep;
    if (after_sep < ref.size() && after_sep > pos && std::isdigit(static_cast<unsigned char>(ref[after_sep]))) {
        pos = after_sep;
        if (!detail::read_int(ref, pos, r.hour, 2)) throw fail("bad hour");
        if (pos < ref.size() && ref[pos] == ':') {
            ++pos;
            if (!detail::read_int(ref, pos, r.minute, 2)) throw fail("bad minute");
            if (pos < ref.size() && ref[pos] == ':') {
                ++pos;
                const std::size_t start = pos;
                while (pos < ref.size() &&
                       (std::isdigit(static_cast<unsigned char>(ref[pos])) || ref[pos] == '.'))
                    ++pos;
                if (pos == start) throw fail("bad second");
                try {
                    r.second = std::stod(ref.substr(start, pos - start));
                } catch (const std::exception&) {
                    throw fail("bad second");
                }
            }
        }
    }

    // Optional time zone.
    while (pos < ref.size() && ref[pos] == ' ') ++pos;
    if (pos < ref.size()) {
        const std::string zone = ref.substr(pos);
        if (zone == "z" || zone == "utc" || zone == "gmt") {
            pos = ref.size();
        } else if (zone[0] == '+' || zone[0] == '-') {
            const int sign = zone[0] == '-' ? -1 : 1;
            std::size_t zp = 1;
            int hh = 0, mm = 0;
            const std::size_t start = zp;
            if (!detail::read_int(zone, zp, hh, 4)) throw fail("bad time zone '" + zone + "'");
            if (zp - start == 4) {  // +HHMM
                mm = hh % 100;
                hh /= 100;
            } else if (zp < zone.size() && zone[zp] == ':') {
                ++zp;
                if (!detail::read_int(zone, zp, mm, 2)) throw fail("bad time zone '" + zone + "'");
            }
            if (zp != zone.size() || hh > 23 || mm > 59) throw fail("bad time zone '" + zone + "'");
            out.utc_offset_minutes = sign * (hh * 60.0 + mm);
            pos = ref.size();
        } else {
            throw fail("unexpected text '" + zone + "' after the reference date");
        }
    }
    if (r.month < 1 || r.month > 12 || r.day < 1 || r.day > 31 || r.hour > 23 || r.minute > 59 ||
        !(r.second < 60.0))
        throw fail("reference date or time out of range");
    return out;
}

// "days since 1850-01-01 00:00:00" (plus " +HH:MM" when the zone is not UTC).
inline std::string format_time_units(const TimeUnits& units) {
    const char* name = units.unit == TimeUnit::days      ? "days"
                       : units.unit == TimeUnit::hours   ? "hours"
                       : units.unit == TimeUnit::minutes ? "minutes"
                                                         : "seconds";
    const CivilTime& r = units.reference;
    char buf[96];
    const double whole = std::floor(r.second);
    if (r.second == whole)
        std::snprintf(buf, sizeof buf, "%s since %04d-%02d-%02d %02d:%02d:%02d", name, r.year, r.month, r.day,
                      r.hour, r.minute, static_cast<int>(whole));
    else
        std::snprintf(buf, sizeof buf, "%s since %04d-%02d-%02d %02d:%02d:%09.6f", name, r.year, r.month, r.day,
                      r.hour, r.minute, r.second);
    std::string out = buf;
    if (units.utc_offset_minutes != 0) {
        const int total = static_cast<int>(std::lround(std::fabs(units.utc_offset_minutes)));
        std::snprintf(buf, sizeof buf, " %c%02d:%02d", units.utc_offset_minutes < 0 ? '-' : '+', total / 60,
                      total % 60);
        out += buf;
    }
    return out;
}

// ISO 8601: "1999-01-31T00:00:00" (fractional seconds only when present).
inline std::string to_string(const CivilTime& t) {
    char buf[64];
    if (t.second == std::floor(t.second))
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", t.year, t.month, t.day, t.hour, t.minute,
                      static_cast<int>(t.second));
    else
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%09.6f", t.year, t.month, t.day, t.hour,
                      t.minute, t.second);
    return buf;
}

// The civil time (UTC) of a time coordinate value.
inline CivilTime decode_time(double value, const TimeUnits& units, Calendar calendar) {
    require(std::isfinite(value), "decode_time: time value must be finite, found ", value);
    validate_civil_time(units.reference, calendar);
    // Seconds after 00:00 of the reference day, in UTC.
    const double offset = detail::second_of_day(units.reference) - units.utc_offset_minutes * 60.0 +
                          value * units.seconds_per_unit();
    double days = std::floor(offset / 86400.0);
    require(std::fabs(days) < 1e9, "decode_time: value ", value, " is more than a billion days from the reference");
    double sod = offset - days * 86400.0;
    // Count in ticks of what the value can resolve: microseconds, or the power of ten above 4 ulp
    // of the offset (2.2e6 hours is 7.9e9 s, whose ulp is ~1e-6 s), so 59.999999 s -> 60 s -> the
    // next minute. Integer ticks split exactly into hours, minutes and seconds.
    const double magnitude = std::fabs(offset);
    const double ulp = std::nextafter(magnitude, std::numeric_limits<double>::infinity()) - magnitude;
    long long ticks_per_second = 1000000;
    while (ticks_per_second > 1 && 1.0 / static_cast<double>(ticks_per_second) < 4.0 * ulp) ticks_per_second /= 10;
    long long ticks = std::llround(sod * static_cast<double>(ticks_per_second));
    const long long ticks_per_day = 86400 * ticks_per_second;
    if (ticks >= ticks_per_day) {
        ticks -= ticks_per_day;
        days += 1.0;
    }
    if (ticks < 0) ticks = 0;
    CivilTime t;
    detail::civil_from_day_number(detail::day_number(units.reference, calendar) + static_cast<long long>(days),
                                  calendar, t);
    t.hour = static_cast<int>(ticks / (3600 * ticks_per_second));
    ticks -= t.hour * 3600 * ticks_per_second;
    t.minute = static_cast<int>(ticks / (60 * ticks_per_second));
    ticks -= t.minute * 60 * ticks_per_second;
    t.second = static_cast<double>(ticks) / static_cast<double>(ticks_per_second);
    return t;
}

// The time coordinate value of a civil time (UTC); inverse of decode_time.
inline double encode_time(const CivilTime& t, const TimeUnits& units, Calendar calendar) {
    validate_civil_time(t, calendar);
    validate_civil_time(units.reference, calendar);
    const long long days = detail::day_number(t, calendar) - detail::day_number(units.reference, calendar);
    const double seconds = static_cast<double>(days) * 86400.0 +
                           (detail::second_of_day(t) - detail::second_of_day(units.reference)) +
                           units.utc_offset_minutes * 60.0;
    return seconds / units.seconds_per_unit();
}

// The same, with the units and calendar given as CF attribute strings.
inline CivilTime decode_time(double value, const std::string& units, const std::string& calendar = "standard") {
    return decode_time(value, parse_time_units(units), parse_calendar(calendar));
}
inline double encode_time(const CivilTime& t, const std::string& units, const std::string& calendar = "standard") {
    return encode_time(t, parse_time_units(units), parse_calendar(calendar));
}

}  // namespace maunet::io
