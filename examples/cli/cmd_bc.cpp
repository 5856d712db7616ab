// `maunet bc`: classical bias correction in one go: fit on observations and a simulation of
// the same period (--obs, --sim-hist), apply to a simulation (--sim; default: --sim-hist
// itself), write the corrected field on --sim's grid and time axis.
//   linear  linear scaling (stats/linear_scaling.hpp)
//   qm      empirical quantile mapping (stats/quantile_mapping.hpp)
//   qdm     quantile delta mapping, Cannon et al. 2015 (stats/quantile_delta_mapping.hpp)
// With --window W > 0, each day is corrected with the distributions of the calibration days
// within W days of its day of year (pipeline/day_of_year.hpp derives the day of year from each
// file's CF time axis and calendar). The fitted tables are not saved: fitting is cheap next to
// reading the data, so the command fits and applies in one run. All three series are read
// whole (a calibration needs every time step of a cell at once).
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

namespace maunet::cli {
namespace {

struct BcSettings {
    std::string method = "qdm", kind = "multiplicative";
    std::string obs, obs_var, sim_hist, sim_hist_var, sim, sim_var, out;
    int window = 0;
    double threshold = 0.1, max_ratio = 10;
    Index quantiles = 100;
    std::uint64_t seed = 42;
    bool no_frequency_adaptation = false;
};

pipeline::DayOfYearSeries doy_of(const Field& f, const std::string& path) {
    require(!f.time.empty() && !f.time_units.empty(), "bc: --window needs a CF time axis, and '", path,
            "' (variable '", f.variable, "') has none");
    return pipeline::day_of_year_series(f.time, f.time_units, f.calendar);
}

void run_bc(const BcSettings& s) {
    require(s.method == "linear" || s.method == "qm" || s.method == "qdm", "bc: method '", s.method,
            "' is not one of linear, qm, qdm");
    require(s.kind == "additive" || s.kind == "multiplicative", "bc: kind '", s.kind,
            "' is not one of additive, multiplicative");
    const stats::Kind kind = s.kind == "additive" ? stats::Kind::additive : stats::Kind::multiplicative;
    require_variable(s.obs, s.obs_var, "--obs-var");
    require_variable(s.sim_hist, s.sim_hist_var.empty() ? s.obs_var : s.sim_hist_var, "--sim-hist-var");
    guard_outputs({s.out}, {s.obs, s.sim_hist, s.sim});
    stats::BiasCorrectionConfig config;
    config.wet_day_threshold = s.threshold;
    config.max_ratio = s.max_ratio;
    config.window_half_width_days = s.window;
    config.seed = s.seed;
    config.adapt_wet_day_frequency = !s.no_frequency_adaptation;

    const Field obs = load_field(s.obs, s.obs_var);
    const Field hist = load_field(s.sim_hist, s.sim_hist_var.empty() ? s.obs_var : s.sim_hist_var);
    const bool separate = !s.sim.empty();
    const std::string sim_path = separate ? s.sim : s.sim_hist;
    Field sim = separate ? load_field(s.sim, s.sim_var.empty() ? hist.variable : s.sim_var) : hist;
    require_shape(obs.ny() == hist.ny() && obs.nx() == hist.nx() && sim.ny() == hist.ny() && sim.nx() == hist.nx(),
                  "bc: grids differ: '", s.obs, "' (", obs.variable, ") ", obs.ny(), " x ", obs.nx(), ", '", s.sim_hist,
                  "' (", hist.variable, ") ", hist.ny(), " x ", hist.nx(), ", '", sim_path, "' (", sim.variable, ") ",
                  sim.ny(), " x ", sim.nx());

    const auto fit_apply = [&](auto&& method) {
        if (s.window > 0) {
            const auto od = doy_of(obs, s.obs), hd = doy_of(hist, s.sim_hist), sd = doy_of(sim, sim_path);
            require(od.days_in_year == hd.days_in_year && hd.days_in_year == sd.days_in_year,
                    "bc: the calendars of the three files have different year lengths (", od.days_in_year, ", ",
                    hd.days_in_year, ", ", sd.days_in_year, ")");
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
    io::NetcdfWriterOptions options;
    options.global_attributes = {{"method", description}, {"input", sim_path + " (variable " + sim.variable + ")"}};
    save_field(s.out, std::move(sim), std::move(options));
    std::printf("%s: %s applied to %ld time steps of %ld x %ld\n", s.out.c_str(), s.method.c_str(),
                static_cast<long>(steps), static_cast<long>(hist.ny()), static_cast<long>(hist.nx()));
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
    cmd->add_option("--threshold", s->threshold, "wet-day threshold (multiplicative kind)")->capture_default_str();
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
