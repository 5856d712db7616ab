// maunet/nn/layers/batch_norm.hpp: BatchNorm2d, as PyTorch's (affine, running statistics).
//
// Buffers "running_mean" and "running_var" are saved with the model. In training mode the
// forward pass updates them, so training is not thread-safe; inference only reads them.
#pragma once

#include "maunet/autograd/ops/batch_norm.hpp"
#include "maunet/nn/module.hpp"

namespace maunet::nn {

template <class T>
class BatchNorm2d : public Module<T> {
public:
    explicit BatchNorm2d(Index channels, T momentum = T(0.1), T eps = T(1e-5)) {
        require(channels >= 1, "BatchNorm2d: channels must be >= 1, got ", channels);
        weight_ = this->register_parameter("weight", Tensor<T>(Shape{channels}, T(1)));
        bias_ = this->register_parameter("bias", Tensor<T>(Shape{channels}, T(0)));
        state_.running_mean = Tensor<T>(Shape{channels}, T(0));
        state_.running_var = Tensor<T>(Shape{channels}, T(1));
        state_.momentum = momentum;
        state_.eps = eps;
        this->register_buffer("running_mean", &state_.running_mean);
        this->register_buffer("running_var", &state_.running_var);
    }
    Var<T> forward(const Var<T>& x, const ForwardMode& mode) const {
        return batch_norm2d(x, weight_, bias_, state_, mode.training);
    }

private:
    Var<T> weight_, bias_;
    mutable BatchNormState<T> state_;  // updated by training forward passes only
};

}  // namespace maunet::nn
