// `maunet bc`: classical bias correction, fitted on observations and a simulation of the same
// period (--obs, --sim-hist) and applied to a simulation (--sim; default: --sim-hist itself).
//   maunet bc ...        fit and apply in one run, write the corrected field
//   maunet bc fit ...    fit and write the fitted tables to a fit file (stats/bias_correction_file.hpp)
//   maunet bc apply ...  apply a fit file to any number of simulations (--sim/--out pairs)
// Methods:
//   linear  linear scaling (stats/linear_scaling.hpp)
//   qm      empirical quantile mapping (stats/quantile_mapping.hpp)
//   qdm     quantile delta mapping, Cannon et al. 2015 (stats/quantile_delta_mapping.hpp)
// With --window W > 0, each day is corrected with the distributions of the calibration days
// within W days of its day of year (pipeline/day_of_year.hpp derives the day of year from each
// file's CF time axis and calendar; a model calendar other than the observations' gets the
// observations' days mapped by fraction of the year).
// Memory: a cell's correction needs its whole time series but no other cell, so the grid is
// processed in tiles of rows over the whole period (--tile-rows; by default as many rows as
// fit a budget of --memory MB). Each input is read once, a chunk of --chunk time steps at a
// time, converted and aligned, and spooled to a scratch file next to the output laid out tile
// by tile (io/tile_spool.hpp); each tile is then fitted and corrected, its result spooled, and
// the output written a chunk of time steps at a time. Every cell draws the random numbers it
// would draw untiled (Calibration::first_cell), so the output is bit-identical for any tiling.
// Real files (cli/precip_inputs.hpp): every input is converted to mm/day (--threshold is in
// mm/day) and the output is written in mm/day; --obs and --sim are aligned to --sim-hist's
// grid (flipped or rolled as needed, refused if different); the calibration uses the period
// common to --obs and --sim-hist, each with its own time axis; --mask blanks the sea. A fit
// file records the grid and units it was fitted on; bc apply refuses a simulation on another
// grid, naming both.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <maunet/io/tile_spool.hpp>
#include <maunet/parallel/agreement.hpp>
#include <maunet/parallel/chunked_map.hpp>
#include <maunet/pipeline/day_of_year.hpp>
#include <maunet/stats/bias_correction_file.hpp>

#include "cli/commands.hpp"
#include "cli/data_io.hpp"
#include "cli/limits.hpp"
#include "cli/precip_inputs.hpp"

namespace maunet::cli {
namespace {

struct BcSettings {
    std::string method = "qdm", kind = "multiplicative";
    std::string obs, obs_var, sim_hist, sim_hist_var, out, fit;
    std::vector<std::string> sims, outs;  // bc apply: pairs; one-shot: at most one --sim
    std::string sim_var, obs_units, sim_units, mask;
    int window = 0;
    double threshold = 0.1, max_ratio = 10;
    Index quantiles = 100;
    std::uint64_t seed = 42;
    bool no_frequency_adaptation = false;
    Index tile_rows = 0;     // 0: from --memory
    Index memory_mb = 256;
    Index chunk = 64;
};

// One input series: steps [first, first + count) of `variable` in `path`, in mm/day, on the
// reference grid. `layout` is its grid (data [1, y, x]) with the time axis of those steps.
struct Series {
    std::string path, variable, units, flag;
    Field layout;
    Index first = 0, count = 0;
    double factor = 1;
};

Series open_series(const std::string& path, const std::string& variable, const std::string& units,
                   const std::string& flag) {
    Series s{path, variable, units, flag, {}, 0, 0, 1};
    s.layout = field_layout(path, variable, &s.count);
    s.factor = precip_factor_of(s.layout, path, units);  // from the whole time axis (a chunk may have one step)
    s.variable = s.layout.variable;
    return s;
}

void keep_steps(Series& s, Index first, Index last) {
    s.first = first;
    s.count = last - first + 1;
    if (!s.layout.time.empty())
        s.layout.time = std::vector<double>(s.layout.time.begin() + first, s.layout.time.begin() + last + 1);
}

bool has_axis(const Series& s) { return !s.layout.time.empty() && !s.layout.time_units.empty(); }

// The calibration period: obs and sim-hist cut to the span of their common dates, each keeping
// its own time steps inside it (29 February of the observations against a noleap model too).
void restrict_to_common_period(Series& obs, Series& hist) {
    if (!has_axis(obs) || !has_axis(hist)) return;
    const auto axis = [](const Series& s) {
        return pipeline::TimeAxis{s.layout.time, s.layout.time_units, s.layout.calendar,
                                  "'" + s.path + "' (variable '" + s.variable + "')"};
    };
    const pipeline::CommonPeriod p = pipeline::common_period(pipeline::match_dates(axis(obs), axis(hist)),
                                                             "bc: '" + obs.path + "'", "'" + hist.path + "'");
    const Index n_obs = obs.count, n_hist = hist.count;
    keep_steps(obs, p.a_first, p.a_last);
    keep_steps(hist, p.b_first, p.b_last);
    if (!is_root()) return;
    const auto dates = io::civil_times(hist.layout);
    std::fprintf(stderr, "maunet bc: calibration period %s .. %s: %ld of %ld steps of '%s', %ld of %ld of '%s'\n",
                 io::to_string(dates.front()).c_str(), io::to_string(dates.back()).c_str(), static_cast<long>(obs.count),
                 static_cast<long>(n_obs), obs.path.c_str(), static_cast<long>(hist.count), static_cast<long>(n_hist),
                 hist.path.c_str());
}

// Day of year on years of `days` days (the model's calendar; other calendars by fraction of the year).
pipeline::DayOfYearSeries doy_of(const Series& s, int days) {
    require(has_axis(s), "bc: --window needs a CF time axis, and '", s.path, "' (variable '", s.variable,
            "') has none");
    return pipeline::day_of_year_series(s.layout.time, s.layout.time_units, s.layout.calendar, days);
}

// Reads a series a chunk at a time (whole for .npy), in mm/day, aligned to `ref` when given,
// into a spool of tiles of `tile_rows` rows in `dir`. Returns the spool; `aligned` gets the
// grid after alignment (coordinates of the reference, units mm/day).
std::unique_ptr<io::TileSpool> spool_series(const Series& s, const Field* ref, const std::string& ref_path,
                                            Index tile_rows, Index chunk, const std::string& dir, Field* aligned,
                                            const char* command) {
    auto spool = std::make_unique<io::TileSpool>(dir, s.count, ref ? ref->ny() : s.layout.ny(),
                                                 ref ? ref->nx() : s.layout.nx(), tile_rows);
    const auto prepare = [&](Field f, Index t_written) {
        if (s.factor != 1.0)
            for (float& v : f.data) v = static_cast<float>(v * s.factor);
        pipeline::label_mm_per_day(f);
        if (ref) {
            const std::string what = pipeline::align_to_grid(f, s.path, *ref, ref_path);
            if (t_written == 0) note(command, s.path, what);
        }
        spool->write_steps(t_written, f.data);
        if (t_written == 0 && aligned) *aligned = pipeline::with_shape(f, f.ny(), f.nx());
    };
    if (is_npy(s.path)) {
        Field f = load_field(s.path, s.variable);
        if (s.first != 0 || s.count != f.num_times()) {
            std::vector<Index> steps;
            for (Index t = 0; t < s.count; ++t) steps.push_back(s.first + t);
            f = select_steps(std::move(f), steps);
        }
        prepare(std::move(f), 0);
    } else {
        const io::NetcdfReader<float> reader = open_reader(s.path, s.variable);
        for (Index t = 0; t < s.count; t += chunk) prepare(reader.read(s.first + t, std::min(chunk, s.count - t)), t);
    }
    if (aligned) aligned->time = s.layout.time;
    return spool;
}

// Rows per tile: --tile-rows, or as many as fit --memory MB. Per row of a tile the commands hold
// about 3 copies of the obs and sim-hist series (the tile, its values sorted by cell, the fitted
// samples; measured on 200 x 200 x 730 days: the peak is 1.6 times a count of 2) and 5 of the
// simulation (the tile, sorted, its own samples for qdm, the corrected tile, the spooled
// output), width values of 4 bytes each. Under mpirun rank 0 also holds the inputs and results
// of one tile per rank (parallel/chunked_map.hpp, map_tasks): the budget is shared by them.
Index choose_tile_rows(const BcSettings& s, Index height, Index width, Index obs_t, Index hist_t, Index sim_t) {
    if (s.tile_rows > 0) return std::min(s.tile_rows, height);
    const double ranks = communicator().size() > 1 ? 1.0 + double(communicator().size()) : 1.0;
    const double per_row = ranks * 4.0 * double(width) * double(3 * obs_t + 3 * hist_t + 5 * sim_t);
    const double rows = double(s.memory_mb) * 1024.0 * 1024.0 / std::max(per_row, 1.0);
    return std::max<Index>(1, std::min<Index>(height, static_cast<Index>(rows)));
}

std::string scratch_dir(const std::string& out) {
    const std::filesystem::path parent = std::filesystem::path(out).parent_path();
    return parent.empty() ? std::string(".") : parent.string();
}

stats::BiasCorrectionConfig config_of(const BcSettings& s) {
    stats::BiasCorrectionConfig config;
    config.wet_day_threshold = s.threshold;
    config.max_ratio = s.max_ratio;
    config.window_half_width_days = s.window;
    config.seed = s.seed;
    config.adapt_wet_day_frequency = !s.no_frequency_adaptation;
    return config;
}

void check_method(const BcSettings& s) {
    require(s.method == "linear" || s.method == "qm" || s.method == "qdm", "bc: method '", s.method,
            "' is not one of linear, qm, qdm");
    require(s.kind == "additive" || s.kind == "multiplicative", "bc: kind '", s.kind,
            "' is not one of additive, multiplicative");
}

// A method of the settings, fitted on one tile.
stats::AnyBiasCorrection<float> fit_tile(const BcSettings& s, const Tensor<float>& obs, const Tensor<float>& hist,
                                          const std::optional<pipeline::DayOfYearSeries>& od,
                                          const std::optional<pipeline::DayOfYearSeries>& hd, Index first_cell) {
    const stats::Kind kind = s.kind == "additive" ? stats::Kind::additive : stats::Kind::multiplicative;
    const auto config = config_of(s);
    stats::AnyBiasCorrection<float> m = stats::LinearScaling<float>(kind, config);
    if (s.method == "qm") m = stats::QuantileMapping<float>(kind, config, s.quantiles);
    if (s.method == "qdm") m = stats::QuantileDeltaMapping<float>(kind, config, s.quantiles);
    std::visit(
        [&](auto& method) {
            if (od) method.fit(obs, od->doy, hist, hd->doy, od->days_in_year);
            else method.fit(obs, hist);
            method.set_first_cell(first_cell);
        },
        m);
    return m;
}

Tensor<float> apply_tile(const stats::AnyBiasCorrection<float>& m, const Tensor<float>& x,
                         const std::optional<pipeline::DayOfYearSeries>& sd) {
    return std::visit([&](const auto& method) { return sd ? method.apply(x, sd->doy, sd->days_in_year) : method.apply(x); },
                      m);
}

// Writes the spooled result a chunk of time steps at a time (.npy: whole) with `grid`'s metadata.
void write_output(const std::string& out, const io::TileSpool& spool, Field grid, const Tensor<float>& mask,
                  Index chunk, std::vector<std::pair<std::string, std::string>> attributes) {
    const Index T = spool.times();
    if (is_npy(out)) {
        Tensor<float> all = spool.read_steps(0, T);
        pipeline::apply_mask(all, mask);
        io::save_npy(out, all);
        return;
    }
    if (grid.time.empty() || grid.time_units.empty()) {
        grid.time.clear();
        for (Index t = 0; t < T; ++t) grid.time.push_back(static_cast<double>(t));
        grid.time_units = pipeline::kDefaultTimeUnits;
        grid.calendar = "standard";
    }
    io::NetcdfWriterOptions options;
    options.command = command_line();
    options.global_attributes = std::move(attributes);
    const std::vector<double> time = grid.time;
    grid = pipeline::with_shape(grid, spool.height(), spool.width());
    io::NetcdfWriter writer(out, grid, std::move(options));
    const ChunkProgress progress("bc: writing");
    for (Index t0 = 0; t0 < T; t0 += chunk) {
        const Index n = std::min(chunk, T - t0);
        Field c = grid;
        c.data = spool.read_steps(t0, n);
        pipeline::apply_mask(c.data, mask);
        c.time.assign(time.begin() + t0, time.begin() + t0 + n);
        writer.append(c);
        progress(t0 + n, T);
    }
    writer.close();
}

std::string describe(const BcSettings& s, const std::string& obs_var, const std::string& hist_var) {
    return s.method + " (" + s.kind + ", window " + std::to_string(s.window) + " days) fitted on " + s.obs + " (" +
           obs_var + ") and " + s.sim_hist + " (" + hist_var + ") (maunet bc)";
}

// The fit inputs: obs and sim-hist opened, cut to their common period, and their day-of-year series.
struct FitInputs {
    Series obs, hist;
    std::optional<pipeline::DayOfYearSeries> od, hd;
    int days = 365;
};

FitInputs open_fit_inputs(const BcSettings& s) {
    FitInputs in;
    in.obs = open_series(s.obs, s.obs_var, s.obs_units, "--obs-units");
    in.hist = open_series(s.sim_hist, s.sim_hist_var.empty() ? s.obs_var : s.sim_hist_var, s.sim_units, "--sim-units");
    Field obs_grid = in.obs.layout;  // refused here, before any reading, when the grids differ
    note("bc", s.obs, pipeline::align_to_grid(obs_grid, s.obs, in.hist.layout, s.sim_hist));
    restrict_to_common_period(in.obs, in.hist);
    if (s.window > 0) {
        in.days = has_axis(in.hist) ? pipeline::days_in_year_of(in.hist.layout.calendar) : 365;
        in.od = doy_of(in.obs, in.days);
        in.hd = doy_of(in.hist, in.days);
    }
    return in;
}

void check_common(const BcSettings& s) {
    check_method(s);
    require_variable(s.obs, s.obs_var, "--obs-var");
    require_variable(s.sim_hist, s.sim_hist_var.empty() ? s.obs_var : s.sim_hist_var, "--sim-hist-var");
}

// Under mpirun, bc, bc fit and bc apply spread their tiles over the ranks: every rank opens and
// checks the inputs (so a bad input stops all alike), rank 0 alone reads the series into its
// spools and writes the output, and the tiles travel by map_tasks (rank 0 scatters a round of
// tiles, each rank fits or applies its own, the results come back in tile order). Each cell's
// random numbers depend on its position in the whole grid, so the output is the same for any
// rank count.
void run_bc(const BcSettings& s) {
    if (s.obs.empty() || s.sim_hist.empty() || s.out.empty())
        throw CLI::RequiredError(std::string(s.obs.empty() ? "--obs" : s.sim_hist.empty() ? "--sim-hist" : "--out") +
                                     " is required (or use bc fit / bc apply)",
                                 CLI::ExitCodes::RequiredError);
    if (s.sims.size() > 1)
        throw CLI::ValidationError("--sim", "given " + std::to_string(s.sims.size()) +
                                                " times; the one-shot bc corrects one file (use bc apply for more)");
    check_common(s);
    const std::string sim_path = s.sims.empty() ? s.sim_hist : s.sims[0];
    if (is_root()) guard_outputs({s.out}, {s.obs, s.sim_hist, sim_path, s.mask, mask_file(s.mask)});
    FitInputs in = open_fit_inputs(s);
    Series sim = open_series(sim_path, s.sim_var.empty() ? in.hist.variable : s.sim_var, s.sim_units, "--sim-units");
    if (!s.sims.empty()) {
        Field g = sim.layout;
        note("bc", sim_path, pipeline::align_to_grid(g, sim_path, in.hist.layout, s.sim_hist));
    }
    std::optional<pipeline::DayOfYearSeries> sd;
    if (s.window > 0) sd = doy_of(sim, in.days);
    const Tensor<float> mask = load_target_mask(s.mask, in.hist.layout, s.sim_hist);
    const Field& ref = in.hist.layout;
    const Index H = ref.ny(), W = ref.nx();
    const Index rows = choose_tile_rows(s, H, W, in.obs.count, in.hist.count, sim.count);
    const Index num_tiles = (H + rows - 1) / rows;
    // --sim defaults to the whole of --sim-hist (not only the calibration period).
    const bool same = s.sims.empty() && in.hist.first == 0 && in.hist.count == sim.count;
    std::unique_ptr<io::TileSpool> obs_spool, hist_spool, sim_spool, result;
    Field out_grid;
    const std::string dir = scratch_dir(s.out);
    parallel::run_collectively(communicator(), [&] {
        if (!is_root()) return;
        obs_spool = spool_series(in.obs, &ref, s.sim_hist, rows, s.chunk, dir, nullptr, "bc");
        hist_spool = spool_series(in.hist, nullptr, "", rows, s.chunk, dir, nullptr, "bc");
        if (!same) sim_spool = spool_series(sim, &ref, s.sim_hist, rows, s.chunk, dir, &out_grid, "bc");
        else {
            out_grid = pipeline::with_shape(ref, H, W);
            pipeline::label_mm_per_day(out_grid);
            out_grid.time = sim.layout.time;
        }
        result = std::make_unique<io::TileSpool>(dir, sim.count, H, W, rows);
    });
    const ChunkProgress progress("bc: tiles of " + std::to_string(rows) + " rows");
    using Tiles = std::vector<Tensor<float>>;
    parallel::map_tasks<Tiles, Tensor<float>>(
        communicator(), num_tiles,
        [&](Index k) {  // obs, sim-hist and, unless it is sim-hist itself, the simulation
            Tiles t{obs_spool->read_tile(k), hist_spool->read_tile(k)};
            if (!same) t.push_back(sim_spool->read_tile(k));
            return t;
        },
        [&](Index k, Tiles&& t) {
            const auto m = fit_tile(s, t[0], t[1], in.od, in.hd, k * rows * W);
            t[0] = Tensor<float>();  // the observations are done with
            return apply_tile(m, t.back(), sd);
        },
        [&](Index k, Tensor<float>&& tile) {
            result->write_tile(k, tile);
            progress(k + 1, num_tiles);
        },
        {parallel::encode_tensor_list<float>(), parallel::decode_tensor_list<float>(), parallel::encode_tensor<float>(),
         parallel::decode_tensor<float>()});
    if (!is_root()) return;
    write_output(s.out, *result, out_grid, mask, s.chunk,
                 {{"method", describe(s, in.obs.variable, in.hist.variable)},
                  {"input", sim_path + " (variable " + sim.variable + ")"}});
    std::printf("%s: %s applied to %ld time steps of %ld x %ld (%ld tiles of %ld rows), in %s\n", s.out.c_str(),
                s.method.c_str(), static_cast<long>(sim.count), static_cast<long>(H), static_cast<long>(W),
                static_cast<long>(num_tiles), static_cast<long>(rows), io::kMillimetresPerDay);
}

// A tile of a fit file as one message (settings, extents, block).
parallel::Bytes tile_message(const stats::EncodedFitTile& t) {
    io::detail::ByteWriter w;
    w.put(static_cast<std::uint64_t>(t.settings.size()));
    w.put_bytes(t.settings.data(), t.settings.size());
    w.put(static_cast<std::int64_t>(t.height));
    w.put(static_cast<std::int64_t>(t.width));
    w.put(static_cast<std::int64_t>(t.first_cell));
    w.put_bytes(t.block.data(), t.block.size());
    return parallel::Bytes(w.bytes().begin(), w.bytes().end());
}
stats::EncodedFitTile tile_of_message(const parallel::Bytes& b) {
    io::detail::ByteReader r("a fitted tile from another rank", std::string(b.begin(), b.end()));
    stats::EncodedFitTile t;
    const auto n = r.get<std::uint64_t>("the settings' length");
    r.need(n, "the settings");
    t.settings = r.get_string(static_cast<std::size_t>(n), "the settings");
    t.height = static_cast<Index>(r.get<std::int64_t>("the height"));
    t.width = static_cast<Index>(r.get<std::int64_t>("the width"));
    t.first_cell = static_cast<Index>(r.get<std::int64_t>("the first cell"));
    const std::size_t used = sizeof(std::uint64_t) + static_cast<std::size_t>(n) + 3 * sizeof(std::int64_t);
    t.block = r.get_string(b.size() - used, "the block");
    return t;
}

void run_fit(const BcSettings& s) {
    check_common(s);
    if (is_root()) guard_outputs({s.out}, {s.obs, s.sim_hist});
    FitInputs in = open_fit_inputs(s);
    const Field& ref = in.hist.layout;
    const Index H = ref.ny(), W = ref.nx();
    // The tiles of the fit are also those of bc apply: room for a simulation as long as --sim-hist.
    const Index rows = choose_tile_rows(s, H, W, in.obs.count, in.hist.count, in.hist.count);
    const Index num_tiles = (H + rows - 1) / rows;
    const std::string dir = scratch_dir(s.out);
    std::unique_ptr<io::TileSpool> obs_spool, hist_spool;
    std::unique_ptr<stats::BiasCorrectionFileWriter<float>> writer;
    parallel::run_collectively(communicator(), [&] {
        if (!is_root()) return;
        obs_spool = spool_series(in.obs, &ref, s.sim_hist, rows, s.chunk, dir, nullptr, "bc fit");
        hist_spool = spool_series(in.hist, nullptr, "", rows, s.chunk, dir, nullptr, "bc fit");
        stats::BiasCorrectionGrid grid;
        grid.units = io::kMillimetresPerDay;
        grid.variable = in.obs.variable;
        grid.y_name = ref.y_name;
        grid.x_name = ref.x_name;
        grid.y = ref.y;
        grid.x = ref.x;
        grid.x_angular = pipeline::detail::angular_x(ref);
        writer = std::make_unique<stats::BiasCorrectionFileWriter<float>>(s.out, H, W, rows, grid);
    });
    const ChunkProgress progress("bc fit: tiles of " + std::to_string(rows) + " rows");
    // A tile's fit: the fitted method itself in one process (written straight from its samples),
    // encoded bytes when it comes from another rank.
    using Tiles = std::vector<Tensor<float>>;
    using Fitted = std::variant<stats::AnyBiasCorrection<float>, stats::EncodedFitTile>;
    const auto encode_fit = [&](const Fitted& f) {
        return std::visit([&](const auto& method) { return tile_message(stats::encode_fit_tile(method, H, W)); },
                          std::get<0>(f));
    };
    parallel::map_tasks<Tiles, Fitted>(
        communicator(), num_tiles, [&](Index k) { return Tiles{obs_spool->read_tile(k), hist_spool->read_tile(k)}; },
        [&](Index k, Tiles&& t) { return Fitted(fit_tile(s, t[0], t[1], in.od, in.hd, k * rows * W)); },
        [&](Index k, Fitted&& fitted) {
            if (fitted.index() == 1) writer->add_tile(std::get<1>(fitted));
            else std::visit([&](const auto& method) { writer->add_tile(method); }, std::get<0>(fitted));
            progress(k + 1, num_tiles);
        },
        {parallel::encode_tensor_list<float>(), parallel::decode_tensor_list<float>(), encode_fit,
         [](const parallel::Bytes& b) { return Fitted(tile_of_message(b)); }});
    if (!is_root()) return;
    writer->close();
    std::printf("%s: %s fitted on %ld x %ld cells (%ld tiles of %ld rows), %ld and %ld time steps, in %s\n",
                s.out.c_str(), s.method.c_str(), static_cast<long>(H), static_cast<long>(W),
                static_cast<long>(num_tiles), static_cast<long>(rows), static_cast<long>(in.obs.count),
                static_cast<long>(in.hist.count), io::kMillimetresPerDay);
}

// The grid a fit file was made on, as a field to align simulations to.
Field grid_of_fit(const stats::BiasCorrectionFileReader<float>& r) {
    Field g;
    g.variable = r.grid().variable.empty() ? "fit" : r.grid().variable;
    g.y_name = r.grid().y_name;
    g.x_name = r.grid().x_name;
    g.y = r.grid().y;
    g.x = r.grid().x;
    if (r.grid().x_angular) g.x_attributes = {io::Attribute{"standard_name", "longitude", {}}};
    return pipeline::with_shape(g, r.height(), r.width());
}

void run_apply(const BcSettings& s) {
    if (s.sims.size() != s.outs.size())
        throw CLI::ValidationError("--out", std::to_string(s.sims.size()) + " --sim files but " +
                                                std::to_string(s.outs.size()) + " --out; give one --out per --sim");
    std::vector<std::string> inputs = s.sims;
    inputs.push_back(s.fit);
    inputs.push_back(s.mask);
    inputs.push_back(mask_file(s.mask));
    if (is_root()) guard_outputs(s.outs, inputs);
    // Every rank opens the fit file and reads the tiles it applies.
    const stats::BiasCorrectionFileReader<float> fit(s.fit);
    const Field ref = grid_of_fit(fit);
    const std::string fit_desc = "'" + s.fit + "' (fitted on " + pipeline::detail::grid_summary(ref) +
                                 (fit.grid().units.empty() ? "" : ", in " + fit.grid().units) + ")";
    for (std::size_t i = 0; i < s.sims.size(); ++i) {
        const std::string& path = s.sims[i];
        require_variable(path, s.sim_var, "--sim-var");
        Series sim = open_series(path, s.sim_var, s.sim_units, "--sim-units");
        require(fit.grid().units.empty() || fit.grid().units == io::kMillimetresPerDay, "bc apply: the fit file ",
                fit_desc, " corrects values in '", fit.grid().units, "' but '", path, "' (variable '", sim.variable,
                "') is read in ", io::kMillimetresPerDay, "; fit it with maunet bc fit");
        Field g = sim.layout;
        try {
            note("bc apply", path, pipeline::align_to_grid(g, path, ref, s.fit));
        } catch (const ShapeError& e) {
            throw ShapeError(maunet::detail::cat("bc apply: '", path, "' is not on the grid of the fit file '", s.fit,
                                                 "': ", e.what()));
        }
        std::optional<pipeline::DayOfYearSeries> sd;
        if (!fit.whole_series()) sd = doy_of(sim, fit.days_in_year());
        const Tensor<float> mask = load_target_mask(s.mask, g, path);
        const std::string dir = scratch_dir(s.outs[i]);
        Field out_grid;
        std::unique_ptr<io::TileSpool> sim_spool, result;
        parallel::run_collectively(communicator(), [&] {
            if (!is_root()) return;
            // Tiles as in the fit file (each is read once per simulation).
            sim_spool = spool_series(sim, &ref, s.fit, fit.tile_rows(0), s.chunk, dir, &out_grid, "bc apply");
            out_grid.y_name = g.y_name;
            result = std::make_unique<io::TileSpool>(dir, sim.count, ref.ny(), ref.nx(), fit.tile_rows(0));
        });
        const ChunkProgress progress("bc apply: '" + path + "'");
        parallel::map_tasks<Tensor<float>, Tensor<float>>(
            communicator(), fit.num_tiles(), [&](Index k) { return sim_spool->read_tile(k); },
            [&](Index k, Tensor<float>&& x) {
                Tensor<float> input = std::move(x);
                return apply_tile(fit.tile(k), input, sd);
            },
            [&](Index k, Tensor<float>&& tile) {
                result->write_tile(k, tile);
                progress(k + 1, fit.num_tiles());
            },
            {parallel::encode_tensor<float>(), parallel::decode_tensor<float>(), parallel::encode_tensor<float>(),
             parallel::decode_tensor<float>()});
        if (!is_root()) continue;
        write_output(s.outs[i], *result, out_grid, mask, s.chunk,
                     {{"method", fit.method() + " from the fit file " + s.fit + " (maunet bc apply)"},
                      {"input", path + " (variable " + sim.variable + ")"}});
        std::printf("%s: %s of '%s' applied to %ld time steps of %ld x %ld, in %s\n", s.outs[i].c_str(),
                    fit.method().c_str(), s.fit.c_str(), static_cast<long>(sim.count), static_cast<long>(ref.ny()),
                    static_cast<long>(ref.nx()), io::kMillimetresPerDay);
    }
}

void add_method_options(CLI::App* cmd, BcSettings& s) {
    cmd->add_option("--method", s.method, "linear, qm or qdm")->capture_default_str();
    cmd->add_option("--kind", s.kind, "additive or multiplicative (precipitation)")->capture_default_str();
    cmd->add_option("--obs", s.obs, "observations of the calibration period");
    cmd->add_option("--obs-var", s.obs_var, "variable of --obs");
    cmd->add_option("--sim-hist", s.sim_hist, "simulation of the calibration period, on the observations' grid");
    cmd->add_option("--sim-hist-var", s.sim_hist_var, "variable of --sim-hist (default: --obs-var)");
    cmd->add_option("--window", s.window, "half width in days of the day-of-year windows (0: whole series)")
        ->capture_default_str();
    cmd->add_option("--obs-units", s.obs_units, "units of --obs when its attribute is missing or wrong (e.g. mm/day)");
    cmd->add_option("--threshold", s.threshold, "wet-day threshold in mm/day (multiplicative kind)")
        ->capture_default_str();
    cmd->add_option("--max-ratio", s.max_ratio, "cap on multiplicative factors")->capture_default_str();
    cmd->add_option("--quantiles", s.quantiles, "quantiles of the tables (qm, qdm), 2 to " + std::to_string(kMaxQuantiles))
        ->check(CLI::Range(Index(2), kMaxQuantiles))
        ->capture_default_str();
    cmd->add_option("--seed", s.seed, "seed of the wet-day frequency adaptation")->capture_default_str();
    cmd->add_flag("--no-frequency-adaptation", s.no_frequency_adaptation,
                  "keep the simulation's dry days dry (no wet-day frequency adaptation)");
}

void add_streaming_options(CLI::App* cmd, BcSettings& s, bool tiles) {
    if (tiles) {
        cmd->add_option("--tile-rows", s.tile_rows, "rows of the grid per tile (0: as many as fit --memory)")
            ->check(CLI::Range(Index(0), Index(1) << 24))
            ->capture_default_str();
        cmd->add_option("--memory", s.memory_mb, "memory budget in MB that sets the tile rows when --tile-rows is 0")
            ->check(CLI::Range(Index(16), Index(1) << 20))
            ->capture_default_str();
    }
    cmd->add_option("--chunk", s.chunk, "time steps read or written at a time")
        ->check(CLI::Range(Index(1), Index(100000)))
        ->capture_default_str();
}

}  // namespace

void add_bc_command(CLI::App& app) {
    auto s = std::make_shared<BcSettings>();
    CLI::App* cmd = app.add_subcommand(
        "bc", "classical bias correction (linear scaling, quantile mapping, quantile delta mapping): fit and apply "
              "in one run, or bc fit then bc apply");
    cmd->require_subcommand(0, 1);
    add_method_options(cmd, *s);
    cmd->add_option("--sim", s->sims, "simulation to correct (default: --sim-hist)");
    cmd->add_option("--sim-var", s->sim_var, "variable of --sim (default: that of --sim-hist)");
    cmd->add_option("--sim-units", s->sim_units,
                    "units of --sim-hist and --sim when their attribute is missing or wrong (e.g. 'kg m-2 s-1')");
    cmd->add_option("--out", s->out, "corrected field (.nc, or .npy)");
    cmd->add_option("--mask", s->mask, "target land-sea mask FILE[:VAR]: output missing where it is 0 or missing");
    add_streaming_options(cmd, *s, true);

    auto f = std::make_shared<BcSettings>();
    CLI::App* fit = cmd->add_subcommand("fit", "fit on --obs and --sim-hist and write the fitted tables to --out");
    add_method_options(fit, *f);
    fit->get_option("--obs")->required();
    fit->get_option("--sim-hist")->required();
    fit->add_option("--sim-units", f->sim_units, "units of --sim-hist when its attribute is missing or wrong");
    fit->add_option("--out", f->out, "the fit file to write")->required();
    add_streaming_options(fit, *f, true);
    fit->callback([f] { run_fit(*f); });

    auto a = std::make_shared<BcSettings>();
    CLI::App* apply = cmd->add_subcommand("apply", "apply a fit file of bc fit to one or more simulations");
    apply->add_option("--fit", a->fit, "fit file written by bc fit")->required();
    apply->add_option("--sim", a->sims, "simulation to correct (repeatable, one --out each)")->required();
    apply->add_option("--out", a->outs, "corrected field (.nc, or .npy), one per --sim, in the same order")->required();
    apply->add_option("--sim-var", a->sim_var, "variable of the --sim files");
    apply->add_option("--sim-units", a->sim_units, "units of the --sim files when their attribute is missing or wrong");
    apply->add_option("--mask", a->mask, "target land-sea mask FILE[:VAR]: output missing where it is 0 or missing");
    add_streaming_options(apply, *a, false);
    apply->callback([a] { run_apply(*a); });

    cmd->callback([s, cmd] {
        if (cmd->get_subcommands().empty()) run_bc(*s);
    });
}

}  // namespace maunet::cli
