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
//
// Data parallel (TrainerOptions::communicator with size p > 1, docs/mpi.md): every rank holds
// the whole dataset and builds every global batch (same order, same patches), then computes
// only its rows, parallel::share_of(N, rank, p). Its loss is its part of the global batch's
// loss (Batch::mask_share: a masked mean over its cells times its cells / the global batch's),
// so the ranks' gradients sum to the gradient of the global batch; they are summed over the
// ranks in buckets, each started while backward still computes the earlier layers. Dropout
// draws the global batch's masks (ForwardMode::batch_offset). Every rank then clips and steps
// identical gradients from identical weights: the replicas stay identical, which a checksum of
// the weights compared across ranks verifies at the end of every epoch (and every
// replica_check_every steps). The validation batches are split across the ranks and their
// losses exchanged exactly (parallel::exchange_exact), so the validation loss is bit-identical
// to one process's. Only rank 0 prints progress and writes the history. An exception on one
// rank is rethrown on all (parallel/agreement.hpp). Batch normalisation is refused: its
// statistics would be each rank's rows only, and its running averages would differ between
// the replicas.
#pragma once

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "maunet/autograd/ops/loss.hpp"
#include "maunet/autograd/ops/rain_loss.hpp"
#include "maunet/io/atomic_file.hpp"
#include "maunet/nn/models/unet.hpp"
#include "maunet/optim/adam.hpp"
#include "maunet/optim/clip.hpp"
#include "maunet/optim/schedule.hpp"
#include "maunet/parallel/agreement.hpp"
#include "maunet/parallel/communicator.hpp"
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
    // Data parallel over these ranks (null or size 1: this process alone).
    std::shared_ptr<parallel::Communicator> communicator;
    // Compare the replicas' weights every this many steps as well as after every epoch (0: only
    // after epochs). A hash of the weights (one pass) and two tiny collectives.
#ifdef NDEBUG
    long replica_check_every = 0;
#else
    long replica_check_every = 10;
#endif
    // Start summing a bucket of gradients over the ranks while backward computes the rest
    // (docs/scaling.md: it pays across nodes); false: every sum after backward. The same sums
    // either way.
    bool overlap_allreduce = true;
    // Gradient values per bucket (at least; buckets hold whole parameters): 2^20 floats, 4 MiB.
    std::size_t allreduce_bucket_elements = std::size_t(1) << 20;
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
        require(options_.replica_check_every >= 0, "Trainer: replica_check_every must be >= 0, got ",
                options_.replica_check_every);
        if (!options_.communicator) options_.communicator = std::make_shared<parallel::SerialCommunicator>();
        require(comm().size() == 1 || !model_.config().batch_norm,
                "Trainer: data-parallel training (", comm().size(),
                " ranks) does not support batch normalisation: each rank would normalise with the statistics of "
                "its own rows; train with batch_norm off or on one rank");
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
            // Data parallel: this rank's part of the global batch's loss (see the top of the file).
            const Var<T> loss = output_loss(o, model.forward(Var<T>(b.input), mode), b);
            return b.mask_share == 1.0 ? loss : loss * static_cast<T>(b.mask_share);
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
        // Batches split across the ranks; each rank fills in its own (loss x valid, valid) pairs.
        const std::size_t nb = loader.num_batches();
        const parallel::Share mine = parallel::share_of(nb, comm().rank(), comm().size());
        std::vector<double> parts(2 * nb, 0.0);
        parallel::run_collectively(comm(), [&] {
            for (std::size_t b = mine.begin; b < mine.end; ++b) {
                const Batch<T> batch = loader.batch(0, b);
                double valid = 0;
                for (Index i = 0; i < batch.mask.numel(); ++i) valid += batch.mask[i];
                parts[2 * b] = double(loss(model_, batch, nn::ForwardMode{false, nullptr}).value().item()) * valid;
                parts[2 * b + 1] = valid;
            }
        });
        parallel::exchange_exact(comm(), parts);
        double total = 0, weight = 0;
        for (std::size_t b = 0; b < nb; ++b) {
            total += parts[2 * b];
            weight += parts[2 * b + 1];
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
        const bool root = comm().is_root();
        Progress progress(root ? options_.progress : ProgressStyle::quiet);
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
                double value = 0;
                if (comm().size() == 1) {
                    Var<T> loss = loss_(model_, batch, nn::ForwardMode{true, &rng});
                    value = loss.value().item();
                    if (!std::isfinite(value)) diverged(maunet::detail::cat("the loss became ", value));
                    loss.backward();
                } else {
                    value = data_parallel_step(batch, rng, params);
                    if (!std::isfinite(value)) diverged(maunet::detail::cat("the loss became ", value));
                }
                // Checked before clipping, which would throw without restoring anything.
                for (const auto& p : params)
                    if (p.has_grad() && !p.grad().all_finite()) diverged("a gradient became non-finite");
                if (options_.clip_grad_norm > 0) optim::clip_grad_norm(params, static_cast<T>(options_.clip_grad_norm));
                opt->set_lr(schedule->lr_at(step));
                opt->step();
                if (!state_finite()) diverged("a weight or a batch-norm statistic became non-finite");
                sum += value;
                progress.step(step + 1, epoch, options_.epochs, sum / double(b + 1));
                if (options_.replica_check_every > 0 && (step + 1) % options_.replica_check_every == 0)
                    check_replicas(epoch, b + 1);
            }
            check_replicas(epoch, steps_per_epoch);
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
            if (!options_.history_path.empty() && root)
                write_history(options_.history_path, result.history, options_.history_before);
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
    parallel::Communicator& comm() const { return *options_.communicator; }

    // This rank's rows of the global batch: forward, backward, then the gradients and the loss
    // summed over the ranks. The gradients travel in buckets of whole parameters, last
    // parameters first (backward completes them first); a bucket's sum starts as soon as its
    // parameters' gradients are complete (Var::backward's leaf_done), so it overlaps the rest of
    // backward (TrainerOptions::overlap_allreduce; otherwise all start after backward). Then one
    // small sum of a has-gradient flag per parameter and the loss. Returns the global batch's loss.
    double data_parallel_step(const Batch<T>& global, Rng& rng, const std::vector<Var<T>>& params) {
        const int p = comm().size();
        const parallel::Share mine = parallel::share_of(static_cast<std::size_t>(global.size()), comm().rank(), p);
        const Index plane = global.mask.numel() / global.size();
        // The share of the loss's denominator: valid cells, or for the tail-weighted MSE (a mean
        // weighted by w = 1 + lambda max(0, t - tau)) the valid cells' weights.
        const bool tail = options_.loss == LossKind::tail_mse;
        double valid_all = 0, valid_mine = 0;
        for (Index i = 0; i < global.mask.numel(); ++i) {
            const double w = !tail ? double(global.mask[i])
                                   : double(global.mask[i]) *
                                         (1.0 + options_.tail_lambda *
                                                    std::max(0.0, double(global.target[i]) - options_.tail_tau));
            valid_all += w;
            if (i / plane >= static_cast<Index>(mine.begin) && i / plane < static_cast<Index>(mine.end))
                valid_mine += w;
        }
        GradientBuckets& g = buckets(params);
        std::fill(flat_.begin(), flat_.end(), T(0));
        std::fill(g.done.begin(), g.done.end(), 0);
        std::size_t started = 0;  // buckets whose sum has started, in order
        const auto start_ready = [&](bool all) {
            while (started < g.first.size() - 1) {
                const std::size_t b0 = g.first[started], b1 = g.first[started + 1];
                const auto complete = [](char d) { return d != 0; };
                if (!all && !std::all_of(g.done.begin() + static_cast<std::ptrdiff_t>(b0),
                                         g.done.begin() + static_cast<std::ptrdiff_t>(b1), complete))
                    return;
                for (std::size_t j = b0; j < b1; ++j) {  // j-th parameter of the bucket order
                    const Var<T>& q = params[g.order[j]];
                    if (q.has_grad())
                        std::copy(q.grad().begin(), q.grad().end(), flat_.begin() + static_cast<std::ptrdiff_t>(g.offset[j]));
                }
                comm().start_allreduce_sum(flat_.data() + g.offset[b0], g.offset[b1] - g.offset[b0]);
                ++started;
            }
        };
        double value = 0;
        std::exception_ptr failure;
        try {
            if (mine.count() == 0) {  // a short last batch: nothing to compute, but dropout's draws
                rng_skip_batch(global, rng);
            } else {
                Batch<T> local = batch_rows(global, static_cast<Index>(mine.begin), static_cast<Index>(mine.end));
                local.mask_share = valid_all > 0 ? valid_mine / valid_all : 0.0;
                local.sample_share = double(mine.count()) / double(global.size());
                nn::ForwardMode mode{true, &rng, static_cast<Index>(mine.begin), global.size()};
                Var<T> loss = loss_(model_, local, mode);
                value = loss.value().item();
                if (!options_.overlap_allreduce) {
                    loss.backward();
                } else {
                    loss.backward(Tensor<T>(loss.shape(), T(1)), [&](const autograd::VarData<T>* leaf) {
                        const auto at = g.position.find(leaf);
                        if (at == g.position.end()) return;
                        g.done[at->second] = 1;
                        start_ready(false);
                        comm().progress();
                    });
                }
            }
        } catch (...) {
            failure = std::current_exception();
        }
        // Every rank starts every bucket, in order, whatever happened (a failed rank sends what
        // it has), so the ranks' collectives match; then they agree on failures.
        start_ready(true);
        comm().finish_allreduce_sums();
        parallel::rethrow_on_all_ranks(comm(), failure);
        std::vector<T> flags(params.size() + 1, T(0));
        for (std::size_t k = 0; k < params.size(); ++k) flags[k] = params[k].has_grad() ? T(1) : T(0);
        flags[params.size()] = static_cast<T>(value);
        comm().allreduce_sum(flags.data(), flags.size());
        for (std::size_t j = 0; j < g.order.size(); ++j) {
            const std::size_t k = g.order[j];
            if (flags[k] == T(0)) continue;
            Var<T> q = params[k];
            Tensor<T>& grad = q.mutable_grad();
            std::copy(flat_.begin() + static_cast<std::ptrdiff_t>(g.offset[j]),
                      flat_.begin() + static_cast<std::ptrdiff_t>(g.offset[j + 1]), grad.begin());
        }
        return double(flags[params.size()]);
    }

    // The layout of the flat gradient buffer: the parameters in reverse order (order[j] is the
    // parameter at position j, its values at [offset[j], offset[j + 1])), cut into buckets of
    // whole parameters of at least TrainerOptions::allreduce_bucket_elements values (bucket b:
    // positions first[b] .. first[b + 1] - 1). Made once per parameter list.
    struct GradientBuckets {
        std::vector<const autograd::VarData<T>*> key;  // the parameter list it was made for
        std::vector<std::size_t> order, offset, first;
        std::unordered_map<const autograd::VarData<T>*, std::size_t> position;
        std::vector<char> done;
    };
    GradientBuckets& buckets(const std::vector<Var<T>>& params) {
        std::vector<const autograd::VarData<T>*> key;
        for (const auto& q : params) key.push_back(q.data_ptr().get());
        if (key == buckets_.key) return buckets_;
        GradientBuckets g;
        g.key = key;
        g.offset.push_back(0);
        g.first.push_back(0);
        std::size_t in_bucket = 0;
        for (std::size_t j = 0; j < params.size(); ++j) {
            const std::size_t k = params.size() - 1 - j;
            const std::size_t m = static_cast<std::size_t>(params[k].value().numel());
            g.order.push_back(k);
            g.position[key[k]] = j;
            g.offset.push_back(g.offset.back() + m);
            in_bucket += m;
            if (in_bucket >= options_.allreduce_bucket_elements || j + 1 == params.size()) {
                g.first.push_back(j + 1);
                in_bucket = 0;
            }
        }
        g.done.assign(params.size(), 0);
        flat_.assign(g.offset.back(), T(0));
        buckets_ = std::move(g);
        return buckets_;
    }

    // A rank without rows (a short last batch) must still advance the dropout engine as the
    // others do. The draws depend only on the shapes, so it runs a forward of row 0, placed in
    // the whole global batch, without recording a graph, and discards the result.
    void rng_skip_batch(const Batch<T>& global, Rng& rng) {
        if (model_.config().dropout_rate == 0) return;
        NoGradGuard no_grad;
        const Batch<T> one = batch_rows(global, 0, 1);
        (void)model_.forward(Var<T>(one.input), nn::ForwardMode{true, &rng, 0, global.size()});
    }

    // Throws NumericalError on every rank when the ranks' weights differ.
    void check_replicas(int epoch, long step) {
        if (comm().size() == 1) return;
        std::uint64_t h = parallel::fnv1a(nullptr, 0);
        for (const auto& [name, t] : model_.state()) h = parallel::fnv1a(t.data(), sizeof(T) * static_cast<std::size_t>(t.numel()), h);
        for (const auto& q : extra_) h = parallel::fnv1a(q.value().data(), sizeof(T) * static_cast<std::size_t>(q.value().numel()), h);
        std::uint64_t root_hash = h;
        comm().broadcast(&root_hash, sizeof root_hash, 0);
        double differs = root_hash == h ? 0.0 : 1.0;
        comm().allreduce_sum(&differs, 1);
        if (differs != 0)
            throw NumericalError(maunet::detail::cat(
                options_.label, ": the weights of ", differs, " of ", comm().size(), " ranks differ from rank 0's at epoch ",
                epoch, ", step ", step, "; the ranks must run the same program on the same data"));
    }

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
    std::vector<T> flat_;  // the gradient buffer of data_parallel_step, kept between steps
    GradientBuckets buckets_;
};

}  // namespace maunet::train
