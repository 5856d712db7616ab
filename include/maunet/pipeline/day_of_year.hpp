// maunet/pipeline/day_of_year.hpp: the day-of-year series that the bias-correction methods
// (stats/linear_scaling.hpp, quantile_mapping.hpp, quantile_delta_mapping.hpp) take for
// their day-of-year windows, from a CF time axis (values, units, calendar).
//
// Year length D and numbering, by calendar:
//   360_day              D = 360, doy = 30 (month - 1) + day
//   noleap / 365_day     D = 365
//   all_leap / 366_day   D = 366
//   standard, gregorian, proleptic_gregorian
//                        D = 366, and in common years every day after 28 February moves up by
//                        one (1 March = 61), so doy 60 is always 29 February and a given date
//                        has the same doy in every year (the convention of
//                        stats/bias_correction_common.hpp).
//
// Against another calendar (obs in standard against a model in noleap, 360_day or all_leap):
// day_of_year_series(times, units, calendar, target_days) maps each day by its fraction of
// its own year, as xsdba does between calendars: with d the day of the year (1-based) and L
// the length of that year in the series' calendar, the day becomes
//   d' = floor((d - 0.5) / L * target_days) + 1     (1 <= d' <= target_days),
// so the same fraction of the year falls on the same window centre. A common Gregorian year
// maps onto noleap date for date; a leap year and 360-day years are stretched or squeezed
// evenly. With target_days equal to the calendar's own year length the result is the plain
// series above.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "maunet/io/cf_time.hpp"

namespace maunet::pipeline {

struct DayOfYearSeries {
    std::vector<int> doy;  // 1-based, one per time value
    int days_in_year = 365;
};

inline DayOfYearSeries day_of_year_series(const std::vector<double>& times, const std::string& units,
                                          const std::string& calendar) {
    require(!times.empty(), "day_of_year_series: expected at least one time value, got none");
    require(!units.empty(), "day_of_year_series: the time axis has no units (expected e.g. 'days since 1950-01-01')");
    const io::TimeUnits parsed = io::parse_time_units(units);
    const io::Calendar cal = io::parse_calendar(calendar.empty() ? "standard" : calendar);
    DayOfYearSeries s;
    s.days_in_year = cal == io::Calendar::day360 ? 360 : cal == io::Calendar::noleap ? 365 : 366;
    s.doy.reserve(times.size());
    for (double v : times) {
        const io::CivilTime t = io::decode_time(v, parsed, cal);
        int d = io::day_of_year(t, cal);
        if (cal == io::Calendar::proleptic_gregorian && !io::is_leap_year(t.year, cal) && d >= 60) ++d;
        s.doy.push_back(d);
    }
    return s;
}

// The year length of a calendar in the convention above (360, 365 or 366).
inline int days_in_year_of(const std::string& calendar) {
    const io::Calendar cal = io::parse_calendar(calendar.empty() ? "standard" : calendar);
    return cal == io::Calendar::day360 ? 360 : cal == io::Calendar::noleap ? 365 : 366;
}

// The series mapped onto years of target_days days by fraction of the year (see the top).
inline DayOfYearSeries day_of_year_series(const std::vector<double>& times, const std::string& units,
                                          const std::string& calendar, int target_days) {
    require(target_days == 360 || target_days == 365 || target_days == 366,
            "day_of_year_series: target_days must be 360, 365 or 366, got ", target_days);
    if (target_days == days_in_year_of(calendar)) return day_of_year_series(times, units, calendar);
    require(!times.empty(), "day_of_year_series: expected at least one time value, got none");
    require(!units.empty(), "day_of_year_series: the time axis has no units (expected e.g. 'days since 1950-01-01')");
    const io::TimeUnits parsed = io::parse_time_units(units);
    const io::Calendar cal = io::parse_calendar(calendar.empty() ? "standard" : calendar);
    DayOfYearSeries s;
    s.days_in_year = target_days;
    s.doy.reserve(times.size());
    for (double v : times) {
        const io::CivilTime t = io::decode_time(v, parsed, cal);
        const double fraction = (io::day_of_year(t, cal) - 0.5) / io::days_in_year(t.year, cal);
        s.doy.push_back(std::clamp(static_cast<int>(std::floor(fraction * target_days)) + 1, 1, target_days));
    }
    return s;
}

}  // namespace maunet::pipeline
