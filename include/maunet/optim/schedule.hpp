// maunet/optim/schedule.hpp: learning-rate schedules as pure functions of the step index.
//
// A schedule maps a step (or epoch) index s = 0, 1, 2, ... to a learning rate; the trainer
// calls optimizer.set_lr(schedule.lr_at(s)). Being pure functions, they need no state in a
// checkpoint: resuming at step s gives the same rate.
//
//   ConstantLR:  lr(s) = base_lr
//   StepLR:      lr(s) = base_lr * gamma^floor(s / step_size)            (PyTorch's StepLR)
//   CosineLR:    with warm-up W and total S,
//                lr(s) = base_lr * (s + 1) / W                            for s < W
//                lr(s) = min_lr + (base_lr - min_lr) * (1 + cos(pi * (s - W) / (S - W))) / 2
//                                                                          for W <= s <= S
//                lr(s) = min_lr                                            for s > S
//                (the cosine part is PyTorch's CosineAnnealingLR with T_max = S - W in closed
//                form; the warm-up reaches base_lr at its last step s = W - 1.)
#pragma once

#include <cmath>
#include <memory>

#include "maunet/core/errors.hpp"

namespace maunet::optim {

class LRSchedule {
public:
    virtual ~LRSchedule() = default;
    // The learning rate at step (or epoch) `step` >= 0.
    virtual double lr_at(long step) const = 0;

protected:
    static void check_step(const char* who, long step) {
        require(step >= 0, who, "::lr_at: expected a step index >= 0, got ", step);
    }
    static void check_base(const char* who, double base_lr) {
        require(std::isfinite(base_lr) && base_lr > 0.0, who, ": expected a base learning rate > 0, got ", base_lr);
    }
};

class ConstantLR : public LRSchedule {
public:
    explicit ConstantLR(double base_lr) : base_lr_(base_lr) { check_base("ConstantLR", base_lr); }
    double lr_at(long step) const override {
        check_step("ConstantLR", step);
        return base_lr_;
    }

private:
    double base_lr_;
};

class StepLR : public LRSchedule {
public:
    StepLR(double base_lr, long step_size, double gamma = 0.1)
        : base_lr_(base_lr), step_size_(step_size), gamma_(gamma) {
        check_base("StepLR", base_lr);
        require(step_size >= 1, "StepLR: expected a step size >= 1, got ", step_size);
        require(std::isfinite(gamma) && gamma > 0.0, "StepLR: expected a decay factor gamma > 0, got ", gamma);
    }
    double lr_at(long step) const override {
        check_step("StepLR", step);
        return base_lr_ * std::pow(gamma_, static_cast<double>(step / step_size_));
    }

private:
    double base_lr_;
    long step_size_;
    double gamma_;
};

class CosineLR : public LRSchedule {
public:
    CosineLR(double base_lr, long total_steps, double min_lr = 0.0, long warmup_steps = 0)
        : base_lr_(base_lr), total_steps_(total_steps), min_lr_(min_lr), warmup_steps_(warmup_steps) {
        check_base("CosineLR", base_lr);
        require(total_steps >= 1, "CosineLR: expected total_steps >= 1, got ", total_steps);
        require(std::isfinite(min_lr) && min_lr >= 0.0 && min_lr <= base_lr,
                "CosineLR: expected min_lr in [0, base_lr = ", base_lr, "], got ", min_lr);
        require(warmup_steps >= 0 && warmup_steps < total_steps, "CosineLR: expected warmup_steps in [0, total_steps = ",
                total_steps, "), got ", warmup_steps);
    }
    double lr_at(long step) const override {
        check_step("CosineLR", step);
        if (step < warmup_steps_)
            return base_lr_ * static_cast<double>(step + 1) / static_cast<double>(warmup_steps_);
        if (step >= total_steps_) return min_lr_;
        const double pi = 3.14159265358979323846;
        const double progress =
            static_cast<double>(step - warmup_steps_) / static_cast<double>(total_steps_ - warmup_steps_);
        return min_lr_ + (base_lr_ - min_lr_) * 0.5 * (1.0 + std::cos(pi * progress));
    }

private:
    double base_lr_;
    long total_steps_;
    double min_lr_;
    long warmup_steps_;
};

}  // namespace maunet::optim
