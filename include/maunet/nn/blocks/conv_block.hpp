// maunet/nn/blocks/conv_block.hpp: ConvBlock(c_in, c_out) = 3x3 conv -> [BN] -> ReLU -> 3x3 conv
// -> [BN] -> ReLU, zero "same" padding (docs/models.md, Building blocks).
#pragma once

#include <memory>

#include "maunet/autograd/ops/activation.hpp"
#include "maunet/nn/layers/batch_norm.hpp"
#include "maunet/nn/layers/conv.hpp"

namespace maunet::nn {

template <class T>
class ConvBlock : public Module<T> {
public:
    ConvBlock(Index in_channels, Index out_channels, Rng& rng, bool batch_norm = false) {
        const Conv2dOptions same{1, 1};
        // With batch norm the conv bias is redundant (BN subtracts the mean), as in PyTorch U-Nets.
        conv1_ = &this->register_module("conv1",
                                        std::make_unique<Conv2d<T>>(in_channels, out_channels, 3, rng, same, !batch_norm));
        if (batch_norm) bn1_ = &this->register_module("bn1", std::make_unique<BatchNorm2d<T>>(out_channels));
        conv2_ = &this->register_module("conv2",
                                        std::make_unique<Conv2d<T>>(out_channels, out_channels, 3, rng, same, !batch_norm));
        if (batch_norm) bn2_ = &this->register_module("bn2", std::make_unique<BatchNorm2d<T>>(out_channels));
    }

    Var<T> forward(const Var<T>& x, const ForwardMode& mode) const {
        if (!bn1_) return conv2_->forward_relu(conv1_->forward_relu(x));  // conv + ReLU fused
        Var<T> h = relu(bn1_->forward(conv1_->forward(x), mode));
        return relu(bn2_->forward(conv2_->forward(h), mode));
    }

private:
    Conv2d<T>* conv1_ = nullptr;
    Conv2d<T>* conv2_ = nullptr;
    BatchNorm2d<T>* bn1_ = nullptr;
    BatchNorm2d<T>* bn2_ = nullptr;
};

}  // namespace maunet::nn
