// maunet/pipeline/precip_model.hpp: a network together with its data transforms, so that
// users hand in and get back precipitation in physical units (mm/day or mm/h).
//
//   raw input [N, C, H, W] ─ChannelTransform (log1p + z-score per channel)─> fill NaN with 0
//     ─> UNet ─> inverse PrecipTransform (z-score^-1, expm1) ─> clamp at 0 ─> 0 below the
//     wet-day threshold ─> NaN where the input was missing ─> raw output [N, 1, H, W]
// (with PrecipScale::linear, precipitation skips log1p and expm1: the z-score alone).
//
// A network with 3 output channels predicts a Bernoulli-gamma distribution per cell instead of
// an amount (trained with the Bernoulli-gamma likelihood, train/trainer.hpp): the inverse
// transform is replaced by the distribution's mean, median or a random draw (`statistic`,
// stats/bernoulli_gamma.hpp), in the units of the training targets.
//
// The wet-day threshold (default 0.1, in the model's units: mm/day for the models the CLI
// trains) sets amounts below it to exactly 0. A regression network never outputs exact zeros
// (expm1 of a smooth output is a small positive number over dry land), so without it every dry
// cell gets trace drizzle; 0.1 mm/day is the usual wet-day definition (ETCCDI, and the bias
// correction's default). It travels in the model file; 0 turns it off.
//
// Transforms are fitted on the training split only. The task (downscaling by an integer factor,
// or bias correction at factor 1), the transforms' statistics and the grid of the training fields
// travel with the weights in the checkpoint's "extras", so a loaded model predicts exactly as the
// trained one did. So do the physical units of its fields (units(): "mm day-1" for models that
// `maunet train` writes; "" when unknown, as in files written before units were recorded).
//
// Two entry points:
//   apply(fields)    physical fields as a user has them, [time, h, w] or [h, w]. A downscaling
//                    model with factor f takes them on the COARSE grid, regrids them
//                    bicubically to [h f, w f] (negative overshoot clamped to 0) and corrects
//                    them there; a bias-correction model keeps the grid.
//   predict(input)   the network input [N, C, H, W], already on the model's (fine) grid, with
//                    static predictors as extra channels. A downscaling model refuses an input
//                    whose grid is its training grid divided by its factor (a coarse field
//                    handed in by mistake) and names the factor and apply().
// Each has a Monte Carlo dropout twin, apply_samples and predict_samples, giving K samples per
// field (dropout on, batch norm in inference) from which `maunet predict --samples` writes the
// mean, spread and quantiles (stats/sample_summary.hpp).
//
// Static predictors (elevation, a land-sea mask, a climatology: fields that do not change with
// time) are input channels 1..S after precipitation. A model may carry them itself
// (set_static_predictors: [S, H, W] on its training grid, saved in the model file), and then
// apply() appends them to every field, so users hand in precipitation alone; the fields must
// then lie on that grid (coarsened by the factor for downscaling).
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "maunet/io/checkpoint.hpp"
#include "maunet/nn/models/unet.hpp"
#include "maunet/stats/bernoulli_gamma.hpp"
#include "maunet/stats/regrid.hpp"
#include "maunet/train/dataset.hpp"
#include "maunet/train/transforms.hpp"

namespace maunet::pipeline {

enum class Task { downscaling, bias_correction };

inline const char* to_string(Task t) { return t == Task::downscaling ? "downscaling" : "bias_correction"; }
inline Task task_from_string(const std::string& s) {
    if (s == "downscaling" || s == "downscale") return Task::downscaling;
    if (s == "bias_correction" || s == "bias-correction" || s == "bias") return Task::bias_correction;
    throw ArgumentError("task '" + s + "' is not one of downscaling, bias_correction");
}

// Largest downscaling factor a model, or a regridding, may use (docs/security.md).
inline constexpr Index kMaxFactor = 64;
// Longest units string a model file may record.
inline constexpr std::size_t kMaxUnitsLength = 256;

// Outputs below this amount (mm/day) are dry: set to 0 (see the top of the file).
inline constexpr double kDefaultWetThreshold = 0.1;

// What a Bernoulli-gamma model outputs per cell.
enum class Statistic { mean, median, sample };
inline const char* to_string(Statistic s) {
    return s == Statistic::mean ? "mean" : s == Statistic::median ? "median" : "sample";
}
inline Statistic statistic_from_string(const std::string& s) {
    for (Statistic k : {Statistic::mean, Statistic::median, Statistic::sample})
        if (s == to_string(k)) return k;
    throw ArgumentError("statistic '" + s + "' is not one of mean, median, sample");
}

template <class T>
class PrecipModel {
public:
    // A new, untrained model. Channel 0 of the input is precipitation (log1p + z-score, or the
    // z-score alone with PrecipScale::linear, as the target); other channels (static
    // predictors) are z-scored only.
    PrecipModel(const nn::UNetConfig& config, Rng& rng, Task task = Task::downscaling, Index factor = 1,
                train::PrecipScale scale = train::PrecipScale::log1p)
        : net_(std::make_unique<nn::UNet<T>>(config, rng)), task_(task), factor_(factor), target_transform_(scale) {
        require(factor >= 1 && factor <= kMaxFactor, "PrecipModel: factor must be in [1, ", kMaxFactor, "], got ", factor);
        require(config.out_channels == 1 || (config.out_channels == 3 && !config.residual),
                "PrecipModel: expected 1 output channel (amounts) or 3 without a residual connection "
                "(Bernoulli-gamma parameters), got ", config.out_channels, config.residual ? " with a residual" : "");
        std::vector<bool> log1p(static_cast<std::size_t>(config.in_channels), false);
        log1p[0] = scale == train::PrecipScale::log1p;
        input_transform_ = train::ChannelTransform<T>(log1p);
    }

    // Loads a checkpoint written by save().
    static PrecipModel load(const std::string& path) {
        io::LoadedCheckpoint<T> ck = io::load_checkpoint<T>(path);
        const io::Json& extras = ck.extras();
        PrecipModel m(std::move(ck.model));
        try {
            m.task_ = task_from_string(extras.at("task").as_string());
            m.factor_ = static_cast<Index>(io::integer_field(extras, "factor", 1, kMaxFactor));
            m.input_transform_ = train::ChannelTransform<T>::from_parameters(parameters_from_json(extras.at("input_transform")));
            m.target_transform_ = train::PrecipTransform<T>::from_parameters(parameters_from_json(extras.at("target_transform")));
            if (m.input_transform_.channels() != m.net_->config().in_channels)
                throw FormatError(maunet::detail::cat("the input transform has ", m.input_transform_.channels(),
                                                      " channels, the network ", m.net_->config().in_channels));
            if (m.input_transform_.channel(0).log1p != m.target_transform_.log1p())  // the residual adds them
                throw FormatError(maunet::detail::cat("the input's precipitation channel has log1p ",
                                                      m.input_transform_.channel(0).log1p, ", the target ",
                                                      m.target_transform_.log1p(), "; expected the same"));
            if (extras.contains("wet_threshold")) {  // absent in older files: the default
                const io::Json& w = extras.at("wet_threshold");
                if (!w.is_number() || !(w.as_number() >= 0) || !std::isfinite(w.as_number()))
                    throw FormatError("'wet_threshold': expected a finite number >= 0, found " + w.dump());
                m.wet_threshold_ = static_cast<T>(w.as_number());
            }
            if (extras.contains("statistic")) m.statistic_ = statistic_from_string(extras.at("statistic").as_string());
            const auto& c = m.net_->config();
            if (!(c.out_channels == 1 || (c.out_channels == 3 && !c.residual)))
                throw FormatError(maunet::detail::cat("expected 1 output channel or 3 without a residual, found ",
                                                      c.out_channels));
            if (extras.contains("units")) {  // absent in files written before the units were recorded
                const io::Json& units = extras.at("units");
                if (!units.is_string() || units.as_string().size() > kMaxUnitsLength)
                    throw FormatError("'units': expected a string of at most " + std::to_string(kMaxUnitsLength) +
                                      " characters");
                m.units_ = units.as_string();
            }
            if (extras.contains("grid")) {  // absent in files written before the grid was recorded
                const io::Json& grid = extras.at("grid");
                if (!grid.is_array() || grid.as_array().size() != 2)
                    throw FormatError("'grid': expected [height, width], found " + grid.dump());
                io::Json sides = io::Json::object();
                sides.set("grid height", grid.as_array()[0]).set("grid width", grid.as_array()[1]);
                m.grid_height_ = static_cast<Index>(io::integer_field(sides, "grid height", 1, Index(1) << 24));
                m.grid_width_ = static_cast<Index>(io::integer_field(sides, "grid width", 1, Index(1) << 24));
            }
            if (extras.contains("static_predictors")) {
                const io::Json& names = extras.at("static_predictors");
                if (!names.is_array() || names.as_array().empty())
                    throw FormatError("'static_predictors': expected a non-empty array of names, found " +
                                      names.dump().substr(0, 200));
                if (m.grid_height_ == 0) throw FormatError("'static_predictors' without the 'grid' they lie on");
                std::vector<std::string> list;
                Tensor<T> fields(Shape{static_cast<Index>(names.as_array().size()), m.grid_height_, m.grid_width_});
                for (const io::Json& n : names.as_array()) {
                    if (!n.is_string()) throw FormatError("'static_predictors': expected names, found " + n.dump());
                    const std::string key = "static." + n.as_string();
                    const auto it = std::find_if(ck.attached.begin(), ck.attached.end(),
                                                 [&](const auto& a) { return a.first == key; });
                    if (it == ck.attached.end()) throw FormatError("static predictor '" + n.as_string() + "' is not stored");
                    if (it->second.shape() != Shape{m.grid_height_, m.grid_width_})
                        throw FormatError(maunet::detail::cat("static predictor '", n.as_string(), "' has shape ",
                                                              it->second.shape(), ", the grid is ", m.grid_height_,
                                                              " x ", m.grid_width_));
                    std::copy(it->second.begin(), it->second.end(),
                              fields.begin() + static_cast<Index>(list.size()) * m.grid_height_ * m.grid_width_);
                    list.push_back(n.as_string());
                }
                m.set_static_predictors(std::move(list), std::move(fields));  // checks count, names, finiteness
            }
        } catch (const Error& e) {
            throw FormatError(maunet::detail::cat(path, ": the checkpoint does not describe a precipitation model (",
                                                  e.what(), ")"));
        }
        return m;
    }

    // Fits the transforms on raw training samples (inputs [C, H, W], targets [1, H, W]) and
    // records their grid (the fine grid of a downscaling model). Sample by sample: a spooled
    // dataset is read once, never stacked; the result is that of fitting the stacked samples.
    void fit_transforms(const train::Dataset<T>& raw_train) {
        require(!raw_train.empty(), "PrecipModel::fit_transforms: the training set is empty");
        input_transform_.begin_fit();
        target_transform_.begin_fit();
        for (std::size_t i = 0; i < raw_train.size(); ++i) {
            const auto s = raw_train.get(i);
            input_transform_.add_to_fit(s->input);
            target_transform_.add_to_fit(s->target, s->mask);
        }
        input_transform_.end_fit();
        target_transform_.end_fit();
        grid_height_ = raw_train.height();
        grid_width_ = raw_train.width();
    }
    bool fitted() const { return input_transform_.fitted() && target_transform_.fitted(); }

    // Uses another model's fitted transforms (a student distilled from a teacher must see the
    // data exactly as the teacher does, so the teacher's outputs are valid targets).
    void copy_transforms_from(const PrecipModel& other) {
        require(other.fitted(), "PrecipModel::copy_transforms_from: the other model's transforms are not fitted");
        require(other.input_transform_.channels() == input_transform_.channels(),
                "PrecipModel::copy_transforms_from: the other model has ", other.input_transform_.channels(),
                " input channels, this one ", input_transform_.channels());
        input_transform_ = other.input_transform_;
        target_transform_ = other.target_transform_;
        wet_threshold_ = other.wet_threshold_;  // the same outputs, the same dry cells
        units_ = other.units_;  // the same data, so the same units
        grid_height_ = other.grid_height_, grid_width_ = other.grid_width_;
        static_names_ = other.static_names_, statics_ = other.statics_;  // the same static predictors
    }

    // The samples as the network sees them (normalised, NaN filled, mask tightened), stored as
    // `raw` is (a spooled dataset gives a spooled one, written sample by sample).
    train::Dataset<T> normalize(const train::Dataset<T>& raw) const {
        require(fitted(), "PrecipModel::normalize: fit_transforms() first");
        train::Dataset<T> out = raw.empty_like();
        for (std::size_t i = 0; i < raw.size(); ++i)
            out.add(train::normalize_sample(*raw.get(i), input_transform_, target_transform_));
        return out;
    }

    // Raw input [N, C, H, W] -> raw precipitation [N, 1, H, W]: never negative; NaN where any
    // input channel was missing. Inference only: thread-safe, records no graph.
    // A downscaling model refuses the coarse grid of its training fields (see the top of the file).
    // The network sees at most kPredictBatch fields at a time: its activations for a whole
    // validation period at once would need gigabytes; fields are independent, so the result is
    // the same.
    Tensor<T> predict(const Tensor<T>& raw_input) const {
        return predict_with(raw_input, 1, [&](const Tensor<T>& x) {
            const Index N = x.dim(0);
            if (N <= kPredictBatch) return net_->predict(x);
            // The batches allocate and free the same buffers: an arena hands them back (no heap
            // allocation, no page faults after the first batch; core/arena.hpp). The result is
            // made outside it, since the arena dies here.
            Tensor<T> out;
            Arena arena;
            for (Index n0 = 0; n0 < N; n0 += kPredictBatch) {
                const Index n = std::min(kPredictBatch, N - n0);
                ArenaScope from_arena(&arena);
                const Tensor<T> y = net_->predict(leading_rows(x, n0, n));
                if (out.numel() == 0) {
                    ArenaScope from_heap(nullptr);
                    out = Tensor<T>(Shape{N, y.dim(1), y.dim(2), y.dim(3)});
                }
                std::copy(y.begin(), y.end(), out.data() + n0 * (y.numel() / n));
            }
            return out;
        });
    }
    static constexpr Index kPredictBatch = 8;

    // Monte Carlo dropout: raw input [N, C, H, W] -> K = `samples` predictions per field
    // [N, K, H, W], each a forward pass with its own dropout masks (batch norm in inference),
    // finished as predict() finishes its output (inverse transform or the Bernoulli-gamma
    // statistic, the wet-day threshold, NaN where the input was missing). The spread of the K
    // values estimates the network's (epistemic) uncertainty (Gal & Ghahramani 2016).
    // Sample k of a field draws from an engine seeded by `seed`, k and the field's own network
    // input (FNV-1a of its bytes): reproducible however the fields are batched or chunked,
    // different from field to field. Requires a network with dropout (MAUNet's default).
    Tensor<T> predict_samples(const Tensor<T>& raw_input, Index samples, std::uint64_t seed) const {
        require(samples >= 1, "PrecipModel::predict_samples: expected at least 1 sample, got ", samples);
        require(net_->has_dropout(), "PrecipModel::predict_samples: MC dropout needs dropout layers; this ",
                net_->config().architecture, " has none (dropout_rate ", net_->config().dropout_rate,
                "): train it with dropout, or predict without samples");
        Tensor<T> y = predict_with(raw_input, samples, [&](const Tensor<T>& x) {
            const Index N = x.dim(0);
            Tensor<T> out;
            for (Index n = 0; n < N; ++n) {
                const Tensor<T> one = leading_rows(x, n, 1);
                const std::uint64_t h = fnv1a(one.data(), one.numel());
                for (Index k = 0; k < samples; ++k) {
                    Rng rng(seed ^ h ^ (0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(k + 1)));
                    const Tensor<T> yk = net_->predict_sampled(one, rng);
                    if (out.numel() == 0) out = Tensor<T>(Shape{N * samples, yk.dim(1), yk.dim(2), yk.dim(3)});
                    std::copy(yk.begin(), yk.end(), out.data() + (n * samples + k) * yk.numel());
                }
            }
            return out;
        });
        return y.reshaped(Shape{raw_input.dim(0), samples, raw_input.dim(2), raw_input.dim(3)});
    }

    // Fields in physical units, [time, h, w] or one field [h, w] (on the coarse grid for a
    // downscaling model), -> the model's output [time, h f, w f] or [h f, w f] (f = factor(); 1
    // for bias correction). NaN where the input was missing. Precipitation-only models.
    Tensor<T> apply(const Tensor<T>& fields) const {
        require_shape((fields.rank() == 2 || fields.rank() == 3) && fields.numel() > 0,
                      "PrecipModel::apply: expected fields [time, y, x] or one field [y, x], got ", fields.shape());
        require_precipitation_only("apply");
        const Tensor<T> stack = fields.rank() == 3 ? fields : fields.reshaped(Shape{1, fields.dim(0), fields.dim(1)});
        const Tensor<T> y = predict(with_static_predictors(network_input(stack)));
        Tensor<T> out(fields.rank() == 3 ? Shape{y.dim(0), y.dim(2), y.dim(3)} : Shape{y.dim(2), y.dim(3)});
        std::copy(y.begin(), y.end(), out.begin());
        return out;
    }

    // MC dropout on fields as apply() takes them: [time, h, w] -> [time, K, h f, w f] (see
    // predict_samples).
    Tensor<T> apply_samples(const Tensor<T>& fields, Index samples, std::uint64_t seed) const {
        require_shape(fields.rank() == 3 && fields.numel() > 0,
                      "PrecipModel::apply_samples: expected fields [time, y, x], got ", fields.shape());
        require_precipitation_only("apply_samples");
        return predict_samples(with_static_predictors(network_input(fields)), samples, seed);
    }

    // The raw network input [time, 1, H, W] that apply() hands to predict() for fields
    // [time, h, w]: regridded bicubically by the factor for downscaling, as they are otherwise.
    Tensor<T> network_input(const Tensor<T>& fields) const { return network_input(fields, task_, factor_); }
    static Tensor<T> network_input(const Tensor<T>& fields, Task task, Index factor) {
        require_shape(fields.rank() == 3 && fields.numel() > 0, "model_input: expected fields [time, y, x], got ",
                      fields.shape());
        require(factor >= 1, "model_input: expected a factor >= 1, got ", factor);
        Tensor<T> fine = (task == Task::downscaling && factor > 1)
                             ? stats::regrid_bicubic(fields, fields.dim(1) * factor, fields.dim(2) * factor, true)
                             : fields;
        Tensor<T> input(Shape{fine.dim(0), 1, fine.dim(1), fine.dim(2)});
        std::copy(fine.begin(), fine.end(), input.begin());
        return input;
    }

    // Writes the model with its transforms and task. With `selftest_raw_input` ([1, C, H, W]),
    // the checkpoint also carries a self-test that load() re-checks.
    void save(const std::string& path, const Tensor<T>* selftest_raw_input = nullptr) const {
        require(fitted(), "PrecipModel::save: fit_transforms() first");
        io::Json extras = io::Json::object();
        extras.set("task", to_string(task_))
            .set("factor", static_cast<long long>(factor_))
            .set("input_transform", parameters_to_json(input_transform_.parameters()))
            .set("target_transform", parameters_to_json(target_transform_.parameters()))
            .set("wet_threshold", static_cast<double>(wet_threshold_));
        if (bernoulli_gamma()) extras.set("statistic", to_string(statistic_));
        if (!units_.empty()) extras.set("units", units_);
        if (grid_height_ > 0) {
            io::Json grid = io::Json::array();
            grid.push_back(static_cast<long long>(grid_height_)).push_back(static_cast<long long>(grid_width_));
            extras.set("grid", grid);
        }
        std::vector<std::pair<std::string, Tensor<T>>> attached;
        if (!static_names_.empty()) {
            io::Json names = io::Json::array();
            const Index H = statics_.dim(1), W = statics_.dim(2);
            for (std::size_t k = 0; k < static_names_.size(); ++k) {
                names.push_back(static_names_[k]);
                Tensor<T> one(Shape{H, W});
                std::copy(statics_.begin() + static_cast<Index>(k) * H * W,
                          statics_.begin() + static_cast<Index>(k + 1) * H * W, one.begin());
                attached.emplace_back("static." + static_names_[k], std::move(one));
            }
            extras.set("static_predictors", names);
        }
        Tensor<T> x;
        if (selftest_raw_input) {
            x = input_transform_.forward(*selftest_raw_input);
            train::fill_missing(x, T(0));
        }
        io::save_checkpoint(path, *net_, extras, selftest_raw_input ? &x : nullptr, attached);
    }

    // Static predictors carried by the model (see the top of the file): `fields` [S, H, W] on
    // the training grid, one name each (unique, for `maunet info`); S = input channels - 1.
    // Missing cells (NaN) are not allowed: they would make every output there missing.
    void set_static_predictors(std::vector<std::string> names, Tensor<T> fields) {
        const Index S = static_cast<Index>(names.size());
        require(S == input_transform_.channels() - 1, "PrecipModel::set_static_predictors: the network takes ",
                input_transform_.channels(), " input channels, so ", input_transform_.channels() - 1,
                " static predictors, got ", S);
        require_shape(fields.rank() == 3 && fields.dim(0) == S && fields.numel() > 0,
                      "PrecipModel::set_static_predictors: expected fields [", S, ", H, W], got ", fields.shape());
        require_shape(grid_height_ == 0 || (fields.dim(1) == grid_height_ && fields.dim(2) == grid_width_),
                      "PrecipModel::set_static_predictors: the fields are ", fields.dim(1), " x ", fields.dim(2),
                      ", the model's training grid ", grid_height_, " x ", grid_width_);
        for (std::size_t k = 0; k < names.size(); ++k) {
            require(!names[k].empty() && names[k].size() <= 128, "PrecipModel::set_static_predictors: names must "
                    "have 1 to 128 characters, got '", names[k], "'");
            for (std::size_t j = 0; j < k; ++j)
                require(names[j] != names[k], "PrecipModel::set_static_predictors: two predictors are named '",
                        names[k], "'");
        }
        require(fields.all_finite(), "PrecipModel::set_static_predictors: the fields hold NaN or infinite values; "
                "fill missing cells first (every output there would be missing)");
        static_names_ = std::move(names);
        statics_ = std::move(fields);
    }
    const std::vector<std::string>& static_names() const { return static_names_; }
    const Tensor<T>& static_fields() const { return statics_; }  // [S, H, W], or empty

    // Precipitation [N, 1, H, W] on the training grid -> the network's raw input [N, 1 + S, H, W]
    // with the model's static predictors appended (the input itself when it carries none).
    Tensor<T> with_static_predictors(const Tensor<T>& precipitation) const {
        if (static_names_.empty()) return precipitation;
        require_shape(precipitation.rank() == 4 && precipitation.dim(1) == 1,
                      "PrecipModel::with_static_predictors: expected precipitation [N, 1, H, W], got ",
                      precipitation.shape());
        const Index N = precipitation.dim(0), H = statics_.dim(1), W = statics_.dim(2), S = statics_.dim(0);
        require_shape(precipitation.dim(2) == H && precipitation.dim(3) == W, "PrecipModel: the model's static "
                      "predictors (", static_names_.front(), (S > 1 ? ", ..." : ""), ") are on its ", H, " x ", W,
                      " training grid; the precipitation is on a ", precipitation.dim(2), " x ", precipitation.dim(3),
                      " grid", factor_ > 1 ? maunet::detail::cat(" (fields given to apply() are on the grid coarsened by ",
                                                                 factor_, ": ", H / factor_, " x ", W / factor_, ")")
                                           : std::string());
        Tensor<T> out(Shape{N, 1 + S, H, W});
        for (Index n = 0; n < N; ++n) {
            std::copy(precipitation.begin() + n * H * W, precipitation.begin() + (n + 1) * H * W,
                      out.begin() + n * (1 + S) * H * W);
            std::copy(statics_.begin(), statics_.end(), out.begin() + (n * (1 + S) + 1) * H * W);
        }
        return out;
    }

    nn::UNet<T>& net() { return *net_; }
    const nn::UNet<T>& net() const { return *net_; }
    Task task() const { return task_; }
    Index factor() const { return factor_; }
    // True when the network predicts Bernoulli-gamma parameters (3 output channels).
    bool bernoulli_gamma() const { return net_->config().out_channels == 3; }
    // What a Bernoulli-gamma model outputs (ignored otherwise); `sample` draws each field from
    // an engine seeded with `seed` and the field's parameters, so the same input and seed give
    // the same draws, however the fields are batched.
    Statistic statistic() const { return statistic_; }
    void set_statistic(Statistic s, std::uint64_t seed = 0) { statistic_ = s, sample_seed_ = seed; }
    // Outputs below the threshold are set to 0 (0 = off); in the model's units.
    T wet_threshold() const { return wet_threshold_; }
    void set_wet_threshold(double threshold) {
        require(std::isfinite(threshold) && threshold >= 0,
                "PrecipModel: the wet-day threshold must be a finite number >= 0, got ", threshold);
        wet_threshold_ = static_cast<T>(threshold);
    }
    // The physical units of the fields apply() takes and gives, as recorded in the model file
    // ("" when unknown). set_units() records them for save().
    const std::string& units() const { return units_; }
    void set_units(std::string units) {
        require(units.size() <= kMaxUnitsLength, "PrecipModel::set_units: at most ", kMaxUnitsLength,
                " characters, got ", units.size());
        units_ = std::move(units);
    }
    // The grid [height, width] of the training fields (0 x 0 when unknown).
    Index grid_height() const { return grid_height_; }
    Index grid_width() const { return grid_width_; }
    const train::ChannelTransform<T>& input_transform() const { return input_transform_; }
    const train::PrecipTransform<T>& target_transform() const { return target_transform_; }

private:
    explicit PrecipModel(std::unique_ptr<nn::UNet<T>> net) : net_(std::move(net)) {}

    void require_precipitation_only(const char* op) const {
        require(input_transform_.channels() == 1 + static_cast<Index>(static_names_.size()),
                "PrecipModel::", op, ": the model takes ", input_transform_.channels(), " input channels and carries ",
                static_names_.size(), " static predictors; ", op, "() takes precipitation alone: stack the static "
                "predictors as channels and call predict()");
    }

    // FNV-1a of the bytes of n values: a field's own seed for its random draws.
    static std::uint64_t fnv1a(const T* values, Index n) {
        std::uint64_t h = 1469598103934665603ULL;
        const auto* bytes = reinterpret_cast<const unsigned char*>(values);
        for (std::size_t k = 0; k < sizeof(T) * static_cast<std::size_t>(n); ++k) h = (h ^ bytes[k]) * 1099511628211ULL;
        return h;
    }

    // predict() and predict_samples(): checks the raw input [N, C, H, W], normalises it, lets
    // `network` map it to `copies` network outputs per field ([N copies, out, H, W], field by
    // field), and finishes each output (see the top of the file) -> [N copies, 1, H, W].
    template <class Network>
    Tensor<T> predict_with(const Tensor<T>& raw_input, Index copies, Network&& network) const {
        require(fitted(), "PrecipModel::predict: the model's transforms are not fitted");
        require_shape(raw_input.rank() == 4, "PrecipModel::predict: expected [N, C, H, W], got ", raw_input.shape());
        if (task_ == Task::downscaling && factor_ > 1 && grid_height_ > 0) {
            const bool coarse = raw_input.dim(2) * factor_ == grid_height_ && raw_input.dim(3) * factor_ == grid_width_;
            require_shape(!coarse, "PrecipModel::predict: this model downscales by a factor of ", factor_,
                          " and takes input on the fine grid (", grid_height_, " x ", grid_width_,
                          " in training); the input is ", raw_input.dim(2), " x ", raw_input.dim(3),
                          ", the coarse grid: use apply(), which regrids coarse fields by ", factor_, " first");
        }
        Tensor<T> x = input_transform_.forward(raw_input);
        const Tensor<T> valid = train::fill_missing(x, T(0));
        Tensor<T> y = network(x);
        if (bernoulli_gamma()) y = amounts_from_parameters(y);
        else target_transform_.inverse_inplace(y);  // includes the clamp at 0
        if (wet_threshold_ > T(0))
            for (T& v : y)
                if (v < wet_threshold_) v = T(0);  // NaN compares false and stays NaN
        const Index N = raw_input.dim(0), C = raw_input.dim(1), plane = raw_input.dim(2) * raw_input.dim(3);
        for (Index n = 0; n < N; ++n)
            for (Index j = 0; j < plane; ++j) {
                bool ok = true;
                for (Index c = 0; c < C; ++c) ok = ok && valid[(n * C + c) * plane + j] != T(0);
                if (!ok)
                    for (Index k = 0; k < copies; ++k) y[(n * copies + k) * plane + j] = std::numeric_limits<T>::quiet_NaN();
            }
        return y;
    }

    // Network output [N, 3, H, W] (logit, log shape, log scale) -> amounts [N, 1, H, W].
    Tensor<T> amounts_from_parameters(const Tensor<T>& theta) const {
        const Index N = theta.dim(0), plane = theta.dim(2) * theta.dim(3);
        Tensor<T> out(Shape{N, 1, theta.dim(2), theta.dim(3)});
        for (Index n = 0; n < N; ++n) {
            // Each field's draws come from the seed and the field's own parameters (FNV-1a of
            // their bytes): reproducible however the time axis is chunked, different per field.
            Rng rng(sample_seed_ ^ (statistic_ == Statistic::sample ? fnv1a(theta.data() + n * 3 * plane, 3 * plane)
                                                                    : 1469598103934665603ULL));
            for (Index j = 0; j < plane; ++j) {
                const T* c = theta.data() + n * 3 * plane + j;
                const auto bg = stats::BernoulliGamma::from_logits(c[0], c[plane], c[2 * plane]);
                const double v = statistic_ == Statistic::mean     ? bg.mean()
                                 : statistic_ == Statistic::median ? bg.median()
                                                                   : bg.sample(rng);
                out[n * plane + j] = static_cast<T>(v);
            }
        }
        return out;
    }

    static io::Json parameters_to_json(const train::TransformParameters& p) {
        io::Json j = io::Json::object();
        for (const auto& [k, v] : p) j.set(k, v);
        return j;
    }
    static train::TransformParameters parameters_from_json(const io::Json& j) {
        train::TransformParameters p;
        for (const auto& [k, v] : j.as_object()) p.emplace_back(k, v.as_number());
        return p;
    }

    std::unique_ptr<nn::UNet<T>> net_;
    Task task_ = Task::downscaling;
    Index factor_ = 1;
    Index grid_height_ = 0, grid_width_ = 0;
    T wet_threshold_ = static_cast<T>(kDefaultWetThreshold);
    Statistic statistic_ = Statistic::mean;
    std::uint64_t sample_seed_ = 0;
    std::string units_;
    std::vector<std::string> static_names_;
    Tensor<T> statics_;  // [S, H, W] on the training grid, or empty
    train::ChannelTransform<T> input_transform_;
    train::PrecipTransform<T> target_transform_;
};

}  // namespace maunet::pipeline
