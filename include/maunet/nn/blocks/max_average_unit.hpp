// maunet/nn/blocks/max_average_unit.hpp: the Max-Average Unit (MAU), MAUNet's encoder
// downsampling (docs/models.md):
//   mean     y = (maxpool2x2(x) + avgpool2x2(x)) / 2                       (default, no parameters)
//   concat   y = conv1x1([maxpool2x2(x), avgpool2x2(x)]) back to C channels ("proj")
//   learned  y = sigmoid(w) * max + (1 - sigmoid(w)) * avg, one w per channel ("weight", init 0,
//            so training starts from the mean mode)
//   max      y = maxpool2x2(x)   (the plain U-Net)
//   avg      y = avgpool2x2(x)
#pragma once

#include <memory>

#include "maunet/autograd/ops/max_average_pool.hpp"
#include "maunet/nn/layers/conv.hpp"

namespace maunet::nn {

template <class T>
class MaxAverageUnit : public Module<T> {
public:
    MaxAverageUnit(Index channels, PoolMode mode, Rng& rng) : mode_(mode) {
        require(channels >= 1, "MaxAverageUnit: channels must be >= 1, got ", channels);
        if (mode == PoolMode::concat) proj_ = &this->register_module("proj", std::make_unique<Conv2d<T>>(2 * channels, channels, 1, rng));
        if (mode == PoolMode::learned) weight_ = this->register_parameter("weight", Tensor<T>(Shape{channels}, T(0)));
    }

    Var<T> forward(const Var<T>& x) const {
        Var<T> y = max_average_pool2d(x, mode_, weight_);
        return proj_ ? proj_->forward(y) : y;
    }
    PoolMode mode() const { return mode_; }

private:
    PoolMode mode_;
    Conv2d<T>* proj_ = nullptr;
    Var<T> weight_;
};

}  // namespace maunet::nn
