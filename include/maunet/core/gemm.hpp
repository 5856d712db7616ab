// maunet/core/gemm.hpp: the one matrix multiply behind matmul and the convolutions.
//
//   gemm(op_a, op_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc):
//       C = alpha * op(A) * op(B) + beta * C
// on ROW-MAJOR raw pointers, like cblas_?gemm(CblasRowMajor, ...). op(A) is M x K: A is
// stored M x K (lda >= K) when op_a is MatrixOp::as_is, K x M (lda >= M) when it is
// MatrixOp::transposed (a named value, not a bare bool, at every call); likewise
// op(B) is K x N and C is M x N (ldc >= N). lda, ldb, ldc are row strides in elements, so
// a block of a larger matrix is passed by pointing at its first element. As in BLAS, beta == 0
// overwrites C without reading it (NaN in C does not leak into the result).
//
// Backends:
// - default: maunet's packed GEMM (isa/gemm_kernel.inl), in the copy of kernel_isa()
//   (maunet/core/cpu_isa.hpp): AVX-512, AVX2 + FMA (whatever flags the program is built with) or
//   generic (the program's flags). Its buffers are scratch slots, so with a caller's workspace
//   (docs/embedding.md) a call allocates nothing on any CPU; Eigen's GEMM, which this replaced
//   on CPUs without AVX2, allocates its blocking buffers on every call above a size (and ran
//   5-15% faster than the generic copy with SSE2 on the bottleneck's products, Zen 4).
// - MAUNET_USE_BLAS (CMake option of the same name): cblas_sgemm / cblas_dgemm. The CBLAS
//   declarations come from the header xtensor-blas itself uses (xflens/cxxblas/drivers/cblas.h),
//   not from OpenBLAS's <cblas.h>: the two declare the same enums and cannot meet in one
//   translation unit, and a program that uses maunet may well include xtensor-blas.
//
// Threads. Kernels call gemm both outside and inside maunet's parallel regions (a convolution
// runs one GEMM per image, parallel over the batch). Nothing here changes a global thread
// setting (openblas_set_num_threads is process-wide and would race):
// - packed: outside a parallel region it splits its blocks over maunet's threads; inside one
//   it runs on the calling thread alone, so it never oversubscribes.
// - BLAS: OpenBLAS built with pthreads (Debian's default) does not know about OpenMP teams and
//   would start its own threads from every OpenMP thread. So inside a maunet parallel region
//   (in_parallel_region()) gemm takes the path of the default backend, single-threaded; outside one it
//   calls the BLAS, which threads with openblas_set_num_threads (maunet::set_num_threads).
#pragma once

#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "maunet/core/cpu_isa.hpp"
#include "maunet/core/eigen.hpp"
#include "maunet/core/errors.hpp"
#include "maunet/core/isa/simd.hpp"
#include "maunet/core/scratch.hpp"
#include "maunet/core/shape.hpp"
#include "maunet/core/threading.hpp"

#if defined(MAUNET_USE_BLAS)
#include "xflens/cxxblas/drivers/cblas.h"
#endif

namespace maunet {
// op(X) of a matrix product: X as stored, or its transpose (BLAS's NoTrans and Trans).
enum class MatrixOp { as_is, transposed };
}  // namespace maunet

#define MAUNET_ISA_BODY "maunet/core/isa/gemm_kernel.inl"
#include "maunet/core/isa/instantiate.inl"

namespace maunet {

namespace detail {

template <class T>
using RowMajorMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using StridedMap = Eigen::Map<RowMajorMatrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

template <class T>
void scale_matrix(Index M, Index N, T beta, T* C, Index ldc) {
    if (beta == T(1)) return;
    StridedMap<T> c(C, M, N, Eigen::OuterStride<>(ldc));
    if (beta == T(0))
        c.setZero();
    else
        c *= beta;
}

}  // namespace detail

// C = alpha * op(A) * op(B) + beta * C on row-major matrices; see the top of this file.
// Throws ArgumentError for negative sizes or leading dimensions shorter than a row.
template <class T>
void gemm(MatrixOp op_a, MatrixOp op_b, Index M, Index N, Index K, T alpha, const T* A, Index lda, const T* B,
          Index ldb, T beta, T* C, Index ldc) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "gemm: T must be float or double");
    const bool trans_a = op_a == MatrixOp::transposed, trans_b = op_b == MatrixOp::transposed;
    require(M >= 0 && N >= 0 && K >= 0, "gemm: expected sizes M, N, K >= 0, got M=", M, ", N=", N, ", K=", K);
    const Index a_cols = trans_a ? M : K;
    const Index b_cols = trans_b ? K : N;
    require(lda >= std::max<Index>(1, a_cols), "gemm: lda must be >= ", std::max<Index>(1, a_cols),
            " (the stored row length of A), got ", lda);
    require(ldb >= std::max<Index>(1, b_cols), "gemm: ldb must be >= ", std::max<Index>(1, b_cols),
            " (the stored row length of B), got ", ldb);
    require(ldc >= std::max<Index>(1, N), "gemm: ldc must be >= ", std::max<Index>(1, N),
            " (the row length of C), got ", ldc);
    if (M == 0 || N == 0) return;
    detail::scale_matrix(M, N, beta, C, ldc);
    if (K == 0 || alpha == T(0)) return;

#if defined(MAUNET_USE_BLAS)
    constexpr Index int_max = std::numeric_limits<int>::max();
    const bool fits_int = std::max({M, N, K, lda, ldb, ldc}) <= int_max;
    if (fits_int && !in_parallel_region()) {
        // C was scaled above, so the BLAS call accumulates with beta = 1.
        const auto ta = trans_a ? CblasTrans : CblasNoTrans;
        const auto tb = trans_b ? CblasTrans : CblasNoTrans;
        const auto i = [](Index v) { return static_cast<int>(v); };
        if constexpr (std::is_same_v<T, float>)
            cblas_sgemm(CblasRowMajor, ta, tb, i(M), i(N), i(K), alpha, A, i(lda), B, i(ldb), 1.0f, C, i(ldc));
        else
            cblas_dgemm(CblasRowMajor, ta, tb, i(M), i(N), i(K), alpha, A, i(lda), B, i(ldb), 1.0, C, i(ldc));
        return;
    }
#endif
#if MAUNET_HAVE_AVX2_KERNELS
    // On an AVX2 or AVX-512 CPU that copy of the packed kernel, whatever the program's flags
    // (built with AVX2 + FMA, Eigen's AVX2 GEMM measured 0.6-0.95x the packed kernel on the 8 x 8
    // bottleneck's products, docs/performance.md).
    if (kernel_isa() == Isa::avx512) {
        detail::avx512::packed_gemm(op_a, op_b, M, N, K, alpha, A, lda, B, ldb, C, ldc);
        return;
    }
    if (kernel_isa() == Isa::avx2) {
        detail::avx2::packed_gemm(op_a, op_b, M, N, K, alpha, A, lda, B, ldb, C, ldc);
        return;
    }
#endif
    detail::generic::packed_gemm(op_a, op_b, M, N, K, alpha, A, lda, B, ldb, C, ldc);
}

// The name of the active backend, for benchmarks and logs: "blas", "packed-avx512", "packed-avx2"
// or "packed-generic".
inline const char* gemm_backend() {
#if defined(MAUNET_USE_BLAS)
    return "blas";
#else
#if MAUNET_HAVE_AVX2_KERNELS
    if (kernel_isa() == Isa::avx512) return "packed-avx512";
    if (kernel_isa() == Isa::avx2) return "packed-avx2";
#endif
    return "packed-generic";
#endif
}

}  // namespace maunet
