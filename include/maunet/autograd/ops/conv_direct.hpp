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
// Kernels (SIMD through GCC/Clang vector extensions, 32-byte vectors: AVX2 with -march=native,
// two SSE halves otherwise; float and double share the code, so the double gradient checks test
// the same kernel the float training runs):
// - forward_tile: MR = 4 output channels x NV = 3 vectors of q (24 floats) accumulated in 12
//   registers over all (c, u, v): per tap 3 loads, 4 broadcasts, 12 FMAs.
// - weight_grad_tile: dW[o, c, u, v] = sum_q gt[q, o] xp[c, q + u*Wp + v] (gt = dL/dy transposed
//   on the flat map, zero on the wrap-around positions): 16 output channels (2 vectors) x 6
//   (channel, tap) pairs in 12 vector accumulators, one broadcast of x per pair and q.
// The input gradient is (1) again: dx = correlation of dL/dy padded by kH-1-p (kW-1-p) with
// the flipped, transposed weight w'[c, o, u, v] = w[o, c, kH-1-u, kW-1-v].
//
// Threads: the forward splits (image, block of q) pairs and the weight gradient splits blocks of
// 16 output channels over threads; every output element is computed by one thread in an order
// that does not depend on the thread count, so results are bit-identical for ANY thread count.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstring>
#include <type_traits>
#include <vector>

#if defined(__AVX__)
#include <immintrin.h>
#endif

#include "maunet/core/shape.hpp"
#include "maunet/core/threading.hpp"

namespace maunet::detail {

// Which conv2d kernels run: `automatic` picks per shape (below and winograd.hpp), `direct` forces
// the direct kernels wherever they apply, `winograd` forces Winograd for 3x3 padding 1 and the
// direct kernels elsewhere, `gemm` forces im2col + GEMM. For tests and benchmarks.
enum class ConvPath { automatic, direct, winograd, gemm };
inline std::atomic<ConvPath>& conv_path() {
    static std::atomic<ConvPath> path{ConvPath::automatic};
    return path;
}

// Reusable scratch memory for the convolution kernels: slot k of the calling thread, grown on
// demand and never shrunk, so the large padded copies and partial results of a layer do not pay
// for fresh pages (page faults and zeroing) on every call. Contents are left from the last use;
// callers clear what they read before writing. Kernels run their parallel regions from the
// calling thread, and no kernel holds a slot while calling another kernel using the same slot:
//   0 padded input (direct, weight grad)   1 flat output (direct) / M (Winograd)
//   2 flat dL/dy (weight grad) / U          3 V (Winograd)
//   4 dL/dy masked by the fused ReLU (conv2d_relu's backward)
template <class T>
T* scratch(int slot, std::size_t n) {
    thread_local std::vector<T> slots[5];
    std::vector<T>& s = slots[slot];
    if (s.size() < n) {
        s.clear();
        s.shrink_to_fit();
        s.resize(n);
    }
    return s.data();
}

template <class T>
struct Simd {
    typedef T vec __attribute__((vector_size(32)));
    static constexpr Index lanes = Index(32 / sizeof(T));
};

// A vector with every lane = s (one vbroadcastss); `V{} + s` would add a real 0.0 first.
template <class T>
inline __attribute__((always_inline)) typename Simd<T>::vec splat(T s) {
#if defined(__AVX__)
    if constexpr (std::is_same_v<T, float>) return (typename Simd<T>::vec)_mm256_set1_ps(s);
    if constexpr (std::is_same_v<T, double>) return (typename Simd<T>::vec)_mm256_set1_pd(s);
#endif
    typename Simd<T>::vec v;
    for (Index l = 0; l < Simd<T>::lanes; ++l) v[l] = s;
    return v;
}

// Keeps a loaded vector in a register: without it GCC re-reads it from memory as the operand of
// every FMA that uses it (3 loads instead of 1 in the 3 x 3 kernels), and the loads, not the
// FMAs, become the limit. An empty asm that "modifies" the register forbids the refolding.
template <class V>
inline __attribute__((always_inline)) void keep_in_register(V& v) {
#if defined(__AVX__)
    __asm__("" : "+x"(v));
#else
    static_cast<void>(v);
#endif
}

// max(v, 0) in every lane, with relu's convention that NaN gives 0 (v > 0 is false for NaN).
template <class V>
inline __attribute__((always_inline)) V relu_lanes(V v) {
    const V zero = {};
    return v > zero ? v : zero;
}

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

template <class T>
DirectPlan direct_plan(Index C, Index H, Index W, Index kh, Index kw, Index pad_h, Index pad_w) {
    DirectPlan d;
    d.channels = C;
    d.height = H;
    d.width = W;
    d.kernel_h = kh;
    d.kernel_w = kw;
    d.pad_h = pad_h;
    d.pad_w = pad_w;
    d.padded_w = W + 2 * pad_w;
    d.out_h = H + 2 * pad_h - kh + 1;
    d.out_w = W + 2 * pad_w - kw + 1;
    d.flat_size = d.out_h * d.padded_w;
    d.tile = direct_nv * Simd<T>::lanes;
    d.tiles = (d.flat_size + d.tile - 1) / d.tile;
    d.flat_padded = d.tiles * d.tile;
    const Index reach = (kh - 1) * d.padded_w + (kw - 1);
    d.plane_stride = std::max((H + 2 * pad_h) * d.padded_w, d.flat_padded + reach);
    // Round to whole vectors so planes start 32-byte apart from each other.
    d.plane_stride = (d.plane_stride + Simd<T>::lanes - 1) / Simd<T>::lanes * Simd<T>::lanes;
    return d;
}

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

// dst plane i = the plane src[i] [H, W] placed at row `top`, column `left` of a zero plane of
// `stride` values (row-major rows of `cols` >= left + W values; stride >= (top + H) * cols), for
// i < planes. Every value is written once: the border with zeros, the image by copy.
template <class T>
void pad_planes(const T* src, Index planes, Index H, Index W, Index top, Index left, Index cols, Index stride, T* dst) {
    parallel_for(0, planes, [&](std::ptrdiff_t i) {
        const T* s = src + i * H * W;
        T* d = dst + i * stride;
        std::fill(d, d + top * cols, T(0));
        for (Index r = 0; r < H; ++r) {
            T* row = d + (r + top) * cols;
            std::fill(row, row + left, T(0));
            std::memcpy(row + left, s + r * W, sizeof(T) * W);
            std::fill(row + left + W, row + cols, T(0));
        }
        std::fill(d + (H + top) * cols, d + stride, T(0));
    });
}

// xp[n, c] = the zero-padded plane of x[n, c] on the flat map of `d` (see the top of this file).
template <class T>
void pad_planes(const T* x, Index N, const DirectPlan& d, T* xp) {
    pad_planes(x, N * d.channels, d.height, d.width, d.pad_h, d.pad_w, d.padded_w, d.plane_stride, xp);
}

// Packs weights for forward_tile: wp[ob][c][t][m] = weight(ob*MR + m, c, t) with t = u*kW + v, zero
// for m past C_out. weight is w [C_out, C, kH, kW], or with `flipped` w [C, C_out, kH, kW] read as
// w'[o, c, u, v] = w[c, o, kH-1-u, kW-1-v] (flat tap kH*kW-1-t).
template <class T>
std::vector<T> pack_forward_weights(const T* w, Index C_out, Index C, Index kh, Index kw, bool flipped) {
    const Index taps = kh * kw, blocks = (C_out + direct_mr - 1) / direct_mr;
    std::vector<T> wp(static_cast<std::size_t>(blocks * C * taps * direct_mr), T(0));
    for (Index o = 0; o < C_out; ++o)
        for (Index c = 0; c < C; ++c)
            for (Index t = 0; t < taps; ++t) {
                const T value = flipped ? w[(c * C_out + o) * taps + (taps - 1 - t)] : w[(o * C + c) * taps + t];
                wp[static_cast<std::size_t>((((o / direct_mr) * C + c) * taps + t) * direct_mr + o % direct_mr)] = value;
            }
    return wp;
}

// out[m*ld + q'] = sum_{c, t} wp[c][t][m] x[c*plane + off[t] + q'], q' < tile, m < MR.
template <class T>
inline void forward_tile(const T* x, Index plane, Index C, const Index* off, Index taps, const T* wp, T* out,
                         Index ld, bool accumulate) {
    using V = typename Simd<T>::vec;
    constexpr Index L = Simd<T>::lanes;
    V a00 = {}, a01 = {}, a02 = {}, a10 = {}, a11 = {}, a12 = {};
    V a20 = {}, a21 = {}, a22 = {}, a30 = {}, a31 = {}, a32 = {};
    for (Index c = 0; c < C; ++c) {
        const T* xc = x + c * plane;
        for (Index t = 0; t < taps; ++t, wp += direct_mr) {
            const T* s = xc + off[t];
            V x0, x1, x2;
            std::memcpy(&x0, s, sizeof(V));
            std::memcpy(&x1, s + L, sizeof(V));
            std::memcpy(&x2, s + 2 * L, sizeof(V));
            V w;  // one broadcast weight at a time keeps 12 accumulators + 3 inputs + 1 in 16 registers
            w = splat<T>(wp[0]); a00 += w * x0; a01 += w * x1; a02 += w * x2;
            w = splat<T>(wp[1]); a10 += w * x0; a11 += w * x1; a12 += w * x2;
            w = splat<T>(wp[2]); a20 += w * x0; a21 += w * x1; a22 += w * x2;
            w = splat<T>(wp[3]); a30 += w * x0; a31 += w * x1; a32 += w * x2;
        }
    }
    V rows[4][3] = {{a00, a01, a02}, {a10, a11, a12}, {a20, a21, a22}, {a30, a31, a32}};
    for (Index m = 0; m < direct_mr; ++m)
        for (Index v = 0; v < direct_nv; ++v) {
            if (accumulate) {
                V old;
                std::memcpy(&old, out + m * ld + v * L, sizeof(V));
                rows[m][v] += old;
            }
            std::memcpy(out + m * ld + v * L, &rows[m][v], sizeof(V));
        }
}

// Tap offsets u*Wp + v on the flat padded map.
inline std::vector<Index> tap_offsets(const DirectPlan& d) {
    std::vector<Index> off;
    for (Index u = 0; u < d.kernel_h; ++u)
        for (Index v = 0; v < d.kernel_w; ++v) off.push_back(u * d.padded_w + v);
    return off;
}

// y[n, o, i, j] (+)= b[o] + sum_{c,u,v} weight(o, c, u, v) x[n, c, i+u-p, j+v-p]: equation (1) over the
// batch x [N, C, H, W]. weight is w [C_out, C, kH, kW] or, with `flipped`, w [C, C_out, kH, kW] read
// as w'[o, c, u, v] = w[c, o, kH-1-u, kW-1-v]. Zero padding pad_h rows, pad_w columns. With
// `accumulate` y is added to, else overwritten (with `relu`, by max(value, 0)).
template <class T>
void direct_conv(const T* x, Index N, Index C, Index H, Index W, const T* w, Index C_out, Index kh, Index kw,
                 Index pad_h, Index pad_w, bool flipped, const T* bias, T* y, bool accumulate, bool relu = false) {
    const DirectPlan d = direct_plan<T>(C, H, W, kh, kw, pad_h, pad_w);
    const Index blocks = (C_out + direct_mr - 1) / direct_mr, taps = d.taps();
    T* xp = scratch<T>(0, static_cast<std::size_t>(N * C * d.plane_stride));
    pad_planes(x, N, d, xp);
    const std::vector<T> wp = pack_forward_weights(w, C_out, C, kh, kw, flipped);
    const std::vector<Index> off = tap_offsets(d);
    // yq [N, blocks*MR, flat_padded]
    const Index rows = blocks * direct_mr;
    T* yq = scratch<T>(1, static_cast<std::size_t>(N * rows * d.flat_padded));  // every entry is written
    // Work items: (image, run of tiles). About 384 q per run keeps the 3 input rows it reads,
    // for every channel, in L2 while all output-channel blocks sweep over them.
    const Index run = std::max<Index>(1, 384 / d.tile);
    const Index runs = (d.tiles + run - 1) / run;
    parallel_for(0, N * runs, [&](std::ptrdiff_t item) {
        const Index n = item / runs, r = item % runs;
        const Index t_lo = r * run, t_hi = std::min(d.tiles, t_lo + run);
        const T* x_n = xp + n * C * d.plane_stride;
        T* y_n = yq + n * rows * d.flat_padded;
        // Channels in blocks of direct_cb: the block's input rows for the run stay in L1/L2 while
        // every output-channel block sweeps them; partial sums go through yq.
        for (Index c0 = 0; c0 < C; c0 += direct_cb) {
            const Index cn = std::min(direct_cb, C - c0);
            for (Index ob = 0; ob < blocks; ++ob) {
                const T* w_b = wp.data() + (ob * C + c0) * taps * direct_mr;
                T* out = y_n + ob * direct_mr * d.flat_padded;
                for (Index t = t_lo; t < t_hi; ++t)
                    forward_tile(x_n + c0 * d.plane_stride + t * d.tile, d.plane_stride, cn, off.data(), taps, w_b,
                                 out + t * d.tile, d.flat_padded, c0 > 0);
            }
        }
    });
    const Index P = d.out_h * d.out_w;
    parallel_for(0, N * C_out, [&](std::ptrdiff_t no) {
        const Index n = no / C_out, o = no % C_out;
        const T* src = yq + (n * rows + o) * d.flat_padded;
        T* dst = y + no * P;
        const T b = bias ? bias[o] : T(0);
        for (Index i = 0; i < d.out_h; ++i) {
            const T* s = src + i * d.padded_w;
            T* r = dst + i * d.out_w;
            if (accumulate)
                for (Index j = 0; j < d.out_w; ++j) r[j] += s[j] + b;
            else if (relu)
                for (Index j = 0; j < d.out_w; ++j) r[j] = s[j] + b > T(0) ? s[j] + b : T(0);
            else
                for (Index j = 0; j < d.out_w; ++j) r[j] = s[j] + b;
        }
    });
}

// The weight gradient, vectorised over output channels (no lane sums):
//   acc[k][v] (12 vectors) += sum over q in [0, len) of x[off[k] + q] * gt[q*ldg + v*L + (0..L-1)]
// for 6 taps k and 2 vectors v of output channels; gt is dL/dy transposed to [q][o].
template <class T>
inline void weight_grad_tile(const T* gt, Index ldg, const T* const* xk, Index len, T* acc_out, Index ld_out) {
    using V = typename Simd<T>::vec;
    constexpr Index L = Simd<T>::lanes;
    V a00 = {}, a01 = {}, a10 = {}, a11 = {}, a20 = {}, a21 = {};
    V a30 = {}, a31 = {}, a40 = {}, a41 = {}, a50 = {}, a51 = {};
    const T *x0 = xk[0], *x1 = xk[1], *x2 = xk[2], *x3 = xk[3], *x4 = xk[4], *x5 = xk[5];
    for (Index q = 0; q < len; ++q, gt += ldg) {
        V g0, g1, s;
        std::memcpy(&g0, gt, sizeof(V));
        std::memcpy(&g1, gt + L, sizeof(V));
        s = splat<T>(x0[q]); a00 += s * g0; a01 += s * g1;
        s = splat<T>(x1[q]); a10 += s * g0; a11 += s * g1;
        s = splat<T>(x2[q]); a20 += s * g0; a21 += s * g1;
        s = splat<T>(x3[q]); a30 += s * g0; a31 += s * g1;
        s = splat<T>(x4[q]); a40 += s * g0; a41 += s * g1;
        s = splat<T>(x5[q]); a50 += s * g0; a51 += s * g1;
    }
    const V all[6][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}, {a40, a41}, {a50, a51}};
    for (Index k = 0; k < 6; ++k)
        for (Index v = 0; v < 2; ++v) {
            V old;
            std::memcpy(&old, acc_out + k * ld_out + v * L, sizeof(V));
            old += all[k][v];
            std::memcpy(acc_out + k * ld_out + v * L, &old, sizeof(V));
        }
}

// dw[o, c, u, v] += sum_{n, i, j} g[n, o, i, j] x[n, c, i+u-p, j+v-p] for x [N, C, H, W] and
// g [N, C_out, H_out, W_out] (stride 1): the weight gradient of direct_conv without `flipped`.
// dL/dy is transposed to gt[n][q][o] on the flat map (zero on wrap-around positions and for
// o >= C_out); blocks of 2 vectors of output channels (16 floats) are split over threads, and
// within a block every (channel, tap) pair k = c*kH*kW + t goes in groups of 6 over blocks of q,
// accumulating in acc[k][o] (flushed to dw at the end in a fixed order).
template <class T>
void direct_conv_weight_grad(const T* x, Index N, Index C, Index H, Index W, const T* g, Index C_out, Index kh,
                             Index kw, Index pad, T* dw) {
    constexpr Index L = Simd<T>::lanes, ob_width = 2 * L;
    const DirectPlan d = direct_plan<T>(C, H, W, kh, kw, pad, pad);
    const Index oblocks = (C_out + ob_width - 1) / ob_width, rows = oblocks * ob_width, taps = d.taps();
    T* xp = scratch<T>(0, static_cast<std::size_t>(N * C * d.plane_stride));
    pad_planes(x, N, d, xp);
    const Index Q = d.flat_size;
    T* gt = scratch<T>(2, static_cast<std::size_t>(N * Q * rows));
    std::fill(gt, gt + N * Q * rows, T(0));
    parallel_for(0, N, [&](std::ptrdiff_t n) {
        for (Index o = 0; o < C_out; ++o) {
            const T* src = g + (n * C_out + o) * d.out_h * d.out_w;
            T* dst = gt + n * Q * rows + o;
            for (Index i = 0; i < d.out_h; ++i)
                for (Index j = 0; j < d.out_w; ++j) dst[(i * d.padded_w + j) * rows] = src[i * d.out_w + j];
        }
    });
    const std::vector<Index> off = tap_offsets(d);
    const Index K = C * taps, groups = (K + 5) / 6;
    constexpr Index block_q = 1024;
    parallel_for(0, oblocks, [&](std::ptrdiff_t ob) {
        // acc[k][0..ob_width): k padded to whole groups; the padding rows are dropped.
        std::vector<T> acc(static_cast<std::size_t>(groups * 6 * ob_width), T(0));
        for (Index n = 0; n < N; ++n) {
            const T* x_n = xp + n * C * d.plane_stride;
            const T* g_n = gt + n * Q * rows + ob * ob_width;
            for (Index q0 = 0; q0 < Q; q0 += block_q) {
                const Index len = std::min(block_q, Q - q0);
                for (Index grp = 0; grp < groups; ++grp) {
                    const T* xk[6];
                    for (Index r = 0; r < 6; ++r) {
                        const Index k = std::min(grp * 6 + r, K - 1);
                        xk[r] = x_n + (k / taps) * d.plane_stride + off[static_cast<std::size_t>(k % taps)] + q0;
                    }
                    weight_grad_tile(g_n + q0 * rows, rows, xk, len, acc.data() + grp * 6 * ob_width, ob_width);
                }
            }
        }
        for (Index k = 0; k < K; ++k)
            for (Index m = 0; m < ob_width; ++m) {
                const Index o = ob * ob_width + m;
                if (o < C_out) dw[o * K + k] += acc[static_cast<std::size_t>(k * ob_width + m)];
            }
    });
}

}  // namespace maunet::detail
