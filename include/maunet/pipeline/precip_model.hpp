// maunet/pipeline/precip_model.hpp: a network together with its data transforms, so that
// users hand in and get back precipitation in physical units (mm/day or mm/h).
//
//   raw input [N, C, H, W] ─ChannelTransform (log1p + z-score per channel)─> fill NaN with 0
//     ─> UNet ─> inverse PrecipTransform (z-score^-1, expm1) ─> clamp at 0 ─> NaN where the
//     input was missing ─> raw output [N, 1, H, W]
//
// Transforms are fitted on the training split only. The task (downscaling by an integer factor,
// or bias correction at factor 1) and the transforms' statistics travel with the weights in the
// checkpoint's "extras", so a loaded model predicts exactly as the trained one did.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "maunet/io/checkpoint.hpp"
#include "maunet/nn/models/unet.hpp"
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

template <class T>
class PrecipModel {
public:
    // A new, untrained model. Channel 0 of the input is precipitation (log1p + z-score); other
    // channels (static predictors) are z-scored only.
    PrecipModel(const nn::UNetConfig& config, Rng& rng, Task task = Task::downscaling, Index factor = 1)
        : net_(std::make_unique<nn::UNet<T>>(config, rng)), task_(task), factor_(factor) {
        require(factor >= 1 && factor <= kMaxFactor, "PrecipModel: factor must be in [1, ", kMaxFactor, "], got ", factor);
        std::vector<bool> log1p(static_cast<std::size_t>(config.in_channels), false);
        log1p[0] = true;
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
        } catch (const Error& e) {
            throw FormatError(maunet::detail::cat(path, ": the checkpoint does not describe a precipitation model (",
                                                  e.what(), ")"));
        }
        return m;
    }

    // Fits the transforms on raw training samples (inputs [C, H, W], targets [1, H, W]).
    void fit_transforms(const train::Dataset<T>& raw_train) {
        const train::Batch<T> all = raw_train.stacked();
        input_transform_.fit(all.input);
        target_transform_.fit(all.target, all.mask);
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
    }

    // The samples as the network sees them (normalised, NaN filled, mask tightened).
    train::Dataset<T> normalize(const train::Dataset<T>& raw) const {
        require(fitted(), "PrecipModel::normalize: fit_transforms() first");
        train::Dataset<T> out;
        for (const auto& s : raw.samples()) out.add(train::normalize_sample(s, input_transform_, target_transform_));
        return out;
    }

    // Raw input [N, C, H, W] -> raw precipitation [N, 1, H, W]: never negative; NaN where any
    // input channel was missing. Inference only: thread-safe, records no graph.
    Tensor<T> predict(const Tensor<T>& raw_input) const {
        require(fitted(), "PrecipModel::predict: the model's transforms are not fitted");
        require_shape(raw_input.rank() == 4, "PrecipModel::predict: expected [N, C, H, W], got ", raw_input.shape());
        Tensor<T> x = input_transform_.forward(raw_input);
        const Tensor<T> valid = train::fill_missing(x, T(0));
        Tensor<T> y = net_->predict(x);
        target_transform_.inverse_inplace(y);  // includes the clamp at 0
        const Index N = raw_input.dim(0), C = raw_input.dim(1), plane = raw_input.dim(2) * raw_input.dim(3);
        for (Index n = 0; n < N; ++n)
            for (Index j = 0; j < plane; ++j) {
                bool ok = true;
                for (Index c = 0; c < C; ++c) ok = ok && valid[(n * C + c) * plane + j] != T(0);
                if (!ok) y[n * plane + j] = std::numeric_limits<T>::quiet_NaN();
            }
        return y;
    }

    // Writes the model with its transforms and task. With `selftest_raw_input` ([1, C, H, W]),
    // the checkpoint also carries a self-test that load() re-checks.
    void save(const std::string& path, const Tensor<T>* selftest_raw_input = nullptr) const {
        require(fitted(), "PrecipModel::save: fit_transforms() first");
        io::Json extras = io::Json::object();
        extras.set("task", to_string(task_))
            .set("factor", static_cast<long long>(factor_))
            .set("input_transform", parameters_to_json(input_transform_.parameters()))
            .set("target_transform", parameters_to_json(target_transform_.parameters()));
        if (selftest_raw_input) {
            Tensor<T> x = input_transform_.forward(*selftest_raw_input);
            train::fill_missing(x, T(0));
            io::save_checkpoint(path, *net_, extras, &x);
        } else {
            io::save_checkpoint(path, *net_, extras);
        }
    }

    nn::UNet<T>& net() { return *net_; }
    const nn::UNet<T>& net() const { return *net_; }
    Task task() const { return task_; }
    Index factor() const { return factor_; }
    const train::ChannelTransform<T>& input_transform() const { return input_transform_; }
    const train::PrecipTransform<T>& target_transform() const { return target_transform_; }

private:
    explicit PrecipModel(std::unique_ptr<nn::UNet<T>> net) : net_(std::move(net)) {}

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
    train::ChannelTransform<T> input_transform_;
    train::PrecipTransform<T> target_transform_;
};

}  // namespace maunet::pipeline
