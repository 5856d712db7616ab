// maunet/core/isa/simd.hpp: the vector helpers of simd.inl (Simd<T>, splat, shuffle_lanes, ...)
// defined once per instruction set, in maunet::detail::generic and maunet::detail::avx2
// (region.hpp), for the kernel bodies that follow them there.
#pragma once

#include <cstdint>
#include <type_traits>

// <immintrin.h> for the broadcasts of splat (usable in the AVX2 target region), through eigen.hpp so
// that its AVX-512 warnings stay silenced.
#include "maunet/core/eigen.hpp"

#include "maunet/core/shape.hpp"

#define MAUNET_ISA_BODY "maunet/core/isa/simd.inl"
#include "maunet/core/isa/instantiate.inl"
