// examples/cli/training_inputs.hpp: what `maunet train` and `maunet distill` read beyond one
// file: several files of one series (an archive split by year, given as a list or a glob), and
// the training, validation and test periods given by date.
//
// Several files: each --in may be a glob (quoted, so maunet expands it; unquoted, the shell
// does). The files are read whole, converted to mm/day, aligned to the first file's grid
// (pipeline/grid_match.hpp: flipped or rolled as needed, refused if different), put in order
// of their first date, and joined into one series whose times are written in the first file's
// time units. They must share a calendar and must not overlap in time; several files without
// CF time axes (.npy) are refused, since nothing says their order.
//
// Periods: "FIRST/LAST" as dates (YYYY-MM-DD, both inclusive), compared as calendar dates in
// the files' own calendar (so 2001-02-30 is a day of a 360_day model). A time step belongs to
// at most one period; the steps of no period are not used.
#pragma once

#include <glob.h>

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include <CLI/CLI.hpp>

#include <maunet/io/cf_time.hpp>

#include "cli/precip_inputs.hpp"

namespace maunet::cli {

// The files named by `specs`: a spec with *, ? or [ is a glob (sorted matches, at least one),
// any other is a path as given.
inline std::vector<std::string> expand_inputs(const std::vector<std::string>& specs, const std::string& flag) {
    std::vector<std::string> out;
    for (const std::string& spec : specs) {
        if (spec.find_first_of("*?[") == std::string::npos) {
            out.push_back(spec);
            continue;
        }
        glob_t g{};
        const int rc = ::glob(spec.c_str(), 0, nullptr, &g);
        std::vector<std::string> matches;
        if (rc == 0)
            for (std::size_t i = 0; i < g.gl_pathc; ++i) matches.emplace_back(g.gl_pathv[i]);
        ::globfree(&g);
        if (matches.empty()) throw IOError("the pattern '" + spec + "' of " + flag + " matches no file");
        std::sort(matches.begin(), matches.end());
        out.insert(out.end(), matches.begin(), matches.end());
    }
    std::vector<std::string> seen = out;
    std::sort(seen.begin(), seen.end());
    const auto twice = std::adjacent_find(seen.begin(), seen.end());
    if (twice != seen.end()) throw ArgumentError("'" + *twice + "' is given twice to " + flag);
    return out;
}

// The files of `paths` as one series, in mm/day, in time order (see the top of the file).
// `first` (optional) gets the path of the earliest file.
inline Field load_precip_series(const std::vector<std::string>& paths, const std::string& variable,
                                const std::string& units, const std::string& flag = "--units",
                                std::string* first = nullptr) {
    require(!paths.empty(), "no input file");
    if (first) *first = paths[0];
    if (paths.size() == 1) return load_precip(paths[0], variable, units, flag);
    std::vector<Field> parts;
    std::vector<std::vector<io::CivilTime>> dates;
    for (const std::string& path : paths) {
        Field f = load_precip(path, variable, units, flag);
        require(has_time_axis(f), "'", path, "' (variable '", f.variable, "') has no CF time axis; several input "
                "files are put in order by their dates, so each needs one");
        if (!parts.empty()) {
            require(io::parse_calendar(f.calendar) == io::parse_calendar(parts[0].calendar), "'", path,
                    "' uses the calendar '", f.calendar, "' but '", paths[0], "' uses '", parts[0].calendar,
                    "'; the files of one series must share a calendar");
            note("train", path, pipeline::align_to_grid(f, path, parts[0], paths[0]));
        }
        dates.push_back(io::civil_times(f));
        parts.push_back(std::move(f));
    }
    // Order by first date, then re-express every time in the first file's units.
    std::vector<std::size_t> order(parts.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    const auto key = [&](std::size_t i) {
        const io::CivilTime& t = dates[i].front();
        return std::make_tuple(t.year, t.month, t.day, t.hour, t.minute, t.second);
    };
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
    if (first) *first = paths[order[0]];
    Field out = parts[order[0]];
    const io::TimeUnits target = io::parse_time_units(out.time_units);
    const io::Calendar calendar = io::parse_calendar(out.calendar);
    std::vector<double> time;
    Index steps = 0;
    for (std::size_t i : order) steps += parts[i].num_times();
    const Index plane = out.ny() * out.nx();
    Tensor<float> data(Shape{steps, out.ny(), out.nx()});
    Index at = 0;
    for (std::size_t k = 0; k < order.size(); ++k) {
        const std::size_t i = order[k];
        for (const io::CivilTime& t : dates[i]) time.push_back(io::encode_time(t, target, calendar));
        if (k > 0) {
            const std::size_t prev = order[k - 1];
            const double last_before = time[static_cast<std::size_t>(at) - 1];
            const double first_here = time[static_cast<std::size_t>(at)];
            require(first_here > last_before, "'", paths[i], "' starts on ", io::to_string(dates[i].front()),
                    ", not after the end of '", paths[prev], "' (", io::to_string(dates[prev].back()),
                    "): the files of one series must not overlap in time");
        }
        std::copy(parts[i].data.begin(), parts[i].data.end(), data.begin() + at * plane);
        at += parts[i].num_times();
    }
    out.data = std::move(data);
    out.time = std::move(time);
    return out;
}

// A period "FIRST/LAST" of dates, both inclusive.
struct DatePeriod {
    bool given = false;
    io::CivilTime first, last;
    std::string text;
    bool contains(const io::CivilTime& t) const {
        const auto day = [](const io::CivilTime& c) { return std::make_tuple(c.year, c.month, c.day); };
        return given && day(first) <= day(t) && day(t) <= day(last);
    }
};

// Parses --train-period and friends; a malformed value is a usage error naming the flag.
inline DatePeriod parse_period(const std::string& text, const std::string& flag) {
    DatePeriod p;
    if (text.empty()) return p;
    const auto slash = text.find('/');
    const auto bad = [&](const std::string& why) {
        return CLI::ValidationError(flag, "'" + text + "': " + why + " (expected FIRST/LAST as YYYY-MM-DD/YYYY-MM-DD)");
    };
    if (slash == std::string::npos) throw bad("no '/' between the first and last date");
    try {
        p.first = io::parse_time_units("days since " + text.substr(0, slash)).reference;
        p.last = io::parse_time_units("days since " + text.substr(slash + 1)).reference;
    } catch (const Error& e) {
        throw bad(e.what());
    }
    const auto day = [](const io::CivilTime& c) { return std::make_tuple(c.year, c.month, c.day); };
    if (day(p.last) < day(p.first)) throw bad("the last date is before the first");
    p.given = true;
    p.text = text;
    return p;
}

}  // namespace maunet::cli
