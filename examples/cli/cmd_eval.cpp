// `maunet eval`: scores one or more prediction files against observations on the same grid
// (metrics/report.hpp: RMSE, MAE, bias, r, PSNR, SSIM, quantile errors, ...) and prints the
// table of pipeline/compare.hpp; --json writes the same numbers. Every row is scored on the
// same cells: those valid in the observations and in every prediction. Files are read whole.
// Real files (cli/precip_inputs.hpp): everything is scored in mm/day whatever the files'
// units; each prediction is aligned to the observations' grid (flipped or rolled as needed,
// refused if the grids differ); the time steps scored are the dates common to the observations
// (from --time-from on) and every prediction, and the command says how many. With --crop,
// observations on a larger grid are cut to the prediction's grid by coordinates (by index
// only when a file has no coordinates).
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <maunet/io/atomic_file.hpp>
#include <maunet/pipeline/compare.hpp>

#include "cli/commands.hpp"
#include "cli/data_io.hpp"
#include "cli/precip_inputs.hpp"

namespace maunet::cli {
namespace {

struct EvalSettings {
    std::vector<std::string> pred;
    std::vector<std::string> names;
    std::string pred_var, obs, obs_var, json, units, obs_units;
    double range = 0;
    Index time_from = 0;
    bool crop = false;
    bool explain = true;  // the legend under the table
};

void run_eval(const EvalSettings& s) {
    // Under mpirun: rank 0 does all of it (docs/mpi.md says why this command is not split).
    if (!is_root()) return;
    require_variable(s.obs, s.obs_var, "--obs-var");
    for (const auto& path : s.pred) require_variable(path, s.pred_var.empty() ? s.obs_var : s.pred_var, "--pred-var");
    std::vector<std::string> inputs = s.pred;
    inputs.push_back(s.obs);
    guard_outputs({s.json}, inputs);
    require(s.names.empty() || s.names.size() == s.pred.size(), "eval: ", s.names.size(), " --name values for ",
            s.pred.size(), " --pred files");
    // Time steps [time_from, T) of a field [T, y, x].
    const auto later_steps = [&](const Tensor<float>& x, const std::string& path) {
        require(s.time_from >= 0 && s.time_from < x.dim(0), "eval: --time-from ", s.time_from, " is out of range; '",
                path, "' has ", x.dim(0), " time steps");
        const Index plane = x.dim(1) * x.dim(2);
        return Tensor<float>(Shape{x.dim(0) - s.time_from, x.dim(1), x.dim(2)},
                             std::vector<float>(x.begin() + s.time_from * plane, x.end()));
    };
    Field obs = load_precip(s.obs, s.obs_var, s.obs_units, "--obs-units");
    const Index obs_steps = obs.num_times();
    obs.data = later_steps(obs.data, s.obs);
    if (!obs.time.empty()) obs.time.erase(obs.time.begin(), obs.time.begin() + s.time_from);
    std::vector<Field> preds;
    for (const auto& path : s.pred) {
        preds.push_back(load_precip(path, s.pred_var.empty() ? s.obs_var : s.pred_var, s.units));
        // Without time axes steps pair by index: --time-from cuts a prediction as long as the observations too.
        if (!has_time_axis(preds.back()) && preds.back().num_times() == obs_steps)
            preds.back().data = later_steps(preds.back().data, path);
    }
    if (s.crop) note("eval", s.obs, pipeline::crop_to_grid(obs, s.obs, preds[0], s.pred[0]));
    // Dates scored: those of the observations found in every prediction.
    std::vector<Index> obs_steps_kept(static_cast<std::size_t>(obs.num_times()));
    for (Index t = 0; t < obs.num_times(); ++t) obs_steps_kept[static_cast<std::size_t>(t)] = t;
    std::vector<std::vector<Index>> pred_steps(preds.size());
    for (std::size_t i = 0; i < preds.size(); ++i) {
        note("eval", s.pred[i], pipeline::align_to_grid(preds[i], s.pred[i], obs, s.obs));
        const pipeline::DateMatch m = pair_by_date(obs, s.obs, preds[i], s.pred[i]);
        if (static_cast<Index>(m.b.size()) < preds[i].num_times())
            note("eval", s.pred[i], " only " + std::to_string(m.b.size()) + " of its " +
                                        std::to_string(preds[i].num_times()) + " time steps fall on observed dates");
        std::vector<Index> partner(static_cast<std::size_t>(obs.num_times()), -1);
        for (std::size_t k = 0; k < m.a.size(); ++k) partner[static_cast<std::size_t>(m.a[k])] = m.b[k];
        std::vector<Index> kept;
        for (Index t : obs_steps_kept)
            if (partner[static_cast<std::size_t>(t)] >= 0) kept.push_back(t);
        obs_steps_kept = kept;
        pred_steps[i] = std::move(partner);
    }
    require(!obs_steps_kept.empty(), "eval: no date of '", s.obs, "' (from --time-from ", s.time_from,
            ") is found in every prediction; nothing to score");
    for (std::size_t i = 0; i < preds.size(); ++i) {
        std::vector<Index> steps;
        for (Index t : obs_steps_kept) steps.push_back(pred_steps[i][static_cast<std::size_t>(t)]);
        preds[i] = select_steps(std::move(preds[i]), steps);
    }
    obs = select_steps(std::move(obs), obs_steps_kept);
    std::fprintf(stderr, "maunet eval: scoring %zu common dates (of %ld observation steps from --time-from %ld)\n",
                 obs_steps_kept.size(), static_cast<long>(obs_steps - s.time_from), static_cast<long>(s.time_from));
    const Tensor<float>& o = obs.data;
    // One mask for every row: cells where the observations and every prediction are valid.
    Tensor<float> mask(Shape{o.dim(0), 1, o.dim(1), o.dim(2)});
    for (Index j = 0; j < o.numel(); ++j) mask[j] = std::isfinite(o[j]) ? 1.f : 0.f;
    for (std::size_t i = 0; i < preds.size(); ++i) {
        const Field& pred = preds[i];
        require_shape(pred.data.shape() == o.shape(), "eval: '", s.pred[i], "' (variable '", pred.variable,
                      "') has shape ", pred.data.shape(), " but '", s.obs, "' (variable '", obs.variable, "') has ",
                      o.shape(), s.crop ? "" : " (--crop cuts larger observations to the prediction's grid)");
        for (Index j = 0; j < o.numel(); ++j)
            if (!std::isfinite(pred.data[j])) mask[j] = 0.f;
    }
    double range = s.range;
    if (range <= 0) {
        for (Index j = 0; j < o.numel(); ++j)
            if (mask[j] != 0.f) range = std::max(range, double(o[j]));
        if (range <= 0) range = 1;
    }
    const Shape nchw = mask.shape();
    std::vector<pipeline::MethodResult> rows;
    for (std::size_t i = 0; i < preds.size(); ++i) {
        const std::string name = s.names.empty() ? s.pred[i] : s.names[i];
        rows.push_back(score(name, "", 0, preds[i].data.reshaped(nchw), o.reshaped(nchw), mask, range));
    }
    Index valid = 0;
    for (float m : mask) valid += m != 0.f;
    pipeline::TableOptions table;
    table.units = io::kMillimetresPerDay;
    table.show_cost = false;  // files have no parameters and no inference time
    table.data_range = range;
    std::printf("%s (variable %s, in %s), %ld common dates from time step %ld, %ld cells valid in every file:\n%s%s",
                s.obs.c_str(), obs.variable.c_str(), io::kMillimetresPerDay, static_cast<long>(obs.num_times()),
                static_cast<long>(s.time_from), static_cast<long>(valid), pipeline::format_table(rows, table).c_str(),
                s.explain ? pipeline::table_legend(table).c_str() : "");
    if (!s.json.empty()) {
        const std::string text = pipeline::to_json(rows).dump(2) + "\n";
        io::write_stream_atomically(s.json, [&](std::ostream& out) { out << text; });
        std::printf("wrote %s\n", s.json.c_str());
    }
}

}  // namespace

void add_eval_command(CLI::App& app) {
    auto s = std::make_shared<EvalSettings>();
    CLI::App* cmd = app.add_subcommand("eval", "score predictions against observations on the same grid");
    cmd->add_option("--pred", s->pred, "prediction file(s): NetCDF or .npy [time, y, x]")->required();
    cmd->add_option("--pred-var", s->pred_var, "variable of the predictions (default: --obs-var)");
    cmd->add_option("--name", s->names, "row label of each --pred (default: the file name)");
    cmd->add_option("--obs", s->obs, "observations: NetCDF or .npy [time, y, x]")->required();
    cmd->add_option("--obs-var", s->obs_var, "variable of the observations");
    cmd->add_option("--range", s->range, "data range R of PSNR and SSIM (default: the observations' maximum)");
    cmd->add_option("--time-from", s->time_from, "score time steps from this one on (0-based; e.g. the held-out "
                    "period)")->capture_default_str();
    cmd->add_option("--units", s->units, "units of the predictions when their attribute is missing or wrong");
    cmd->add_option("--obs-units", s->obs_units, "units of the observations when their attribute is missing or wrong");
    cmd->add_flag("--crop", s->crop, "cut larger observations to the prediction's grid (matched by coordinates)");
    cmd->add_option("--json", s->json, "also write the scores as JSON to this file");
    cmd->add_flag("--explain,!--no-explain", s->explain, "print what each column means under the table (default: on)");
    cmd->callback([s] { run_eval(*s); });
}

}  // namespace maunet::cli
