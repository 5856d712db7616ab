// `maunet train` and `maunet distill`: train a model on a field file (or on the built-in
// synthetic data) and save it with its transforms and a self-test (PrecipModel::save).
//
// Data (one sample per time step; samples split chronologically, the last --val-fraction of
// the time steps validate):
//   downscaling, no --biased     perfect-model setting: the observations, cropped to a multiple
//                                of --factor, are coarsened by a NaN-aware block mean
//                                (stats::block_mean) and regridded bicubically back to the fine
//                                grid: that is the input; the observations are the target
//   downscaling, --biased B      B is a coarse product on the grid coarsened by --factor, with the
//                                same time steps; its bicubic regridding is the input
//   bias_correction, no --biased the same smoothed input as the perfect-model downscaling, as a
//                                stand-in biased product on the fine grid (model factor 1)
//   bias_correction, --biased B  B on the observations' grid is the input
//   no --in                      the synthetic fields of `maunet demo` (train/synthetic.hpp)
// Real files (cli/precip_inputs.hpp): models work in mm/day, so --in and --biased are
// converted from their units (or --units / --biased-units); --biased must lie on the
// observations' grid (coarsened by the factor for downscaling), flipped or rolled as needed and
// refused otherwise; its time steps are paired with the observations' by date.
// Static predictors (--static FILE[:VAR], repeatable; train only): fields that do not change
// with time, e.g. elevation, sampled onto the observations' grid (pipeline/static_fields.hpp),
// appended to every input as channels 1..S, z-scored like the other channels, and stored in the
// model file, so `predict` needs precipitation alone. Their missing cells (the sea in a
// land-only elevation) are set to 0, with a note. A student of `distill` takes its teacher's.
// Under mpirun: data-parallel training, each rank a share of every batch (train/trainer.hpp,
// docs/mpi.md); rank 0 alone prints, scores and writes the model and the history.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <maunet/core/heap.hpp>
#include <maunet/pipeline/apply_model.hpp>
#include <maunet/pipeline/compare.hpp>
#include <maunet/pipeline/static_fields.hpp>
#include <maunet/pipeline/train_model.hpp>
#include <maunet/stats/quantiles.hpp>
#include <maunet/train/distiller.hpp>
#include <maunet/train/synthetic.hpp>

#include "cli/commands.hpp"
#include "cli/comparison.hpp"
#include "cli/data_io.hpp"
#include "cli/limits.hpp"
#include "cli/precip_inputs.hpp"
#include "cli/training_inputs.hpp"

namespace maunet::cli {
namespace {

struct DataSettings {
    std::vector<std::string> in_specs;  // --in: files or globs
    std::vector<std::string> static_specs;  // --static FILE[:VAR]
    std::vector<std::string> files;     // the files they name, in time order once read
    std::string in;                     // the first file (in messages), or "" for synthetic fields
    std::string train_period, val_period, test_period;
    std::string var, biased, biased_var, units, biased_units;
    std::string task = "downscaling";
    Index factor = 4;
    double val_fraction = 0.25;
    double test_fraction = 0.0;  // the last steps held out as the test set (without --test-period)
    Index synthetic_size = 64;
    int synthetic_fields = 48;
    double cache_mb = 0;    // > 0: samples spooled to a scratch file, at most this many MB in memory
    std::string spool_dir;  // where the scratch files go (default: the system's temporary directory)
};

struct TrainSettings {
    DataSettings data;
    std::string model = "maunet", out, history;
    int epochs = 20, width = 16, levels = 3, threads = 0;
    Index batch = 4, patch = 0, patches_per_field = 1;
    double rainy_fraction = 0.0;
    bool augment = false;  // each training patch or field turned or mirrored by a seeded draw
    double lr = 2e-3;
    double wet_threshold = pipeline::kDefaultWetThreshold;  // mm/day
    std::string loss = "mse";
    std::string transform = "log1p";  // of precipitation before the z-score: log1p or linear
    double tail_quantile = 0.9, tail_weight = 1.0;
    std::uint64_t seed = 7;
    int seeds = 1;  // train: models with seeds seed, seed + 1, ... (a seed ensemble)
    bool quiet = false;
};

struct CompareSettings {
    TrainSettings train;
    double alpha = 0.5;
    int refine_epochs = 5;
    std::string json;
};

struct DistillSettings {
    TrainSettings train;
    std::string teacher;
    std::string loss_given;  // non-empty when --loss was on the command line
    double alpha = 0.5, hint_weight = 0.0;
    int refine_epochs = 5;
};

// Static predictors on the training grid: names and fields [S, H, W].
struct StaticPredictors {
    std::vector<std::string> names;
    Tensor<float> fields;
};
// Gives the static predictors for the observations' grid `obs` (the whole grid of the file)
// and the H x W crop of it that the samples use.
using StaticSource = std::function<StaticPredictors(const Field& obs, const std::string& obs_path, Index H, Index W)>;

struct Prepared {
    train::DatasetSplit<float> split;
    // With `bilinear` (downscaling from a file): the coarse input of each validation and test
    // field interpolated bilinearly instead of bicubically, [N, 1, H, W] in the order of split.val
    // and split.test (a reference row of `compare`).
    Tensor<float> bilinear_val, bilinear_test;
    StaticPredictors statics;
    std::string description;
    std::string units;  // of the observations (mm/day for synthetic fields)
};

// What each of `steps` time steps is used for, from --train-period, --val-period and
// --test-period by the dates of `axis` (its time axis, one value per step, or none); without
// any period, every step trains and the last --val-fraction validate.
enum class Role { train, val, test, unused };
std::vector<Role> roles_of_steps(const DataSettings& d, const Field& axis, Index steps) {
    const DatePeriod train_p = parse_period(d.train_period, "--train-period");
    const DatePeriod val_p = parse_period(d.val_period, "--val-period");
    const DatePeriod test_p = parse_period(d.test_period, "--test-period");
    std::vector<Role> roles(static_cast<std::size_t>(steps), Role::train);
    if (!train_p.given && !val_p.given && !test_p.given) return roles;
    require(has_time_axis(axis), "'", d.in, "' has no CF time axis, so --train-period, --val-period and "
            "--test-period cannot select its steps; use --val-fraction");
    const std::vector<io::CivilTime> dates = io::civil_times(axis);
    Index counts[3] = {0, 0, 0};
    for (std::size_t t = 0; t < dates.size(); ++t) {
        const bool in_train = train_p.contains(dates[t]), in_val = val_p.contains(dates[t]),
                   in_test = test_p.contains(dates[t]);
        require(int(in_train) + int(in_val) + int(in_test) <= 1, "the time step of ", io::to_string(dates[t]),
                " lies in more than one of --train-period, --val-period and --test-period; periods must not overlap");
        roles[t] = in_test ? Role::test : in_val ? Role::val : in_train || !train_p.given ? Role::train : Role::unused;
        if (roles[t] != Role::unused) ++counts[static_cast<int>(roles[t])];
    }
    const auto none = [&](const DatePeriod& p, const char* flag) {
        require(!p.given, flag, " ", p.text, " holds none of the ", dates.size(), " time steps of '", d.in,
                "' (", io::to_string(dates.front()), " .. ", io::to_string(dates.back()), ")");
    };
    if (counts[0] == 0) none(train_p, "--train-period");
    if (counts[1] == 0) none(val_p, "--val-period");
    if (counts[2] == 0) none(test_p, "--test-period");
    return roles;
}

// --static FILE[:VAR] for each spec: sampled on the observations' grid, cropped to H x W (the
// crop keeps the first rows and columns, as the samples' crop does), missing cells set to 0.
// VAR defaults to the first of elevation, orog, z, topo and height in the file.
StaticPredictors static_predictors_from_files(const std::vector<std::string>& specs, const Field& obs,
                                              const std::string& obs_path, Index H, Index W) {
    StaticPredictors out;
    if (specs.empty()) return out;
    out.fields = Tensor<float>(Shape{static_cast<Index>(specs.size()), H, W});
    for (std::size_t k = 0; k < specs.size(); ++k) {
        auto [path, variable] = split_mask_spec(specs[k]);
        require(!is_npy(path), "--static '", specs[k], "': a static field must be a NetCDF file with latitude and "
                "longitude coordinates (a .npy has none)");
        if (variable.empty())
            variable = first_variable_of(path, {"elevation", "orog", "z", "topo", "height"}, "--static", specs[k]);
        const Field source = load_field(path, variable);
        const Tensor<float> on_grid = pipeline::sample_on_grid(source, path, obs, obs_path);
        const Index nx = obs.nx();
        Index missing = 0;
        float* dst = out.fields.data() + static_cast<Index>(k) * H * W;
        for (Index i = 0; i < H; ++i)
            for (Index j = 0; j < W; ++j) {
                const float v = on_grid[i * nx + j];
                if (!std::isfinite(v)) ++missing;
                dst[i * W + j] = std::isfinite(v) ? v : 0.0f;
            }
        if (missing > 0)
            note("train", path, " " + std::to_string(missing) + " of " + std::to_string(H * W) + " cells of '" +
                                    variable + "' are missing on the grid of '" + obs_path + "'; set to 0");
        std::string name = variable;
        for (std::size_t j = 0; j < k; ++j)
            if (out.names[j] == name) name += "_" + std::to_string(k + 1);
        out.names.push_back(name);
    }
    return out;
}

// An empty dataset: spooled to --spool-dir behind a cache of --cache-mb, or in memory.
train::Dataset<float> spooled_or_in_memory(const DataSettings& d) {
    require(d.cache_mb >= 0, "expected --cache-mb >= 0, got ", d.cache_mb);
    if (d.cache_mb == 0) return train::Dataset<float>();
    const std::string dir = d.spool_dir.empty() ? std::filesystem::temp_directory_path().string() : d.spool_dir;
    return train::Dataset<float>::spooled(dir, static_cast<std::size_t>(d.cache_mb * 1024 * 1024));
}

Prepared prepare_data(const DataSettings& d, pipeline::Task task, Index factor, std::uint64_t seed,
                      const StaticSource& static_source = {}, bool bilinear = false) {
    require(d.val_fraction >= 0.0 && d.val_fraction < 1.0, "expected --val-fraction in [0, 1), got ", d.val_fraction);
    require(d.test_fraction >= 0.0 && d.test_fraction < 1.0, "expected --test-fraction in [0, 1), got ",
            d.test_fraction);
    if (d.test_fraction > 0.0 && !d.test_period.empty())
        throw CLI::ValidationError("--test-fraction", "cannot be given with --test-period (both choose the test steps)");
    require(factor >= 1, "expected --factor >= 1, got ", factor);
    const bool downscaling = task == pipeline::Task::downscaling;
    // In memory, or (--cache-mb) each sample spooled to disk as it is made: the training,
    // validation and test sets then hold at most --cache-mb of samples in memory each.
    train::Dataset<float> all = spooled_or_in_memory(d);
    train::Dataset<float> held_val = all.empty_like(), held_test = all.empty_like();
    std::vector<Index> steps_of[3];  // the step (an index into `coarse`) of each sample of all, held_val, held_test
    std::vector<Tensor<float>> coarse;  // with `bilinear` (from a file): each step's coarse field
    Index f = 1;                        // and its factor
    std::string description, units = io::kMillimetresPerDay;
    StaticPredictors statics;
    if (d.in.empty()) {
        require(d.biased.empty(), "--biased needs --in (the observations)");
        require(!static_source, "static predictors need --in: the synthetic fields have no latitude and longitude");
        train::SyntheticConfig sc;
        sc.height = sc.width = d.synthetic_size;
        sc.num_fields = d.synthetic_fields;
        sc.factor = downscaling ? factor : 4;
        sc.seed = seed;
        const auto data = train::generate_synthetic<float>(sc);
        const auto bicubic = [](const Tensor<float>& coarse, Index H, Index W) {
            return stats::regrid_bicubic(coarse, H, W, /*clamp_negative=*/true);
        };
        const train::Dataset<float> made = downscaling ? train::downscaling_dataset<float>(data, false, bicubic)
                                                       : train::bias_correction_dataset<float>(data);
        for (std::size_t i = 0; i < made.size(); ++i) all.add(*made.get(i));
        description = std::to_string(sc.num_fields) + " synthetic fields of " + std::to_string(sc.height) + " x " +
                      std::to_string(sc.width);
    } else {
        // The series is read kChunk time steps at a time (training_inputs.hpp: PrecipSeries),
        // each chunk made into samples at once: memory holds one chunk, not the record.
        PrecipSeries obs(d.files, d.var, d.units, "--units", "train");
        const Field& grid = obs.layout();  // the grid of the files, before any crop
        units = grid.units;                // mm/day, converted from the files' units
        std::vector<Index> obs_steps(static_cast<std::size_t>(obs.num_times()));  // the steps used, in order
        for (std::size_t k = 0; k < obs_steps.size(); ++k) obs_steps[k] = static_cast<Index>(k);
        std::vector<Index> biased_steps;  // the step of --biased paired with each of obs_steps
        std::unique_ptr<PrecipSeries> biased;
        Index H = 0, W = 0;  // the observations' grid cropped to what the input covers
        if (!d.biased.empty()) {
            biased = std::make_unique<PrecipSeries>(std::vector<std::string>{d.biased}, d.biased_var, d.biased_units,
                                                    "--biased-units", "train");
            const Field& b = biased->layout();
            const pipeline::DateMatch m = pair_by_date(grid, obs.num_times(), d.in, b, biased->num_times(), d.biased);
            require(!m.a.empty(), "'", d.biased, "' and '", d.in, "' have no date in common");
            if (static_cast<Index>(m.a.size()) != obs.num_times() || static_cast<Index>(m.b.size()) != biased->num_times())
                note("train", d.biased, " " + std::to_string(m.a.size()) + " dates in common with '" + d.in + "' used");
            obs_steps = m.a;
            biased_steps = m.b;
            f = downscaling ? factor : 1;
            require_shape(b.ny() * f <= grid.ny() && b.nx() * f <= grid.nx(), "the grid of '", d.biased, "' (", b.ny(),
                          " x ", b.nx(), ") refined by ", f, " does not fit the ", grid.ny(), " x ", grid.nx(),
                          " grid of '", d.in, "'");
            H = b.ny() * f, W = b.nx() * f;
            // The observations' grid cut to the biased product's extent, coarsened by f: biased must lie on it.
            const Field fine = pipeline::cropped_grid(pipeline::with_shape(grid, grid.ny(), grid.nx()), H, W);
            note("train", d.biased, biased->align_to(f > 1 ? pipeline::coarsened_grid(fine, f) : fine, d.in));
            description = "'" + d.biased + "' -> '" + d.in + "'";
        } else {
            H = grid.ny() / factor * factor, W = grid.nx() / factor * factor;
            require(H >= factor && W >= factor, "the ", grid.ny(), " x ", grid.nx(), " grid of '", d.in,
                    "' is smaller than one block of the factor ", factor);
            f = factor;
            description = (obs.num_files() > 1 ? std::to_string(obs.num_files()) + " files from '" + obs.earliest() + "'"
                                               : "'" + d.in + "'") +
                          " (variable " + grid.variable + ") coarsened " + std::to_string(factor) +
                          "x and regridded bicubically (perfect model)";
        }
        const Index T = static_cast<Index>(obs_steps.size());
        if (static_source) statics = static_source(pipeline::with_shape(grid, grid.ny(), grid.nx()), d.in, H, W);
        const Index S = statics.fields.numel() > 0 ? statics.fields.dim(0) : 0;
        Field axis = pipeline::with_shape(grid, 1, 1);  // the dates of the steps used
        if (has_time_axis(grid))
            for (Index t : obs_steps) axis.time.push_back(grid.time[static_cast<std::size_t>(t)]);
        const std::vector<Role> roles = roles_of_steps(d, axis, T);
        std::vector<Index> used;  // positions k in obs_steps that some role uses
        for (Index k = 0; k < T; ++k)
            if (roles[static_cast<std::size_t>(k)] != Role::unused) used.push_back(k);
        if (bilinear && (downscaling || !biased)) coarse.resize(static_cast<std::size_t>(T));
        constexpr std::size_t kChunk = 32;  // time steps read and made into samples at a time
        for (std::size_t c = 0; c < used.size(); c += kChunk) {
            const std::size_t n = std::min(kChunk, used.size() - c);
            std::vector<Index> os, bs;
            for (std::size_t i = 0; i < n; ++i) {
                os.push_back(obs_steps[static_cast<std::size_t>(used[c + i])]);
                if (biased) bs.push_back(biased_steps[static_cast<std::size_t>(used[c + i])]);
            }
            const Tensor<float> target = pipeline::crop_rows_cols(obs.read(os).data, H, W);
            // What the network's input is made from: the biased product, or the observations
            // coarsened by a NaN-aware block mean (perfect model).
            const Tensor<float> source = biased ? biased->read(bs).data : stats::block_mean(target, f);
            const Tensor<float> input = pipeline::model_input(source, biased ? task : pipeline::Task::downscaling, f);
            const Index ch = source.dim(1) * source.dim(2);
            for (std::size_t i = 0; i < n; ++i) {
                const Index k = used[c + i], at = static_cast<Index>(i);
                if (!coarse.empty()) {
                    Tensor<float>& kept = coarse[static_cast<std::size_t>(k)];
                    kept = Tensor<float>(Shape{source.dim(1), source.dim(2)});
                    std::copy_n(source.begin() + at * ch, ch, kept.begin());
                }
                Tensor<float> x(Shape{1 + S, H, W}), y(Shape{1, H, W});
                std::copy_n(input.begin() + at * H * W, H * W, x.begin());
                if (S > 0) std::copy(statics.fields.begin(), statics.fields.end(), x.begin() + H * W);
                std::copy_n(target.begin() + at * H * W, H * W, y.begin());
                const Role r = roles[static_cast<std::size_t>(k)];
                (r == Role::test ? held_test : r == Role::val ? held_val : all)
                    .add(train::make_sample(std::move(x), std::move(y)));
                steps_of[r == Role::test ? 2 : r == Role::val ? 1 : 0].push_back(k);
            }
        }
        description += ", " + std::to_string(T) + " time steps of " + std::to_string(H) + " x " + std::to_string(W);
        for (const std::string& name : statics.names) description += ", static predictor " + name;
        if (!d.train_period.empty() || !d.val_period.empty() || !d.test_period.empty())
            description += " (periods: train " + (d.train_period.empty() ? std::string("the rest") : d.train_period) +
                           ", validation " + (d.val_period.empty() ? std::string("its last steps") : d.val_period) +
                           ", test " + (d.test_period.empty() ? std::string("none") : d.test_period) + ")";
    }
    Prepared p;
    // The steps outside the periods split in time order: training, then validation (the
    // --val-fraction of them just before the test steps), then test (the last --test-fraction).
    const double val = held_val.empty() ? d.val_fraction : 0.0, test = d.test_fraction;
    const auto steps = static_cast<double>(all.size());
    const double n_val = std::round(val * steps), n_test = std::round(test * steps);
    require(steps - n_val - n_test >= 1.0, "--val-fraction ", val, " and --test-fraction ", test, " of ", all.size(),
            " time steps leave no training step");
    p.split = all.split_in_order((steps - n_val - n_test) / steps, n_val / steps);
    require(!p.split.val.empty() || val == 0.0 || !held_val.empty(), "--val-fraction ", val, " of ", all.size(),
            " time steps leaves no validation step");
    require(!p.split.test.empty() || test == 0.0, "--test-fraction ", test, " of ", all.size(),
            " time steps leaves no test step");
    // The time steps of the validation and test fields (from a file): the periods', else the
    // split's.
    std::vector<Index> val_steps = steps_of[1], test_steps = steps_of[2];
    if (steps_of[0].size() == all.size()) {
        const auto first_val = steps_of[0].begin() + static_cast<std::ptrdiff_t>(p.split.train.size());
        const auto first_test = first_val + static_cast<std::ptrdiff_t>(p.split.val.size());
        if (held_val.empty()) val_steps.assign(first_val, first_test);
        if (held_test.empty()) test_steps.assign(first_test, steps_of[0].end());
    }
    if (!held_val.empty()) p.split.val = std::move(held_val);
    if (!held_test.empty()) p.split.test = std::move(held_test);
    // The coarse fields of the given steps interpolated bilinearly, [N, 1, H, W].
    const auto bilinear_of = [&](const std::vector<Index>& steps) {
        if (coarse.empty() || steps.empty()) return Tensor<float>();
        const Tensor<float>& first = coarse[static_cast<std::size_t>(steps[0])];
        const Index h = first.dim(0), w = first.dim(1);
        Tensor<float> picked(Shape{static_cast<Index>(steps.size()), h, w});
        for (std::size_t i = 0; i < steps.size(); ++i) {
            const Tensor<float>& c = coarse[static_cast<std::size_t>(steps[i])];
            std::copy(c.begin(), c.end(), picked.begin() + static_cast<Index>(i) * h * w);
        }
        const Tensor<float> fine = stats::regrid_bilinear(picked, h * f, w * f);
        return fine.reshaped(Shape{fine.dim(0), 1, fine.dim(1), fine.dim(2)});
    };
    p.bilinear_val = bilinear_of(val_steps);
    p.bilinear_test = bilinear_of(test_steps);
    p.description = description;
    p.units = units;
    p.statics = std::move(statics);
    return p;
}

train::TrainerOptions trainer_options(const TrainSettings& s, const std::string& label) {
    train::TrainerOptions o;
    require(s.epochs >= 1, "expected --epochs >= 1, got ", s.epochs);
    require(s.batch >= 1, "expected --batch >= 1, got ", s.batch);
    require(s.patch >= 0, "expected --patch >= 0, got ", s.patch);
    o.epochs = s.epochs;
    o.learning_rate = s.lr;
    o.loader.batch_size = s.batch;
    o.loader.patch_size = s.patch;
    o.loader.min_valid_fraction = s.patch > 0 ? 0.5 : 0.0;
    if ((s.patches_per_field != 1 || s.rainy_fraction > 0) && s.patch == 0)
        throw CLI::ValidationError(s.patches_per_field != 1 ? "--patches-per-field" : "--rainy-fraction",
                                   "needs --patch (random patches); whole fields are each seen once per epoch");
    o.loader.patches_per_field = s.patches_per_field;
    o.loader.rainy_fraction = s.rainy_fraction;
    o.loader.symmetries = s.augment;
    o.loader.seed = s.seed;
    o.seed = s.seed;
    o.loss = train::loss_kind_from_string(s.loss);
    o.tail_lambda = s.tail_weight;
    o.wet_threshold = s.wet_threshold;
    o.history_path = s.history;
    o.label = label;
    o.progress = s.quiet ? train::ProgressStyle::quiet : train::ProgressStyle::automatic;
    o.communicator = shared_communicator();
    return o;
}

// Scores the model and the model's own input (the interpolation it starts from) on the
// validation fields, prints the table, and saves the model with one validation field as
// its self-test, and the units of the fields (mm/day: every input is converted on reading).
// The model and its input scored on `held`, printed as a table.
// The model and its own input (the bicubic interpolation, or the raw biased field) scored on
// `held`, with the data range of PSNR and SSIM (the largest valid target).
struct HeldOutScores {
    pipeline::MethodResult input, model;
    double range = 1;
};
// The precipitation channel of network inputs [N, C, H, W] (channel 0; static predictors follow).
Tensor<float> precipitation_channel(const Tensor<float>& input) {
    const Index N = input.dim(0), C = input.dim(1), plane = input.dim(2) * input.dim(3);
    Tensor<float> precipitation(Shape{N, 1, input.dim(2), input.dim(3)});
    for (Index n = 0; n < N; ++n)
        std::copy(input.begin() + n * C * plane, input.begin() + (n * C + 1) * plane, precipitation.begin() + n * plane);
    return precipitation;
}
HeldOutScores held_out_scores(pipeline::PrecipModel<float>& model, const train::Dataset<float>& held) {
    const train::Batch<float> b = held.stacked();
    const double range = data_range_of(b);
    const char* task = pipeline::to_string(model.task());
    const Tensor<float> precipitation = precipitation_channel(b.input);
    HeldOutScores h;
    h.range = range;
    h.input = score(model.task() == pipeline::Task::downscaling ? "bicubic (input)" : "raw input", task, 0, precipitation,
                    b.target, b.mask, range);
    h.model = score(model.net().config().architecture, task, model.net().num_parameters(), model.predict(b.input),
                    b.target, b.mask, range);
    return h;
}

HeldOutScores print_scores(pipeline::PrecipModel<float>& model, const Prepared& p, const train::Dataset<float>& held,
                           const char* which) {
    const HeldOutScores h = held_out_scores(model, held);
    const std::vector<pipeline::MethodResult> rows = {h.input, h.model};
    pipeline::TableOptions table;
    table.units = p.units;
    table.show_cost = false;  // no inference timing here; the parameter count is on the "saved" line
    table.data_range = h.range;
    std::printf("\nscores on the %zu %s fields%s%s:\n%s%s", held.size(), which, p.units.empty() ? "" : ", in ",
                p.units.c_str(), pipeline::format_table(rows, table).c_str(), pipeline::table_legend(table).c_str());
    return h;
}

// Prints the scores and saves the model (rank 0; the others return empty scores). Returns the
// scores of the last table: the test fields when there are any, else the validation fields.
HeldOutScores report_and_save(pipeline::PrecipModel<float>& model, const Prepared& p, const std::string& out) {
    if (!is_root()) return {};
    const train::DatasetSplit<float>& split = p.split;
    const train::Dataset<float>& held = split.val.empty() ? split.train : split.val;
    HeldOutScores last = print_scores(model, p, held, split.val.empty() ? "training" : "validation");
    // The test steps (--test-period or --test-fraction) were never trained on, never picked the epoch.
    if (!split.test.empty()) last = print_scores(model, p, split.test, "test");
    const train::Batch<float> b = held.stacked();
    const char* task = pipeline::to_string(model.task());
    Tensor<float> selftest(Shape{1, b.input.dim(1), b.input.dim(2), b.input.dim(3)});
    std::copy(b.input.begin(), b.input.begin() + selftest.numel(), selftest.begin());
    model.set_units(p.units);
    model.save(out, &selftest);
    std::printf("saved %s (%s, %s, factor %ld, %ld parameters, units %s)\n", out.c_str(),
                model.net().config().architecture.c_str(), task, static_cast<long>(model.factor()),
                static_cast<long>(model.net().num_parameters()), p.units.c_str());
    return last;
}

// The tail-weighted loss's level tau: the --tail-quantile of the training targets' amounts
// (valid cells, dry ones included), in the normalised space the loss sees.
double tail_level(const TrainSettings& s, const train::Dataset<float>& raw_train, const train::PrecipTransform<float>& t) {
    require(s.tail_quantile > 0 && s.tail_quantile < 1, "expected --tail-quantile in (0, 1), got ", s.tail_quantile);
    std::vector<float> amounts;  // one float per valid target cell, gathered sample by sample (never stacked)
    for (std::size_t k = 0; k < raw_train.size(); ++k) {
        const auto sample = raw_train.get(k);
        for (Index i = 0; i < sample->target.numel(); ++i)
            if (sample->mask[i] != 0 && std::isfinite(sample->target[i])) amounts.push_back(sample->target[i]);
    }
    require(!amounts.empty(), "the training fields have no valid target cell");
    std::sort(amounts.begin(), amounts.end());
    const double q = stats::quantile_sorted(amounts.data(), static_cast<Index>(amounts.size()), s.tail_quantile);
    if (is_root())
        std::printf("tail-weighted loss: level %.4g mm/day (quantile %.3g of the training targets), weight %.3g\n", q,
                    s.tail_quantile, s.tail_weight);
    return t.scaling().forward(q);
}

// tail-mse: the level of tail_level for the transform train_precip_model fits on the training
// fields; 0 for the other losses.
double tail_level_of_training_data(const TrainSettings& s, const Prepared& p) {
    if (train::loss_kind_from_string(s.loss) != train::LossKind::tail_mse) return 0.0;
    train::PrecipTransform<float> t(train::precip_scale_from_string(s.transform));
    t.begin_fit();
    for (std::size_t k = 0; k < p.split.train.size(); ++k) {
        const auto sample = p.split.train.get(k);
        t.add_to_fit(sample->target, sample->mask);
    }
    t.end_fit();
    return tail_level(s, p.split.train, t);
}

nn::UNetConfig network_config(const TrainSettings& s) {
    nn::UNetConfig c;
    if (s.model == "maunet") c = nn::UNetConfig::maunet();
    else if (s.model == "maunet-light") c = nn::UNetConfig::maunet_light();
    else if (s.model == "unet") c = nn::UNetConfig::unet();
    else throw ArgumentError("--model '" + s.model + "' is not one of maunet, maunet-light, unet");
    c.levels = s.levels;
    c.base_width = s.width;
    c.dropout_levels = std::min(c.dropout_levels, s.levels);  // dropout after at most every encoder level
    c.residual = true;  // the network corrects its input field, as in `maunet demo`
    if (train::loss_kind_from_string(s.loss) == train::LossKind::bernoulli_gamma) {
        c.out_channels = 3;  // wet-probability logit, log shape, log scale per cell
        c.residual = false;  // the outputs are distribution parameters, not a corrected field
    }
    return c;
}

// --in's files (globs expanded), each checked for --var; the first names the series in messages.
void resolve_inputs(DataSettings& d) {
    d.files = expand_inputs(d.in_specs, "--in");
    d.in = d.files.empty() ? std::string() : d.files.front();
    for (const std::string& f : d.files) require_variable(f, d.var, "--var");
    require_variable(d.biased, d.biased_var, "--biased-var");
    require(d.files.size() <= 1 || d.biased.empty(), "--biased pairs one --in file with one biased file; join the ",
            d.files.size(), " --in files into one (e.g. cdo mergetime) to pair them with '", d.biased, "'");
}
std::vector<std::string> input_files(const DataSettings& d) {
    std::vector<std::string> v = d.files;
    v.push_back(d.biased);
    for (const std::string& spec : d.static_specs) v.push_back(split_mask_spec(spec).first);  // never overwritten
    return v;
}

// `path` with ".seed<seed>" before its extension: model.mnet -> model.seed7.mnet.
std::string seeded_path(const std::string& path, std::uint64_t seed) {
    if (path.empty()) return path;
    const auto slash = path.find_last_of('/');
    const auto dot = path.find_last_of('.');
    const bool has_ext = dot != std::string::npos && dot > 0 && (slash == std::string::npos || dot > slash + 1);
    const std::string tag = ".seed" + std::to_string(seed);
    return has_ext ? path.substr(0, dot) + tag + path.substr(dot) : path + tag;
}

// --seeds N: the models' scores on the held-out fields (test, else validation), each seed's and
// their mean and sample standard deviation, against the model's own input.
void print_seed_summary(const std::vector<std::uint64_t>& seeds, const std::vector<pipeline::MethodResult>& models,
                        const pipeline::MethodResult& input, const char* which, std::size_t fields,
                        const std::string& units) {
    std::printf("\nseed ensemble: %zu models, scores on the %zu %s fields, in %s (mean +- sample sd over seeds):\n",
                models.size(), fields, which, units.c_str());
    std::printf("%-22s %18s %18s %18s %18s %18s\n", "method", "RMSE", "MAE", "bias", "r", "RMSE / input");
    std::printf("%-22s %18.4f %18.4f %18.4f %18.4f %18s\n", input.name.c_str(), input.report.rmse, input.report.mae,
                input.report.bias, input.report.pearson_r, "1");
    std::vector<double> rmse, mae, bias, r, ratio;
    for (std::size_t k = 0; k < models.size(); ++k) {
        const auto& m = models[k].report;
        rmse.push_back(m.rmse), mae.push_back(m.mae), bias.push_back(m.bias), r.push_back(m.pearson_r);
        ratio.push_back(m.rmse / input.report.rmse);
        std::printf("%-22s %18.4f %18.4f %18.4f %18.4f %18.4f\n",
                    (models[k].name + " seed " + std::to_string(seeds[k])).c_str(), m.rmse, m.mae, m.bias, m.pearson_r,
                    ratio.back());
    }
    const auto cell = [&](const std::vector<double>& v) {
        char text[64];
        std::snprintf(text, sizeof text, "%.4f +- %.4f", detail::mean_of(v), detail::sd_of(v));
        return std::string(text);
    };
    std::printf("%-22s %18s %18s %18s %18s %18s\n", (models.front().name + " mean").c_str(), cell(rmse).c_str(),
                cell(mae).c_str(), cell(bias).c_str(), cell(r).c_str(), cell(ratio).c_str());
}

void run_train(TrainSettings s) {
    resolve_inputs(s.data);
    require(s.seeds >= 1 && s.seeds <= 1000, "expected --seeds in [1, 1000], got ", s.seeds);
    std::vector<std::uint64_t> seeds;
    for (int k = 0; k < s.seeds; ++k) seeds.push_back(s.seed + static_cast<std::uint64_t>(k));
    std::vector<std::string> outputs;
    for (std::uint64_t seed : seeds)
        for (const std::string& path : {s.out, s.history})
            outputs.push_back(s.seeds == 1 ? path : seeded_path(path, seed));
    if (is_root()) guard_outputs(outputs, input_files(s.data));
    retain_freed_memory();  // the same buffers every step: no page faults (core/heap.hpp)
    if (s.threads > 0) set_num_threads(s.threads);
    const pipeline::Task task = pipeline::task_from_string(s.data.task);
    const Index factor = task == pipeline::Task::downscaling ? s.data.factor : 1;
    nn::UNetConfig config = network_config(s);
    config.in_channels = 1 + static_cast<Index>(s.data.static_specs.size());
    config.validate();
    StaticSource statics;
    if (!s.data.static_specs.empty())
        statics = [&](const Field& obs, const std::string& obs_path, Index H, Index W) {
            return static_predictors_from_files(s.data.static_specs, obs, obs_path, H, W);
        };
    const Prepared p = prepare_data(s.data, task, s.data.factor, s.seed, statics);
    if (is_root())
        std::printf("maunet train: %s %s, %s; %zu training / %zu validation / %zu test fields; %d threads%s\n",
                    s.model.c_str(), pipeline::to_string(task), p.description.c_str(), p.split.train.size(),
                    p.split.val.size(), p.split.test.size(), num_threads(),
                    communicator().size() > 1 ? (" x " + std::to_string(communicator().size()) + " ranks").c_str() : "");
    std::fflush(stdout);
    // One model per seed, on the same data: the seed sets the initial weights, the order of the
    // fields and the patches.
    const double tail_tau = tail_level_of_training_data(s, p);  // the same data for every seed, so the same level
    std::vector<pipeline::MethodResult> scored;
    pipeline::MethodResult input_scored;
    for (std::size_t k = 0; k < seeds.size(); ++k) {
        TrainSettings sk = s;
        sk.seed = seeds[k];
        if (s.seeds > 1) {
            sk.out = seeded_path(s.out, sk.seed), sk.history = seeded_path(s.history, sk.seed);
            if (is_root()) std::printf("\n== seed %llu (model %zu of %zu)\n", static_cast<unsigned long long>(sk.seed),
                                       k + 1, seeds.size());
        }
        Rng init(sk.seed + 1);
        train::TrainResult result;
        train::TrainerOptions o = trainer_options(sk, s.seeds > 1 ? s.model + " seed " + std::to_string(sk.seed) : s.model);
        if (o.loss == train::LossKind::tail_mse) o.tail_tau = tail_tau;
        auto model = pipeline::train_precip_model<float>(config, task, factor, p.split.train, p.split.val, o, init, &result,
                                                         train::precip_scale_from_string(s.transform));
        model.set_wet_threshold(s.wet_threshold);
        if (!p.statics.names.empty()) model.set_static_predictors(p.statics.names, p.statics.fields);
        if (is_root())
            std::printf("best epoch %d of %zu, validation loss %.5f, %.1f s\n", result.best_epoch, result.history.size(),
                        result.best_val_loss, result.seconds);
        const HeldOutScores h = report_and_save(model, p, sk.out);
        scored.push_back(h.model);
        input_scored = h.input;
    }
    const bool on_test = !p.split.test.empty();
    if (s.seeds > 1 && is_root())
        print_seed_summary(seeds, scored, input_scored, on_test ? "test" : p.split.val.empty() ? "training" : "validation",
                           (on_test ? p.split.test : p.split.val.empty() ? p.split.train : p.split.val).size(), p.units);
}

// A student of `teacher` before distillation: network `config`, initial weights from seed + 1,
// the teacher's task, factor and data transforms, and the wet threshold.
pipeline::PrecipModel<float> new_student(const pipeline::PrecipModel<float>& teacher, const nn::UNetConfig& config,
                                         std::uint64_t seed, double wet_threshold) {
    Rng init(seed + 1);
    pipeline::PrecipModel<float> student(config, init, teacher.task(), teacher.factor());
    student.copy_transforms_from(teacher);
    student.set_wet_threshold(wet_threshold);
    return student;
}

void run_distill(DistillSettings d) {
    resolve_inputs(d.train.data);
    const TrainSettings& s = d.train;
    std::vector<std::string> inputs = input_files(s.data);
    inputs.push_back(d.teacher);
    if (is_root()) guard_outputs({s.out, s.history}, inputs);
    retain_freed_memory();
    if (s.threads > 0) set_num_threads(s.threads);
    auto teacher = pipeline::PrecipModel<float>::load(d.teacher);
    const pipeline::Task task = teacher.task();
    const Index factor = teacher.factor();
    nn::UNetConfig config = teacher.net().config();
    config.architecture = "maunet-light";
    config.width_multiplier = std::sqrt(0.6);
    StaticSource statics;
    if (!teacher.static_names().empty())  // the student sees the data as its teacher does
        statics = [&](const Field&, const std::string& obs_path, Index H, Index W) {
            const Tensor<float>& f = teacher.static_fields();
            require_shape(f.dim(1) == H && f.dim(2) == W, "the teacher '", d.teacher, "' carries static predictors on its ",
                          f.dim(1), " x ", f.dim(2), " training grid; the fields of '", obs_path, "' give ", H, " x ", W);
            return StaticPredictors{teacher.static_names(), f};
        };
    const Prepared p = prepare_data(s.data, task, task == pipeline::Task::downscaling ? factor : s.data.factor, s.seed,
                                    statics);
    if (is_root())
        std::printf("maunet distill: teacher %s (%s, %ld parameters) -> maunet-light student, %s; %zu training / %zu "
                    "validation / %zu test fields\n",
                    d.teacher.c_str(), pipeline::to_string(task), static_cast<long>(teacher.net().num_parameters()),
                    p.description.c_str(), p.split.train.size(), p.split.val.size(), p.split.test.size());
    std::fflush(stdout);
    pipeline::PrecipModel<float> student = new_student(teacher, config, s.seed, s.wet_threshold);
    const auto train_set = student.normalize(p.split.train);
    const auto val_set = p.split.val.empty() ? train::Dataset<float>() : student.normalize(p.split.val);
    train::DistillerOptions o;
    o.alpha = d.alpha;
    o.hint_weight = d.hint_weight;
    o.refine_epochs = d.refine_epochs;
    o.trainer = trainer_options(s, "distill");
    if (student.bernoulli_gamma()) {  // a Bernoulli-gamma teacher: its student learns the same likelihood
        require(d.loss_given.empty() || o.trainer.loss == train::LossKind::bernoulli_gamma, "--loss ", s.loss,
                ": the teacher predicts Bernoulli-gamma parameters, so its student is trained with --loss "
                "bernoulli-gamma");
        o.trainer.loss = train::LossKind::bernoulli_gamma;
        const auto scaling = student.target_transform().scaling();
        o.trainer.target_to_amount = [scaling](double z) { return scaling.inverse(z); };
    } else {
        require(o.trainer.loss != train::LossKind::bernoulli_gamma,
                "--loss bernoulli-gamma needs a teacher trained with it (this one predicts amounts)");
        if (o.trainer.loss == train::LossKind::tail_mse)
            o.trainer.tail_tau = tail_level(s, p.split.train, student.target_transform());
    }
    o.cache_teacher = s.patch == 0;
    const train::DistillResult r = train::Distiller<float>(teacher.net(), student.net(), o).fit(train_set, val_set);
    if (!is_root()) {
    } else if (r.refinement.history.empty()) {
        std::printf("distillation: best epoch %d, validation loss %.5f\n", r.distillation.best_epoch, r.distilled_loss);
    } else {
        std::printf("distillation: best epoch %d, validation loss %.5f; refinement: %zu epochs, best validation loss "
                    "%.5f; kept the %s weights\n",
                    r.distillation.best_epoch, r.distilled_loss, r.refinement.history.size(), r.refined_loss,
                    r.kept.c_str());
    }
    report_and_save(student, p, s.out);
}

// `maunet compare`: the papers' comparison on one data set with fixed periods, over --seeds model
// seeds. For each seed: MAUNet (the teacher), MAUNet-Light trained alone, MAUNet-Light distilled
// from that teacher (KD) and distilled then refined (KD+KR, as `maunet distill`), and U-Net, all
// on the same training and validation fields, scored with the model's input (bicubic, or the raw
// biased field) on the held-out fields: the test period, else the validation fields.
void run_compare(CompareSettings c) {
    TrainSettings& s = c.train;
    resolve_inputs(s.data);
    require(communicator().size() == 1, "compare runs in one process; start it without mpirun");
    require(train::loss_kind_from_string(s.loss) != train::LossKind::bernoulli_gamma,
            "compare: --loss bernoulli-gamma is not supported (its networks predict distribution parameters; use "
            "train --seeds for one architecture)");
    guard_outputs({c.json}, input_files(s.data));
    retain_freed_memory();  // the same buffers every step: no page faults (core/heap.hpp)
    if (s.threads > 0) set_num_threads(s.threads);
    const pipeline::Task task = pipeline::task_from_string(s.data.task);
    const char* task_name = pipeline::to_string(task);
    const Index factor = task == pipeline::Task::downscaling ? s.data.factor : 1;
    StaticSource statics;
    if (!s.data.static_specs.empty())
        statics = [&](const Field& obs, const std::string& obs_path, Index H, Index W) {
            return static_predictors_from_files(s.data.static_specs, obs, obs_path, H, W);
        };
    const Prepared p = prepare_data(s.data, task, s.data.factor, s.seed, statics, /*bilinear=*/true);
    const bool on_test = !p.split.test.empty();
    require(on_test || !p.split.val.empty(),
            "compare: no held-out fields to score on; give --test-period (or a validation period or fraction)");
    const train::Dataset<float>& held = on_test ? p.split.test : p.split.val;
    const train::Batch<float> b = held.stacked();
    const double range = data_range_of(b);
    const Index S = static_cast<Index>(p.statics.names.size());
    std::printf("maunet compare: %s, %s; %zu training / %zu validation / %zu test fields; scored on the %zu %s "
                "fields; %d seed%s; %d threads\n",
                task_name, p.description.c_str(), p.split.train.size(), p.split.val.size(), p.split.test.size(),
                held.size(), on_test ? "test" : "validation", s.seeds, s.seeds == 1 ? "" : "s", num_threads());
    std::fflush(stdout);
    const double tail_tau = tail_level_of_training_data(s, p);

    pipeline::TableOptions table;
    table.units = p.units;
    table.data_range = range;
    std::vector<MethodRuns> rows;
    std::vector<pipeline::MethodResult> all_results;
    for (int k = 0; k < s.seeds; ++k) {
        TrainSettings sk = s;
        sk.seed = s.seed + static_cast<std::uint64_t>(k);
        std::vector<pipeline::MethodResult> results;
        std::vector<metrics::FieldErrors> errors;
        const auto score_prediction = [&](const std::string& name, Index params, const Tensor<float>& pred,
                                          const pipeline::Timing& ms) {
            results.push_back(score(name, task_name, params, pred, b.target, b.mask, range));
            pipeline::set_timing(results.back(), ms);
            errors.push_back(metrics::field_errors(pred, b.target, b.mask));
        };
        const auto options = [&](const std::string& label) {
            train::TrainerOptions o = trainer_options(sk, label + " seed " + std::to_string(sk.seed));
            o.tail_tau = tail_tau;
            return o;
        };
        const auto train_network = [&](nn::UNetConfig config, const std::string& label) {
            Rng init(sk.seed + 1);
            auto m = pipeline::train_precip_model<float>(config, task, factor, p.split.train, p.split.val,
                                                         options(label), init, nullptr,
                                                         train::precip_scale_from_string(s.transform));
            m.set_wet_threshold(s.wet_threshold);
            score_prediction(label, m.net().num_parameters(), m.predict(b.input), ms_per_field(m, b.input));
            return m;
        };
        const auto config_of = [&](const std::string& model) {
            TrainSettings a = sk;
            a.model = model;
            nn::UNetConfig config = network_config(a);
            config.in_channels = 1 + S;
            config.validate();
            return config;
        };
        score_prediction(task == pipeline::Task::downscaling ? "bicubic (input)" : "raw input", 0,
                         precipitation_channel(b.input), pipeline::Timing{});
        auto teacher = train_network(config_of("maunet"), "MAUNet (teacher)");
        // The student of `maunet distill`: the teacher's network, MAU blocks, width x sqrt(0.6).
        nn::UNetConfig student_config = teacher.net().config();
        student_config.architecture = "maunet-light";
        student_config.width_multiplier = std::sqrt(0.6);
        train_network(student_config, "MAUNet-Light alone");
        // KD, then KD+KR: the refined student is distilled again from the same start (the same
        // seed gives the same distillation stage), then refined, keeping the better stage.
        for (const int refine_epochs : {0, c.refine_epochs}) {
            pipeline::PrecipModel<float> student = new_student(teacher, student_config, sk.seed, s.wet_threshold);
            const auto train_set = student.normalize(p.split.train);
            const auto val_set = p.split.val.empty() ? train::Dataset<float>() : student.normalize(p.split.val);
            train::DistillerOptions o;
            o.alpha = c.alpha;
            o.refine_epochs = refine_epochs;
            o.trainer = options(refine_epochs == 0 ? "MAUNet-Light KD" : "MAUNet-Light KD+KR");
            o.cache_teacher = s.patch == 0;
            train::Distiller<float>(teacher.net(), student.net(), o).fit(train_set, val_set);
            score_prediction(refine_epochs == 0 ? "MAUNet-Light KD" : "MAUNet-Light KD+KR",
                             student.net().num_parameters(), student.predict(b.input), ms_per_field(student, b.input));
        }
        train_network(config_of("unet"), "U-Net");
        const Tensor<float>& bilinear = on_test ? p.bilinear_test : p.bilinear_val;
        if (bilinear.numel() > 0) score_prediction("bilinear interpolation", 0, bilinear, pipeline::Timing{});

        std::printf("\n%s, model seed %llu, %zu %s fields, in %s:\n%s%s", task_name,
                    static_cast<unsigned long long>(sk.seed), held.size(), on_test ? "test" : "validation",
                    p.units.c_str(), pipeline::format_table(results, table).c_str(),
                    k == 0 ? pipeline::table_legend(table).c_str() : "");
        std::fflush(stdout);
        add_seed(rows, results, std::move(errors));
        for (auto& r : results) r.name += " (seed " + std::to_string(sk.seed) + ")";
        all_results.insert(all_results.end(), results.begin(), results.end());
    }
    if (s.seeds > 1) print_seed_spread(rows, task_name, p.units);
    print_student_cost(rows);
    print_rmse_differences(rows, s.seed, p.units);
    if (!c.json.empty()) {
        const std::string text = pipeline::to_json(all_results).dump(2) + "\n";
        io::write_stream_atomically(c.json, [&](std::ostream& out) { out << text; });
        std::printf("wrote %s\n", c.json.c_str());
    }
}

void add_data_options(CLI::App* cmd, DataSettings& d, bool with_task) {
    cmd->add_option("--in", d.in_specs,
                    "observations: NetCDF file(s) or .npy [time, y, x]; several files or a quoted glob form one "
                    "series in time order (default: synthetic fields)");
    cmd->add_option("--var", d.var, "variable of --in (NetCDF)");
    cmd->add_option("--biased", d.biased,
                    "input product (coarse grid for downscaling, the observations' grid for bias correction); "
                    "default: --in coarsened by --factor and regridded bicubically (perfect model)");
    cmd->add_option("--biased-var", d.biased_var, "variable of --biased (NetCDF)");
    cmd->add_option("--units", d.units, "units of --in when its attribute is missing or wrong (.npy: mm/day)");
    cmd->add_option("--biased-units", d.biased_units, "units of --biased when its attribute is missing or wrong");
    if (with_task) {
        cmd->add_option("--task", d.task, "downscaling or bias_correction")->capture_default_str();
        cmd->add_option("--factor", d.factor, "downscaling factor; also the coarsening of the perfect-model input")
            ->check(CLI::Range(Index(1), kMaxFactor))
            ->capture_default_str();
    } else {
        cmd->add_option("--factor", d.factor,
                        "coarsening of the perfect-model input for a bias-correction teacher (a downscaling "
                        "teacher uses its own factor)")
            ->check(CLI::Range(Index(1), kMaxFactor))
            ->capture_default_str();
    }
    cmd->add_option("--train-period", d.train_period,
                    "FIRST/LAST dates (YYYY-MM-DD/YYYY-MM-DD) of the training steps (default: all not held out)");
    cmd->add_option("--val-period", d.val_period,
                    "FIRST/LAST dates of the validation steps (default: the last --val-fraction of the training steps)");
    cmd->add_option("--test-period", d.test_period,
                    "FIRST/LAST dates of test steps, never trained on nor used to pick the epoch; scored at the end");
    cmd->add_option("--val-fraction", d.val_fraction,
                    "share of the time steps, the last ones (before any --test-fraction), held out for validation")
        ->capture_default_str();
    cmd->add_option("--test-fraction", d.test_fraction,
                    "share of the time steps, the last ones, held out as test steps (as --test-period, by count)")
        ->capture_default_str();
    cmd->add_option("--cache-mb", d.cache_mb,
                    "spool the samples to a scratch file and hold at most this many MB of them in memory per set "
                    "(training, validation, test; 0: all in memory), for training sets larger than memory")
        ->check(CLI::Range(0.0, 1e9))
        ->capture_default_str();
    cmd->add_option("--spool-dir", d.spool_dir,
                    "directory of --cache-mb's scratch files (deleted when the run ends; default: the system's "
                    "temporary directory)");
    cmd->add_option("--synthetic-size", d.synthetic_size, "side of the synthetic fields (without --in)")
        ->capture_default_str();
    cmd->add_option("--synthetic-fields", d.synthetic_fields, "number of synthetic fields (without --in)")
        ->capture_default_str();
}

// Architecture: --model, --width, --levels (`compare` takes --width and --levels only); with_out:
// --out (required) and --history.
void add_training_options(CLI::App* cmd, TrainSettings& s, bool with_architecture, bool with_out = true) {
    if (with_architecture) {
        if (with_out) cmd->add_option("--model", s.model, "maunet, maunet-light or unet")->capture_default_str();
        cmd->add_option("--width", s.width, "base width F (channels of the first level)")->capture_default_str();
        cmd->add_option("--levels", s.levels, "number of downsamplings L")->capture_default_str();
        cmd->add_option("--transform", s.transform,
                        "precipitation before the z-score, in the network's input and target: log1p (errors on "
                        "drizzle and downpours weigh alike) or linear (errors in mm/day, as RMSE weighs them)")
            ->check(CLI::IsMember({"log1p", "linear"}))
            ->capture_default_str();
    }
    if (with_out) cmd->add_option("--out", s.out, "model file to write")->required();
    cmd->add_option("--epochs", s.epochs, "training epochs")->capture_default_str();
    cmd->add_option("--lr", s.lr, "learning rate (Adam, cosine decay)")->capture_default_str();
    cmd->add_option("--batch", s.batch, "batch size")->capture_default_str();
    cmd->add_option("--patch", s.patch, "side of random training patches (0: whole fields)")->capture_default_str();
    cmd->add_option("--patches-per-field", s.patches_per_field,
                    "with --patch: patches drawn from each field per epoch (more gradient steps per epoch)")
        ->check(CLI::Range(Index(1), Index(10000)))
        ->capture_default_str();
    cmd->add_option("--rainy-fraction", s.rainy_fraction,
                    "with --patch: share of the patches redrawn until at least a quarter of their cells are wet "
                    "(seeded)")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    cmd->add_flag("--augment", s.augment,
                  "turn or mirror each training patch (or field) by one of the symmetries of the square (8; 4 for "
                  "whole fields that are not square), drawn per patch and seeded");
    cmd->add_option("--seed", s.seed, "random seed")->capture_default_str();
    add_threads_option(cmd, s.threads);
    cmd->add_option("--loss", s.loss,
                    "mse, mae, tail-mse (squared error weighted towards heavy rain) or bernoulli-gamma (likelihood "
                    "of a wet probability and a gamma amount per cell)")
        ->check(CLI::IsMember({"mse", "mae", "tail-mse", "bernoulli-gamma"}))
        ->capture_default_str();
    cmd->add_option("--tail-quantile", s.tail_quantile,
                    "tail-mse: errors count more above this quantile of the training targets")
        ->check(CLI::Range(0.01, 0.999))
        ->capture_default_str();
    cmd->add_option("--tail-weight", s.tail_weight,
                    "tail-mse: weight slope lambda (w = 1 + lambda (t - tau) above the level, in normalised units)")
        ->check(CLI::Range(0.0, 1000.0))
        ->capture_default_str();
    cmd->add_option("--wet-threshold", s.wet_threshold,
                    "outputs below this amount (mm/day) are set to 0, stored in the model (0: off)")
        ->check(CLI::Range(0.0, 1000.0))
        ->capture_default_str();
    if (with_out) cmd->add_option("--history", s.history, "CSV file of the epochs, every stage (written after each)");
    cmd->add_flag("--quiet", s.quiet, "no progress output");
}

}  // namespace

void add_train_command(CLI::App& app) {
    auto s = std::make_shared<TrainSettings>();
    CLI::App* cmd = app.add_subcommand("train", "train a model on a field file (or synthetic data) and save it");
    add_data_options(cmd, s->data, true);
    cmd->add_option("--seeds", s->seeds,
                    "train this many models, with seeds --seed, --seed + 1, ..., each saved as OUT with .seed<N> "
                    "before its extension, and print their scores' mean and spread")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    cmd->add_option("--static", s->data.static_specs,
                    "FILE[:VAR]: a static predictor (e.g. elevation) on a latitude-longitude grid, sampled onto "
                    "--in's grid and stored in the model; repeatable (VAR default: elevation, orog, z, topo, height)");
    add_training_options(cmd, *s, true);
    cmd->callback([s] { run_train(*s); });
}

void add_compare_command(CLI::App& app) {
    auto c = std::make_shared<CompareSettings>();
    CLI::App* cmd = app.add_subcommand(
        "compare", "train MAUNet, MAUNet-Light (alone, KD, KD+KR) and U-Net on one data set over several seeds and "
                   "compare them with the model's input on the held-out fields: mean, spread and paired bootstrap "
                   "intervals of the RMSE differences");
    add_data_options(cmd, c->train.data, true);
    cmd->add_option("--static", c->train.data.static_specs,
                    "FILE[:VAR]: a static predictor for every network (as train --static); repeatable");
    cmd->add_option("--seeds", c->train.seeds, "model seeds --seed, --seed + 1, ... (the same data for each)")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    add_training_options(cmd, c->train, true, false);
    cmd->add_option("--alpha", c->alpha, "weight of the observations in the distillation loss")->capture_default_str();
    cmd->add_option("--refine-epochs", c->refine_epochs, "knowledge refinement epochs of KD+KR")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    cmd->add_option("--json", c->json, "also write every method's scores for every seed to this JSON file");
    cmd->callback([c] { run_compare(*c); });
}

void add_distill_command(CLI::App& app) {
    auto d = std::make_shared<DistillSettings>();
    CLI::App* cmd = app.add_subcommand(
        "distill", "distill a trained MAUNet teacher into a MAUNet-Light student (KD, then knowledge refinement)");
    cmd->add_option("--teacher", d->teacher, "teacher model file (task and factor come from it)")
        ->required()
        ->check(CLI::ExistingFile);
    add_data_options(cmd, d->train.data, false);
    add_training_options(cmd, d->train, false);
    cmd->add_option("--alpha", d->alpha, "weight of the observations in the distillation loss")->capture_default_str();
    cmd->add_option("--hint-weight", d->hint_weight, "weight of the feature hints (0: off)")->capture_default_str();
    cmd->add_option("--refine-epochs", d->refine_epochs, "knowledge refinement epochs after distillation")
        ->capture_default_str();
    cmd->callback([d, cmd] {
        if (cmd->count("--loss") > 0) d->loss_given = d->train.loss;
        run_distill(*d);
    });
}

}  // namespace maunet::cli
