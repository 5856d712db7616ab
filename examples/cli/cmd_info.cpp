// `maunet info MODEL`: what a checkpoint holds: architecture, configuration, task, parameter
// count, and the size of the matching teacher or student.
#include <cstdio>
#include <string>

#include <maunet/pipeline/precip_model.hpp>

#include "cli/commands.hpp"

namespace maunet::cli {
namespace {

void run_info(const std::string& path) {
    auto model = pipeline::PrecipModel<float>::load(path);
    const nn::UNetConfig& c = model.net().config();
    std::printf("%s\n", path.c_str());
    std::printf("  architecture      %s\n", c.architecture.c_str());
    std::printf("  task              %s (factor %ld)\n", pipeline::to_string(model.task()), static_cast<long>(model.factor()));
    std::printf("  units             %s\n", model.units().empty()
                                               ? "unknown (the file records none; maunet predict takes mm/day)"
                                               : model.units().c_str());
    std::printf("  parameters        %ld\n", static_cast<long>(model.net().num_parameters()));
    std::printf("  configuration     %s\n", io::to_json(c).dump().c_str());
    const char* scale = train::to_string(model.target_transform().scale());  // "log1p" or "linear"
    std::printf("  input transform   %ld channel(s), precipitation %s mean %.6g std %.6g\n",
                static_cast<long>(model.input_transform().channels()), scale, model.input_transform().channel(0).mean,
                model.input_transform().channel(0).stddev);
    std::printf("  target transform  %s mean %.6g std %.6g\n", scale, model.target_transform().mean(),
                model.target_transform().stddev());
    std::printf("  wet-day threshold %.6g (outputs below it are 0)\n", static_cast<double>(model.wet_threshold()));
    if (model.grid_height() > 0)
        std::printf("  training grid     %ld x %ld\n", static_cast<long>(model.grid_height()),
                    static_cast<long>(model.grid_width()));
    const auto& statics = model.static_names();
    for (std::size_t k = 0; k < statics.size(); ++k) {  // input channels 1..S, carried in the file
        const auto& t = model.input_transform().channel(static_cast<Index>(k + 1));
        std::printf("  static predictor  %s (input channel %zu; mean %.6g, std %.6g)\n", statics[k].c_str(), k + 1,
                    t.mean, t.stddev);
    }
    // The other half of the teacher-student pair, for comparison.
    nn::UNetConfig other = c;
    const bool is_light = c.architecture == "maunet-light";
    other.width_multiplier = is_light ? 1.0 : std::sqrt(0.6);
    other.architecture = is_light ? "maunet" : "maunet-light";
    Rng rng(0);
    nn::UNet<float> twin(other, rng);
    std::printf("  %-17s %ld parameters with this configuration (ratio %.3f)\n", (other.architecture + ":").c_str(),
                static_cast<long>(twin.num_parameters()),
                double(model.net().num_parameters()) / double(twin.num_parameters()));
}

}  // namespace

void add_info_command(CLI::App& app) {
    auto path = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand("info", "describe a model file");
    cmd->add_option("model", *path, "a model checkpoint written by maunet")->required()->check(CLI::ExistingFile);
    cmd->callback([path] { run_info(*path); });
}

}  // namespace maunet::cli
