// maunet/nn/layers/dropout.hpp: Dropout, inverted (scaled by 1/(1-p) in training), identity
// in inference.
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
        if (!mode.training || rate_ == T(0)) return x;
        require(mode.rng != nullptr, "Dropout: training with rate ", rate_,
                " needs a random engine (ForwardMode::rng is null)");
        return dropout(x, rate_, *mode.rng, true);
    }
    T rate() const { return rate_; }

private:
    T rate_;
};

}  // namespace maunet::nn
