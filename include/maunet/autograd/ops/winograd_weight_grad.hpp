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
// tile's 4 pixels.
//
// Tiles and lanes as in winograd.hpp (slots of row_slots per tile row, one lane per tile, the
// same lane order for V and dM). Tiles past the image have dY = 0 (dL/dy is zero-padded), so
// they add nothing. The slots of the whole batch are cut into chunks; per chunk, V [16][C][chunk]
// and dM [16][K][chunk] are formed (parallel over channels), then the products run with tiles in
// the vector lanes: a 3 x 3 block of (k, c) keeps 9 vector accumulators over the chunk (per
// vector of tiles 6 loads, 9 FMAs), summed across lanes at the chunk's end into dU[xi][k][c].
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
// product items (xi, group of blocks of 3 k) each own their part of dU; both are handed out
// dynamically, and chunks are taken in order.
//
// The transforms exist in a generic and an AVX2 copy (isa/winograd_weight_grad.inl), the products
// also in an AVX-512 one (isa/winograd_product.inl), chosen by kernel_isa(); an AVX-512 CPU runs
// the AVX2 transforms with the AVX-512 products, as for the forward kernels (winograd.hpp).
#pragma once

#include <algorithm>
#include <cstring>

#include "maunet/autograd/ops/winograd.hpp"

namespace maunet::detail {

// Slots per chunk (V and dM of a chunk: 16 x 1024 x channels values) and blocks of 3 k per item;
// measured on the reference machine (docs/performance.md), flat within 10% from 512 to 2048.
constexpr Index winograd_dw_chunk = 1024, winograd_dw_kgroup = 4;

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
// kernels of kernel_isa() (for avx512 the AVX2 transforms with the AVX-512 products);
// `split` as in WinogradGradSplit (by default chosen).
template <class T>
void winograd_weight_grad3x3(const T* x, Index N, Index C, Index H, Index W, const T* g, Index K, T* dw,
                             WinogradGradSplit split = {}) {
#if MAUNET_HAVE_AVX512_KERNELS
    if (kernel_isa() == Isa::avx512)
        return avx2::winograd_weight_grad3x3(x, N, C, H, W, g, K, dw, split, &avx512::winograd_grad_product<T>);
#endif
#if MAUNET_HAVE_AVX2_KERNELS
    if (kernel_isa() == Isa::avx2)
        return avx2::winograd_weight_grad3x3(x, N, C, H, W, g, K, dw, split, &avx2::winograd_grad_product<T>);
#endif
    generic::winograd_weight_grad3x3(x, N, C, H, W, g, K, dw, split, &generic::winograd_grad_product<T>);
}

}  // namespace maunet::detail
