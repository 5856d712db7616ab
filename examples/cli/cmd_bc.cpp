// `maunet bc`: classical bias correction in one go: fit on observations and a simulation of
// the same period (--obs, --sim-hist), apply to a simulation (--sim; default: --sim-hist
// itself), write the corrected field on --sim's grid and time axis.
//   linear  linear scaling (stats/linear_scaling.hpp)
//   qm      empirical quantile mapping (stats/quantile_mapping.hpp)
//   qdm     quantile delta mapping, Cannon et al. 2015 (stats/quantile_delta_mapping.hpp)
// With --window W > 0, each day is corrected with the distributions of the calibration days
// within W days of its day of year (pipeline/day_of_year.hpp derives the day of year from each
// file's CF time axis and calendar; a model calendar other than the observations' gets the
// observations' days mapped by fraction of the year). The fitted tables are not saved:
// fitting is cheap next to reading the data, so the command fits and applies in one run. All
// three series are read whole (a calibration needs every time step of a cell at once).
// Real files (cli/precip_inputs.hpp): every input is converted to mm/day (--threshold is in
// mm/day) and the output is written in mm/day; --obs and --sim are aligned to --sim-hist's
// grid (flipped or rolled as needed, refused if different); the calibration uses the period
// common to --obs and --sim-hist, each with its own time axis; --mask blanks the sea.
#include <cstdio>
#include <memory>
#include <string>

#include <maunet/pipeline/day_of_year.hpp>
#include <maunet/stats/linear_scaling.hpp>
#include <maunet/stats/quantile_delta_mapping.hpp>
#include <maunet/stats/quantile_mapping.hpp>

#include "cli/commands.hpp"
#include "cli/data_io.hpp"
#include "cli/limits.hpp"
#include "cli/precip_inputs.hpp"

namespace maunet::cli {
namespace {

struct BcSettings {
    std::string method = "qdm", kind = "multiplicative";
    std::string obs, obs_var, sim_hist, sim_hist_var, sim, sim_var, out;
    std::string obs_units, sim_units, mask;
    int window = 0;
    double threshold = 0.1, max_ratio = 10;
    Index quantiles = 100;
    std::uint64_t seed = 42;
    bool no_frequency_adaptation = false;
};

// Day of year on years of `days` days (the model's calendar; other calendars by fraction of the year).
pipeline::DayOfYearSeries doy_of(const Field& f, const std::string& path, int days) {
    require(has_time_axis(f), "bc: --window needs a CF time axis, and '", path, "' (variable '", f.variable,
            "') has none");
    return pipeline::day_of_year_series(f.time, f.time_units, f.calendar, days);
}

// The calibration period: obs and sim-hist cut to the span of their common dates, each keeping
// its own time steps inside it (29 February of the observations against a noleap model too).
void restrict_to_common_period(Field& obs, const std::string& obs_path, Field& hist, const std::string& hist_path) {
    if (!has_time_axis(obs) || !has_time_axis(hist)) return;
    const pipeline::CommonPeriod p = pipeline::common_period(pair_by_date(obs, obs_path, hist, hist_path),
                                                             "bc: '" + obs_path + "'", "'" + hist_path + "'");
    const auto span = [](Index first, Index last) {
        std::vector<Index> steps;
        for (Index t = first; t <= last; ++t) steps.push_back(t);
        return steps;
    };
    const Index n_obs = obs.num_times(), n_hist = hist.num_times();
    obs = select_steps(std::move(obs), span(p.a_first, p.a_last));
    hist = select_steps(std::move(hist), span(p.b_first, p.b_last));
    std::fprintf(stderr, "maunet bc: calibration period %s .. %s: %ld of %ld steps of '%s', %ld of %ld of '%s'\n",
                 io::to_string(io::civil_times(hist).front()).c_str(), io::to_string(io::civil_times(hist).back()).c_str(),
                 static_cast<long>(obs.num_times()), static_cast<long>(n_obs), obs_path.c_str(),
                 static_cast<long>(hist.num_times()), static_cast<long>(n_hist), hist_path.c_str());
}

void run_bc(const BcSettings& s) {
    // Under mpirun: rank 0 does all of it (docs/mpi.md says why this command is not split).
    if (!is_root()) return;
    require(s.method == "linear" || s.method == "qm" || s.method == "qdm", "bc: method '", s.method,
            "' is not one of linear, qm, qdm");
    require(s.kind == "additive" || s.kind == "multiplicative", "bc: kind '", s.kind,
            "' is not one of additive, multiplicative");
    const stats::Kind kind = s.kind == "additive" ? stats::Kind::additive : stats::Kind::multiplicative;
    require_variable(s.obs, s.obs_var, "--obs-var");
    require_variable(s.sim_hist, s.sim_hist_var.empty() ? s.obs_var : s.sim_hist_var, "--sim-hist-var");
    guard_outputs({s.out}, {s.obs, s.sim_hist, s.sim, s.mask, mask_file(s.mask)});
    stats::BiasCorrectionConfig config;
    config.wet_day_threshold = s.threshold;
    config.max_ratio = s.max_ratio;
    config.window_half_width_days = s.window;
    config.seed = s.seed;
    config.adapt_wet_day_frequency = !s.no_frequency_adaptation;

    Field obs = load_precip(s.obs, s.obs_var, s.obs_units, "--obs-units");
    Field hist = load_precip(s.sim_hist, s.sim_hist_var.empty() ? s.obs_var : s.sim_hist_var, s.sim_units, "--sim-units");
    const bool separate = !s.sim.empty();
    const std::string sim_path = separate ? s.sim : s.sim_hist;
    Field sim = separate ? load_precip(s.sim, s.sim_var.empty() ? hist.variable : s.sim_var, s.sim_units, "--sim-units") : hist;
    note("bc", s.obs, pipeline::align_to_grid(obs, s.obs, hist, s.sim_hist));
    if (separate) note("bc", sim_path, pipeline::align_to_grid(sim, sim_path, hist, s.sim_hist));
    restrict_to_common_period(obs, s.obs, hist, s.sim_hist);
    const Tensor<float> mask = load_target_mask(s.mask, hist, s.sim_hist);

    const auto fit_apply = [&](auto&& method) {
        if (s.window > 0) {
            const int days = has_time_axis(hist) ? pipeline::days_in_year_of(hist.calendar) : 365;
            const auto od = doy_of(obs, s.obs, days), hd = doy_of(hist, s.sim_hist, days),
                       sd = doy_of(sim, sim_path, days);
            method.fit(obs.data, od.doy, hist.data, hd.doy, od.days_in_year);
            return method.apply(sim.data, sd.doy, sd.days_in_year);
        }
        method.fit(obs.data, hist.data);
        return method.apply(sim.data);
    };
    Tensor<float> corrected;
    if (s.method == "linear") corrected = fit_apply(stats::LinearScaling<float>(kind, config));
    else if (s.method == "qm") corrected = fit_apply(stats::QuantileMapping<float>(kind, config, s.quantiles));
    else corrected = fit_apply(stats::QuantileDeltaMapping<float>(kind, config, s.quantiles));

    const std::string description = s.method + " (" + s.kind + ", window " + std::to_string(s.window) +
                                    " days) fitted on " + s.obs + " (" + obs.variable + ") and " + s.sim_hist + " (" +
                                    hist.variable + ") (maunet bc)";
    const Index steps = sim.num_times();
    sim.data = std::move(corrected);
    pipeline::apply_mask(sim.data, mask);
    io::NetcdfWriterOptions options;
    options.global_attributes = {{"method", description}, {"input", sim_path + " (variable " + sim.variable + ")"}};
    save_field(s.out, std::move(sim), std::move(options));
    std::printf("%s: %s applied to %ld time steps of %ld x %ld, in %s\n", s.out.c_str(), s.method.c_str(),
                static_cast<long>(steps), static_cast<long>(hist.ny()), static_cast<long>(hist.nx()),
                io::kMillimetresPerDay);
}

}  // namespace

void add_bc_command(CLI::App& app) {
    auto s = std::make_shared<BcSettings>();
    CLI::App* cmd = app.add_subcommand(
        "bc", "classical bias correction (linear scaling, quantile mapping, quantile delta mapping): fit and apply");
    cmd->add_option("--method", s->method, "linear, qm or qdm")->capture_default_str();
    cmd->add_option("--kind", s->kind, "additive or multiplicative (precipitation)")->capture_default_str();
    cmd->add_option("--obs", s->obs, "observations of the calibration period")->required();
    cmd->add_option("--obs-var", s->obs_var, "variable of --obs");
    cmd->add_option("--sim-hist", s->sim_hist, "simulation of the calibration period, on the observations' grid")
        ->required();
    cmd->add_option("--sim-hist-var", s->sim_hist_var, "variable of --sim-hist (default: --obs-var)");
    cmd->add_option("--sim", s->sim, "simulation to correct (default: --sim-hist)");
    cmd->add_option("--sim-var", s->sim_var, "variable of --sim (default: that of --sim-hist)");
    cmd->add_option("--out", s->out, "corrected field (.nc, or .npy)")->required();
    cmd->add_option("--window", s->window, "half width in days of the day-of-year windows (0: whole series)")
        ->capture_default_str();
    cmd->add_option("--obs-units", s->obs_units, "units of --obs when its attribute is missing or wrong (e.g. mm/day)");
    cmd->add_option("--sim-units", s->sim_units,
                    "units of --sim-hist and --sim when their attribute is missing or wrong (e.g. 'kg m-2 s-1')");
    cmd->add_option("--mask", s->mask, "target land-sea mask FILE[:VAR]: output missing where it is 0 or missing");
    cmd->add_option("--threshold", s->threshold, "wet-day threshold in mm/day (multiplicative kind)")
        ->capture_default_str();
    cmd->add_option("--max-ratio", s->max_ratio, "cap on multiplicative factors")->capture_default_str();
    cmd->add_option("--quantiles", s->quantiles, "quantiles of the tables (qm, qdm), 2 to " + std::to_string(kMaxQuantiles))
        ->check(CLI::Range(Index(2), kMaxQuantiles))
        ->capture_default_str();
    cmd->add_option("--seed", s->seed, "seed of the wet-day frequency adaptation")->capture_default_str();
    cmd->add_flag("--no-frequency-adaptation", s->no_frequency_adaptation,
                  "keep the simulation's dry days dry (no wet-day frequency adaptation)");
    cmd->callback([s] { run_bc(*s); });
}

}  // namespace maunet::cli
