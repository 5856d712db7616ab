// maunet/core/isa/region.hpp: compiling one header's kernels once per instruction set.
//
// A header with ISA-dependent kernels puts them in a body file without include guard and includes
// it through instantiate.inl, which defines them three times:
//   maunet::detail::generic   16-byte vectors, compiled for whatever -march the program uses
//   maunet::detail::avx2      32-byte vectors, compiled for AVX2 + FMA by a target region
//   maunet::detail::avx512    64-byte vectors, compiled for AVX-512 (F, VL, DQ, BW) + FMA
// A target region (GCC: #pragma GCC target, Clang: #pragma clang attribute) gives every
// function defined in it, template and lambda alike, its target, independent of the
// command line; the functions declared outside (std::, threading.hpp) stay baseline and may be
// inlined into it. The namespaces keep the instantiations apart (no ODR clash: the linker can
// never substitute the AVX2 or AVX-512 copy of a function for the generic one). Dispatchers outside the
// namespaces pick one per call with maunet::kernel_isa() (cpu_isa.hpp).
//
// Why target attributes and not per-ISA translation units: the library stays header-only (nothing
// to link), and no template shared by both copies (std::, Eigen) is compiled with AVX2 in one
// object and picked by the linker for the other. The price: Eigen chooses its vectors by
// preprocessor macros, not by the target region, so the AVX2 GEMM is maunet's own (gemm_kernel.inl).
#pragma once

#if defined(__clang__)
#if __clang_major__ < 14
#error "maunet needs Clang 14 or newer"
#endif
#elif defined(__GNUC__) && __GNUC__ < 11
#error "maunet needs GCC 11 or newer"
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define MAUNET_HAVE_AVX2_KERNELS 1
#if defined(__clang__)
#define MAUNET_TARGET_AVX2_BEGIN \
    _Pragma("clang attribute push(__attribute__((target(\"avx2,fma\"))), apply_to = function)")
#define MAUNET_TARGET_AVX2_END _Pragma("clang attribute pop")
#else
#define MAUNET_TARGET_AVX2_BEGIN _Pragma("GCC push_options") _Pragma("GCC target(\"avx2,fma\")")
#define MAUNET_TARGET_AVX2_END _Pragma("GCC pop_options")
#endif
// AVX-512 foundation, with the 128/256-bit forms (VL), the double/quad-word (DQ) and byte/word
// (BW) instructions: every AVX-512 CPU since Skylake-SP (and Zen 4) has all four. AVX-512F
// implies AVX2 for both compilers.
#define MAUNET_HAVE_AVX512_KERNELS 1
#if defined(__clang__)
#define MAUNET_TARGET_AVX512_BEGIN \
    _Pragma("clang attribute push(__attribute__((target(\"avx512f,avx512vl,avx512dq,avx512bw,fma\"))), apply_to = function)")
#define MAUNET_TARGET_AVX512_END _Pragma("clang attribute pop")
#else
#define MAUNET_TARGET_AVX512_BEGIN \
    _Pragma("GCC push_options") _Pragma("GCC target(\"avx512f,avx512vl,avx512dq,avx512bw,fma\")")
#define MAUNET_TARGET_AVX512_END _Pragma("GCC pop_options")
#endif
#else
#define MAUNET_HAVE_AVX2_KERNELS 0
#define MAUNET_HAVE_AVX512_KERNELS 0
#endif
