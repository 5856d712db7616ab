// maunet/autograd/ops/winograd_weight_grad.hpp: the weight gradient of the 3x3, stride-1,
// padding-1 convolution in the Winograd F(2x2, 3x3) domain.
//
// The forward pass (winograd.hpp) is, per output channel k and 2x2 output tile t,
//   Y_kt = A^T M_kt A,   M_kt = sum_c U_kc (.) V_ct,   U_kc = G g_kc G^T,   V_ct = B^T d_ct B.
// Each step is linear, so going back with dY_kt, the 2x2 tile of dL/dy:
//   dM_kt = A dY_kt A^T                       (4x4: the adjoint of M -> A^T M A)
//   dU_kc = sum over images and tiles of dM_kt (.) V_ct
//   dg_kc = G^T dU_kc G                       (3x3: the adjoint of g -> G g G^T)
// The middle line is 16 independent K x C products (one per position xi of the 4x4 tile) summed
// over tiles: 16 multiply-adds per tile and (k, c) instead of 36 for the direct sum over the
// tile's 4 pixels. Stacking a chunk's tiles as columns, it is a matrix product per xi:
//   dU[xi] (K x C) += dM[xi] (K x tiles) V[xi]^T (tiles x C).
//
// Tiles and lanes as in winograd.hpp (slots of row_slots per tile row, one lane per tile, the
// same lane order for V and dM). Tiles past the image have dY = 0 (dL/dy is zero-padded), so
// they add nothing. The slots of the whole batch are cut into chunks; per chunk, V [16][C][chunk]
// and dM [16][K][chunk] are formed (parallel over channels), then the 16 products run as GEMMs
// (core/gemm.hpp, packed, in the copy of kernel_isa()). Until then a kernel of its own summed
// them with tiles in the vector lanes (a 3 x 3 block of (k, c) in 9 accumulators, 6 loads per 9
// FMAs, a lane sum per chunk); it read its operands from L2 faster than Intel's L2 delivers them,
// and on a 2-core Sapphire Rapids the GEMM took 0.60-0.95x its time on the U-Net's layers on 1
// thread and 0.45-0.96x on 2 (AVX-512; with AVX2 0.85-1.11x): docs/performance.md.
//
// Threads: on T > 1 threads the batch's slots are cut into T slices (winograd_dw_slices), one
// per thread: thread t transforms and multiplies the chunks of its slice into a dU of its own,
// and the T partial dU are added in slice order before the last step. On 2 threads slice 0 is the
// first half of the batch, the images thread 0 wrote in every layer before (core/threading.hpp:
// "Which core gets which image" in docs/performance.md), so no thread reads what the other core
// wrote, nor writes into buffers the other core reads. Measured on a 2-core Zen 5 before this
// split, when both threads worked on every chunk together, the transforms took 2.6x the thread
// time on 2 threads they took on 1. The result is the same bits for a fixed thread count, run
// after run, and within rounding for another thread count (a different sum order). One thread,
// or partial sums too large (above 64 MB together), keeps one shared sum over the whole batch:
// per chunk the transform items are channel rows of V or dM (the two cost differently) and the
// product items (positions xi) each own dU[xi]; both are handed out dynamically, and chunks are
// taken in order. A GEMM called inside a parallel region runs on its thread alone.
//
// The transforms exist in a generic and an AVX2 copy (isa/winograd_weight_grad.inl), chosen by
// kernel_isa(); an AVX-512 CPU runs the AVX2 transforms with the AVX-512 GEMM, as the forward
// kernels run the AVX2 transforms with AVX-512 products (winograd.hpp).
#pragma once

#include <algorithm>
#include <cstring>

#include "maunet/autograd/ops/winograd.hpp"
#include "maunet/core/gemm.hpp"

namespace maunet::detail {

// Slots per chunk (V and dM of a chunk: 16 x 256 x channels values each): the GEMMs' inner
// dimension. At 256, V and dM of a 32-channel layer (0.5 MB each) stay in a core's L2 between the
// transforms that write them and the products that read them back; at 1024 (2-8 MB each) they
// went through L3, which the cores share: the U-Net train step ran 1.02-1.04x faster on 2
// threads with 256 in four of four alternating runs, 1.01x on 1 (2-core Sapphire Rapids; 128
// measured within noise of 256; docs/performance.md).
constexpr Index winograd_dw_chunk = 256;

// How the sum over tiles is cut; 0 chooses (tests set them to reach every boundary).
struct WinogradGradSplit {
    Index chunk_slots = 0;  // slots per chunk, rounded to whole vectors of tiles
    Index slices = 0;       // 1: one shared sum; S > 1: S slices summed apart, then in order
};

// The slices for `vectors` vectors of tiles and a dU of `du_size` values: `wanted` if set, else one
// per thread while their partial sums together stay within 64 MB; never more than `vectors`.
template <class T>
Index winograd_dw_slices(Index wanted, Index vectors, Index du_size) {
    constexpr Index budget = Index(64) << 20;
    Index s = wanted > 0 ? wanted : num_threads();
    if (wanted <= 0 && s * du_size * Index(sizeof(T)) > budget) s = 1;
    return std::max<Index>(1, std::min(s, vectors));
}

}  // namespace maunet::detail

#define MAUNET_ISA_BODY "maunet/autograd/ops/isa/winograd_weight_grad.inl"
#define MAUNET_ISA_NO_AVX512
#include "maunet/core/isa/instantiate.inl"

namespace maunet::detail {

// dw[k, c, u, v] += sum_{n,i,j} g[n, k, i, j] x[n, c, i+u-1, j+v-1] (3x3, padding 1) with the
// transforms of kernel_isa() (for avx512 the AVX2 ones; the GEMM dispatches on its own);
// `split` as in WinogradGradSplit (by default chosen).
template <class T>
void winograd_weight_grad3x3(const T* x, Index N, Index C, Index H, Index W, const T* g, Index K, T* dw,
                             WinogradGradSplit split = {}) {
#if MAUNET_HAVE_AVX2_KERNELS
    if (kernel_isa() == Isa::avx2 || kernel_isa() == Isa::avx512)
        return avx2::winograd_weight_grad3x3(x, N, C, H, W, g, K, dw, split);
#endif
    generic::winograd_weight_grad3x3(x, N, C, H, W, g, K, dw, split);
}

}  // namespace maunet::detail
