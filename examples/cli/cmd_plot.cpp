// `maunet plot`: a PNG quicklook of one time step (io/png.hpp), or with --compare several
// files side by side with one shared colour scale. North is drawn up: the row order is taken
// from the latitude (1-D y or 2-D lat) when the file has one, else row 0 is taken as south.
// Real files (cli/precip_inputs.hpp): values are drawn in mm/day (--units stands in for the
// units of files whose own are missing or not understood); a field of another quantity (a
// static predictor: elevation) in its own units, on a scale from its smallest value; with --compare every file is
// aligned to the first one's grid (flipped or rolled, refused if different) and shows the
// first file's date (--time is its step); --crop cuts every panel to the smallest grid by
// coordinates, so all panels show the same area.
//
// Axes: regular lon/lat grids get ticks in degrees (75W, 35N); curvilinear grids (2-D lat and
// lon) get degrees where the meridians and parallels meet the bottom and left edges; other 1-D
// coordinates (projected x/y, rotated-pole rlon/rlat) get their own values and units, named
// in a caption (metres shown as km). --diff adds panels of each later file minus the first.
// --coastlines: GMT's binned GSHHG shorelines (io/coastline.hpp) on every grid with
// longitudes and latitudes; `auto` uses Debian's gmt-gshhg files when installed.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <maunet/io/png.hpp>
#include <maunet/io/coastline.hpp>
#include <maunet/io/grid_axes.hpp>
#include <maunet/io/map_axes.hpp>

#include "cli/commands.hpp"
#include "cli/data_io.hpp"
#include "cli/limits.hpp"
#include "cli/precip_inputs.hpp"

namespace maunet::cli {
namespace {

struct PlotSettings {
    std::string in, var, out, title, units;
    std::vector<std::string> compare, titles;
    std::string coastlines = "auto";  // auto, none or a binned GSHHG file
    Index time = 0;
    double vmax = std::numeric_limits<double>::quiet_NaN();
    int scale = 0;
    bool crop = false, diff = false;
};

// Time step `k` of `variable` in `path`, as a [1, y, x] field with its metadata.
Field read_step(const std::string& path, const std::string& variable, Index k) {
    if (is_npy(path)) {
        Field all = load_field(path, variable);
        require(k >= 0 && k < all.num_times(), "plot: --time ", k, " is out of range; '", path, "' has ",
                all.num_times(), " time steps");
        all.data = Tensor<float>(Shape{1, all.ny(), all.nx()},
                                 std::vector<float>(all.data.begin() + k * all.ny() * all.nx(),
                                                    all.data.begin() + (k + 1) * all.ny() * all.nx()));
        return all;
    }
    const io::NetcdfReader<float> reader = open_reader(path, variable);
    require(k >= 0 && k < reader.num_times(), "plot: --time ", k, " is out of range; '", path, "' (variable '",
            variable, "') has ", reader.num_times(), " time steps");
    return reader.read(k, 1);
}

bool south_first(const Field& f) {
    if (f.y.size() >= 2) return f.y.back() > f.y.front();
    if (f.curvilinear() && f.ny() >= 2) return f.lat2d[(f.ny() - 1) * f.nx()] > f.lat2d[0];
    return true;
}

// The coastline file for --coastlines (auto, none or FILE) and the grid; "" for none. Sets
// `why` to the reason when there is none.
std::string coastline_file(const std::string& choice, const Field& f, const io::LonLatBox& box, bool geographic,
                           std::string& why) {
    if (choice == "none") {
        why = "none (--coastlines none)";
        return {};
    }
    if (!geographic) {
        if (choice != "auto")
            throw CLI::ValidationError("--coastlines", "'" + choice + "' needs a grid with longitudes and latitudes; '" +
                                                           f.variable + "' has none");
        why = "none (the grid has no longitudes and latitudes)";
        return {};
    }
    if (choice != "auto") return choice;
    const std::string path = io::coastline_file_for(box);
    if (path.empty()) why = std::string("none (no binned_GSHHS files in ") + io::default_gshhg_directory() + ")";
    return path;
}

std::string when(const Field& f) {
    if (f.time.empty() || f.time_units.empty()) return {};
    try {
        return io::to_string(io::civil_times(f).front());
    } catch (const Error&) {
        return {};
    }
}

void run_plot(const PlotSettings& s) {
    // Under mpirun: rank 0 does all of it (docs/mpi.md says why this command is not split).
    if (!is_root()) return;
    std::vector<std::string> files = s.compare;
    if (!s.in.empty()) files.insert(files.begin(), s.in);
    require(!files.empty(), "plot: give --in FILE or --compare FILE FILE ...");
    if (s.diff && files.size() < 2)
        throw CLI::ValidationError("--diff", "needs at least two files (--compare A B ...; --in counts as the first), found " +
                                                 std::to_string(files.size()));
    require(s.titles.empty() || s.titles.size() == files.size(), "plot: ", s.titles.size(), " --titles for ",
            files.size(), " files");
    for (const auto& f : files) require_variable(f, s.var, "--var");
    guard_outputs({s.out}, files);
    std::vector<Field> fields;
    io::QuicklookOptions o;
    for (std::size_t i = 0; i < files.size(); ++i) {
        Index step = s.time;
        if (i > 0 && has_time_axis(fields[0]) && !is_npy(files[i])) {  // the first file's date, in the others
            const Field all = field_layout(files[i], s.var);
            if (has_time_axis(all)) {
                const pipeline::DateMatch m = pair_by_date(fields[0], files[0], all, files[i]);
                require(!m.b.empty(), "plot: '", files[i], "' has no time step on the date of step ", s.time,
                        " of '", files[0], "' (", when(fields[0]), ")");
                step = m.b.front();
            }
        }
        Field f = read_step(files[i], s.var, step);
        // The accumulation period of an amount per step (Stage IV's kg m-2 per hour) is the
        // step of the file's whole time axis, not of the one step read.
        const std::vector<double> step_time = f.time;
        if (!is_npy(files[i])) f.time = field_layout(files[i], s.var).time;
        // A static field (elevation) is drawn in its own units, with 0 on the colour scale.
        const bool other = s.units.empty() && !is_npy(files[i]) && pipeline::is_other_quantity(f);
        if (i > 0)
            require(other == !o.dry_white && (!other || f.units == fields[0].units), "plot: '", files[i], "' holds ",
                    other ? "'" + f.variable + "' in " + f.units : std::string("precipitation"), " but '", files[0],
                    "' holds ", o.dry_white ? std::string("precipitation") : "'" + fields[0].variable + "' in " + fields[0].units,
                    "; side by side panels share one colour scale");
        o.dry_white = !other;
        if (other) {
            f.time = step_time;
            fields.push_back(std::move(f));
            continue;
        }
        // --units stands in for units that are missing or not understood (the files may differ).
        std::string units = units_for(files[i], s.units);
        if (!is_npy(files[i]) && !units.empty()) {
            try {
                (void)pipeline::precip_factor(f, files[i], "");
                units.clear();
            } catch (const ArgumentError&) {
            }
        }
        pipeline::to_mm_per_day(f, files[i], units);
        f.time = step_time;
        fields.push_back(std::move(f));
    }
    std::size_t smallest = 0;
    for (std::size_t i = 0; i < fields.size(); ++i)
        if (fields[i].ny() * fields[i].nx() < fields[smallest].ny() * fields[smallest].nx()) smallest = i;
    const Field reference = s.crop ? fields[smallest] : fields[0];
    const std::string& reference_path = s.crop ? files[smallest] : files[0];
    for (std::size_t i = 0; i < fields.size(); ++i)
        note("plot", files[i], s.crop ? pipeline::crop_to_grid(fields[i], files[i], reference, reference_path)
                                      : pipeline::align_to_grid(fields[i], files[i], reference, reference_path));
    const Index h = reference.ny(), w = reference.nx();
    std::vector<Tensor<float>> planes;
    for (const Field& f : fields) planes.push_back(f.data.reshaped(Shape{h, w}));
    o.units = clip_text(fields[0].units);  // attributes of a file can be megabytes long
    o.vmax = s.vmax;
    if (!o.dry_white) {  // the scale starts at the smallest value drawn
        double smallest_value = std::numeric_limits<double>::infinity();
        for (const Tensor<float>& p : planes)
            for (float v : p)
                if (std::isfinite(v)) smallest_value = std::min(smallest_value, static_cast<double>(v));
        o.vmin = std::isfinite(smallest_value) ? smallest_value : 0.0;
    }
    o.north_up = south_first(fields[0]);
    o.scale = s.scale > 0 ? s.scale : static_cast<int>(std::max<Index>(1, std::min<Index>(8, 480 / std::max(h, w))));
    o.differences = s.diff;
    o.axes = io::grid_axes(reference, o.north_up ? 0 : h - 1);
    std::string coast_note;
    if (s.coastlines != "none") {
        io::GridGeography g = io::grid_geography(reference);
        const std::string path = coastline_file(s.coastlines, reference, g.box, g.locator != nullptr, coast_note);
        if (!path.empty()) {
            o.axes.lines = io::to_cells(io::read_coastlines(path, g.box), *g.locator);
            coast_note = path;
        }
    } else {
        coast_note = "none (--coastlines none)";
    }
    const std::string stamp = when(fields[0]);
    o.title = clip_text(s.title.empty() ? fields[0].variable + (stamp.empty() ? "" : " " + stamp) : s.title);
    if (files.size() == 1) {
        io::write_quicklook_png(s.out, planes[0], o);
    } else {
        std::vector<std::string> titles = s.titles;
        if (titles.empty())
            for (const auto& f : files) titles.push_back(f.substr(f.find_last_of('/') + 1));
        for (auto& t : titles) t = clip_text(t);
        io::write_side_by_side_png(s.out, planes, titles, o);
    }
    const std::size_t panels = planes.size() + (s.diff ? planes.size() - 1 : 0);
    std::printf("wrote %s (%zu panel(s), %ld x %ld, time step %ld%s%s)\ncoastlines: %s\n", s.out.c_str(), panels,
                static_cast<long>(h), static_cast<long>(w), static_cast<long>(s.time), stamp.empty() ? "" : ", ",
                stamp.c_str(), coast_note.c_str());
}

}  // namespace

void add_plot_command(CLI::App& app) {
    auto s = std::make_shared<PlotSettings>();
    CLI::App* cmd = app.add_subcommand("plot", "draw one time step of a field (or several side by side) as a PNG");
    cmd->add_option("--in", s->in, "field file: NetCDF or .npy [time, y, x]");
    cmd->add_option("--compare", s->compare, "several field files drawn side by side with one colour scale");
    cmd->add_option("--var", s->var, "variable (NetCDF; the same in every file)");
    cmd->add_option("--time", s->time, "time step, 0-based")->capture_default_str();
    cmd->add_option("--out", s->out, "PNG file to write")->required();
    cmd->add_option("--vmax", s->vmax, "top of the colour scale (default: 99th percentile of the values drawn)");
    cmd->add_option("--title", s->title, "title (default: variable and date)");
    cmd->add_option("--titles", s->titles, "panel titles for --compare (default: file names)");
    cmd->add_option("--scale", s->scale, "pixels per grid cell (default: fit about 480 pixels)");
    cmd->add_option("--units", s->units, "units of the files whose own units are missing or not understood");
    cmd->add_flag("--crop", s->crop, "cut every panel to the smallest grid (matched by coordinates)");
    cmd->add_flag("--diff", s->diff, "also draw each later file minus the first (diverging colours, 0 in the middle)");
    cmd->add_option("--coastlines", s->coastlines,
                    std::string("auto (GSHHG in ") + io::default_gshhg_directory() +
                        ", package gmt-gshhg-low), none, or a binned_GSHHS_?.nc file")
        ->capture_default_str();
    cmd->callback([s] { run_plot(*s); });
}

}  // namespace maunet::cli
