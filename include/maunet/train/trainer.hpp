// maunet/train/trainer.hpp: supervised training of a UNet-family model.
//
// One epoch: for every batch of the training loader, zero the gradients, run the model in
// training mode, compute the loss, backpropagate, clip the gradient norm, set the learning
// rate from the schedule, step the optimizer. Then the validation loss (inference mode, whole
// fields). The weights with the best validation loss are kept and restored at the end; training
// stops early after `patience` epochs without improvement. Anything non-finite (the loss, a
// gradient, a weight after the step, a batch-norm running statistic) stops training with
// NumericalError after restoring the last good state (parameters and buffers of the last
// finished epoch, Module::state()), so a diverging run never hands back NaN weights.
//
// The loss is pluggable: the distiller (train/distiller.hpp) trains through this same loop
// with its own loss and extra trainable parameters (the feature adapters).
#pragma once

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "maunet/autograd/ops/loss.hpp"
#include "maunet/autograd/ops/rain_loss.hpp"
#include "maunet/io/atomic_file.hpp"
#include "maunet/nn/models/unet.hpp"
#include "maunet/optim/adam.hpp"
#include "maunet/optim/clip.hpp"
#include "maunet/optim/schedule.hpp"
#include "maunet/train/dataset.hpp"
#include "maunet/train/progress.hpp"

namespace maunet::train {

// The training loss (autograd/ops/loss.hpp, rain_loss.hpp), on the network's output in the
// target's normalised space, except the Bernoulli-gamma likelihood, which models amounts:
//   mse              mean squared error
//   mae              mean absolute error
//   tail_mse         squared error weighted 1 + tail_lambda max(0, t - tail_tau)
//   bernoulli_gamma  negative log-likelihood of the amounts target_to_amount(t) under a
//                    Bernoulli-gamma mixture whose three parameters per cell are the network's
//                    three output channels; cells above wet_threshold are wet
enum class LossKind { mse, mae, tail_mse, bernoulli_gamma };

inline const char* to_string(LossKind k) {
    switch (k) {
        case LossKind::mse: return "mse";
        case LossKind::mae: return "mae";
        case LossKind::tail_mse: return "tail-mse";
        case LossKind::bernoulli_gamma: return "bernoulli-gamma";
    }
    return "?";
}
inline LossKind loss_kind_from_string(const std::string& s) {
    for (LossKind k : {LossKind::mse, LossKind::mae, LossKind::tail_mse, LossKind::bernoulli_gamma})
        if (s == to_string(k)) return k;
    throw ArgumentError("loss '" + s + "' is not one of mse, mae, tail-mse, bernoulli-gamma");
}

struct EpochRecord {
    std::string stage = "train";
    int epoch = 0;
    double train_loss = 0, val_loss = 0, lr = 0, seconds = 0;
};

struct TrainerOptions {
    int epochs = 30;
    double learning_rate = 1e-3;
    double weight_decay = 0.0;  // > 0 selects AdamW (decoupled decay), else Adam
    bool cosine_schedule = true;  // cosine decay to min_lr over all steps, else constant
    double min_lr = 0.0;
    long warmup_steps = 0;
    double clip_grad_norm = 1.0;  // 0 disables clipping
    int patience = 0;             // early stopping: epochs without improvement; 0 = never stop early
    LossKind loss = LossKind::mse;
    double tail_tau = 0, tail_lambda = 1;  // tail_mse: level (normalised target) and slope of the weights
    double wet_threshold = 0.1;            // bernoulli_gamma: amounts above it are wet
    std::function<double(double)> target_to_amount;  // bernoulli_gamma: normalised target -> amount
    LoaderOptions loader;         // batch size, patches, shuffling seed
    std::uint64_t seed = 1;       // dropout's engine
    std::string history_path;     // CSV of the epochs (written atomically after each), optional
    std::string stage = "train";  // the history's first column (distillation, refinement, ...)
    std::vector<EpochRecord> history_before;  // earlier stages' rows, kept at the top of the CSV
    std::string label = "train";  // prefix of progress lines
    ProgressStyle progress = ProgressStyle::automatic;
};

struct TrainResult {
    std::vector<EpochRecord> history;
    int best_epoch = 0;
    double best_val_loss = std::numeric_limits<double>::infinity();
    bool stopped_early = false;
    double seconds = 0;
};

template <class T>
class Trainer {
public:
    // loss(model, batch, mode) -> scalar loss of the model on the batch in normalised space.
    using LossFn = std::function<Var<T>(const nn::UNet<T>&, const Batch<T>&, const nn::ForwardMode&)>;

    Trainer(nn::UNet<T>& model, TrainerOptions options) : model_(model), options_(std::move(options)) {
        require(options_.epochs >= 1, "Trainer: epochs must be >= 1, got ", options_.epochs);
        require(options_.learning_rate > 0, "Trainer: learning_rate must be > 0, got ", options_.learning_rate);
        require(options_.clip_grad_norm >= 0, "Trainer: clip_grad_norm must be >= 0, got ", options_.clip_grad_norm);
        require(options_.patience >= 0, "Trainer: patience must be >= 0, got ", options_.patience);
        require(options_.loss != LossKind::bernoulli_gamma || options_.target_to_amount,
                "Trainer: the Bernoulli-gamma loss needs target_to_amount (normalised target -> amount)");
        require(std::isfinite(options_.tail_tau) && options_.tail_lambda >= 0, "Trainer: tail_tau must be finite and "
                "tail_lambda >= 0, got ", options_.tail_tau, " and ", options_.tail_lambda);
        loss_ = supervised_loss(options_);
    }

    // Replaces the training loss (the validation loss stays the supervised one).
    void set_loss(LossFn loss) { loss_ = std::move(loss); }
    // Extra trainable parameters optimised with the model's (e.g. distillation adapters).
    void add_parameters(const std::vector<Var<T>>& extra) { extra_.insert(extra_.end(), extra.begin(), extra.end()); }

    static LossFn supervised_loss(LossKind kind) {
        TrainerOptions o;
        o.loss = kind;
        return supervised_loss(o);
    }
    // The loss of the model's output against the batch's targets, as `o` chooses.
    static LossFn supervised_loss(const TrainerOptions& o) {
        return [o](const nn::UNet<T>& model, const Batch<T>& b, const nn::ForwardMode& mode) {
            return output_loss(o, model.forward(Var<T>(b.input), mode), b);
        };
    }
    static Var<T> output_loss(const TrainerOptions& o, const Var<T>& pred, const Batch<T>& b) {
        const Var<T> target(b.target);
        switch (o.loss) {
            case LossKind::mae: return mae_loss(pred, target, b.mask);
            case LossKind::tail_mse:
                return tail_weighted_mse(pred, target, static_cast<T>(o.tail_tau), static_cast<T>(o.tail_lambda), b.mask);
            case LossKind::bernoulli_gamma: {
                Tensor<T> amounts = b.target;
                for (Index i = 0; i < amounts.numel(); ++i)
                    amounts[i] = b.mask.numel() == 0 || b.mask[i] != T(0)
                                     ? static_cast<T>(std::max(0.0, o.target_to_amount(static_cast<double>(amounts[i]))))
                                     : T(0);
                return bernoulli_gamma_nll(pred, amounts, static_cast<T>(o.wet_threshold), b.mask);
            }
            case LossKind::mse: break;
        }
        return mse_loss(pred, target, b.mask);
    }

    // Mean supervised loss of the model over a dataset, in inference mode.
    double evaluate_loss(const Dataset<T>& data) const {
        NoGradGuard no_grad;
        LoaderOptions lo;
        lo.batch_size = options_.loader.batch_size;
        lo.shuffle = false;
        DataLoader<T> loader(data, lo);
        const LossFn loss = supervised_loss(options_);
        double total = 0, weight = 0;
        for (std::size_t b = 0; b < loader.num_batches(); ++b) {
            const Batch<T> batch = loader.batch(0, b);
            double valid = 0;
            for (Index i = 0; i < batch.mask.numel(); ++i) valid += batch.mask[i];
            total += double(loss(model_, batch, nn::ForwardMode{false, nullptr}).value().item()) * valid;
            weight += valid;
        }
        return weight > 0 ? total / weight : 0.0;
    }

    TrainResult fit(const Dataset<T>& train, const Dataset<T>& val) {
        DataLoader<T> loader(train, options_.loader);
        std::vector<Var<T>> params = model_.parameters();
        params.insert(params.end(), extra_.begin(), extra_.end());
        std::unique_ptr<optim::Optimizer<T>> opt;
        if (options_.weight_decay > 0)
            opt = std::make_unique<optim::AdamW<T>>(params, options_.learning_rate, 0.9, 0.999, 1e-8, options_.weight_decay);
        else
            opt = std::make_unique<optim::Adam<T>>(params, options_.learning_rate);
        const long steps_per_epoch = static_cast<long>(loader.num_batches());
        const long total_steps = steps_per_epoch * options_.epochs;
        std::unique_ptr<optim::LRSchedule> schedule;
        if (options_.cosine_schedule)
            schedule = std::make_unique<optim::CosineLR>(options_.learning_rate, total_steps, options_.min_lr,
                                                         options_.warmup_steps);
        else
            schedule = std::make_unique<optim::ConstantLR>(options_.learning_rate);

        Rng rng(options_.seed);
        Progress progress(options_.progress);
        progress.start(options_.label, total_steps);
        TrainResult result;
        Snapshot best = snapshot(), last_good = best;
        int since_best = 0;
        long step = 0;
        for (int epoch = 1; epoch <= options_.epochs; ++epoch) {
            model_.train();
            double sum = 0;
            for (long b = 0; b < steps_per_epoch; ++b, ++step) {
                // Rolls back to the last finished epoch and stops: `what` became non-finite.
                const auto diverged = [&](const std::string& what) {
                    restore(last_good);
                    model_.eval();
                    throw NumericalError(maunet::detail::cat(
                        options_.label, ": ", what, " at epoch ", epoch, ", step ", b + 1, "; the weights of epoch ",
                        epoch - 1, " were restored. Lower the learning rate or check the data for non-finite values."));
                };
                const Batch<T> batch = loader.batch(epoch, static_cast<std::size_t>(b));
                opt->zero_grad();
                Var<T> loss = loss_(model_, batch, nn::ForwardMode{true, &rng});
                const double value = loss.value().item();
                if (!std::isfinite(value)) diverged(maunet::detail::cat("the loss became ", value));
                loss.backward();
                // Checked before clipping, which would throw without restoring anything.
                for (const auto& p : params)
                    if (p.has_grad() && !p.grad().all_finite()) diverged("a gradient became non-finite");
                if (options_.clip_grad_norm > 0) optim::clip_grad_norm(params, static_cast<T>(options_.clip_grad_norm));
                opt->set_lr(schedule->lr_at(step));
                opt->step();
                if (!state_finite()) diverged("a weight or a batch-norm statistic became non-finite");
                sum += value;
                progress.step(step + 1, epoch, options_.epochs, sum / double(b + 1));
            }
            model_.eval();
            EpochRecord rec;
            rec.stage = options_.stage;
            rec.epoch = epoch;
            rec.train_loss = sum / double(steps_per_epoch);
            rec.val_loss = val.empty() ? rec.train_loss : evaluate_loss(val);
            rec.lr = opt->lr();
            rec.seconds = progress.seconds();
            result.history.push_back(rec);
            last_good = snapshot();
            const bool improved = rec.val_loss < result.best_val_loss;
            if (improved) {
                result.best_val_loss = rec.val_loss;
                result.best_epoch = epoch;
                best = last_good;
                since_best = 0;
            } else {
                ++since_best;
            }
            progress.epoch(epoch, options_.epochs, rec.train_loss, rec.val_loss, rec.lr, improved);
            if (!options_.history_path.empty()) write_history(options_.history_path, result.history, options_.history_before);
            if (options_.patience > 0 && since_best >= options_.patience) {
                result.stopped_early = true;
                progress.message(maunet::detail::cat("early stop: no improvement for ", options_.patience, " epochs"));
                break;
            }
        }
        restore(best);
        model_.eval();
        result.seconds = progress.seconds();
        return result;
    }

    const TrainerOptions& options() const { return options_; }

private:
    // The model's parameters and buffers plus the extra trainable parameters (adapters).
    struct Snapshot {
        typename nn::Module<T>::State model;
        std::vector<Tensor<T>> extra;
    };
    Snapshot snapshot() const {
        Snapshot s{model_.state(), {}};
        for (const auto& p : extra_) s.extra.push_back(p.value());
        return s;
    }
    void restore(const Snapshot& s) {
        model_.load_state(s.model);
        for (std::size_t i = 0; i < extra_.size(); ++i) extra_[i].mutable_value() = s.extra[i];
    }
    bool state_finite() const {
        if (!model_.all_finite()) return false;
        for (const auto& p : extra_)
            if (!p.value().all_finite()) return false;
        return true;
    }
    // The earlier stages' rows, then this run's: a later stage never overwrites an earlier one.
    static void write_history(const std::string& path, const std::vector<EpochRecord>& history,
                              const std::vector<EpochRecord>& before) {
        io::write_stream_atomically(path, [&](std::ostream& out) {
            out << "stage,epoch,train_loss,val_loss,lr,seconds\n";
            out.precision(9);
            const auto row = [&out](const EpochRecord& r) {
                out << r.stage << ',' << r.epoch << ',' << r.train_loss << ',' << r.val_loss << ',' << r.lr << ',' << r.seconds << '\n';
            };
            for (const auto& r : before) row(r);
            for (const auto& r : history) row(r);
        });
    }

    nn::UNet<T>& model_;
    TrainerOptions options_;
    LossFn loss_;
    std::vector<Var<T>> extra_;
};

}  // namespace maunet::train
