// maunet/nn/init.hpp: PyTorch's default initialisation, drawn from a seeded maunet::Rng.
//
// PyTorch's Conv2d and ConvTranspose2d call kaiming_uniform_(w, a = sqrt(5)), which works out
// to w ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)): gain = sqrt(2 / (1 + a^2)) = sqrt(1/3), and
// bound = gain * sqrt(3 / fan_in) = 1 / sqrt(fan_in). Biases use the same bound. fan_in is
// computed from dimension 1 of the weight times the kernel area, so for a transposed conv
// (weight [C_in, C_out, k, k]) it is C_out * k * k, as in PyTorch.
#pragma once

#include <cmath>

#include "maunet/core/random.hpp"
#include "maunet/core/tensor.hpp"

namespace maunet::nn {

// fan_in of a weight tensor the way torch.nn.init._calculate_fan_in_and_fan_out computes it.
inline Index fan_in_of(const Shape& weight_shape) {
    Index receptive = 1;
    for (std::size_t i = 2; i < weight_shape.rank(); ++i) receptive *= weight_shape[i];
    return weight_shape[1] * receptive;
}

template <class T>
Tensor<T> uniform_init(const Shape& shape, Index fan_in, Rng& rng) {
    const T bound = T(1) / std::sqrt(static_cast<T>(fan_in));
    return Tensor<T>::uniform(shape, rng, -bound, bound);
}

}  // namespace maunet::nn
