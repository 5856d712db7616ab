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
// (xi, run of tiles), the output transform over output channels. Every value is
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

    // V[xi][c][t] and M[xi][o][t] in reused scratch memory. The columns t >= tiles of V are zeroed
    // once per call (the GEMM reads them; their M columns are never read).
    T* v = scratch<T>(3, static_cast<std::size_t>(16 * C * tp));
    T* m = scratch<T>(1, static_cast<std::size_t>(16 * rows * tp));
    // V is stored in panels: V[xi][block of `step` tiles][c][step], so the product kernel reads
    // one contiguous stream (C rows of `step` tiles) per block instead of C strided rows.
    auto v_at = [&](Index xi, Index c, Index t) { return ((xi * (tp / step) + t / step) * C + c) * step + t % step; };
    for (Index xi = 0; xi < 16; ++xi)
        for (Index c = 0; c < C; ++c)
            for (Index t = tiles; t < tp; ++t) v[v_at(xi, c, t)] = T(0);
    const Index zero_offset = 0;
    for (Index n = 0; n < N; ++n) {
        const T* x_n = x + n * C * H * W;
        // V = B^T d B for every channel and tile, one row of tiles at a time: the row combination
        // B^T d on whole padded rows, then the column combination with stride-2 reads (both loops
        // vectorise).
        parallel_for(0, C, [&](std::ptrdiff_t c) {
            const T* plane = x_n + c * H * W;
            const Index wb = 2 * tiles_w + 2;  // padded row: 1 zero, W values, zeros
            std::vector<T> buf(static_cast<std::size_t>(8 * wb), T(0));
            T* r[4] = {buf.data(), buf.data() + wb, buf.data() + 2 * wb, buf.data() + 3 * wb};
            T* e[4] = {buf.data() + 4 * wb, buf.data() + 5 * wb, buf.data() + 6 * wb, buf.data() + 7 * wb};
            const Index xi_stride = C * tp;
            for (Index a = 0; a < tiles_h; ++a) {
                for (Index i = 0; i < 4; ++i) {
                    const Index h = 2 * a - 1 + i;
                    if (h >= 0 && h < H)
                        std::copy(plane + h * W, plane + (h + 1) * W, r[i] + 1);
                    else
                        std::fill(r[i] + 1, r[i] + 1 + W, T(0));
                }
                for (Index k = 0; k < wb; ++k) {
                    e[0][k] = r[0][k] - r[2][k];
                    e[1][k] = r[1][k] + r[2][k];
                    e[2][k] = r[2][k] - r[1][k];
                    e[3][k] = r[1][k] - r[3][k];
                }
                for (Index b = 0; b < tiles_w; ++b) {
                    T* out = v + v_at(0, c, a * tiles_w + b);
                    for (Index i = 0; i < 4; ++i) {
                        const T* ei = e[i] + 2 * b;
                        out[(i * 4 + 0) * xi_stride] = ei[0] - ei[2];
                        out[(i * 4 + 1) * xi_stride] = ei[1] + ei[2];
                        out[(i * 4 + 2) * xi_stride] = ei[2] - ei[1];
                        out[(i * 4 + 3) * xi_stride] = ei[1] - ei[3];
                    }
                }
            }
        });
        // M[xi] = U[xi] V[xi], channels in blocks of direct_cb (partial sums through M).
        // Items are (xi, run of 16 column tiles): the run of V[xi] (C x 384 floats) stays in L2
        // while every block of output channels sweeps it.
        const Index col_tiles = tp / step, col_runs = (col_tiles + 15) / 16;
        parallel_for(0, 16 * col_runs, [&](std::ptrdiff_t item) {
            const Index xi = item / col_runs, r = item % col_runs;
            const Index t_lo = r * 16, t_hi = std::min(col_tiles, t_lo + 16);
            const T* v_xi = v + xi * C * tp;  // panels of C x step
            for (Index c0 = 0; c0 < C; c0 += direct_cb) {
                const Index cn = std::min(direct_cb, C - c0);
                for (Index ob = 0; ob < blocks; ++ob) {
                    const T* u_b = u.data() + ((xi * blocks + ob) * C + c0) * direct_mr;
                    T* m_out = m + (xi * rows + ob * direct_mr) * tp;
                    for (Index t = t_lo; t < t_hi; ++t)
                        forward_tile(v_xi + (t * C + c0) * step, step, cn, &zero_offset, 1, u_b, m_out + t * step,
                                     tp, c0 > 0);
                }
            }
        });
        // Y = A^T M A (+ b), written inside the image, one row of tiles at a time: the column
        // combination M A over the tiles of the row, then the row combination A^T.
        T* y_n = y + n * C_out * H * W;
        parallel_for(0, C_out, [&](std::ptrdiff_t o) {
            T* plane = y_n + o * H * W;
            const T bo = bias ? bias[o] : T(0);
            const Index xi_stride = rows * tp;
            const T* src = m + o * tp;
            std::vector<T> buf(static_cast<std::size_t>(8 * tiles_w + 2 * (2 * tiles_w)));
            T* p0[4];
            T* p1[4];
            for (Index i = 0; i < 4; ++i) {
                p0[i] = buf.data() + (2 * i) * tiles_w;
                p1[i] = buf.data() + (2 * i + 1) * tiles_w;
            }
            T* rows_out[2] = {buf.data() + 8 * tiles_w, buf.data() + 8 * tiles_w + 2 * tiles_w};
            for (Index a = 0; a < tiles_h; ++a) {
                const Index t0 = a * tiles_w;
                for (Index i = 0; i < 4; ++i) {
                    const T* m0 = src + (i * 4 + 0) * xi_stride + t0;
                    const T* m1 = src + (i * 4 + 1) * xi_stride + t0;
                    const T* m2 = src + (i * 4 + 2) * xi_stride + t0;
                    const T* m3 = src + (i * 4 + 3) * xi_stride + t0;
                    for (Index b = 0; b < tiles_w; ++b) {
                        p0[i][b] = m0[b] + m1[b] + m2[b];
                        p1[i][b] = m1[b] - m2[b] - m3[b];
                    }
                }
                for (Index b = 0; b < tiles_w; ++b) {
                    rows_out[0][2 * b] = p0[0][b] + p0[1][b] + p0[2][b] + bo;
                    rows_out[0][2 * b + 1] = p1[0][b] + p1[1][b] + p1[2][b] + bo;
                    rows_out[1][2 * b] = p0[1][b] - p0[2][b] - p0[3][b] + bo;
                    rows_out[1][2 * b + 1] = p1[1][b] - p1[2][b] - p1[3][b] + bo;
                }
                for (Index i = 0; i < 2; ++i) {
                    const Index h = 2 * a + i;
                    if (h >= H) break;
                    T* dst = plane + h * W;
                    if (accumulate)
                        for (Index j = 0; j < W; ++j) dst[j] += rows_out[i][j];
                    else
                        std::copy(rows_out[i], rows_out[i] + W, dst);
                }
            }
        });
    }
}

}  // namespace maunet::detail
