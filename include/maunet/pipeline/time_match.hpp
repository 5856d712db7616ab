// maunet/pipeline/time_match.hpp: time steps of two files paired by date, not by index, and
// the time step of an axis (the accumulation period of precipitation amounts).
//
// match_dates(a, b) decodes both CF time axes in their own calendars and pairs the steps that
// fall on the same date: the same (year, month, day) when both axes step by a day or more
// (a model's 12:00 matches an observation's 00:00 of that day), the same date and minute when
// either is sub-daily. Dates that exist in one calendar only (29 February against noleap,
// 30 February or 31 March against 360_day) have no partner and are left out, as a date-wise
// calendar alignment does. Each date may occur once per axis (ArgumentError otherwise).
//
// common_period(m, a, b): the first and last step of each axis between the first and last
// common date.
//
// regular_step_seconds(times, units): the spacing of the axis in seconds when every spacing is
// within 1% of the median; NaN when there are fewer than two steps or they are irregular.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "maunet/core/shape.hpp"
#include "maunet/io/cf_time.hpp"

namespace maunet::pipeline {

struct TimeAxis {
    std::vector<double> values;
    std::string units, calendar;
    std::string name;  // for messages: the file and variable
};

struct DateMatch {
    std::vector<Index> a, b;  // paired indices, in increasing order of a
};

inline double regular_step_seconds(const std::vector<double>& times, const std::string& units) {
    if (times.size() < 2 || units.empty()) return std::numeric_limits<double>::quiet_NaN();
    const double unit = io::parse_time_units(units).seconds_per_unit();
    std::vector<double> d;
    for (std::size_t i = 1; i < times.size(); ++i) d.push_back((times[i] - times[i - 1]) * unit);
    std::vector<double> sorted = d;
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(sorted.size() / 2), sorted.end());
    const double median = sorted[sorted.size() / 2];
    for (double v : d)
        if (!(std::fabs(v - median) <= 0.01 * std::fabs(median))) return std::numeric_limits<double>::quiet_NaN();
    return median > 0 ? median : std::numeric_limits<double>::quiet_NaN();
}

inline DateMatch match_dates(const TimeAxis& a, const TimeAxis& b) {
    for (const TimeAxis* t : {&a, &b})
        require(!t->values.empty() && !t->units.empty(), "match_dates: ", t->name,
                " has no CF time axis (time values with units) to match dates by");
    const auto daily = [](const TimeAxis& t) {
        const double step = regular_step_seconds(t.values, t.units);
        return t.values.size() < 2 || !(step < 86400.0 * 0.99);
    };
    const bool by_day = daily(a) && daily(b);
    using Key = std::tuple<int, int, int, int, int>;
    const auto keys = [&](const TimeAxis& t) {
        const io::TimeUnits units = io::parse_time_units(t.units);
        const io::Calendar cal = io::parse_calendar(t.calendar);
        std::map<Key, Index> out;
        for (std::size_t i = 0; i < t.values.size(); ++i) {
            const io::CivilTime c = io::decode_time(t.values[i], units, cal);
            const Key k{c.year, c.month, c.day, by_day ? 0 : c.hour, by_day ? 0 : c.minute};
            const bool fresh = out.emplace(k, static_cast<Index>(i)).second;
            require(fresh, "match_dates: ", t.name, " has the date ", io::to_string(c), " more than once",
                    by_day ? " (dates are matched by day on daily data)" : "");
        }
        return out;
    };
    const auto ka = keys(a), kb = keys(b);
    DateMatch m;
    for (const auto& [key, ia] : ka) {
        const auto it = kb.find(key);
        if (it == kb.end()) continue;
        m.a.push_back(ia);
        m.b.push_back(it->second);
    }
    // The map orders by date; keep a's file order (the same for a sorted axis).
    std::vector<std::size_t> order(m.a.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return m.a[x] < m.a[y]; });
    DateMatch sorted;
    for (std::size_t i : order) sorted.a.push_back(m.a[i]), sorted.b.push_back(m.b[i]);
    return sorted;
}

// The steps of each axis from its first to its last common date (inclusive): a calibration
// period, in which each file keeps its own steps (29 February of standard-calendar observations
// against a noleap model too). Throws ArgumentError when there is no common date.
struct CommonPeriod {
    Index a_first = 0, a_last = -1, b_first = 0, b_last = -1;
};

inline CommonPeriod common_period(const DateMatch& m, const std::string& a_name, const std::string& b_name) {
    require(!m.a.empty(), a_name, " and ", b_name, " have no date in common");
    const auto [a0, a1] = std::minmax_element(m.a.begin(), m.a.end());
    const auto [b0, b1] = std::minmax_element(m.b.begin(), m.b.end());
    return CommonPeriod{*a0, *a1, *b0, *b1};
}

}  // namespace maunet::pipeline
