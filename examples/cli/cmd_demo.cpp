// `maunet demo`: the end-to-end job on built-in synthetic data. Trains the MAUNet teacher, a
// MAUNet-Light and a U-Net on the downscaling task (coarse, biased fields regridded bicubically
// to the fine grid -> the fine observed field), then scores every method and bicubic
// interpolation on held-out fields and prints a table (and --json FILE).
#include <cmath>
#include <cstdio>
#include <string>

#include <maunet/pipeline/compare.hpp>
#include <maunet/pipeline/train_model.hpp>
#include <maunet/stats/regrid.hpp>
#include <maunet/train/synthetic.hpp>

#include "cli/commands.hpp"

namespace maunet::cli {
namespace {

struct DemoSettings {
    Index size = 64;
    int fields = 80;
    int epochs = 12;
    int width = 16;
    int levels = 3;
    int batch = 8;
    double lr = 2e-3;
    int threads = 0;
    std::uint64_t seed = 7;
    std::string json;
    bool full = false;
    bool quiet = false;
};

void run_demo(DemoSettings s) {
    if (s.full) {
        s.size = 128, s.fields = 160, s.epochs = 40, s.width = 32, s.levels = 4;
    }
    if (s.threads > 0) set_num_threads(s.threads);
    std::printf("maunet demo: %d synthetic fields of %ld x %ld, 4x downscaling; models: levels %d, base width %d; "
                "%d epochs; %d threads\n",
                s.fields, static_cast<long>(s.size), static_cast<long>(s.size), s.levels, s.width, s.epochs,
                num_threads());

    train::SyntheticConfig sc;
    sc.height = sc.width = s.size;
    sc.num_fields = s.fields;
    sc.seed = s.seed;
    sc.sea_fraction = 0.1;  // a corner without observations exercises the masks
    const auto data = train::generate_synthetic<float>(sc);
    const auto bicubic = [](const Tensor<float>& coarse, Index H, Index W) {
        return stats::regrid_bicubic(coarse, H, W, /*clamp_negative=*/true);
    };
    const auto all = train::downscaling_dataset<float>(data, false, bicubic);
    const auto split = all.split(0.7, 0.15, s.seed);
    const train::Batch<float> test = split.test.stacked();
    std::printf("split: %zu training, %zu validation, %zu test fields\n", split.train.size(), split.val.size(),
                split.test.size());

    // PSNR and SSIM need the data range: that of the held-out observations.
    double range = 0;
    for (Index i = 0; i < test.target.numel(); ++i)
        if (test.mask[i] != 0 && std::isfinite(test.target[i])) range = std::max(range, double(test.target[i]));

    std::vector<pipeline::MethodResult> results;
    {
        // Bicubic interpolation of the coarse field: the network's own input channel.
        const Index H = s.size, W = s.size;
        const auto& coarse = data.fields.front().coarse_biased;
        const double ms = pipeline::median_ms([&] { (void)stats::regrid_bicubic(coarse, H, W, true); });
        results.push_back(pipeline::score_method<float>("bicubic interpolation", "downscaling", 0, ms, test.input,
                                                        test.target, test.mask, range));
    }

    train::TrainerOptions opts;
    opts.epochs = s.epochs;
    opts.learning_rate = s.lr;
    opts.loader.batch_size = s.batch;
    opts.loader.seed = s.seed;
    opts.patience = 0;
    opts.progress = s.quiet ? train::ProgressStyle::quiet : train::ProgressStyle::automatic;

    for (nn::UNetConfig cfg : {nn::UNetConfig::maunet(), nn::UNetConfig::maunet_light(), nn::UNetConfig::unet()}) {
        cfg.levels = s.levels;
        cfg.base_width = s.width;
        cfg.residual = true;  // every network corrects its bicubic input: the comparison isolates the blocks
        opts.label = cfg.architecture;
        Rng init(s.seed + 1);
        train::TrainResult tr;
        const auto model = pipeline::train_precip_model<float>(cfg, pipeline::Task::downscaling, sc.factor,
                                                               split.train, split.val, opts, init, &tr);
        const Tensor<float> pred = model.predict(test.input);
        Tensor<float> field(Shape{1, test.input.dim(1), test.input.dim(2), test.input.dim(3)});
        std::copy(test.input.begin(), test.input.begin() + field.numel(), field.begin());
        const double ms = pipeline::median_ms([&] { (void)model.predict(field); });
        results.push_back(pipeline::score_method<float>(cfg.architecture, "downscaling", model.net().num_parameters(), ms,
                                                        pred, test.target, test.mask, range));
        std::printf("%s: best validation loss %.5f at epoch %d, %.1f s\n", cfg.architecture.c_str(), tr.best_val_loss,
                    tr.best_epoch, tr.seconds);
    }

    std::printf("\nheld-out fields (mm/day; PSNR and SSIM with data range %.2f):\n%s", range,
                pipeline::format_table(results).c_str());
    if (!s.json.empty()) {
        const std::string text = pipeline::to_json(results).dump(2) + "\n";
        io::write_stream_atomically(s.json, [&](std::ostream& out) { out << text; });
        std::printf("wrote %s\n", s.json.c_str());
    }
}

}  // namespace

void add_demo_command(CLI::App& app) {
    auto settings = std::make_shared<DemoSettings>();
    CLI::App* cmd = app.add_subcommand("demo", "train MAUNet, MAUNet-Light and U-Net on synthetic data and compare them "
                                               "with bicubic interpolation on held-out fields");
    cmd->add_option("--size", settings->size, "field height and width (a multiple of 4)")->capture_default_str();
    cmd->add_option("--fields", settings->fields, "number of synthetic fields")->capture_default_str();
    cmd->add_option("--epochs", settings->epochs, "training epochs per model")->capture_default_str();
    cmd->add_option("--width", settings->width, "base width F of the networks")->capture_default_str();
    cmd->add_option("--levels", settings->levels, "U-Net levels L")->capture_default_str();
    cmd->add_option("--batch", settings->batch, "batch size")->capture_default_str();
    cmd->add_option("--lr", settings->lr, "learning rate (Adam, cosine decay)")->capture_default_str();
    cmd->add_option("--threads", settings->threads, "threads (0 = all cores)")->capture_default_str();
    cmd->add_option("--seed", settings->seed, "seed of the data and of every random choice")->capture_default_str();
    cmd->add_option("--json", settings->json, "also write the results table to this JSON file");
    cmd->add_flag("--full", settings->full, "larger and longer: 128 x 128, 160 fields, L = 4, F = 32, 40 epochs");
    cmd->add_flag("--quiet", settings->quiet, "no progress output");
    cmd->callback([settings] { run_demo(*settings); });
}

}  // namespace maunet::cli
