// maunet/autograd/ops/winograd_batch.hpp: Winograd F(2x2, 3x3) for small images, with the tiles
// of the whole batch as the columns of 16 matrix products (forward, input gradient and weight
// gradient of the 3x3, stride-1, padding-1 convolution).
//
// The per-image kernels (winograd.hpp) put the tiles of one tile row in the vector lanes: an
// 8 x 8 image has 4 tiles a row, so with AVX-512's 16 lanes three quarters of every vector would
// be padding, and the U-Nets' 8 x 8 bottleneck ran im2col + GEMM instead (per image a 512 x 4608
// by 4608 x 64 product). Here the tiles of all images are numbered together,
//   t = (n tiles_h + a) tiles_w + b     (image n, tile row a, tile column b),
// and the 16 products of the Winograd domain are plain GEMMs (core/gemm.hpp) with T = batch x 16
// columns at 8 x 8 (128 at batch 8):
//   forward   M[xi] (C_out x T) = U[xi] (C_out x C) V[xi] (C x T)       then y  = A^T M A per tile
//   dW        dU[xi] (C_out x C) = dM[xi] (C_out x T) V[xi]^T (T x C)    then dg = G^T dU G
// with U = G g G^T, V = B^T d B and dM = A dY A^T (the matrices of Lavin & Gray 2016, written out
// in winograd.hpp and winograd_weight_grad.hpp). 16 multiply-adds per 2x2 output tile and channel
// pair instead of 36: the products do 4/9 of im2col + GEMM's arithmetic. The input gradient is
// the forward convolution of dL/dy with the flipped, transposed weight (WeightOrder, as the other
// kernels do it). The transforms are short scalar loops the compiler vectorizes; at 512 channels
// and batch 8 they take about two fifths of the forward pass, most of it writing U (16/9 of the
// weight's size) to memory (docs/performance.md).
//
// Tiles past the image (odd H or W) read zeros and their outputs are dropped. Accuracy: the
// transforms add, subtract and halve, so results differ from the direct sum by rounding alone.
//
// Threads: the products run one position xi per item, each GEMM on its thread alone; the
// transforms split channels. Every value is summed in an order fixed by the shapes, so results
// are bit-identical for any thread count.
#pragma once

#include <algorithm>
#include <cstring>

#include "maunet/autograd/ops/conv_direct.hpp"
#include "maunet/autograd/ops/winograd.hpp"
#include "maunet/core/gemm.hpp"
#include "maunet/core/scratch.hpp"
#include "maunet/core/threading.hpp"

namespace maunet::detail {

// The batch's tiles: tiles_h x tiles_w per image, `total` in all (the products' width).
struct BatchTiles {
    Index batch = 0, height = 0, width = 0;  // of the output (= the input: padding 1)
    Index tiles_h = 0, tiles_w = 0, per_image = 0, total = 0;
};
inline BatchTiles batch_tiles(Index batch, Index height, Index width) {
    BatchTiles p;
    p.batch = batch;
    p.height = height;
    p.width = width;
    p.tiles_h = (height + 1) / 2;
    p.tiles_w = (width + 1) / 2;
    p.per_image = p.tiles_h * p.tiles_w;
    p.total = batch * p.per_image;
    return p;
}

// True when conv2d takes this path: 3x3, stride 1, padding 1, images under 16 pixels high or wide
// (larger ones take the per-image kernels of winograd.hpp), 32 or more channels in and out and 64
// or more tiles in the batch; or forced with ConvPath::winograd_batch. Measured against im2col +
// GEMM on 8 x 8 images (1 thread, Sapphire Rapids, AVX-512; docs/performance.md): 0.58-0.96x its
// time from 32 to 512 channels at batch 8 and 4 (dx at 128 and 256 channels, batch 4: 1.0-1.04x);
// 0.95-1.25x at 8 and 16 channels; at batch 2 (32 tiles) 0.9-1.5x. 4 x 4 images at batch 16:
// 0.44-0.81x.
inline bool batch_winograd_applies(Index kh, Index kw, Index stride, Index pad, Index out_h, Index out_w, Index c_in,
                                   Index c_out, Index batch) {
    const ConvPath path = conv_path().load(std::memory_order_relaxed);
    if (path != ConvPath::automatic && path != ConvPath::winograd_batch) return false;
    if (kh != 3 || kw != 3 || stride != 1 || pad != 1) return false;
    if (path == ConvPath::winograd_batch) return true;
    return (out_h < 16 || out_w < 16) && c_in >= 32 && c_out >= 32 && batch_tiles(batch, out_h, out_w).total >= 64;
}

// U[xi] (C_out x C, row-major) = (G g G^T)[xi] for g = w[o, c] (w [C_out, C, 3, 3]), xi < 16
// (winograd2_transform_kernel, winograd.hpp).
// One output channel per item, a chunk of 64 input channels at a time: the chunk's 9 taps are
// gathered tap by tap, so the transform is the same adds on whole rows, which the compiler
// vectorizes; its 16 rows are written as runs of 64. U is 16/9 the size of w and goes to memory
// (16.8 MB at 512 -> 512): this costs about twice a copy of it (docs/performance.md).
template <class T>
void batch_winograd_weights(const T* w, Index C_out, Index C, T* u) {
    const Index xi_stride = C_out * C;
    constexpr Index chunk = 64;
    parallel_for(0, C_out, [&](std::ptrdiff_t o) {
        alignas(64) T g[9][chunk];
        alignas(64) T out[16][chunk];
        for (Index c0 = 0; c0 < C; c0 += chunk) {
            const Index cn = std::min(chunk, C - c0);
            for (Index k = 0; k < cn; ++k)
                for (Index t = 0; t < 9; ++t) g[t][k] = w[(o * C + c0 + k) * 9 + t];
            for (Index k = 0; k < cn; ++k) winograd2_transform_kernel(g, out, k);
            for (Index xi = 0; xi < 16; ++xi) std::memcpy(u + xi * xi_stride + o * C + c0, out[xi], sizeof(T) * cn);
        }
    });
}

// V[xi] (C x T) = (B^T d B)[xi] for the 4 x 4 input tile d of every tile t (rows 2a-1 .. 2a+2,
// columns 2b-1 .. 2b+2 of image n, zero outside), B^T d B row by row:
//   B^T r = (r0 - r2, r1 + r2, r2 - r1, r1 - r3).
// One channel per item. Each image's plane is zero-padded into a small buffer with its even and
// odd columns apart (e[i][b] = padded(i, 2b), o[i][b] = padded(i, 2b + 1)), so the 4 columns of
// the tiles b of a tile row are e[b], o[b], e[b + 1], o[b + 1]: contiguous in b, and the
// transform of a tile row is the same adds on whole rows, which the compiler vectorizes. The
// channel's values of every tile are collected and written out as 16 runs of T (stored tile by
// tile, 16 values a whole V[xi] apart, they went to addresses that the L1 cache maps to one set
// when C T is a power of two, and took 3x as long).
template <class T>
void batch_winograd_input(const T* x, Index C, const BatchTiles& p, T* v) {
    const Index rows = 2 * p.tiles_h + 2, half = p.tiles_w + 1, xi_stride = C * p.total;
    parallel_for(0, C, [&](std::ptrdiff_t c) {
        T* even = scratch<T>(ScratchSlot::input, static_cast<std::size_t>(2 * rows * half + 16 * p.total));
        T* odd = even + rows * half;
        T* out = odd + rows * half;
        std::fill(even, even + 2 * rows * half, T(0));
        for (Index n = 0; n < p.batch; ++n) {
            const T* plane = x + (n * C + c) * p.height * p.width;
            for (Index i = 0; i < p.height; ++i)  // padded (i + 1, j + 1) = x(i, j)
                for (Index j = 0; j < p.width; ++j) {
                    const Index col = j + 1;
                    (col % 2 == 0 ? even : odd)[(i + 1) * half + col / 2] = plane[i * p.width + j];
                }
            for (Index a = 0; a < p.tiles_h; ++a) {
                const T* e[4];
                const T* o[4];
                for (Index i = 0; i < 4; ++i) {
                    e[i] = even + (2 * a + i) * half;
                    o[i] = odd + (2 * a + i) * half;
                }
                T* dst = out + n * p.per_image + a * p.tiles_w;
                for (Index b = 0; b < p.tiles_w; ++b) {
                    T d[4][4];
                    for (Index i = 0; i < 4; ++i) {
                        d[i][0] = e[i][b];
                        d[i][1] = o[i][b];
                        d[i][2] = e[i][b + 1];
                        d[i][3] = o[i][b + 1];
                    }
                    T r[4][4];  // B^T d
                    for (Index j = 0; j < 4; ++j) {
                        r[0][j] = d[0][j] - d[2][j];
                        r[1][j] = d[1][j] + d[2][j];
                        r[2][j] = d[2][j] - d[1][j];
                        r[3][j] = d[1][j] - d[3][j];
                    }
                    for (Index i = 0; i < 4; ++i) {  // (B^T d) B
                        dst[(i * 4 + 0) * p.total + b] = r[i][0] - r[i][2];
                        dst[(i * 4 + 1) * p.total + b] = r[i][1] + r[i][2];
                        dst[(i * 4 + 2) * p.total + b] = r[i][2] - r[i][1];
                        dst[(i * 4 + 3) * p.total + b] = r[i][1] - r[i][3];
                    }
                }
            }
        }
        for (Index xi = 0; xi < 16; ++xi) std::copy_n(out + xi * p.total, p.total, v + xi * xi_stride + c * p.total);
    });
}

// The 16 products out[xi] = op_a(a[xi]) op_b(b[xi]) (beta 0), one position per item.
template <class T>
void batch_winograd_products(MatrixOp op_a, MatrixOp op_b, Index M, Index N, Index K, const T* a, Index lda,
                             const T* b, Index ldb, T* out, Index ldc) {
    const Index a_size = (op_a == MatrixOp::as_is ? M : K) * lda, b_size = (op_b == MatrixOp::as_is ? K : N) * ldb;
    parallel_for(0, 16, [&](std::ptrdiff_t xi) {
        gemm<T>(op_a, op_b, M, N, K, T(1), a + xi * a_size, lda, b + xi * b_size, ldb, T(0), out + xi * M * ldc, ldc);
    });
}

// y[n, o] (+)= bias[o] + (A^T M A) of every tile, the 2 x 2 outputs inside the image, stored as
// `store` says. A^T m = (m0 + m1 + m2, m1 - m2 - m3) for a line m of 4. One output channel per
// item: its 4 outputs of every tile are computed over t (16 contiguous rows in, 4 out: vectorized),
// then placed into the images.
template <class T>
void batch_winograd_output(const T* m, Index C_out, const BatchTiles& p, const T* bias, Store store, T* y) {
    const Index xi_stride = C_out * p.total, plane = p.height * p.width;
    parallel_for(0, C_out, [&](std::ptrdiff_t o) {
        T* q = scratch<T>(ScratchSlot::input, static_cast<std::size_t>(4 * p.total));  // q[2i + j][t]
        const T* mo[16];
        for (Index xi = 0; xi < 16; ++xi) mo[xi] = m + xi * xi_stride + o * p.total;
        const T b0 = bias ? bias[o] : T(0);
        for (Index t = 0; t < p.total; ++t) {
            T s[2][4];  // A^T M
            for (Index j = 0; j < 4; ++j) {
                s[0][j] = mo[j][t] + mo[4 + j][t] + mo[8 + j][t];
                s[1][j] = mo[4 + j][t] - mo[8 + j][t] - mo[12 + j][t];
            }
            for (Index i = 0; i < 2; ++i) {  // (A^T M) A
                q[(2 * i) * p.total + t] = b0 + (s[i][0] + s[i][1] + s[i][2]);
                q[(2 * i + 1) * p.total + t] = b0 + (s[i][1] - s[i][2] - s[i][3]);
            }
        }
        for (Index n = 0; n < p.batch; ++n) {
            T* yp = y + (n * C_out + o) * plane;
            for (Index r = 0; r < p.height; ++r)
                for (Index col = 0; col < p.width; ++col) {
                    const T val = q[(2 * (r % 2) + col % 2) * p.total + n * p.per_image + (r / 2) * p.tiles_w + col / 2];
                    T& out = yp[r * p.width + col];
                    out = store == Store::accumulate      ? out + val
                          : store == Store::overwrite_relu ? (val > T(0) ? val : T(0))
                                                           : val;
                }
        }
    });
}

// dM[xi] (K x T) = (A dY A^T)[xi] for the 2 x 2 tile dY of dL/dy at every tile (zero outside the
// image): A r = (r0, r0 + r1, r0 - r1, -r1) for a line r of 2, the adjoint of A^T above. One
// channel per item; its values of every tile are collected and written out as 16 runs of T (as
// in batch_winograd_input).
template <class T>
void batch_winograd_output_grad(const T* g, Index K, const BatchTiles& p, T* dm) {
    const Index xi_stride = K * p.total, plane = p.height * p.width;
    parallel_for(0, K, [&](std::ptrdiff_t k) {
        T* out = scratch<T>(ScratchSlot::input, static_cast<std::size_t>(16 * p.total));
        for (Index n = 0; n < p.batch; ++n) {
            const T* gp = g + (n * K + k) * plane;
            for (Index a = 0; a < p.tiles_h; ++a)
                for (Index b = 0; b < p.tiles_w; ++b) {
                    T dy[2][2];
                    for (Index i = 0; i < 2; ++i)
                        for (Index j = 0; j < 2; ++j) {
                            const Index r = 2 * a + i, s = 2 * b + j;
                            dy[i][j] = r < p.height && s < p.width ? gp[r * p.width + s] : T(0);
                        }
                    const T col[4][2] = {{dy[0][0], dy[0][1]},  // A dY
                                         {dy[0][0] + dy[1][0], dy[0][1] + dy[1][1]},
                                         {dy[0][0] - dy[1][0], dy[0][1] - dy[1][1]},
                                         {-dy[1][0], -dy[1][1]}};
                    const Index t = n * p.per_image + a * p.tiles_w + b;
                    for (Index i = 0; i < 4; ++i) {  // (A dY) A^T
                        out[(i * 4 + 0) * p.total + t] = col[i][0];
                        out[(i * 4 + 1) * p.total + t] = col[i][0] + col[i][1];
                        out[(i * 4 + 2) * p.total + t] = col[i][0] - col[i][1];
                        out[(i * 4 + 3) * p.total + t] = -col[i][1];
                    }
                }
        }
        for (Index xi = 0; xi < 16; ++xi) std::copy_n(out + xi * p.total, p.total, dm + xi * xi_stride + k * p.total);
    });
}

// dw[o, c] += G^T dU[o, c] G (3 x 3 from 4 x 4): G^T r = (r0 + (r1 + r2)/2, (r1 - r2)/2,
// (r1 + r2)/2 + r3) for a line r of 4, the adjoint of G above. One output channel per item, a
// chunk of input channels at a time: the transform runs on whole rows of dU (vectorized) into
// g[tap][c], then is added into the kernels tap by tap.
template <class T>
void batch_winograd_weight_adjoint(const T* du, Index C_out, Index C, T* dw) {
    const Index xi_stride = C_out * C;
    constexpr Index chunk = 64;
    parallel_for(0, C_out, [&](std::ptrdiff_t o) {
        alignas(64) T g[9][chunk];
        for (Index c0 = 0; c0 < C; c0 += chunk) {
            const Index cn = std::min(chunk, C - c0);
            const T* d = du + o * C + c0;
            for (Index k = 0; k < cn; ++k) {
                T r[3][4];  // G^T dU
                for (Index j = 0; j < 4; ++j) {
                    const T u0 = d[j * xi_stride + k], u1 = d[(4 + j) * xi_stride + k],
                            u2 = d[(8 + j) * xi_stride + k], u3 = d[(12 + j) * xi_stride + k];
                    r[0][j] = u0 + T(0.5) * (u1 + u2);
                    r[1][j] = T(0.5) * (u1 - u2);
                    r[2][j] = T(0.5) * (u1 + u2) + u3;
                }
                for (Index i = 0; i < 3; ++i) {  // (G^T dU) G
                    g[i * 3 + 0][k] = r[i][0] + T(0.5) * (r[i][1] + r[i][2]);
                    g[i * 3 + 1][k] = T(0.5) * (r[i][1] - r[i][2]);
                    g[i * 3 + 2][k] = T(0.5) * (r[i][1] + r[i][2]) + r[i][3];
                }
            }
            T* dst = dw + (o * C + c0) * 9;
            for (Index k = 0; k < cn; ++k)
                for (Index t = 0; t < 9; ++t) dst[k * 9 + t] += g[t][k];
        }
    });
}

// y (+)= b + conv3x3(x, weight), padding 1, as in ConvCall (the forward pass, or with the flipped,
// transposed weight the input gradient).
template <class T>
void batch_winograd_conv3x3(const ConvCall<T>& call) {
    const BatchTiles p = batch_tiles(call.batch, call.height, call.width);
    const Index C = call.channels, C_out = call.out_channels;
    const T* w = call.weight;
    if (call.weight_order == WeightOrder::flipped_transposed) {  // w' [C_out, C, 3, 3] made whole first
        T* flipped = scratch<T>(ScratchSlot::gathered, static_cast<std::size_t>(C_out * C * 9));
        flip_transpose_weight(call.weight, C, C_out, 3, flipped);
        w = flipped;
    }
    T* u = scratch<T>(ScratchSlot::operand, static_cast<std::size_t>(16 * C_out * C));
    T* v = scratch<T>(ScratchSlot::transform, static_cast<std::size_t>(16 * C * p.total));
    T* m = scratch<T>(ScratchSlot::output, static_cast<std::size_t>(16 * C_out * p.total));
    batch_winograd_weights(w, C_out, C, u);
    batch_winograd_input(call.x, C, p, v);
    batch_winograd_products(MatrixOp::as_is, MatrixOp::as_is, C_out, p.total, C, u, C, v, p.total, m, p.total);
    batch_winograd_output(m, C_out, p, call.bias, call.store, call.y);
}

// dw[k, c, u, v] += sum_{n,i,j} g[n, k, i, j] x[n, c, i+u-1, j+v-1] (3x3, padding 1).
template <class T>
void batch_winograd_weight_grad3x3(const T* x, Index N, Index C, Index H, Index W, const T* g, Index K, T* dw) {
    const BatchTiles p = batch_tiles(N, H, W);
    T* v = scratch<T>(ScratchSlot::transform, static_cast<std::size_t>(16 * C * p.total));
    T* dm = scratch<T>(ScratchSlot::output, static_cast<std::size_t>(16 * K * p.total));
    T* du = scratch<T>(ScratchSlot::operand, static_cast<std::size_t>(16 * K * C));
    batch_winograd_input(x, C, p, v);
    batch_winograd_output_grad(g, K, p, dm);
    batch_winograd_products(MatrixOp::as_is, MatrixOp::transposed, K, C, p.total, dm, p.total, v, p.total, du, C);
    batch_winograd_weight_adjoint(du, K, C, dw);
}

}  // namespace maunet::detail
