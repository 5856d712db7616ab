// `maunet predict`: applies a trained model (maunet train / distill) to every time step of a
// field file, a chunk at a time (pipeline/apply_model.hpp, pipeline/field_stream.hpp).
// Downscaling models regrid each coarse field bicubically by their factor and correct it; the
// output grid is the input grid refined by the factor (coordinates refined linearly).
// Bias-correction models keep the grid. The input is converted from its units (or --units) to
// the units the model file records (mm/day for models of `maunet train`; files without units
// are taken as mm/day), chunk by chunk, and the output is written in them, with the input's grid
// attributes, grid_mapping, cell_methods and global attributes. --mask FILE[:VAR] blanks the
// output where the target grid's land-sea mask is 0 or missing. Amounts below the wet-day
// threshold (the model's, or --wet-threshold, in mm/day) are written as 0. --samples K runs
// Monte Carlo dropout: K predictions per field with dropout on (PrecipModel::apply_samples),
// written as their mean (the variable), standard deviation (<var>_sd) and quantiles
// (<var>_q05, ...; --quantiles). Under mpirun the chunks are spread over the ranks and rank 0
// writes the file (docs/mpi.md).
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <maunet/pipeline/apply_model.hpp>
#include <maunet/stats/sample_summary.hpp>

#include "cli/commands.hpp"
#include "cli/data_io.hpp"
#include "cli/limits.hpp"
#include "cli/precip_inputs.hpp"

namespace maunet::cli {
namespace {

struct PredictSettings {
    std::string model, in, var, out, units, mask;
    Index chunk = 8;
    int threads = 0;
    double wet_threshold = -1;  // mm/day; < 0: the model's own
    std::string statistic;      // Bernoulli-gamma models: mean, median or sample; empty: the model's
    std::uint64_t seed = 0;
    Index samples = 0;                             // MC dropout: predictions per field (0: off)
    std::vector<double> quantiles{0.05, 0.5, 0.95};  // of the samples, written with --samples
};

// The variable of quantile p: "<var>_q" and the percentage, '_' for its decimal point
// (0.05 -> pr_q05, 0.5 -> pr_q50, 0.999 -> pr_q99_9).
std::string quantile_variable(const std::string& variable, double p) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%02.10g", 100 * p);
    std::string percent = buf;
    std::replace(percent.begin(), percent.end(), '.', '_');
    return variable + "_q" + percent;
}

// The variables written beside the mean of MC-dropout samples: their spread and quantiles.
std::vector<io::NetcdfCompanion> sample_companions(const std::string& variable, const PredictSettings& s) {
    const std::string of = " of " + std::to_string(s.samples) + " MC-dropout samples";
    std::vector<io::NetcdfCompanion> out = {{variable + "_sd", "standard deviation" + of, "", ""}};
    for (double p : s.quantiles) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.10g", p);
        out.push_back({quantile_variable(variable, p), std::string(buf) + " quantile" + of, "", ""});
    }
    for (std::size_t i = 0; i < out.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
            if (out[i].name == out[j].name)
                throw ArgumentError("--quantiles: two quantiles give the variable '" + out[i].name + "'");
    return out;
}

void run_predict(const PredictSettings& s) {
    require_variable(s.in, s.var, "--var");
    if (is_root()) guard_outputs({s.out}, {s.model, s.in, s.mask, mask_file(s.mask)});
    if (s.threads > 0) set_num_threads(s.threads);
    auto model = pipeline::PrecipModel<float>::load(s.model);
    if (s.wet_threshold >= 0) model.set_wet_threshold(s.wet_threshold);
    if (!s.statistic.empty()) {
        if (!model.bernoulli_gamma())
            throw ArgumentError("--statistic: '" + s.model + "' predicts amounts, not a Bernoulli-gamma distribution");
        model.set_statistic(pipeline::statistic_from_string(s.statistic), s.seed);
    }
    if (s.samples > 0 && !model.net().has_dropout())
        throw ArgumentError("--samples: '" + s.model + "' (" + model.net().config().architecture +
                            ") has no dropout layers to sample; MC dropout needs a model trained with dropout");
    const Field layout = field_layout(s.in, s.var);
    const Index factor = model.task() == pipeline::Task::downscaling ? model.factor() : 1;
    const bool known = !model.units().empty();
    if (!known)
        std::fprintf(stderr, "note: '%s' records no units (written before units were recorded); its fields are "
                             "taken as mm/day\n", s.model.c_str());
    const std::string units = known ? model.units() : std::string(io::kMillimetresPerDay);
    const double to_model_units = pipeline::precip_factor_to(layout, s.in, units_for(s.in, s.units), units,
                                                             "the model '" + s.model + "'");
    Field out_grid = pipeline::refined_grid(layout, factor);
    pipeline::label_precip_rate(out_grid, units);
    std::vector<io::NetcdfCompanion> companions;
    if (s.samples > 0) {
        companions = sample_companions(out_grid.variable, s);
        out_grid.long_name = "mean of " + std::to_string(s.samples) + " MC-dropout samples";
    }
    const Tensor<float> mask = load_target_mask(s.mask, out_grid, s.out);
    const std::string arch = model.net().config().architecture;
    const std::string method =
        factor > 1 ? "bicubic interpolation by " + std::to_string(factor) + ", then " + arch + " (maunet predict)"
                   : arch + " bias correction (maunet predict)";
    const Index n = transform_file(
        s.in, s.var, s.out, out_grid, s.chunk,
        [&](const Tensor<float>& x) {
            Tensor<float> in = x;
            if (to_model_units != 1.0)
                for (float& v : in) v = static_cast<float>(v * to_model_units);
            if (s.samples == 0) {
                Tensor<float> y = pipeline::apply_precip_model(model, in);
                pipeline::apply_mask(y, mask);
                return y;
            }
            Tensor<float> samples = model.apply_samples(in, s.samples, s.seed);  // [n, K, y, x]
            pipeline::apply_mask(samples, mask);
            return stats::summarize_samples(samples, s.quantiles);  // mean, sd, quantiles
        },
        {{"model", arch},
         {"method", method},
         {"model_file", s.model},
         {"input", s.in + " (variable " + layout.variable + ")"}},
        "predict", std::move(companions));
    if (!is_root()) return;
    std::printf("%s: %ld time steps, %ld x %ld -> %ld x %ld (%s, %s), in %s%s\n", s.out.c_str(), static_cast<long>(n),
                static_cast<long>(layout.ny()), static_cast<long>(layout.nx()), static_cast<long>(out_grid.ny()),
                static_cast<long>(out_grid.nx()), arch.c_str(), pipeline::to_string(model.task()), units.c_str(),
                written_by(s.in, s.out).c_str());
    if (s.samples > 0) {
        std::printf("  %s: mean of %ld MC-dropout samples per field (seed %llu); beside it", out_grid.variable.c_str(),
                    static_cast<long>(s.samples), static_cast<unsigned long long>(s.seed));
        for (const auto& c : sample_companions(out_grid.variable, s)) std::printf(" %s", c.name.c_str());
        std::printf("\n");
    }
}

}  // namespace

void add_predict_command(CLI::App& app) {
    auto s = std::make_shared<PredictSettings>();
    CLI::App* cmd = app.add_subcommand("predict", "apply a trained model to every time step of a field file");
    cmd->add_option("--model", s->model, "model file written by maunet train or maunet distill")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_option("--in", s->in, "input field (coarse grid for downscaling models): NetCDF, or .npy [time, y, x]")
        ->required();
    cmd->add_option("--var", s->var, "variable to read (NetCDF; ignored for .npy)");
    cmd->add_option("--out", s->out, "output file (.nc, or .npy)")->required();
    cmd->add_option("--chunk", s->chunk, "time steps per chunk (memory holds one chunk)")
        ->check(CLI::Range(Index(1), Index(100000)))
        ->capture_default_str();
    add_threads_option(cmd, s->threads);
    cmd->add_option("--units", s->units, "units of --in when its attribute is missing or wrong (.npy: mm/day)");
    cmd->add_option("--wet-threshold", s->wet_threshold,
                    "outputs below this amount (mm/day) are set to 0 (default: the model's, 0.1 unless trained "
                    "otherwise; 0: off)")
        ->check(CLI::Range(0.0, 1000.0));
    cmd->add_option("--statistic", s->statistic,
                    "Bernoulli-gamma models: mean, median or sample (a random draw; --seed) (default: the model's, mean)")
        ->check(CLI::IsMember({"mean", "median", "sample"}));
    cmd->add_option("--seed", s->seed,
                    "seed of --statistic sample and of --samples (with each field: reproducible for any --chunk)")
        ->capture_default_str();
    cmd->add_option("--samples", s->samples,
                    "MC dropout: K predictions per field with dropout on; writes their mean as the variable and "
                    "<var>_sd and <var>_qNN beside it (NetCDF in and out; 0: off)")
        ->check(CLI::Range(Index(0), Index(10000)))
        ->capture_default_str();
    cmd->add_option("--quantiles", s->quantiles, "with --samples: quantiles of the samples to write, in [0, 1]")
        ->delimiter(',')
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    cmd->add_option("--mask", s->mask, "target land-sea mask FILE[:VAR]: output missing where it is 0 or missing");
    cmd->callback([s] { run_predict(*s); });
}

}  // namespace maunet::cli
