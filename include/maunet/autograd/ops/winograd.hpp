// maunet/autograd/ops/winograd.hpp: Winograd F(2x2, 3x3) and F(4x4, 3x3) for the 3x3, stride-1,
// padding-1 convolutions of the U-Nets (forward and input gradient; the weight gradient is in
// winograd_weight_grad.hpp): 16 multiplies per 2x2 output tile and channel pair instead of 36,
// or 36 per 4x4 tile instead of 144.
//
// Lavin & Gray (2016). For a 4x4 input tile d (rows 2a-1 .. 2a+2, columns 2b-1 .. 2b+2 of the
// zero-padded image) and a 3x3 kernel g, the 2x2 output tile of the cross-correlation is
//
//   Y = A^T [ (G g G^T) (.) (B^T d B) ] A,    (.) the element-wise product, with
//
//   B^T = | 1  0 -1  0 |    G = | 1    0    0  |    A^T = | 1  1  1  0 |
//         | 0  1  1  0 |        | 1/2  1/2  1/2 |          | 0  1 -1 -1 |
//         | 0 -1  1  0 |        | 1/2 -1/2  1/2 |
//         | 0  1  0 -1 |        | 0    0    1  |
//
// F(4x4, 3x3) is the same with a 6x6 input tile (rows 4a-1 .. 4a+4), B^T 6 x 6, G 6 x 3 and A^T
// 4 x 6 (isa/winograd4_tiles.inl, winograd_pack_weights below): 36 positions, 2.25 multiplies per
// output instead of 4, for transforms that cost about twice as much per output. It is taken where
// that pays (winograd_f4_pays): images at least 32 pixels wide, where a vector of 8 tiles is one
// tile row's 32 pixels.
//
// Summed over input channels, the product is 16 independent matrix products, one per position
// xi of the 4x4 transformed tile:  M[xi] (C_out x tiles) = U[xi] (C_out x C) V[xi] (C x tiles),
// with U[xi][o, c] = (G g[o, c] G^T)[xi] and V[xi][c, t] = (B^T d[c, t] B)[xi]. They run on a
// register-blocked kernel (6 output channels x 2 vectors of tiles in 12 accumulators: per input
// channel 2 loads, 6 broadcasts, 12 FMAs), then Y = A^T M A. The kernels exist once per
// instruction set (isa/winograd.inl, isa/winograd_product.inl, see maunet/core/isa/region.hpp),
// chosen by kernel_isa(); an AVX-512 CPU runs the AVX2 transforms with AVX-512 products.
//
// Layout. Tiles are numbered by "slots": tile row a holds row_slots = tiles_w rounded up to a
// whole vector, so every vector of L consecutive slots is L neighbouring tiles of one tile row.
// The transforms then work on whole vectors, one lane per tile: the 4 columns of the tiles at
// b0 .. b0+L-1 are the even and odd entries of two pairs of vectors loaded from the padded row
// (a shuffle each), and the 2 output columns interleave back into 2L contiguous pixels (in F(4x4)
// a 4 x 4 transpose inside each 128-bit half splits 4L values into 4 columns, and joins them
// back). Slots past tiles_w are computed on zeros and dropped.
//
// Blocking. Work items are (image, block of panels, slice of output channels); a panel is 2L
// slots, the width of the product kernel. An item copies the input rows its block reads, one
// channel at a time and zero-padded, into a small buffer on its core (the input is never padded
// whole in memory), transforms its block into V [16][panel][C][2L] (F(2x2): about 256 KB and at
// least 4 panels, so it stays in L2 and U is read once per 4 panels; F(4x4): V [36][...], and as
// many panels as keep V and M under 768 KB, at least one), runs the 16 or 36 products over all C
// at once (a panel of V is C x 2L contiguous floats, so no partial sums leave the registers), and
// transforms M back into y (applying the bias and, for conv2d_relu, the ReLU as it writes). In
// F(2x2) the transforms cost about a third of the products' time at 32 channels and under a tenth
// from 128 on (docs/performance.md).
//
// Accuracy: the transforms of F(2x2) only add, subtract and halve, so the result differs from the
// direct sum by rounding only; in float the relative difference to the GEMM path stays below
// 1e-5 on the tested layers (tests/autograd/ops/winograd.test.cpp). Those of F(4x4) multiply by
// up to 8 and divide by 6 and 24: about 10x the rounding, 5e-6 to 1e-5 of the largest output on
// the same layers (oneDNN's and NNPACK's float kernels use F(4x4) and F(6x6)); in double both
// agree with the direct sum to 1e-14.
//
// Threads: items are handed out by parallel_for_affine: each thread first takes the items of its
// own share of the batch (the images the elementwise loops around it give to that core, so their
// data is in its caches), then helps with the rest (blocks at the image's last tile row cost
// less, and a shared machine slows one core now and then); every output value is computed
// by one item in an order that does not depend on which thread runs it, so results are
// bit-identical for any thread count and any partition.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "maunet/autograd/ops/conv_direct.hpp"
#include "maunet/core/threading.hpp"

namespace maunet::detail {

// True when conv2d takes the Winograd path: 3x3, stride 1, padding 1, chosen automatically on
// images of 16 x 16 and more with 8 or more input and output channels (measured faster than the
// direct kernel there on every U-Net layer; with 1 input channel the transforms cost 4x the
// direct convolution, docs/performance.md), or forced with ConvPath::winograd.
inline bool winograd_applies(Index kh, Index kw, Index stride, Index pad, Index out_h, Index out_w, Index c_in,
                             Index c_out) {
    const ConvPath path = conv_path().load(std::memory_order_relaxed);
    if (path == ConvPath::gemm || path == ConvPath::direct) return false;
    if (kh != 3 || kw != 3 || stride != 1 || pad != 1) return false;
    if (path == ConvPath::winograd) return true;
    return out_h >= 16 && out_w >= 16 && c_in >= 8 && c_out >= 8;
}

constexpr Index winograd_mr = 6;  // output channels per product tile
constexpr Index winograd_nv = 2;  // vectors of tiles per product tile

// The geometry of one Winograd pass over an image [C, H, W].
struct WinogradPlan {
    Index tiles_h = 0, tiles_w = 0;
    Index row_slots = 0;  // tiles_w rounded up to a whole vector
    Index slots = 0;      // tiles_h * row_slots
    Index step = 0;       // slots per panel: the width of the product kernel
    Index panels = 0, panels_per_block = 0, blocks = 0;
    Index padded_w = 0;  // a zero-padded input row: M row_slots + M values (one zero on the left)
};

// The products of one block of panels and one block of <= 6 output channels: M[q] = U V[q] for
// q < panels, M[q][r][s] = sum_c U[c][r] V[q][c][s] (isa/winograd_product.inl).
template <class T>
struct WinogradProduct {
    const T* v = nullptr;  // V[q][c][s] at v[(q * channels + c) * step + s], s < step
    Index channels = 0, panels = 0, step = 0;
    const T* u = nullptr;  // U[c][r] at u[c * winograd_mr + r]
    T* m = nullptr;        // M[q][r][s] at m[q * m_panel_stride + r * step + s]
    Index m_panel_stride = 0;
    Index rows = 0;  // output channels of the block, 1 .. winograd_mr
};
template <class T>
using WinogradProductKernel = void (*)(const WinogradProduct<T>&);

}  // namespace maunet::detail

#define MAUNET_ISA_BODY "maunet/autograd/ops/isa/winograd_product.inl"
#include "maunet/core/isa/instantiate.inl"

namespace maunet::detail {

// out[xi][k] = (G g G^T)[xi], xi < 16, for kernel k of a set whose tap t (row-major 3 x 3) is
// g[t][k]: F(2x2, 3x3)'s G, row by row G r = (r0, (r0 + r1 + r2)/2, (r0 - r1 + r2)/2, r2). Called
// for every k of a set in turn, it is the same adds on whole rows, which the compiler vectorizes.
template <class T, std::size_t Len>
inline void winograd2_transform_kernel(const T (&g)[9][Len], T (&out)[16][Len], Index k) {
    T gg[4][3];  // G g
    for (Index j = 0; j < 3; ++j) {
        const T r0 = g[j][k], r1 = g[3 + j][k], r2 = g[6 + j][k];
        gg[0][j] = r0;
        gg[1][j] = T(0.5) * (r0 + r1 + r2);
        gg[2][j] = T(0.5) * (r0 - r1 + r2);
        gg[3][j] = r2;
    }
    for (Index i = 0; i < 4; ++i) {  // (G g) G^T
        out[i * 4 + 0][k] = gg[i][0];
        out[i * 4 + 1][k] = T(0.5) * (gg[i][0] + gg[i][1] + gg[i][2]);
        out[i * 4 + 2][k] = T(0.5) * (gg[i][0] - gg[i][1] + gg[i][2]);
        out[i * 4 + 3][k] = gg[i][2];
    }
}

// U[xi][ob][c][m] = (G g G^T)[xi] for g = weight(ob*6 + m, c), packed for the product kernel;
// zero for output channels past C_out; weight(o, c) as `order` says (WeightOrder, conv_direct.hpp).
// F(M x M, 3x3): G is 4 x 3 for M = 2 (above), 6 x 3 for M = 4:
//
//   G = |  1/4     0     0  |
//       | -1/6  -1/6  -1/6  |
//       | -1/6   1/6  -1/6  |
//       |  1/24  1/12  1/6  |
//       |  1/24 -1/12  1/6  |
//       |  0     0     1    |
//
// whose sixths are not exact in binary: it runs in T, multiplying by the rounded reciprocals (in
// double, rounded once, it took 1.6x as long and the convolution's float error stayed as it was:
// the transforms of the data dominate it).
template <Index M, class T>
void winograd_pack_weights(const T* w, Index C_out, Index C, WeightOrder order, T* u) {
    constexpr Index alpha = M + 2, positions = alpha * alpha;
    const Index blocks = (C_out + winograd_mr - 1) / winograd_mr;
    const Index xi_stride = blocks * C * winograd_mr;
    constexpr Index chunk = 32;              // input channels per pass
    constexpr Index n = chunk * winograd_mr;  // kernels per pass, k = (c - c0) * 6 + m
    // One block of 6 output channels per item, a chunk of input channels at a time. The 9 taps of
    // the chunk's kernels are first gathered tap by tap (g[tap][k]), so the transform below is the
    // same few adds on whole rows, which the compiler vectorizes; its results per kernel go to
    // 16 or 36 places a whole U[xi] apart (0.5 MB at 512 channels), so they are collected per
    // chunk and written as contiguous runs. This packing runs on every call (the weights may have
    // changed); at batch 1 it is about 6% of a U-Net's inference, bound by writing U to memory.
    parallel_for(0, blocks, [&](std::ptrdiff_t ob) {
        alignas(64) T g[9][n];
        alignas(64) T out[positions][n];
        for (Index c0 = 0; c0 < C; c0 += chunk) {
            const Index cn = std::min(chunk, C - c0), kn = cn * winograd_mr;
            for (Index c = c0; c < c0 + cn; ++c)
                for (Index m = 0; m < winograd_mr; ++m) {
                    const Index o = ob * winograd_mr + m, k = (c - c0) * winograd_mr + m;
                    for (Index t = 0; t < 9; ++t)
                        g[t][k] = o >= C_out ? T(0)
                                  : order == WeightOrder::flipped_transposed ? w[(c * C_out + o) * 9 + (8 - t)]
                                                                             : w[(o * C + c) * 9 + t];
                }
            for (Index k = 0; k < kn; ++k) {
                if constexpr (M == 2) {
                    winograd2_transform_kernel(g, out, k);
                } else {
                    // G applied to the 3 values r of one line of a kernel (by reciprocals:
                    // divisions made this packing 4.5x slower than F(2x2)'s; now 2.3x, as its 36
                    // values per kernel against 16).
                    auto line = [](T r0, T r1, T r2, T* y) {
                        constexpr T sixth = T(1.0 / 6), twelfth = T(1.0 / 12), twenty_fourth = T(1.0 / 24);
                        y[0] = T(0.25) * r0;
                        y[1] = -sixth * (r0 + r1 + r2);
                        y[2] = -sixth * (r0 - r1 + r2);
                        y[3] = twenty_fourth * r0 + twelfth * r1 + sixth * r2;
                        y[4] = twenty_fourth * r0 - twelfth * r1 + sixth * r2;
                        y[5] = r2;
                    };
                    T gg[3][6];  // (G g)^T: gg[j][i] = (G g)[i][j]
                    for (Index j = 0; j < 3; ++j) line(g[j][k], g[3 + j][k], g[6 + j][k], gg[j]);
                    for (Index i = 0; i < 6; ++i) {  // (G g) G^T, row i
                        T y[6];
                        line(gg[0][i], gg[1][i], gg[2][i], y);
                        for (Index j = 0; j < 6; ++j) out[i * 6 + j][k] = y[j];
                    }
                }
            }
            for (Index xi = 0; xi < positions; ++xi)
                std::memcpy(u + xi * xi_stride + (ob * C + c0) * winograd_mr, out[xi], sizeof(T) * kn);
        }
    });
}

// Which Winograd tile a 3x3 convolution takes: 0 = per shape (winograd_f4_pays), 2 or 4 forces
// F(2x2, 3x3) or F(4x4, 3x3). For tests and benchmarks.
inline std::atomic<int>& winograd_tile_override() {
    static std::atomic<int> tile{0};
    return tile;
}

}  // namespace maunet::detail

// No AVX-512 copy of the transforms: with 16 lanes a vector holds 16 tiles of one row of tiles, and
// the U-Net's 16 x 16 and 8 x 8 layers have 8 and 4 tiles a row, so most lanes would compute
// padding. Compiled with 64-byte vectors these kernels measured 1.4-2x slower than the AVX2 copy on
// those layers on Zen 4 (docs/performance.md), so an AVX-512 CPU runs the AVX2 transforms, with the
// AVX-512 products (isa/winograd_product.inl).
#define MAUNET_ISA_BODY "maunet/autograd/ops/isa/winograd.inl"
#define MAUNET_ISA_NO_AVX512
#include "maunet/core/isa/instantiate.inl"

namespace maunet::detail {

// True when F(4x4, 3x3) pays over F(2x2, 3x3) for a convolution C -> C_out on images W wide: 2.25
// multiplies per output and channel pair instead of 4, for transforms that cost about twice as
// much per output, and 4-pixel tiles: a vector of 8 tiles is 32 pixels of a tile row, and a
// 16-pixel row would leave half its lanes empty. Measured on the U-Net's layers (1 thread, batch 1
// and 8, Sapphire Rapids, docs/performance.md): from 32 x 32 up 0.57-0.72x F(2x2)'s time with the
// generic and AVX2 kernels, 0.7-0.9x with the AVX-512 products; at 16 x 16 1.15-2.6x. Channel
// counts under 32 were not measured: 16 is kept as the floor.
inline bool winograd_f4_pays(Index C, Index C_out, Index W) {
    return W >= 32 && C >= 16 && C_out >= 16;
}

// y[n] (+)= b + conv3x3(x[n], weight), padding 1 (call.kernel_h = kernel_w = 3, pad 1), with the
// kernels of kernel_isa() (for avx512 the AVX2 transforms with the AVX-512 products, above), by
// F(4x4, 3x3) where winograd_f4_pays (or winograd_tile_override() says 4), else F(2x2, 3x3).
template <class T>
void winograd_conv3x3(const ConvCall<T>& call) {
    const int forced = winograd_tile_override().load(std::memory_order_relaxed);
    const bool four =
        forced != 0 ? forced == 4 : winograd_f4_pays(call.channels, call.out_channels, call.width);
#if MAUNET_HAVE_AVX512_KERNELS
    if (kernel_isa() == Isa::avx512)
        return four ? avx2::winograd_conv3x3<4>(call, &avx512::winograd_product_panels<T>)
                    : avx2::winograd_conv3x3<2>(call, &avx512::winograd_product_panels<T>);
#endif
#if MAUNET_HAVE_AVX2_KERNELS
    if (kernel_isa() == Isa::avx2)
        return four ? avx2::winograd_conv3x3<4>(call, &avx2::winograd_product_panels<T>)
                    : avx2::winograd_conv3x3<2>(call, &avx2::winograd_product_panels<T>);
#endif
    if (four) return generic::winograd_conv3x3<4>(call, &generic::winograd_product_panels<T>);
    generic::winograd_conv3x3<2>(call, &generic::winograd_product_panels<T>);
}

}  // namespace maunet::detail
