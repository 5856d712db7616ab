// examples/cli/precip_inputs.hpp: how the data commands read precipitation that comes from
// different sources (docs/data-handling.md, "Real files: units, grids, calendars"):
//   - in mm/day, whatever the file's units (pipeline/precip_field.hpp); .npy arrays carry no
//     units and are taken as mm/day unless --units says otherwise;
//   - on the grid of the file they are paired with (pipeline/grid_match.hpp);
//   - paired in time by date (pipeline/time_match.hpp), or by index when a side has no time axis.
#pragma once

#include <algorithm>
#include <cstdio>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <maunet/pipeline/grid_match.hpp>
#include <maunet/pipeline/precip_field.hpp>
#include <maunet/pipeline/time_match.hpp>

#include "cli/data_io.hpp"

namespace maunet::cli {

// The units to read `path` with: the override, "mm/day" for .npy, else the file's own ("").
inline std::string units_for(const std::string& path, const std::string& override_units) {
    return !override_units.empty() ? override_units : is_npy(path) ? "mm/day" : "";
}

// The factor to mm/day of a file's layout (for the commands that stream chunks).
inline double precip_factor_of(const Field& layout, const std::string& path, const std::string& units) {
    return pipeline::precip_factor(layout, path, units_for(path, units));
}

// A line on stderr when a file was reordered, cropped or paired to match another (rank 0 only).
inline void note(const char* command, const std::string& path, const std::string& what) {
    if (!what.empty() && is_root()) std::fprintf(stderr, "maunet %s: '%s':%s\n", command, path.c_str(), what.c_str());
}

// --mask FILE[:VAR] split into the file and the variable ("" when not given).
inline std::pair<std::string, std::string> split_mask_spec(const std::string& spec) {
    const auto colon = spec.rfind(':');
    if (colon != std::string::npos && colon + 1 < spec.size() && spec.find('/', colon) == std::string::npos)
        return {spec.substr(0, colon), spec.substr(colon + 1)};
    return {spec, ""};
}

// The file of --mask FILE[:VAR] ("" without a mask), to be listed among a command's inputs.
inline std::string mask_file(const std::string& spec) { return split_mask_spec(spec).first; }

// The first of `names` that the NetCDF file `path` holds; none is an error naming `flag` and
// `spec` (the option as given) and the candidates.
inline std::string first_variable_of(const std::string& path, std::initializer_list<const char*> names,
                                     const char* flag, const std::string& spec) {
    std::string list;
    for (const char* name : names) {
        try {
            (void)io::NetcdfReader<float>(path, name);
            return name;
        } catch (const FormatError&) {
        }
        list += list.empty() ? name : std::string(", ") + name;
    }
    const auto last = list.rfind(", ");
    if (last != std::string::npos) list.replace(last, 2, " or ");
    throw ArgumentError(maunet::detail::cat(flag, " '", spec, "': no variable ", list, "; give it as ", path, ":VARIABLE"));
}

// --mask FILE[:VAR]: the land-sea mask on `grid` (NaN where the outputs must be missing), or
// an empty tensor without a mask. Without VAR the first of sftlf, lsm, landmask, mask, LSM.
inline Tensor<float> load_target_mask(const std::string& spec, const Field& grid, const std::string& grid_path) {
    if (spec.empty()) return {};
    auto [path, variable] = split_mask_spec(spec);
    if (variable.empty() && !is_npy(path))
        variable = first_variable_of(path, {"sftlf", "lsm", "landmask", "mask", "LSM"}, "--mask", spec);
    return pipeline::target_mask(load_field(path, variable), path, grid, grid_path);
}

// Time steps `steps` of a field (in that order).
inline Field select_steps(Field f, const std::vector<Index>& steps) {
    const Index plane = f.ny() * f.nx();
    Tensor<float> data(Shape{static_cast<Index>(steps.size()), f.ny(), f.nx()});
    std::vector<double> time;
    for (std::size_t k = 0; k < steps.size(); ++k) {
        std::copy(f.data.begin() + steps[k] * plane, f.data.begin() + (steps[k] + 1) * plane,
                  data.begin() + static_cast<Index>(k) * plane);
        if (!f.time.empty()) time.push_back(f.time[static_cast<std::size_t>(steps[k])]);
    }
    f.data = std::move(data);
    f.time = std::move(time);
    return f;
}

inline bool has_time_axis(const Field& f) { return !f.time.empty() && !f.time_units.empty(); }

// The time steps of one input, read on demand: runs of consecutive steps at once from NetCDF,
// or from the whole array of a .npy file (it has no index to read from); converted to mm/day.
struct StepSource {
    std::string path;
    Field layout;  // grid (data [1, y, x]) and the whole time axis
    Index count = 0;
    double factor = 1;
    std::optional<io::NetcdfReader<float>> reader;
    Field whole;  // .npy only

    StepSource(const std::string& p, const std::string& variable, const std::string& units, const std::string& flag)
        : path(p) {
        if (is_npy(p)) {  // read once: the array is its own layout
            whole = load_field(p, variable);
            Field name_only;
            name_only.variable = whole.variable;
            layout = pipeline::with_shape(name_only, whole.ny(), whole.nx());
            count = whole.num_times();
        } else {
            reader.emplace(open_reader(p, variable));  // one open serves the layout and the reads
            layout = pipeline::grid_of(*reader);
            count = reader->num_times();
        }
        factor = pipeline::precip_factor(layout, p, units_for(p, units), flag);
    }
    bool has_axis() const { return has_time_axis(layout); }

    Field read(const std::vector<Index>& steps) const {
        Field f = pipeline::with_shape(layout, layout.ny(), layout.nx());
        bool one_run = reader.has_value() && !steps.empty();
        for (std::size_t k = 1; one_run && k < steps.size(); ++k) one_run = steps[k] == steps[0] + static_cast<Index>(k);
        if (one_run) {
            f.data = reader->read(steps.front(), static_cast<Index>(steps.size())).data;  // one run: no copy
            return finish(std::move(f), steps);
        }
        const Index plane = layout.ny() * layout.nx();
        f.data = Tensor<float>(Shape{static_cast<Index>(steps.size()), layout.ny(), layout.nx()});
        for (std::size_t k = 0; k < steps.size();) {
            std::size_t e = k + 1;
            while (e < steps.size() && steps[e] == steps[e - 1] + 1) ++e;
            const Index n = static_cast<Index>(e - k);
            const float* src = nullptr;
            Field run;
            if (reader) {
                run = reader->read(steps[k], n);
                src = run.data.data();
            } else {
                src = whole.data.data() + steps[k] * plane;
            }
            std::copy_n(src, n * plane, f.data.data() + static_cast<Index>(k) * plane);
            k = e;
        }
        return finish(std::move(f), steps);
    }

    // The time values of the steps, and the values in mm/day.
    Field finish(Field f, const std::vector<Index>& steps) const {
        if (!layout.time.empty())
            for (Index t : steps) f.time.push_back(layout.time[static_cast<std::size_t>(t)]);
        if (factor != 1.0)
            for (float& v : f.data) v = static_cast<float>(v * factor);
        pipeline::label_mm_per_day(f);
        return f;
    }
};

// The steps of a and b on the same dates; by index (equal counts required) when either has no
// time axis. a_steps and b_steps count the steps (a layout's data stands for the shape only).
inline pipeline::DateMatch pair_by_date(const Field& a, Index a_steps, const std::string& a_path, const Field& b,
                                        Index b_steps, const std::string& b_path) {
    if (!has_time_axis(a) || !has_time_axis(b)) {
        require_shape(a_steps == b_steps, "'", b_path, "' (variable '", b.variable, "') has ", b_steps,
                      " time steps but '", a_path, "' (variable '", a.variable, "') has ", a_steps,
                      ", and without a time axis on both they can only be paired step by step");
        pipeline::DateMatch m;
        for (Index t = 0; t < a_steps; ++t) m.a.push_back(t), m.b.push_back(t);
        return m;
    }
    const auto axis = [](const Field& f, const std::string& path) {
        return pipeline::TimeAxis{f.time, f.time_units, f.calendar, "'" + path + "' (variable '" + f.variable + "')"};
    };
    return pipeline::match_dates(axis(a, a_path), axis(b, b_path));
}
inline pipeline::DateMatch pair_by_date(const Field& a, const std::string& a_path, const Field& b,
                                        const std::string& b_path) {
    return pair_by_date(a, a.num_times(), a_path, b, b.num_times(), b_path);
}

}  // namespace maunet::cli
