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
// Threads: transform items are channel rows of V or dM (the two cost differently), product items
// are (xi, group of blocks of 3 k), each owning its part of dU; both are handed out dynamically
// (parallel_for_dynamic) and chunks are taken in order, so every value is summed in the same order
// for any thread count and partition.
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

}  // namespace maunet::detail

#define MAUNET_ISA_BODY "maunet/autograd/ops/isa/winograd_weight_grad.inl"
#define MAUNET_ISA_NO_AVX512
#include "maunet/core/isa/instantiate.inl"

namespace maunet::detail {

// dw[k, c, u, v] += sum_{n,i,j} g[n, k, i, j] x[n, c, i+u-1, j+v-1] (3x3, padding 1) with the
// kernels of kernel_isa() (for avx512 the AVX2 transforms with the AVX-512 products);
// `chunk_slots` as in the kernel (0 chooses).
template <class T>
void winograd_weight_grad3x3(const T* x, Index N, Index C, Index H, Index W, const T* g, Index K, T* dw,
                             Index chunk_slots = 0) {
#if MAUNET_HAVE_AVX512_KERNELS
    if (kernel_isa() == Isa::avx512)
        return avx2::winograd_weight_grad3x3(x, N, C, H, W, g, K, dw, chunk_slots, &avx512::winograd_grad_product<T>);
#endif
#if MAUNET_HAVE_AVX2_KERNELS
    if (kernel_isa() == Isa::avx2)
        return avx2::winograd_weight_grad3x3(x, N, C, H, W, g, K, dw, chunk_slots, &avx2::winograd_grad_product<T>);
#endif
    generic::winograd_weight_grad3x3(x, N, C, H, W, g, K, dw, chunk_slots, &generic::winograd_grad_product<T>);
}

}  // namespace maunet::detail
