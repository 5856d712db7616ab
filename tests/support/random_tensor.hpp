// Test inputs: a tensor of the given shape with values uniform in [lo, hi) from a fixed seed.
// random(shape, seed) is double; random<float>(shape, seed) float (lo and hi never choose T).
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

#include "maunet/core/random.hpp"
#include "maunet/core/tensor.hpp"

namespace maunet::testing {

template <class T = double>
Tensor<T> random(Shape shape, std::uint64_t seed, typename std::common_type<T>::type lo = T(-1),
                 typename std::common_type<T>::type hi = T(1)) {
    Rng rng(seed);
    return Tensor<T>::uniform(std::move(shape), rng, lo, hi);
}

}  // namespace maunet::testing
