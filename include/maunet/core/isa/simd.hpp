// maunet/core/isa/simd.hpp: the vector helpers of simd.inl (Simd<T>, splat, shuffle_lanes, ...)
// defined once per instruction set, in maunet::detail::generic and maunet::detail::avx2
// (region.hpp), for the kernel bodies that follow them there.
#pragma once

#include <cstdint>
#include <type_traits>

#include "maunet/core/shape.hpp"

#define MAUNET_ISA_BODY "maunet/core/isa/simd.inl"
#include "maunet/core/isa/instantiate.inl"
