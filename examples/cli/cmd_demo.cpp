// `maunet demo`: the end-to-end job on built-in synthetic data, for both tasks:
//   downscaling      coarse biased fields, regridded bicubically to the fine grid -> fine truth
//   bias correction  biased fields on the fine grid -> truth
// For each task it trains the MAUNet teacher, MAUNet-Light alone, MAUNet-Light by knowledge
// distillation (KD) and then by KD + knowledge refinement (KR), and the U-Net baseline, and
// scores them with the classical reference (bicubic interpolation; the raw biased input) on
// held-out fields. Prints one table per task (and seed), the RMSE differences that matter with
// paired bootstrap intervals over the held-out fields (metrics/paired_bootstrap.hpp), with
// --seeds N the mean and spread over N trainings of every network on the same data, and writes
// --json FILE (one object per method and seed).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <maunet/core/heap.hpp>
#include <maunet/pipeline/compare.hpp>
#include <maunet/pipeline/train_model.hpp>
#include <maunet/stats/regrid.hpp>
#include <maunet/train/distiller.hpp>
#include <maunet/train/synthetic.hpp>

#include "cli/commands.hpp"
#include "cli/comparison.hpp"
#include "cli/limits.hpp"

namespace maunet::cli {
namespace {

struct DemoSettings {
    Index size = 64;
    int fields = 64;
    int epochs = 10;
    int refine_epochs = 4;
    int width = 16;
    int levels = 3;
    int batch = 8;
    double lr = 2e-3;
    double alpha = 0.5;
    int threads = 0;
    std::uint64_t seed = 7;
    int seeds = 1;  // trainings of every network, model seeds seed, seed + 1, ... (same data)
    std::string task = "both";
    std::string json;
    bool full = false;
    bool quiet = false;
};

using Model = pipeline::PrecipModel<float>;

// Where the demo is: "model 3 of 10", and the time left, extrapolated from the models so far.
class Stages {
public:
    Stages(int total, bool quiet) : total_(total), quiet_(quiet), start_(std::chrono::steady_clock::now()) {}
    // Announces the next model; returns the label of its progress lines.
    std::string next(const char* task, const std::string& model) {
        ++done_;
        char label[160];
        std::snprintf(label, sizeof label, "[model %d of %d] %s/%s", done_, total_, task, model.c_str());
        if (!quiet_) {
            const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
            if (done_ > 1)
                std::fprintf(stderr, "%s: training; about %.0f s left in the demo\n", label,
                             elapsed / double(done_ - 1) * double(total_ - done_ + 1));
            else
                std::fprintf(stderr, "%s: training\n", label);
        }
        return label;
    }

private:
    int total_, done_ = 0;
    bool quiet_;
    std::chrono::steady_clock::time_point start_;
};

std::string percent_change(double value, double reference) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%% %s", std::abs(100.0 * (value / reference - 1.0)),
                  value <= reference ? "lower" : "higher");
    return buf;
}

// The closing lines: what the table says, in words. Rows: 0 reference, 1 teacher, 2 student
// alone, 3 KD, 4 KD+KR, 5 U-Net.
void explain(const std::vector<pipeline::MethodResult>& r, const char* units) {
    const auto& ref = r[0];
    const auto& teacher = r[1];
    const auto& alone = r[2];
    const auto& kdkr = r[4];
    const auto& unet = r[5];
    std::size_t best = 0;
    for (std::size_t i = 1; i < r.size(); ++i)
        if (r[i].report.rmse < r[best].report.rmse) best = i;
    std::printf("In words:\n");
    std::printf("- Lowest RMSE: %s (%.3f %s), %s than %s (%.3f).\n", r[best].name.c_str(), r[best].report.rmse, units,
                percent_change(r[best].report.rmse, ref.report.rmse).c_str(), ref.name.c_str(), ref.report.rmse);
    const double speed = teacher.ms_per_field / kdkr.ms_per_field;
    const double speed_low = kdkr.ms_high > 0 ? teacher.ms_low / kdkr.ms_high : 0.0;
    const double speed_high = kdkr.ms_low > 0 ? teacher.ms_high / kdkr.ms_low : 0.0;
    std::printf("- The distilled student (KD+KR) has %.0f%% of the teacher's parameters, an RMSE %s than the teacher's, "
                "and runs %.2fx as fast (%.2fx-%.2fx over the repeated timings).\n",
                100.0 * double(kdkr.parameters) / double(teacher.parameters),
                percent_change(kdkr.report.rmse, teacher.report.rmse).c_str(), speed, speed_low, speed_high);
    if (kdkr.report.rmse <= alone.report.rmse)
        std::printf("- Distillation helped: the same student trained alone has an RMSE of %.3f, KD+KR %.3f.\n",
                    alone.report.rmse, kdkr.report.rmse);
    else
        std::printf("- Distillation did not help here: the student trained alone scores better (RMSE %.3f against "
                    "%.3f for KD+KR). With few epochs the teacher's outputs are still poor targets; --full trains "
                    "longer.\n",
                    alone.report.rmse, kdkr.report.rmse);
    if (best == 5)
        std::printf("- The plain U-Net baseline wins this run (RMSE %.3f against the teacher's %.3f): at this small "
                    "size and short training its max pooling and transposed convolutions fit faster; the ranking of "
                    "the networks can change with --full or another --seed.\n",
                    unet.report.rmse, teacher.report.rmse);
    else if (best == 2)
        std::printf("- MAUNet-Light trained alone wins this run; the ranking of the networks can change with --full "
                    "or another --seed.\n");
}

// Trains and scores every network of the comparison once, with model seed `model_seed` (weights,
// batch order, dropout); the data and the held-out fields are the same for every model seed.
// Rows: 0 reference, 1 teacher, 2 student alone, 3 KD, 4 KD+KR, 5 U-Net, then for downscaling
// bilinear interpolation (`bilinear`: the held-out inputs interpolated bilinearly).
std::vector<pipeline::MethodResult> train_and_score(const DemoSettings& s, pipeline::Task task,
                                                    const train::SyntheticData<float>& data,
                                                    const train::DatasetSplit<float>& split,
                                                    const train::Batch<float>& test, const Tensor<float>& bilinear,
                                                    double range, std::uint64_t model_seed, Stages& stages,
                                                    std::vector<metrics::FieldErrors>& errors) {
    const bool downscaling = task == pipeline::Task::downscaling;
    const char* task_name = pipeline::to_string(task);
    std::vector<pipeline::MethodResult> results;
    auto score = [&](const std::string& name, Index params, const pipeline::Timing& ms, const Tensor<float>& pred) {
        results.push_back(pipeline::score_method<float>(name, task_name, params, ms.median, pred, test.target, test.mask,
                                                        range));
        pipeline::set_timing(results.back(), ms);
        errors.push_back(metrics::field_errors(pred, test.target, test.mask));
    };
    if (downscaling) {
        const Index factor = data.config.factor;
        const Tensor<float>& coarse = data.fields.front().coarse_biased;
        score("bicubic interpolation", 0,
              pipeline::time_ms([&] { (void)stats::regrid_bicubic(coarse, coarse.dim(1) * factor, coarse.dim(2) * factor, true); }),
              test.input);
    } else {
        score("raw biased input", 0, pipeline::Timing{}, test.input);
    }

    train::TrainerOptions opts;
    opts.epochs = s.epochs;
    opts.learning_rate = s.lr;
    opts.loader.batch_size = s.batch;
    opts.loader.seed = model_seed;
    opts.seed = model_seed;
    opts.progress = s.quiet ? train::ProgressStyle::quiet : train::ProgressStyle::automatic;
    auto config = [&](nn::UNetConfig c) {
        c.levels = s.levels;
        c.base_width = s.width;
        c.residual = true;  // every network corrects its input field; the comparison isolates the blocks
        return c;
    };
    const Index factor = downscaling ? data.config.factor : 1;
    auto train_plain = [&](nn::UNetConfig c, const std::string& label) {
        opts.label = stages.next(task_name, label);
        Rng init(model_seed + 1);
        train::TrainResult tr;
        Model m = pipeline::train_precip_model<float>(config(c), task, factor, split.train, split.val, opts, init, &tr);
        score(label, m.net().num_parameters(), ms_per_field(m, test.input), m.predict(test.input));
        return m;
    };

    Model teacher = train_plain(nn::UNetConfig::maunet(), "MAUNet (teacher)");
    train_plain(nn::UNetConfig::maunet_light(), "MAUNet-Light alone");

    // Knowledge distillation into a fresh student that sees the data as the teacher does.
    Rng init(model_seed + 1);
    Model student(config(nn::UNetConfig::maunet_light()), init, task, factor);
    student.copy_transforms_from(teacher);
    const auto train_set = student.normalize(split.train), val_set = student.normalize(split.val);
    train::DistillerOptions d;
    d.alpha = s.alpha;
    d.trainer = opts;
    d.trainer.label = stages.next(task_name, "MAUNet-Light KD");
    train::Distiller<float>(teacher.net(), student.net(), d).fit(train_set, val_set);
    score("MAUNet-Light KD", student.net().num_parameters(), ms_per_field(student, test.input), student.predict(test.input));
    // Knowledge refinement continues from the distilled weights: observations only, lr / 10.
    train::TrainerOptions refine = opts;
    refine.epochs = s.refine_epochs;
    refine.learning_rate = s.lr * d.refine_lr_factor;
    refine.label = stages.next(task_name, "MAUNet-Light KD+KR");
    train::Trainer<float>(student.net(), refine).fit(train_set, val_set);
    score("MAUNet-Light KD+KR", student.net().num_parameters(), ms_per_field(student, test.input),
          student.predict(test.input));

    train_plain(nn::UNetConfig::unet(), "U-Net");
    if (downscaling) {
        const Index factor = data.config.factor;
        const Tensor<float>& coarse = data.fields.front().coarse_biased;
        score("bilinear interpolation", 0,
              pipeline::time_ms([&] { (void)stats::regrid_bilinear(coarse, coarse.dim(1) * factor, coarse.dim(2) * factor); }),
              bilinear);
    }
    return results;
}

void run_task(const DemoSettings& s, pipeline::Task task, const train::SyntheticData<float>& data,
              std::vector<pipeline::MethodResult>& all_results, Stages& stages, bool& first_table) {
    const bool downscaling = task == pipeline::Task::downscaling;
    const char* task_name = pipeline::to_string(task);
    const auto bicubic = [](const Tensor<float>& coarse, Index H, Index W) {
        return stats::regrid_bicubic(coarse, H, W, /*clamp_negative=*/true);
    };
    const auto dataset = downscaling ? train::downscaling_dataset<float>(data, false, bicubic)
                                     : train::bias_correction_dataset<float>(data);
    const auto split = dataset.split(0.7, 0.15, s.seed);
    const train::Batch<float> test = split.test.stacked();
    Tensor<float> bilinear;  // the same held-out fields (same size, same seed: same split), interpolated bilinearly
    if (downscaling) {
        const auto linear = [](const Tensor<float>& coarse, Index H, Index W) {
            return stats::regrid_bilinear(coarse, H, W);
        };
        const train::Batch<float> b =
            train::downscaling_dataset<float>(data, false, linear).split(0.7, 0.15, s.seed).test.stacked();
        require(b.target.shape() == test.target.shape() &&
                    std::memcmp(b.target.data(), test.target.data(), sizeof(float) * std::size_t(test.target.numel())) == 0,
                "demo: the bilinear and bicubic inputs were not split into the same held-out fields");  // bits: NaN at sea
        bilinear = b.input;
    }
    std::printf("\n== %s: %zu training, %zu validation, %zu test fields\n", task_name, split.train.size(),
                split.val.size(), split.test.size());

    const double range = data_range_of(test);  // PSNR and SSIM use the range of the held-out observations

    pipeline::TableOptions table;
    table.units = "mm/day";
    table.data_range = range;
    std::vector<MethodRuns> rows;
    const std::size_t seeds = static_cast<std::size_t>(s.seeds);
    for (std::size_t k = 0; k < seeds; ++k) {
        const std::uint64_t model_seed = s.seed + k;
        std::vector<metrics::FieldErrors> errors;
        std::vector<pipeline::MethodResult> results =
            train_and_score(s, task, data, split, test, bilinear, range, model_seed, stages, errors);
        if (seeds == 1)
            std::printf("\n%s, %zu held-out fields, in mm/day:\n", task_name, split.test.size());
        else
            std::printf("\n%s, model seed %llu, %zu held-out fields, in mm/day:\n", task_name,
                        static_cast<unsigned long long>(model_seed), split.test.size());
        std::printf("%s%s", pipeline::format_table(results, table).c_str(),
                    first_table ? pipeline::table_legend(table).c_str() : "");
        first_table = false;
        if (seeds == 1) explain(results, "mm/day");
        add_seed(rows, results, std::move(errors));
        if (seeds > 1)  // one JSON object per method and seed
            for (auto& r : results) r.name += " (seed " + std::to_string(model_seed) + ")";
        all_results.insert(all_results.end(), results.begin(), results.end());
    }
    if (seeds > 1) {
        print_seed_spread(rows, task_name, "mm/day");
        print_student_cost(rows);  // one seed: explain() says it in words
    }
    print_rmse_differences(rows, s.seed, "mm/day");
}

void run_demo(DemoSettings s) {
    if (!s.json.empty()) io::check_output_path(s.json, {});  // not a FIFO, a device or a link
    if (s.full) {
        s.size = 128, s.fields = 160, s.epochs = 40, s.refine_epochs = 10, s.width = 32, s.levels = 4;
    }
    retain_freed_memory();  // the same buffers every step: no page faults (core/heap.hpp)
    if (s.threads > 0) set_num_threads(s.threads);
    std::printf("maunet demo: %d synthetic fields of %ld x %ld (4x coarsening for downscaling); networks: levels %d, "
                "base width %d; %d epochs (+%d refinement); %d threads\n",
                s.fields, static_cast<long>(s.size), static_cast<long>(s.size), s.levels, s.width, s.epochs,
                s.refine_epochs, num_threads());
    train::SyntheticConfig sc;
    sc.height = sc.width = s.size;
    sc.num_fields = s.fields;
    sc.seed = s.seed;
    sc.sea_fraction = 0.1;  // a corner without observations exercises the masks
    const auto data = train::generate_synthetic<float>(sc);

    std::vector<pipeline::MethodResult> results;
    const auto started = std::chrono::steady_clock::now();
    const bool both = s.task == "both";
    Stages stages((both ? 10 : 5) * s.seeds, s.quiet);  // 5 trainings per task and seed (KD and KD+KR count as two)
    bool first_table = true;                // the legend under the first table only
    if (both || s.task == "downscaling") run_task(s, pipeline::Task::downscaling, data, results, stages, first_table);
    if (both || s.task == "bias_correction") run_task(s, pipeline::Task::bias_correction, data, results, stages, first_table);
    require(!results.empty(), "demo: --task must be both, downscaling or bias_correction, got '", s.task, "'");
    std::printf("\ndemo finished in %.0f s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (!s.json.empty()) {
        const std::string text = pipeline::to_json(results).dump(2) + "\n";
        io::write_stream_atomically(s.json, [&](std::ostream& out) { out << text; });
        std::printf("wrote %s\n", s.json.c_str());
    }
}

}  // namespace

void add_demo_command(CLI::App& app) {
    auto s = std::make_shared<DemoSettings>();
    CLI::App* cmd = app.add_subcommand(
        "demo", "train MAUNet, MAUNet-Light (alone, distilled, distilled + refined) and U-Net on synthetic data, for "
                "downscaling and bias correction, and compare them with the classical references on held-out fields");
    cmd->add_option("--task", s->task, "both, downscaling or bias_correction")->capture_default_str();
    cmd->add_option("--size", s->size, "field height and width (a multiple of 4)")->capture_default_str();
    cmd->add_option("--fields", s->fields, "number of synthetic fields")->capture_default_str();
    cmd->add_option("--epochs", s->epochs, "training epochs per model")->capture_default_str();
    cmd->add_option("--refine-epochs", s->refine_epochs, "knowledge-refinement epochs")->capture_default_str();
    cmd->add_option("--width", s->width, "base width F of the networks")->capture_default_str();
    cmd->add_option("--levels", s->levels, "U-Net levels L")->capture_default_str();
    cmd->add_option("--batch", s->batch, "batch size")->capture_default_str();
    cmd->add_option("--lr", s->lr, "learning rate (Adam, cosine decay)")->capture_default_str();
    cmd->add_option("--alpha", s->alpha, "distillation weight a of the observation term")->capture_default_str();
    add_threads_option(cmd, s->threads);
    cmd->add_option("--seed", s->seed, "seed of the data and of every random choice")->capture_default_str();
    cmd->add_option("--seeds", s->seeds,
                    "train every network N times, with model seeds --seed, --seed + 1, ... on the same data, and "
                    "report the mean and spread")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    cmd->add_option("--json", s->json, "also write the results to this JSON file");
    cmd->add_flag("--full", s->full, "larger and longer: 128 x 128, 160 fields, L = 4, F = 32, 40 + 10 epochs");
    cmd->add_flag("--quiet", s->quiet, "no progress output");
    cmd->callback([s] { run_demo(*s); });
}

}  // namespace maunet::cli
