// examples/cli/training_inputs.hpp: what `maunet train` and `maunet distill` read beyond one
// file: several files of one series (an archive split by year, given as a list or a glob), and
// the training, validation and test periods given by date.
//
// Several files: each --in may be a glob (quoted, so maunet expands it; unquoted, the shell
// does). The files are put in order of their first date and joined into one series whose
// times are written in the earliest file's time units; its steps are read a chunk at a time,
// converted to mm/day and aligned to the first file's grid (pipeline/grid_match.hpp: flipped
// or rolled as needed, refused if different). They must share a calendar and must not overlap in time; several files without
// CF time axes (.npy) are refused, since nothing says their order.
//
// Periods: "FIRST/LAST" as dates (YYYY-MM-DD, both inclusive), compared as calendar dates in
// the files' own calendar (so 2001-02-30 is a day of a 360_day model). A time step belongs to
// at most one period; the steps of no period are not used.
#pragma once

#include <glob.h>

#include <algorithm>
#include <memory>
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

// The files of `paths` as one series in mm/day, in time order (see the top of the file), read
// a few time steps at a time: opening it reads the coordinates and time axes only, so the
// memory of a command does not grow with the length of the record.
class PrecipSeries {
public:
    // `flag` names the option that gives the units; `command` the command, in notes.
    PrecipSeries(const std::vector<std::string>& paths, const std::string& variable, const std::string& units,
                 const std::string& flag, const char* command) {
        require(!paths.empty(), "no input file");
        std::vector<std::vector<io::CivilTime>> dates;
        for (const std::string& path : paths) {
            parts_.push_back(Part{std::make_unique<StepSource>(path, variable, units, flag), 0});
            const Field& f = parts_.back().source->layout;
            if (paths.size() == 1) break;
            require(has_time_axis(f), "'", path, "' (variable '", f.variable, "') has no CF time axis; several input "
                    "files are put in order by their dates, so each needs one");
            if (parts_.size() > 1) {
                const Field& first = parts_[0].source->layout;
                require(io::parse_calendar(f.calendar) == io::parse_calendar(first.calendar), "'", path,
                        "' uses the calendar '", f.calendar, "' but '", paths[0], "' uses '", first.calendar,
                        "'; the files of one series must share a calendar");
                Field grid = f;
                note(command, path, pipeline::align_to_grid(grid, path, first, paths[0]));
            }
            dates.push_back(io::civil_times(f));
        }
        if (parts_.size() > 1) order_by_date(dates);
        layout_ = parts_[0].source->layout;
        pipeline::label_mm_per_day(layout_);
        target_path_ = parts_[0].source->path;
        for (Part& part : parts_) {
            part.first = count_;
            count_ += part.source->count;
        }
        if (parts_.size() > 1) layout_.time = joined_times(dates);
    }

    // The series' grid (data [1, y, x] stands for the shape) and its whole time axis, in the
    // earliest file's time units; units mm/day.
    const Field& layout() const { return layout_; }
    Index num_times() const { return count_; }
    std::size_t num_files() const { return parts_.size(); }
    const std::string& earliest() const { return parts_[0].source->path; }

    // Makes every step read from now on lie on `grid` (read from `grid_path`), as
    // pipeline::align_to_grid does; returns its note.
    std::string align_to(const Field& grid, const std::string& grid_path) {
        Field g = layout_;
        const std::string what = pipeline::align_to_grid(g, earliest(), grid, grid_path);
        layout_.y = g.y, layout_.x = g.x, layout_.lat2d = g.lat2d, layout_.lon2d = g.lon2d;
        target_path_ = grid_path;
        return what;
    }

    // Steps `steps` of the series (in that order): data [n, y, x] in mm/day on the target grid,
    // with their times. Each file reads its runs of consecutive steps at once.
    Field read(const std::vector<Index>& steps) const {
        const Index plane = layout_.ny() * layout_.nx();
        Field out = pipeline::with_shape(layout_, layout_.ny(), layout_.nx());
        out.data = Tensor<float>(Shape{static_cast<Index>(steps.size()), layout_.ny(), layout_.nx()});
        for (std::size_t k = 0; k < steps.size();) {
            const Index t = steps[k];
            require(t >= 0 && t < count_, "PrecipSeries::read: time step ", t, " is out of range; the series has ",
                    count_, " steps");
            const Part& part = part_of(t);
            std::vector<Index> local;  // the following steps that lie in the same file
            std::size_t e = k;
            for (; e < steps.size() && steps[e] >= part.first && steps[e] < part.first + part.source->count; ++e)
                local.push_back(steps[e] - part.first);
            Field chunk = part.source->read(local);
            (void)pipeline::align_to_grid(chunk, part.source->path, layout_, target_path_);
            std::copy(chunk.data.begin(), chunk.data.end(), out.data.begin() + static_cast<Index>(k) * plane);
            k = e;
        }
        if (!layout_.time.empty())
            for (Index t : steps) out.time.push_back(layout_.time[static_cast<std::size_t>(t)]);
        return out;
    }
    Field read(Index t0, Index n) const {
        std::vector<Index> steps(static_cast<std::size_t>(n));
        for (Index i = 0; i < n; ++i) steps[static_cast<std::size_t>(i)] = t0 + i;
        return read(steps);
    }

private:
    struct Part {
        std::unique_ptr<StepSource> source;
        Index first;  // the series' index of the file's first step
    };

    const Part& part_of(Index t) const {
        const auto after = std::upper_bound(parts_.begin(), parts_.end(), t,
                                            [](Index v, const Part& p) { return v < p.first; });
        return *(after - 1);
    }

    // Puts the files (and their dates) in order of their first date.
    void order_by_date(std::vector<std::vector<io::CivilTime>>& dates) {
        std::vector<std::size_t> order(parts_.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        const auto key = [&](std::size_t i) {
            const io::CivilTime& t = dates[i].front();
            return std::make_tuple(t.year, t.month, t.day, t.hour, t.minute, t.second);
        };
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
        std::vector<Part> parts;
        std::vector<std::vector<io::CivilTime>> sorted;
        for (std::size_t i : order) parts.push_back(std::move(parts_[i])), sorted.push_back(std::move(dates[i]));
        parts_ = std::move(parts);
        dates = std::move(sorted);
    }

    // Every file's times in the earliest file's units; files that overlap are refused.
    std::vector<double> joined_times(const std::vector<std::vector<io::CivilTime>>& dates) const {
        const io::TimeUnits target = io::parse_time_units(layout_.time_units);
        const io::Calendar calendar = io::parse_calendar(layout_.calendar);
        std::vector<double> time;
        for (std::size_t k = 0; k < parts_.size(); ++k) {
            for (const io::CivilTime& t : dates[k]) time.push_back(io::encode_time(t, target, calendar));
            if (k == 0) continue;
            const std::size_t at = static_cast<std::size_t>(parts_[k].first);
            require(time[at] > time[at - 1], "'", parts_[k].source->path, "' starts on ",
                    io::to_string(dates[k].front()), ", not after the end of '", parts_[k - 1].source->path, "' (",
                    io::to_string(dates[k - 1].back()), "): the files of one series must not overlap in time");
        }
        return time;
    }

    std::vector<Part> parts_;  // in time order
    Field layout_;
    std::string target_path_;  // the file whose grid the steps are put on
    Index count_ = 0;
};

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
