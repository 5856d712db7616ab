// maunet/nn/blocks/upsampler_unit.hpp: the UpSampler Unit (USU), MAUNet's decoder upsampling
// from c_in to c_out channels (docs/models.md):
//   mean         u = (convT2x2_stride2(x) + conv3x3(bilinear_upsample2x(x))) / 2   (default)
//   transposed   u = convT2x2_stride2(x)                                            (plain U-Net)
//   resize_conv  u = conv3x3(bilinear_upsample2x(x))
// then y = ConvBlock(2 c_out, c_out)(concat(u, skip)) with the encoder's skip tensor.
#pragma once

#include <memory>

#include "maunet/autograd/ops/elementwise.hpp"
#include "maunet/autograd/ops/shape_ops.hpp"
#include "maunet/autograd/ops/upsample.hpp"
#include "maunet/nn/blocks/conv_block.hpp"

namespace maunet::nn {

enum class UpsampleMode { mean, transposed, resize_conv };

inline const char* to_string(UpsampleMode mode) {
    switch (mode) {
        case UpsampleMode::mean: return "mean";
        case UpsampleMode::transposed: return "transposed";
        case UpsampleMode::resize_conv: return "resize_conv";
    }
    return "?";
}

template <class T>
class UpSamplerUnit : public Module<T> {
public:
    UpSamplerUnit(Index in_channels, Index out_channels, UpsampleMode mode, Rng& rng, bool batch_norm = false)
        : mode_(mode) {
        if (mode != UpsampleMode::resize_conv)
            up_ = &this->register_module("up", std::make_unique<ConvTranspose2d<T>>(in_channels, out_channels, 2, rng,
                                                                                    ConvTranspose2dOptions{2, 0, 0}));
        if (mode != UpsampleMode::transposed)
            resize_conv_ = &this->register_module(
                "resize_conv", std::make_unique<Conv2d<T>>(in_channels, out_channels, 3, rng, Conv2dOptions{1, 1}));
        block_ = &this->register_module("block",
                                        std::make_unique<ConvBlock<T>>(2 * out_channels, out_channels, rng, batch_norm));
    }

    Var<T> forward(const Var<T>& x, const Var<T>& skip, const ForwardMode& mode) const {
        Var<T> u;
        if (up_ && resize_conv_)
            u = (up_->forward(x) + resize_conv_->forward(upsample_bilinear2d(x, 2))) * T(0.5);
        else if (up_)
            u = up_->forward(x);
        else
            u = resize_conv_->forward(upsample_bilinear2d(x, 2));
        require_shape(u.shape()[2] == skip.shape()[2] && u.shape()[3] == skip.shape()[3],
                      "UpSamplerUnit: upsampled tensor ", u.shape(), " does not match the skip tensor ", skip.shape());
        return block_->forward(concat<T>({u, skip}, 1), mode);
    }
    UpsampleMode mode() const { return mode_; }

private:
    UpsampleMode mode_;
    ConvTranspose2d<T>* up_ = nullptr;
    Conv2d<T>* resize_conv_ = nullptr;
    ConvBlock<T>* block_ = nullptr;
};

}  // namespace maunet::nn
