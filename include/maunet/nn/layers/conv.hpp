// maunet/nn/layers/conv.hpp: the Conv2d and ConvTranspose2d layers.
//
// Weight layouts follow PyTorch: Conv2d weight [C_out, C_in, k, k], ConvTranspose2d weight
// [C_in, C_out, k, k], bias [C_out]; initialised as PyTorch does (see nn/init.hpp).
#pragma once

#include <memory>

#include "maunet/autograd/ops/conv2d.hpp"
#include "maunet/autograd/ops/conv_transpose2d.hpp"
#include "maunet/nn/init.hpp"
#include "maunet/nn/module.hpp"

namespace maunet::nn {

template <class T>
class Conv2d : public Module<T> {
public:
    Conv2d(Index in_channels, Index out_channels, Index kernel, Rng& rng, Conv2dOptions options = {},
           bool with_bias = true)
        : options_(options) {
        require(in_channels >= 1 && out_channels >= 1 && kernel >= 1, "Conv2d: channels and kernel must be >= 1, got ",
                in_channels, " -> ", out_channels, " with kernel ", kernel);
        const Shape ws{out_channels, in_channels, kernel, kernel};
        const Index fan_in = fan_in_of(ws);
        weight_ = this->register_parameter("weight", uniform_init<T>(ws, fan_in, rng));
        if (with_bias) bias_ = this->register_parameter("bias", uniform_init<T>(Shape{out_channels}, fan_in, rng));
    }
    Var<T> forward(const Var<T>& x) const { return conv2d(x, weight_, bias_, options_); }
    // relu(forward(x)) as one fused op (conv2d_relu).
    Var<T> forward_relu(const Var<T>& x) const { return conv2d_relu(x, weight_, bias_, options_); }

    const Var<T>& weight() const { return weight_; }
    const Var<T>& bias() const { return bias_; }
    const Conv2dOptions& options() const { return options_; }

private:
    Conv2dOptions options_;
    Var<T> weight_, bias_;
};

template <class T>
class ConvTranspose2d : public Module<T> {
public:
    ConvTranspose2d(Index in_channels, Index out_channels, Index kernel, Rng& rng,
                    ConvTranspose2dOptions options = {}, bool with_bias = true)
        : options_(options) {
        require(in_channels >= 1 && out_channels >= 1 && kernel >= 1,
                "ConvTranspose2d: channels and kernel must be >= 1, got ", in_channels, " -> ", out_channels,
                " with kernel ", kernel);
        const Shape ws{in_channels, out_channels, kernel, kernel};
        const Index fan_in = fan_in_of(ws);
        weight_ = this->register_parameter("weight", uniform_init<T>(ws, fan_in, rng));
        if (with_bias) bias_ = this->register_parameter("bias", uniform_init<T>(Shape{out_channels}, fan_in, rng));
    }
    Var<T> forward(const Var<T>& x) const { return conv_transpose2d(x, weight_, bias_, options_); }

    const Var<T>& weight() const { return weight_; }
    const Var<T>& bias() const { return bias_; }

private:
    ConvTranspose2dOptions options_;
    Var<T> weight_, bias_;
};

}  // namespace maunet::nn
