// `maunet eval`: scores one or more prediction files against observations on the same grid
// (metrics/report.hpp: RMSE, MAE, bias, r, PSNR, SSIM, quantile errors, ...) and prints the
// table of pipeline/compare.hpp; --json writes the same numbers. Every row is scored on the
// same cells: those valid in the observations and in every prediction. Files are read whole.
// With --crop, observations on a larger grid are cut to the prediction's grid (their first
// rows and columns: what `maunet regrid --coarsen` kept when the grid was not a multiple of
// the factor).
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <maunet/io/atomic_file.hpp>
#include <maunet/pipeline/compare.hpp>

#include "cli/commands.hpp"
#include "cli/data_io.hpp"

namespace maunet::cli {
namespace {

struct EvalSettings {
    std::vector<std::string> pred;
    std::vector<std::string> names;
    std::string pred_var, obs, obs_var, json;
    double range = 0;
    Index time_from = 0;
    bool crop = false;
    bool explain = true;  // the legend under the table
};

void run_eval(const EvalSettings& s) {
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
    Field obs = load_field(s.obs, s.obs_var);
    obs.data = later_steps(obs.data, s.obs);
    std::vector<Field> preds;
    for (const auto& path : s.pred) {
        preds.push_back(load_field(path, s.pred_var.empty() ? s.obs_var : s.pred_var));
        preds.back().data = later_steps(preds.back().data, path);
    }
    Tensor<float> o = obs.data;
    if (s.crop && preds[0].ny() <= obs.ny() && preds[0].nx() <= obs.nx())
        o = pipeline::crop_rows_cols(obs.data, preds[0].ny(), preds[0].nx());
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
    table.units = obs.units;
    table.show_cost = false;  // files have no parameters and no inference time
    table.data_range = range;
    std::printf("%s (variable %s%s%s), time steps %ld-%ld, %ld cells valid in every file:\n%s%s", s.obs.c_str(),
                obs.variable.c_str(), obs.units.empty() ? "" : ", ", obs.units.c_str(), static_cast<long>(s.time_from),
                static_cast<long>(s.time_from + obs.num_times() - 1), static_cast<long>(valid),
                pipeline::format_table(rows, table).c_str(), s.explain ? pipeline::table_legend(table).c_str() : "");
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
    cmd->add_flag("--crop", s->crop, "cut larger observations to the prediction's grid (first rows and columns)");
    cmd->add_option("--json", s->json, "also write the scores as JSON to this file");
    cmd->add_flag("--explain,!--no-explain", s->explain, "print what each column means under the table (default: on)");
    cmd->callback([s] { run_eval(*s); });
}

}  // namespace maunet::cli
