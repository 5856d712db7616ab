// maunet/train/distiller.hpp: knowledge distillation from a trained teacher (MAUNet) into a
// student (MAUNet-Light), then knowledge refinement (docs/models.md, Losses).
//
// Distillation loss for a batch with observations y, mask m, student output s = S(x) and
// teacher output t = T(x) (teacher frozen, in eval mode, run without recording a graph):
//
//   L = a * MSE_m(s, y) + (1 - a) * MSE_m(s, t) + b * sum_l MSE(A_l(f_l^S), f_l^T)
//
// where f_l are the features at the chosen levels (0 = bottleneck, 1..L = decoder levels,
// deepest first) and A_l a trainable 1x1 convolution from the student's width to the
// teacher's. Gradients: dL/ds = 2/|m| * m * (a (s - y) + (1 - a)(s - t)); t is a constant (the
// teacher's forward ran under NoGradGuard, so no node links it to the teacher's weights), hence
// the teacher receives no gradient and does not change. The adapters receive gradients only
// from the hint term; they exist only during distillation and are not part of the saved
// student. With a = 1 and b = 0 the teacher is not even run: the loss, and so every step, is
// exactly that of plain supervised training.
//
// Refinement (our reading of MAUNet-Light_KR): after distillation, train the student on the
// observations alone (a = 1, b = 0) at refine_lr_factor (1/10) of the learning rate.
//
// Which weights are kept: each stage keeps its best epoch by the supervised validation loss
// (MSE against the observations, the same measure in both stages); the student then ends with
// the better of the two stages' best, so a refinement that does not improve on distillation
// is undone (DistillResult::kept says which). Without a validation set the training set
// judges. The history file holds both stages, one row an epoch, with a stage column.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "maunet/nn/layers/conv.hpp"
#include "maunet/train/trainer.hpp"

namespace maunet::train {

struct DistillerOptions {
    double alpha = 0.5;             // a: weight of the observation term
    double hint_weight = 0.0;       // b: weight of the feature hints (0 = off)
    std::vector<int> hint_levels;   // feature indices (0 = bottleneck, 1.. decoder levels); empty = all
    bool cache_teacher = true;      // keep teacher outputs per training field (whole-field batches only)
    TrainerOptions trainer;         // epochs, learning rate, loader, ... of the distillation stage
    int refine_epochs = 0;          // knowledge refinement epochs after distillation (0 = none)
    double refine_lr_factor = 0.1;  // refinement learning rate = this * trainer.learning_rate
};

struct DistillResult {
    TrainResult distillation;
    TrainResult refinement;  // empty history when refine_epochs == 0
    // Supervised loss (validation set, else training set) of each stage's best weights, and
    // the stage whose weights the student ends with.
    double distilled_loss = 0, refined_loss = 0;
    std::string kept = "distillation";
};

template <class T>
class Distiller {
public:
    // The teacher is frozen for the distiller's lifetime (requires_grad off, eval mode) and
    // restored to trainable afterwards.
    Distiller(nn::UNet<T>& teacher, nn::UNet<T>& student, DistillerOptions options)
        : teacher_(teacher), student_(student), options_(std::move(options)) {
        require(options_.alpha >= 0 && options_.alpha <= 1, "Distiller: alpha must be in [0, 1], got ", options_.alpha);
        require(options_.hint_weight >= 0, "Distiller: hint_weight must be >= 0, got ", options_.hint_weight);
        require(options_.refine_epochs >= 0, "Distiller: refine_epochs must be >= 0, got ", options_.refine_epochs);
        require(options_.refine_lr_factor > 0, "Distiller: refine_lr_factor must be > 0, got ", options_.refine_lr_factor);
        const auto& comm = options_.trainer.communicator;
        require(!comm || comm->size() == 1 || options_.trainer.loss != LossKind::tail_mse || options_.alpha == 1,
                "Distiller: data-parallel distillation with the tail-weighted MSE is not supported (its share of a "
                "batch is by weight, the teacher term's by cell); use one rank, alpha = 1 or another loss");
        const auto& tc = teacher.config();
        const auto& sc = student.config();
        require(tc.in_channels == sc.in_channels && tc.out_channels == sc.out_channels,
                "Distiller: teacher and student must have the same input and output channels, got ", tc.in_channels,
                "->", tc.out_channels, " and ", sc.in_channels, "->", sc.out_channels);
        if (options_.hint_weight > 0) {
            require(tc.levels == sc.levels, "Distiller: feature hints need the same number of levels, got ", tc.levels,
                    " (teacher) and ", sc.levels, " (student)");
            if (options_.hint_levels.empty())
                for (int l = 0; l <= tc.levels; ++l) options_.hint_levels.push_back(l);
            Rng rng(options_.trainer.seed ^ 0xADA9ULL);
            for (int l : options_.hint_levels) {
                require(l >= 0 && l <= tc.levels, "Distiller: hint level ", l, " is not in [0, ", tc.levels, "]");
                adapters_.push_back(std::make_unique<nn::Conv2d<T>>(feature_width(sc, l), feature_width(tc, l), 1, rng));
            }
        }
    }

    // Channels of feature l: 0 is the bottleneck (width L), l >= 1 the decoder level L - l.
    static Index feature_width(const nn::UNetConfig& c, int l) { return c.width(l == 0 ? c.levels : c.levels - l); }

    // Trainable adapter parameters (empty without hints).
    std::vector<Var<T>> adapter_parameters() const {
        std::vector<Var<T>> out;
        for (const auto& a : adapters_)
            for (auto& p : a->parameters()) out.push_back(p);
        return out;
    }

    // The distillation loss of the student on one batch (normalised space).
    Var<T> loss(const nn::UNet<T>& student, const Batch<T>& batch, const nn::ForwardMode& mode) {
        const bool need_teacher = options_.alpha < 1;
        const bool hints = options_.hint_weight > 0;
        std::vector<Var<T>> student_features;
        Var<T> s = student.forward(Var<T>(batch.input), mode, hints ? &student_features : nullptr);
        Var<T> total = Trainer<T>::output_loss(options_.trainer, s, batch);  // the trainer's loss: MSE by default
        // Data parallel (train/trainer.hpp): the masked terms are this rank's share of the global
        // batch's by valid cells, the hint terms (means over all elements) by rows.
        const auto share = [](const Var<T>& v, double f) { return f == 1.0 ? v : v * static_cast<T>(f); };
        if (!need_teacher && !hints) return share(total, batch.mask_share);  // exactly plain training
        if (options_.alpha != 1) total = total * static_cast<T>(options_.alpha);

        Tensor<T> teacher_out;
        std::vector<Var<T>> teacher_features;
        if (hints || !cached(batch, teacher_out)) {
            NoGradGuard no_grad;
            teacher_out = teacher_.forward(Var<T>(batch.input), nn::ForwardMode{false, nullptr},
                                           hints ? &teacher_features : nullptr)
                              .value();
            store(batch, teacher_out);
        }
        if (need_teacher)
            total = total + mse_loss(s, Var<T>(teacher_out), channel_mask(batch.mask, s.shape()[1])) *
                                static_cast<T>(1 - options_.alpha);
        total = share(total, batch.mask_share);
        if (hints) {
            for (std::size_t k = 0; k < adapters_.size(); ++k) {
                const auto l = static_cast<std::size_t>(options_.hint_levels[k]);
                Var<T> mapped = adapters_[k]->forward(student_features[l]);
                total = total + share(mse_loss(mapped, teacher_features[l]) * static_cast<T>(options_.hint_weight),
                                      batch.sample_share);
            }
        }
        return total;
    }

    // Distillation, then refinement; the student ends with the best weights of either stage.
    DistillResult fit(const Dataset<T>& train, const Dataset<T>& val) {
        cache_.clear();
        DistillResult result;
        const Dataset<T>& judge = val.empty() ? train : val;
        {
            Freeze freeze(teacher_);
            TrainerOptions distill = options_.trainer;
            distill.stage = "distillation";
            Trainer<T> trainer(student_, distill);
            trainer.set_loss([this](const nn::UNet<T>& s, const Batch<T>& b, const nn::ForwardMode& m) {
                return loss(s, b, m);
            });
            trainer.add_parameters(adapter_parameters());
            result.distillation = trainer.fit(train, val);
            result.distilled_loss = trainer.evaluate_loss(judge);
        }
        cache_.clear();
        if (options_.refine_epochs > 0) {
            const typename nn::Module<T>::State distilled = student_.state();
            TrainerOptions refine = options_.trainer;
            refine.epochs = options_.refine_epochs;
            refine.learning_rate *= options_.refine_lr_factor;
            refine.min_lr *= options_.refine_lr_factor;
            refine.label = options_.trainer.label + "-refine";
            refine.stage = "refinement";
            refine.history_before = result.distillation.history;
            Trainer<T> trainer(student_, refine);
            result.refinement = trainer.fit(train, val);
            result.refined_loss = trainer.evaluate_loss(judge);
            if (result.refined_loss < result.distilled_loss) {
                result.kept = "refinement";
            } else {
                student_.load_state(distilled);  // refinement did not help: undo it
                student_.eval();
            }
        }
        return result;
    }

    const DistillerOptions& options() const { return options_; }

private:
    // Frozen for the scope: no gradients for the teacher's weights, eval mode; the previous
    // requires_grad setting is restored afterwards.
    struct Freeze {
        explicit Freeze(nn::UNet<T>& t) : teacher(t), was_trainable(t.parameters().front().requires_grad()) {
            teacher.set_requires_grad(false);
            teacher.eval();
        }
        ~Freeze() { teacher.set_requires_grad(was_trainable); }
        nn::UNet<T>& teacher;
        bool was_trainable;
    };

    // The batch's mask [N, 1, H, W] repeated over C output channels (a Bernoulli-gamma network
    // has 3: the student imitates each of the teacher's parameters).
    static Tensor<T> channel_mask(const Tensor<T>& mask, Index C) {
        if (mask.numel() == 0 || C == mask.dim(1)) return mask;
        const Index N = mask.dim(0), plane = mask.dim(2) * mask.dim(3);
        Tensor<T> out(Shape{N, C, mask.dim(2), mask.dim(3)});
        for (Index n = 0; n < N; ++n)
            for (Index c = 0; c < C; ++c) std::copy(mask.begin() + n * plane, mask.begin() + (n + 1) * plane, out.begin() + (n * C + c) * plane);
        return out;
    }

    bool cacheable(const Batch<T>& b) const {
        return options_.cache_teacher && options_.trainer.loader.patch_size == 0 && !b.indices.empty();
    }
    bool cached(const Batch<T>& b, Tensor<T>& out) const {
        if (!cacheable(b)) return false;
        for (std::size_t i : b.indices)
            if (!cache_.count(i)) return false;
        const Index plane = b.target.numel() / b.target.dim(0);
        out = Tensor<T>(b.target.shape());
        for (std::size_t k = 0; k < b.indices.size(); ++k) {
            const Tensor<T>& t = cache_.at(b.indices[k]);
            std::copy(t.begin(), t.end(), out.begin() + static_cast<Index>(k) * plane);
        }
        return true;
    }
    void store(const Batch<T>& b, const Tensor<T>& out) {
        if (!cacheable(b)) return;
        const Index plane = out.numel() / out.dim(0);
        for (std::size_t k = 0; k < b.indices.size(); ++k) {
            Tensor<T> t(Shape{1, out.dim(1), out.dim(2), out.dim(3)});
            std::copy(out.begin() + static_cast<Index>(k) * plane, out.begin() + static_cast<Index>(k + 1) * plane, t.begin());
            cache_[b.indices[k]] = std::move(t);
        }
    }

    nn::UNet<T>& teacher_;
    nn::UNet<T>& student_;
    DistillerOptions options_;
    std::vector<std::unique_ptr<nn::Conv2d<T>>> adapters_;
    std::map<std::size_t, Tensor<T>> cache_;
};

}  // namespace maunet::train
