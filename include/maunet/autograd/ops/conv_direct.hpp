// maunet/autograd/ops/conv_direct.hpp: the im2col-free fast path of conv2d for stride 1, any
// kernel kH x kW and padding p <= min(kH, kW) - 1 (every 3x3 "same" convolution of the U-Nets).
//
// The flat padded map. Pad one image plane [H, W] with p zeros on every side to [Hp, Wp] =
// [H + 2p, W + 2p] and store it row-major, so pixel (a, b) sits at a*Wp + b. The output pixel
// (i, j) (i < H_out = Hp - kH + 1, j < W_out = Wp - kW + 1) reads the padded pixels
// (i + u, j + v), whose flat index is q + u*Wp + v with q = i*Wp + j. So, over the flat index q:
//
//   yq[o, q] = sum_{c, u, v} w[o, c, u, v] xp[c, q + u*Wp + v]                     (1)
//
// a 1-d correlation with kH*kW fixed offsets: every read is a contiguous run of memory and no
// column matrix is built. The q with j = q mod Wp >= W_out are "wrap-around" positions that mix
// the end of one row with the start of the next; they are computed and thrown away (a waste of
// (kW - 1)/Wp: 1.5% at 128 x 128, 20% at 8 x 8).
//
// Kernels (SIMD through GCC/Clang vector extensions, one copy per instruction set: 16-byte SSE2
// vectors in maunet::detail::generic, 32-byte AVX2 + FMA vectors in maunet::detail::avx2, 64-byte
// AVX-512 vectors in maunet::detail::avx512, chosen per call by kernel_isa(), see
// maunet/core/isa/region.hpp; the body is isa/conv_direct.inl.
// float and double share the code, so the double gradient checks test the same kernel the float
// training runs; figures below are for AVX2, L = vector lanes):
// - forward_tile: MR = 4 output channels x NV = 3 vectors of q (3L values) accumulated in 12
//   registers over all (c, u, v): per tap 3 loads, 4 broadcasts, 12 FMAs.
// - weight_grad_tile: dW[o, c, u, v] = sum_q gt[q, o] xp[c, q + u*Wp + v] (gt = dL/dy transposed
//   on the flat map, zero on the wrap-around positions): 2L output channels (2 vectors) x 6
//   (channel, tap) pairs in 12 vector accumulators, one broadcast of x per pair and q.
// The input gradient is (1) again: dx = correlation of dL/dy padded by kH-1-p (kW-1-p) with
// the flipped, transposed weight w'[c, o, u, v] = w[o, c, kH-1-u, kW-1-v].
//
// Threads: the forward splits (image, block of q) pairs and the weight gradient splits blocks of
// 2L output channels over threads; every output element is computed by one thread in an order
// that does not depend on the thread count, so results are bit-identical for ANY thread count.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "maunet/core/aligned.hpp"
#include "maunet/core/cpu_isa.hpp"
#include "maunet/core/isa/simd.hpp"
#include "maunet/core/scratch.hpp"
#include "maunet/core/shape.hpp"
#include "maunet/core/threading.hpp"

namespace maunet::detail {

// Which conv2d kernels run: `automatic` picks per shape (below, winograd.hpp and
// winograd_batch.hpp), `direct` forces the direct kernels wherever they apply, `winograd` forces
// the per-image Winograd kernels for 3x3 padding 1 and the direct kernels elsewhere,
// `winograd_batch` forces the batch's Winograd for 3x3 padding 1 and picks as `automatic`
// elsewhere, `gemm` forces im2col + GEMM. For tests and benchmarks.
enum class ConvPath { automatic, direct, winograd, gemm, winograd_batch };
inline std::atomic<ConvPath>& conv_path() {
    static std::atomic<ConvPath> path{ConvPath::automatic};
    return path;
}

// How the kernels read the weight: `forward` w [C_out, C, kH, kW] as weight(o, c, u, v) =
// w[o, c, u, v]; `flipped_transposed` w [C, C_out, kH, kW] as w[c, o, kH-1-u, kW-1-v] (the input
// gradient is the forward convolution of dL/dy with that weight).
enum class WeightOrder { forward, flipped_transposed };
// wt[c][o][u][v] = w[o][c][k-1-u][k-1-v] for w [C_out, C_in, k, k]: a transpose of C_out x C_in
// blocks of k k values, done in tiles of 32 x 32 blocks, whose rows of w (and of wt) are 32 k k
// values long and stay in L1 while the tile is read. One input channel at a time read k k values
// from each of C_out rows of w C_in k k apart (18 KB at 512 channels) and found few of them in
// cache: 4.0-8.7 ms for the 9.4 MB of the 512 -> 512 bottleneck on Sapphire Rapids, as long as
// the dx product itself; in tiles 2.9-5.4 ms in the same runs (a plain copy takes 1.6 ms there).
template <class T>
void flip_transpose_weight(const T* w, Index C_out, Index C_in, Index k, T* wt) {
    constexpr Index tile = 32;
    const Index kk = k * k;
    parallel_for(0, (C_in + tile - 1) / tile, [=](std::ptrdiff_t cb) {
        const Index c0 = cb * tile, c1 = std::min(C_in, c0 + tile);
        for (Index o0 = 0; o0 < C_out; o0 += tile) {
            const Index o1 = std::min(C_out, o0 + tile);
            for (Index c = c0; c < c1; ++c)
                for (Index o = o0; o < o1; ++o) {
                    const T* src = w + (o * C_in + c) * kk;
                    T* dst = wt + (c * C_out + o) * kk;
                    for (Index t = 0; t < kk; ++t) dst[t] = src[kk - 1 - t];  // (u,v) -> (k-1-u, k-1-v)
                }
        }
    });
}

// How the kernels store into y: overwrite, add to what is there, or overwrite with max(value, 0)
// (conv2d_relu's fused activation).
enum class Store { overwrite, accumulate, overwrite_relu };

// One stride-1 convolution for the direct and Winograd kernels:
//   y[n, o, i, j] (+)= bias[o] + sum_{c,u,v} weight(o, c, u, v) x[n, c, i+u-pad_h, j+v-pad_w]
// for x [batch, channels, height, width] and y [batch, out_channels, H_out, W_out], zero padding.
template <class T>
struct ConvCall {
    const T* x = nullptr;
    Index batch = 0, channels = 0, height = 0, width = 0;
    const T* weight = nullptr;
    Index out_channels = 0, kernel_h = 0, kernel_w = 0, pad_h = 0, pad_w = 0;
    WeightOrder weight_order = WeightOrder::forward;
    const T* bias = nullptr;  // or none
    T* y = nullptr;
    Store store = Store::overwrite;
};

constexpr Index direct_mr = 4;  // output channels per tile
constexpr Index direct_nv = 3;  // vectors of q per tile
constexpr Index direct_cb = 32;  // input channels per pass of the forward kernel

// The geometry of one stride-1 sweep on the flat padded map.
struct DirectPlan {
    Index channels = 0, height = 0, width = 0;  // input image [C, H, W]
    Index kernel_h = 0, kernel_w = 0, pad_h = 0, pad_w = 0;
    Index padded_w = 0, out_h = 0, out_w = 0;
    Index flat_size = 0;     // out_h * padded_w: the q range
    Index tile = 0;          // q per tile
    Index tiles = 0;         // ceil(flat_size / tile)
    Index flat_padded = 0;   // tiles * tile: the row length of yq
    Index plane_stride = 0;  // floats per padded input plane, with room for the last tile's reads

    Index taps() const { return kernel_h * kernel_w; }
};

// True when conv2d (stride, kernel, padding, output grid out_h x out_w) takes the direct path
// (forward, dx and dW alike). Measured on the reference machine: the direct kernels beat Eigen's
// GEMM from 16 x 16 images up (flat map >= 256); at 8 x 8 the wrap-around waste (20%) and the
// short rows cost more.
inline bool direct_conv_applies(Index kh, Index kw, Index stride, Index pad, Index out_h, Index out_w) {
    const ConvPath path = conv_path().load(std::memory_order_relaxed);
    if (path == ConvPath::gemm) return false;
    if (stride != 1 || (kh == 1 && kw == 1 && pad == 0) || pad > std::min(kh, kw) - 1) return false;
    if (path == ConvPath::direct || path == ConvPath::winograd) return true;
    return out_h * (out_w + kw - 1) >= 256;
}

// dst row r (of `cols` values) = row first_row + r of the plane src [H, W] placed at column `left`
// of a zero row, or all zeros where that row is outside 0 .. H-1, for r < rows: the rows of a
// zero-padded plane that one block of tiles reads, made where it is read (winograd_conv3x3).
template <class T>
void pad_rows(const T* src, Index H, Index W, Index first_row, Index rows, Index left, Index cols, T* dst) {
    for (Index r = 0; r < rows; ++r) {
        T* row = dst + r * cols;
        const Index source = first_row + r;
        if (source < 0 || source >= H) {
            std::fill(row, row + cols, T(0));
            continue;
        }
        std::fill(row, row + left, T(0));
        std::memcpy(row + left, src + source * W, sizeof(T) * W);
        std::fill(row + left + W, row + cols, T(0));
    }
}

// dst plane i = the plane src[i] [H, W] placed at row `top`, column `left` of a zero plane of
// `stride` values (row-major rows of `cols` >= left + W values; stride >= (top + H) * cols), for
// i < planes. Every value is written once: the border with zeros, the image by copy.
template <class T>
void pad_planes(const T* src, Index planes, Index H, Index W, Index top, Index left, Index cols, Index stride, T* dst) {
    parallel_for(0, planes, [&](std::ptrdiff_t i) {
        T* d = dst + i * stride;
        pad_rows(src + i * H * W, H, W, -top, top + H, left, cols, d);
        std::fill(d + (top + H) * cols, d + stride, T(0));
    });
}

// xp[n, c] = the zero-padded plane of x[n, c] on the flat map of `d` (see the top of this file).
template <class T>
void pad_planes(const T* x, Index N, const DirectPlan& d, T* xp) {
    pad_planes(x, N * d.channels, d.height, d.width, d.pad_h, d.pad_w, d.padded_w, d.plane_stride, xp);
}

// Packs weights for forward_tile: wp[ob][c][t][m] = weight(ob*MR + m, c, t) with t = u*kW + v, zero
// for m past C_out; weight() as `order` says (WeightOrder).
template <class T>
ArenaVector<T> pack_forward_weights(const T* w, Index C_out, Index C, Index kh, Index kw, WeightOrder order) {
    const Index taps = kh * kw, blocks = (C_out + direct_mr - 1) / direct_mr;
    ArenaVector<T> wp(static_cast<std::size_t>(blocks * C * taps * direct_mr), T(0));
    for (Index o = 0; o < C_out; ++o)
        for (Index c = 0; c < C; ++c)
            for (Index t = 0; t < taps; ++t) {
                const T value = order == WeightOrder::flipped_transposed ? w[(c * C_out + o) * taps + (taps - 1 - t)] : w[(o * C + c) * taps + t];
                wp[static_cast<std::size_t>((((o / direct_mr) * C + c) * taps + t) * direct_mr + o % direct_mr)] = value;
            }
    return wp;
}

// Tap offsets u*Wp + v on the flat padded map.
inline ArenaVector<Index> tap_offsets(const DirectPlan& d) {
    ArenaVector<Index> off;
    off.reserve(static_cast<std::size_t>(d.kernel_h * d.kernel_w));
    for (Index u = 0; u < d.kernel_h; ++u)
        for (Index v = 0; v < d.kernel_w; ++v) off.push_back(u * d.padded_w + v);
    return off;
}

}  // namespace maunet::detail

#define MAUNET_ISA_BODY "maunet/autograd/ops/isa/conv_direct.inl"
#include "maunet/core/isa/instantiate.inl"

namespace maunet::detail {

// The direct convolution (see the top of this file) with the kernels of kernel_isa().
template <class T>
void direct_conv(const ConvCall<T>& call) {
#if MAUNET_HAVE_AVX2_KERNELS
    if (kernel_isa() == Isa::avx512) return avx512::direct_conv(call);
    if (kernel_isa() == Isa::avx2) return avx2::direct_conv(call);
#endif
    generic::direct_conv(call);
}

// dw[o, c, u, v] += sum_{n, i, j} g[n, o, i, j] x[n, c, i+u-p, j+v-p] (stride 1, padding p) with the
// kernels of kernel_isa().
template <class T>
void direct_conv_weight_grad(const T* x, Index N, Index C, Index H, Index W, const T* g, Index C_out, Index kh,
                             Index kw, Index pad, T* dw) {
#if MAUNET_HAVE_AVX2_KERNELS
    if (kernel_isa() == Isa::avx512) return avx512::direct_conv_weight_grad(x, N, C, H, W, g, C_out, kh, kw, pad, dw);
    if (kernel_isa() == Isa::avx2) return avx2::direct_conv_weight_grad(x, N, C, H, W, g, C_out, kh, kw, pad, dw);
#endif
    generic::direct_conv_weight_grad(x, N, C, H, W, g, C_out, kh, kw, pad, dw);
}

}  // namespace maunet::detail
