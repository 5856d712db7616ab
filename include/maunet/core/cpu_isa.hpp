// maunet/core/cpu_isa.hpp: which instruction set the hand-written kernels run with, chosen once
// per process from the CPU (cpuid) and the environment variable MAUNET_ISA.
//
// The kernels (direct and Winograd convolution, the packed GEMM) are compiled for every
// instruction set in every program, whatever -march it is built with (target attributes, see
// maunet/core/isa/region.hpp), so a program built for baseline x86-64 still runs AVX2 + FMA
// code on a CPU that has it, and the same binary runs on a CPU that does not.
//
//   Isa::generic  SSE2 (every x86-64; 16-byte vectors), or the compiler's scalar/vector
//                 lowering on other architectures
//   Isa::avx2     AVX2 + FMA (32-byte vectors)
//   Isa::avx512   AVX-512 F + VL + DQ + BW with FMA (64-byte vectors)
//
// MAUNET_ISA=generic|avx2|avx512 overrides the choice (tests, benchmarks, a cluster whose nodes
// differ); asking for an instruction set the CPU lacks is an error (ArgumentError when the
// kernels are first used), never an illegal instruction.
#pragma once

#include <atomic>
#include <cstdlib>
#include <string>

#include "maunet/core/errors.hpp"

namespace maunet {

enum class Isa { generic = 0, avx2 = 1, avx512 = 2 };

inline const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::avx2: return "avx2";
        case Isa::avx512: return "avx512";
        default: return "generic";
    }
}

// The best instruction set this CPU runs (cpuid, through the compiler's CPU model).
inline Isa detected_isa() {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("fma"))
        return Isa::avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
#endif
    return Isa::generic;
}

inline bool isa_supported(Isa isa) { return static_cast<int>(isa) <= static_cast<int>(detected_isa()); }

// Parses a MAUNET_ISA value; throws ArgumentError naming the variable for an unknown name or an
// instruction set this CPU does not have.
inline Isa parse_isa(const std::string& name, const char* source = "MAUNET_ISA") {
    Isa isa;
    if (name == "generic")
        isa = Isa::generic;
    else if (name == "avx2")
        isa = Isa::avx2;
    else if (name == "avx512")
        isa = Isa::avx512;
    else
        throw ArgumentError(std::string(source) + ": expected generic, avx2 or avx512, got '" + name + "'");
    if (!isa_supported(isa))
        throw ArgumentError(std::string(source) + "=" + name + ": this CPU does not support " + name +
                            " (it supports up to " + isa_name(detected_isa()) + ")");
    return isa;
}

namespace detail {
// -1: not chosen yet. Set once from cpuid and MAUNET_ISA, or by set_isa().
inline std::atomic<int>& isa_setting() {
    static std::atomic<int> isa{-1};
    return isa;
}
}  // namespace detail

// The instruction set chosen for this process: MAUNET_ISA if set, else the best the CPU has.
// Decided on the first call (an invalid MAUNET_ISA throws ArgumentError then, and again on every
// later call until it is fixed).
inline Isa active_isa() {
    const int cached = detail::isa_setting().load(std::memory_order_relaxed);
    if (cached >= 0) return static_cast<Isa>(cached);
    const char* env = std::getenv("MAUNET_ISA");
    const Isa isa = env && *env ? parse_isa(env) : detected_isa();
    detail::isa_setting().store(static_cast<int>(isa), std::memory_order_relaxed);
    return isa;
}

// Chooses the instruction set for the rest of the process (tests and benchmarks compare the
// paths in one run). Throws ArgumentError if this CPU does not support it.
inline void set_isa(Isa isa) {
    if (!isa_supported(isa))
        throw ArgumentError(std::string("set_isa: this CPU does not support ") + isa_name(isa) + " (it supports up to " +
                            isa_name(detected_isa()) + ")");
    detail::isa_setting().store(static_cast<int>(isa), std::memory_order_relaxed);
}

// The kernels that run for active_isa(): each instruction set has its own (a CPU only reaches
// avx2 or avx512 on x86-64 built by GCC or Clang, where those kernels exist; region.hpp). The
// Winograd kernels of an avx512 CPU are the AVX2 transforms with the AVX-512 products
// (winograd.hpp says why).
inline Isa kernel_isa() { return active_isa(); }

}  // namespace maunet
