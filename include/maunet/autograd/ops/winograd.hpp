// maunet/autograd/ops/winograd.hpp: Winograd F(2x2, 3x3) for the 3x3, stride-1, padding-1
// convolutions of the U-Nets (forward and input gradient): 16 multiplies per 2x2 output tile and
// input channel instead of 36.
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
// Summed over input channels, the product is 16 independent matrix products, one per position
// xi of the 4x4 transformed tile:  M[xi] (C_out x tiles) = U[xi] (C_out x C) V[xi] (C x tiles),
// with U[xi][o, c] = (G g[o, c] G^T)[xi] and V[xi][c, t] = (B^T d[c, t] B)[xi]. They run on the
// register-blocked kernel of conv_direct.hpp (forward_tile with one tap), then Y = A^T M A.
//
// Accuracy: the transforms only add, subtract and halve, so the result differs from the direct
// sum by rounding only; in float the relative difference to the GEMM path stays below 1e-5 on
// the tested layers (tests/autograd/ops/winograd.test.cpp).
//
// Threads: one image at a time; the input transform is split over channels, the 16 products over
// (xi, block of output channels), the output transform over output channels. Every value is
// computed by one thread in a fixed order: results are bit-identical for any thread count.
#pragma once

#include <algorithm>
#include <vector>

#include "maunet/autograd/ops/conv_direct.hpp"
#include "maunet/core/threading.hpp"

namespace maunet::detail {

// True when conv2d takes the Winograd path: 3x3, stride 1, padding 1, forced with
// ConvPath::winograd. `automatic` does not choose it yet: with the scalar tile transforms below
// it measured slower than the direct kernel on every U-Net layer (docs/performance.md); the
// image-size rule is kept for when the transforms are vectorised.
inline bool winograd_applies(Index kh, Index kw, Index stride, Index pad, Index out_h, Index out_w) {
    constexpr bool automatic_enabled = false;
    const ConvPath path = conv_path().load(std::memory_order_relaxed);
    if (path == ConvPath::gemm || path == ConvPath::direct) return false;
    if (kh != 3 || kw != 3 || stride != 1 || pad != 1) return false;
    if (path == ConvPath::winograd) return true;
    return automatic_enabled && out_h * out_w >= 32 * 32;
}

// y[n] (+)= b + conv3x3(x[n], weight), padding 1, for x [N, C, H, W]; weight as in direct_conv
// (w [C_out, C, 3, 3], or with `flipped` w [C, C_out, 3, 3] read flipped and transposed).
template <class T>
void winograd_conv3x3(const T* x, Index N, Index C, Index H, Index W, const T* w, Index C_out, bool flipped,
                      const T* bias, T* y, bool accumulate) {
    const Index tiles_h = (H + 1) / 2, tiles_w = (W + 1) / 2, tiles = tiles_h * tiles_w;
    const Index step = direct_nv * Simd<T>::lanes;
    const Index tp = (tiles + step - 1) / step * step;  // row length of V and M
    const Index blocks = (C_out + direct_mr - 1) / direct_mr, rows = blocks * direct_mr;

    // U[xi][ob][c][m] packed for forward_tile: U = G g G^T.
    std::vector<T> u(static_cast<std::size_t>(16 * blocks * C * direct_mr), T(0));
    for (Index o = 0; o < C_out; ++o)
        for (Index c = 0; c < C; ++c) {
            T g[3][3];
            for (Index i = 0; i < 3; ++i)
                for (Index j = 0; j < 3; ++j)
                    g[i][j] = flipped ? w[((c * C_out + o) * 3 + (2 - i)) * 3 + (2 - j)] : w[((o * C + c) * 3 + i) * 3 + j];
            T gg[4][3];  // G g
            for (Index j = 0; j < 3; ++j) {
                gg[0][j] = g[0][j];
                gg[1][j] = T(0.5) * (g[0][j] + g[1][j] + g[2][j]);
                gg[2][j] = T(0.5) * (g[0][j] - g[1][j] + g[2][j]);
                gg[3][j] = g[2][j];
            }
            for (Index i = 0; i < 4; ++i) {
                const T r[4] = {gg[i][0], T(0.5) * (gg[i][0] + gg[i][1] + gg[i][2]),
                                T(0.5) * (gg[i][0] - gg[i][1] + gg[i][2]), gg[i][2]};
                for (Index j = 0; j < 4; ++j)
                    u[static_cast<std::size_t>(((((i * 4 + j) * blocks + o / direct_mr) * C + c) * direct_mr) +
                                               o % direct_mr)] = r[j];
            }
        }

    std::vector<T> v(static_cast<std::size_t>(16 * C * tp), T(0));     // V[xi][c][t]
    std::vector<T> m(static_cast<std::size_t>(16 * rows * tp), T(0));  // M[xi][o][t]
    const Index zero_offset = 0;
    for (Index n = 0; n < N; ++n) {
        const T* x_n = x + n * C * H * W;
        // V = B^T d B for every channel and tile.
        parallel_for(0, C, [&](std::ptrdiff_t c) {
            const T* plane = x_n + c * H * W;
            for (Index a = 0; a < tiles_h; ++a)
                for (Index b = 0; b < tiles_w; ++b) {
                    T d[4][4];
                    const Index h0 = 2 * a - 1, w0 = 2 * b - 1;
                    const bool inside = h0 >= 0 && w0 >= 0 && h0 + 3 < H && w0 + 3 < W;
                    for (Index i = 0; i < 4; ++i)
                        for (Index j = 0; j < 4; ++j) {
                            const Index h = h0 + i, ww = w0 + j;
                            d[i][j] = inside || (h >= 0 && h < H && ww >= 0 && ww < W) ? plane[h * W + ww] : T(0);
                        }
                    T bd[4][4];  // B^T d
                    for (Index j = 0; j < 4; ++j) {
                        bd[0][j] = d[0][j] - d[2][j];
                        bd[1][j] = d[1][j] + d[2][j];
                        bd[2][j] = d[2][j] - d[1][j];
                        bd[3][j] = d[1][j] - d[3][j];
                    }
                    const Index t = a * tiles_w + b;
                    T* out = v.data() + c * tp + t;
                    const Index xi_stride = C * tp;
                    for (Index i = 0; i < 4; ++i) {
                        out[(i * 4 + 0) * xi_stride] = bd[i][0] - bd[i][2];
                        out[(i * 4 + 1) * xi_stride] = bd[i][1] + bd[i][2];
                        out[(i * 4 + 2) * xi_stride] = bd[i][2] - bd[i][1];
                        out[(i * 4 + 3) * xi_stride] = bd[i][1] - bd[i][3];
                    }
                }
        });
        // M[xi] = U[xi] V[xi], channels in blocks of direct_cb (partial sums through M).
        const Index col_runs = (tp / step + 15) / 16;  // runs of 16 column tiles
        parallel_for(0, 16 * blocks, [&](std::ptrdiff_t item) {
            const Index xi = item / blocks, ob = item % blocks;
            const T* v_xi = v.data() + xi * C * tp;
            T* m_out = m.data() + (xi * rows + ob * direct_mr) * tp;
            for (Index r = 0; r < col_runs; ++r) {
                const Index t_lo = r * 16, t_hi = std::min(tp / step, t_lo + 16);
                for (Index c0 = 0; c0 < C; c0 += direct_cb) {
                    const Index cn = std::min(direct_cb, C - c0);
                    const T* u_b = u.data() + ((xi * blocks + ob) * C + c0) * direct_mr;
                    for (Index t = t_lo; t < t_hi; ++t)
                        forward_tile(v_xi + c0 * tp + t * step, tp, cn, &zero_offset, 1, u_b, m_out + t * step, tp,
                                     c0 > 0);
                }
            }
        });
        // Y = A^T M A (+ b), written inside the image.
        T* y_n = y + n * C_out * H * W;
        parallel_for(0, C_out, [&](std::ptrdiff_t o) {
            T* plane = y_n + o * H * W;
            const T bo = bias ? bias[o] : T(0);
            const Index xi_stride = rows * tp;
            const T* src = m.data() + o * tp;
            for (Index a = 0; a < tiles_h; ++a)
                for (Index b = 0; b < tiles_w; ++b) {
                    const Index t = a * tiles_w + b;
                    T mm[4][4];
                    for (Index i = 0; i < 16; ++i) mm[i / 4][i % 4] = src[i * xi_stride + t];
                    T am[2][4];  // A^T M
                    for (Index j = 0; j < 4; ++j) {
                        am[0][j] = mm[0][j] + mm[1][j] + mm[2][j];
                        am[1][j] = mm[1][j] - mm[2][j] - mm[3][j];
                    }
                    const T out[2][2] = {{am[0][0] + am[0][1] + am[0][2] + bo, am[0][1] - am[0][2] - am[0][3] + bo},
                                         {am[1][0] + am[1][1] + am[1][2] + bo, am[1][1] - am[1][2] - am[1][3] + bo}};
                    for (Index i = 0; i < 2; ++i) {
                        const Index h = 2 * a + i;
                        if (h >= H) break;
                        for (Index j = 0; j < 2; ++j) {
                            const Index ww = 2 * b + j;
                            if (ww >= W) break;
                            if (accumulate)
                                plane[h * W + ww] += out[i][j];
                            else
                                plane[h * W + ww] = out[i][j];
                        }
                    }
                }
        });
    }
}

}  // namespace maunet::detail
