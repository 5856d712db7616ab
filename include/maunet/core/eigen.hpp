// maunet/core/eigen.hpp: <Eigen/Core> (and the x86 intrinsics it includes) for every maunet header.
//
// GCC 12 with AVX-512 enabled (-march=native on such a CPU, -march=skylake-avx512, znver4) reports
// about a hundred -Wmaybe-uninitialized and -Wuninitialized warnings per translation unit at lines
// of avx512fintrin.h and avxintrin.h: the intrinsics' `__m512 __Y = __Y;` idiom for "undefined"
// lanes (_mm512_undefined_ps), inlined into
// Eigen's packet code. They are false positives inside the compiler's own headers, but the
// middle end reports them after inlining, where the system-header exemption does not reach, so a
// -Werror build fails. The diagnostic state is looked up at the warning's location, so ignoring
// those two warnings while the headers are first included silences exactly those lines and no
// line of maunet or of the program including it. (Including Eigen with -isystem alone does not
// help: it already is a system header.)
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#include <Eigen/Core>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
