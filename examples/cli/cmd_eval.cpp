// `maunet eval`: scores one or more prediction files against observations on the same grid
// (metrics/report.hpp: RMSE, MAE, bias, r, PSNR, SSIM, quantile errors, ...) and prints the
// table of pipeline/compare.hpp; --json writes the same numbers. Both files are read whole.
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
    bool crop = false;
};

void run_eval(const EvalSettings& s) {
    require(s.names.empty() || s.names.size() == s.pred.size(), "eval: ", s.names.size(), " --name values for ",
            s.pred.size(), " --pred files");
    Field obs = load_field(s.obs, s.obs_var);
    std::vector<pipeline::MethodResult> rows;
    double range = s.range;
    for (std::size_t i = 0; i < s.pred.size(); ++i) {
        const std::string& path = s.pred[i];
        const Field pred = load_field(path, s.pred_var.empty() ? s.obs_var : s.pred_var);
        Tensor<float> o = obs.data;
        if (s.crop && pred.ny() <= obs.ny() && pred.nx() <= obs.nx())
            o = pipeline::crop_rows_cols(obs.data, pred.ny(), pred.nx());
        require_shape(pred.data.shape() == o.shape(), "eval: '", path, "' (variable '", pred.variable, "') has shape ",
                      pred.data.shape(), " but '", s.obs, "' (variable '", obs.variable, "') has ", obs.data.shape(),
                      s.crop ? "" : " (--crop cuts larger observations to the prediction's grid)");
        if (range <= 0) {
            for (float v : o)
                if (std::isfinite(v)) range = std::max(range, double(v));
            if (range <= 0) range = 1;
        }
        const Shape nchw{o.dim(0), 1, o.dim(1), o.dim(2)};
        Tensor<float> mask(nchw);
        for (Index j = 0; j < o.numel(); ++j) mask[j] = std::isfinite(o[j]) && std::isfinite(pred.data[j]) ? 1.f : 0.f;
        const std::string name = s.names.empty() ? path : s.names[i];
        rows.push_back(pipeline::score_method<float>(name, "", 0, 0.0, pred.data.reshaped(nchw), o.reshaped(nchw), mask,
                                                     range));
    }
    std::printf("%s (variable %s), %ld time steps; PSNR and SSIM with data range %.4g:\n%s", s.obs.c_str(),
                obs.variable.c_str(), static_cast<long>(obs.num_times()), range,
                pipeline::format_table(rows).c_str());
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
    cmd->add_flag("--crop", s->crop, "cut larger observations to the prediction's grid (first rows and columns)");
    cmd->add_option("--json", s->json, "also write the scores as JSON to this file");
    cmd->callback([s] { run_eval(*s); });
}

}  // namespace maunet::cli
