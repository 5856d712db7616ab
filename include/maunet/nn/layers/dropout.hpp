// maunet/nn/layers/dropout.hpp: Dropout, inverted (scaled by 1/(1-p) in training), identity
// in inference unless the pass samples dropout (ForwardMode::sample_dropout, MC dropout).
#pragma once

#include "maunet/autograd/ops/dropout.hpp"
#include "maunet/nn/module.hpp"

namespace maunet::nn {

template <class T>
class Dropout : public Module<T> {
public:
    explicit Dropout(T rate) : rate_(rate) {
        require(rate >= T(0) && rate <= T(1), "Dropout: rate must be in [0, 1], got ", rate);
    }
    Var<T> forward(const Var<T>& x, const ForwardMode& mode) const {
        if (!(mode.training || mode.sample_dropout) || rate_ == T(0)) return x;
        require(mode.rng != nullptr, "Dropout: ", mode.training ? "training" : "sampling", " with rate ", rate_,
                " needs a random engine (ForwardMode::rng is null)");
        if (mode.batch_total == 0) return dropout(x, rate_, *mode.rng, true);
        // Rows [offset, offset + N) of a global batch: skip the draws of the rows before and after.
        const Index n = x.shape()[0], per_row = x.value().numel() / (n > 0 ? n : 1);
        require(mode.batch_offset >= 0 && mode.batch_offset + n <= mode.batch_total, "Dropout: rows [",
                mode.batch_offset, ", ", mode.batch_offset + n, ") are not inside a batch of ", mode.batch_total);
        return dropout(x, rate_, *mode.rng, true, mode.batch_offset * per_row,
                       (mode.batch_total - mode.batch_offset - n) * per_row);
    }
    T rate() const { return rate_; }

private:
    T rate_;
};

}  // namespace maunet::nn
