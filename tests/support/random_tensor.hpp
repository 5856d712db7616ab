// Test inputs: a tensor of the given shape with values uniform in [lo, hi) from a fixed seed.
#pragma once

#include <cstdint>
#include <utility>

#include "maunet/core/random.hpp"
#include "maunet/core/tensor.hpp"

namespace maunet::testing {

template <class T = double>
Tensor<T> random(Shape shape, std::uint64_t seed, T lo = T(-1), T hi = T(1)) {
    Rng rng(seed);
    return Tensor<T>::uniform(std::move(shape), rng, lo, hi);
}

}  // namespace maunet::testing
