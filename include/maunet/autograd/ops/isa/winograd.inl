// The Winograd F(2x2, 3x3) and F(4x4, 3x3) kernels of winograd.hpp, a generic and an AVX2 copy
// (included through maunet/core/isa/instantiate.inl after isa/conv_direct.inl; no include guard).
// The F(4x4) tile transforms are in isa/winograd4_tiles.inl.

// Lane shuffles on Simd<T>::vec (16 or 32 bytes: these kernels have no AVX-512 copy, see
// winograd.hpp). With 32-byte vectors the even/odd split works within 128-bit halves (one vshufps
// / vshufpd each), so the tiles of a vector come out in the order 0 1 4 5 2 3 6 7 (float) or
// 0 2 1 3 (double); with 16-byte vectors in order. The products are lane-wise and the interleave
// back (vunpcklps / vunpckhps) undoes exactly that order.
template <class V>
inline __attribute__((always_inline)) V even_lanes(V a, V b) {
    constexpr Index lanes = Index(sizeof(V) / sizeof(a[0]));
    if constexpr (lanes == 8) return shuffle_lanes<V, 0, 2, 8, 10, 4, 6, 12, 14>(a, b);
    else if constexpr (lanes == 4 && sizeof(a[0]) == 8) return shuffle_lanes<V, 0, 4, 2, 6>(a, b);
    else if constexpr (lanes == 4) return shuffle_lanes<V, 0, 2, 4, 6>(a, b);
    else return shuffle_lanes<V, 0, 2>(a, b);
}
template <class V>
inline __attribute__((always_inline)) V odd_lanes(V a, V b) {
    constexpr Index lanes = Index(sizeof(V) / sizeof(a[0]));
    if constexpr (lanes == 8) return shuffle_lanes<V, 1, 3, 9, 11, 5, 7, 13, 15>(a, b);
    else if constexpr (lanes == 4 && sizeof(a[0]) == 8) return shuffle_lanes<V, 1, 5, 3, 7>(a, b);
    else if constexpr (lanes == 4) return shuffle_lanes<V, 1, 3, 5, 7>(a, b);
    else return shuffle_lanes<V, 1, 3>(a, b);
}
// For y0, y1 in that tile order: the first and second halves of y0[t0] y1[t0] y0[t1] y1[t1] ...
template <class V>
inline __attribute__((always_inline)) V interleave_low(V a, V b) {
    constexpr Index lanes = Index(sizeof(V) / sizeof(a[0]));
    if constexpr (lanes == 8) return shuffle_lanes<V, 0, 8, 1, 9, 4, 12, 5, 13>(a, b);
    else if constexpr (lanes == 4 && sizeof(a[0]) == 8) return shuffle_lanes<V, 0, 4, 2, 6>(a, b);
    else if constexpr (lanes == 4) return shuffle_lanes<V, 0, 4, 1, 5>(a, b);
    else return shuffle_lanes<V, 0, 2>(a, b);
}
template <class V>
inline __attribute__((always_inline)) V interleave_high(V a, V b) {
    constexpr Index lanes = Index(sizeof(V) / sizeof(a[0]));
    if constexpr (lanes == 8) return shuffle_lanes<V, 2, 10, 3, 11, 6, 14, 7, 15>(a, b);
    else if constexpr (lanes == 4 && sizeof(a[0]) == 8) return shuffle_lanes<V, 1, 5, 3, 7>(a, b);
    else if constexpr (lanes == 4) return shuffle_lanes<V, 2, 6, 3, 7>(a, b);
    else return shuffle_lanes<V, 1, 3>(a, b);
}

// The geometry of one pass with output tiles of M x M pixels (2 or 4).
template <class T>
WinogradPlan winograd_plan(Index C, Index H, Index W, Index M = 2, Index C_out = 0) {
    constexpr Index L = Simd<T>::lanes;
    const Index positions = (M + 2) * (M + 2);
    WinogradPlan p;
    p.tiles_h = (H + M - 1) / M;
    p.tiles_w = (W + M - 1) / M;
    p.row_slots = (p.tiles_w + L - 1) / L * L;
    p.slots = p.tiles_h * p.row_slots;
    p.step = winograd_nv * L;
    p.panels = (p.slots + p.step - 1) / p.step;
    // F(2x2): about 64 K values of V per block (256 KB in float): V and the block's M stay in L2.
    // At least 4 panels, though: every block sweeps all of U (16 C_out C values, 8 MB at 512 ->
    // 256 channels), which must be read for more than one panel's worth of products. F(4x4): V
    // and M of a panel are 36 step (C + C_out) values (0.6 MB at 128 -> 128 channels), so a block
    // is as many panels as fit in 192 K values (768 KB in float), at least one; with 2 or 4
    // panels at 128 channels and more they outgrew L2 and ran 1.0-1.3x F(2x2)'s time
    // (docs/performance.md).
    const Index target = M == 2 ? std::max<Index>(4, Index(65536) / (positions * C * p.step))
                                : std::max<Index>(1, Index(196608) / (positions * (C + C_out) * p.step));
    p.blocks = (p.panels + target - 1) / target;
    p.panels_per_block = (p.panels + p.blocks - 1) / p.blocks;
    p.blocks = (p.panels + p.panels_per_block - 1) / p.panels_per_block;
    // One zero on the left, then M row_slots values; the last vector of tiles reads up to M - 1
    // values past them (2 in F(2x2): columns 2 and 3 of its last tile; 4 in F(4x4): the split of
    // the vectors loaded 4 values on).
    p.padded_w = M * p.row_slots + M;
    return p;
}

// V = B^T d B for the L tiles whose top-left padded pixel is at `in` (rows `row` apart, tiles 2
// columns apart), one lane per tile; out[xi * xi_stride] gets the vector of position xi.
template <class T>
inline __attribute__((always_inline)) void winograd_input_tile(const T* in, Index row, T* out, Index xi_stride) {
    using V = typename Simd<T>::vec;
    constexpr Index L = Simd<T>::lanes;
    V t[4][4];  // t[i][j] = (d B)[i][j]: row i of the tiles, column combination
    for (Index i = 0; i < 4; ++i) {
        const T* r = in + i * row;
        V a, b, c, e;
        std::memcpy(&a, r, sizeof(V));
        std::memcpy(&b, r + L, sizeof(V));
        std::memcpy(&c, r + 2, sizeof(V));
        std::memcpy(&e, r + 2 + L, sizeof(V));
        const V d0 = even_lanes(a, b), d1 = odd_lanes(a, b), d2 = even_lanes(c, e), d3 = odd_lanes(c, e);
        t[i][0] = d0 - d2;
        t[i][1] = d1 + d2;
        t[i][2] = d2 - d1;
        t[i][3] = d1 - d3;
    }
    for (Index j = 0; j < 4; ++j) {  // B^T (d B): the row combination
        const V v0 = t[0][j] - t[2][j], v1 = t[1][j] + t[2][j], v2 = t[2][j] - t[1][j], v3 = t[1][j] - t[3][j];
        std::memcpy(out + (0 * 4 + j) * xi_stride, &v0, sizeof(V));
        std::memcpy(out + (1 * 4 + j) * xi_stride, &v1, sizeof(V));
        std::memcpy(out + (2 * 4 + j) * xi_stride, &v2, sizeof(V));
        std::memcpy(out + (3 * 4 + j) * xi_stride, &v3, sizeof(V));
    }
}

// Y = A^T M A + bias for L tiles (m[xi * xi_stride], one lane per tile), written (or added, with
// `accumulate`) at `y`: rows 0 and 1 (if `two_rows`), `width` <= 2L columns, `ld` apart. With
// `relu`, max(Y, 0) is written (the fused activation of conv2d_relu; not with `accumulate`).
template <class T>
inline __attribute__((always_inline)) void winograd_output_tile(const T* m, Index xi_stride, T bias, T* y, Index ld,
                                                                bool two_rows, Index width, bool accumulate,
                                                                bool relu) {
    using V = typename Simd<T>::vec;
    constexpr Index L = Simd<T>::lanes;
    V p[4][2];  // (M A)[i][j]
    for (Index i = 0; i < 4; ++i) {
        V m0, m1, m2, m3;
        std::memcpy(&m0, m + (i * 4 + 0) * xi_stride, sizeof(V));
        std::memcpy(&m1, m + (i * 4 + 1) * xi_stride, sizeof(V));
        std::memcpy(&m2, m + (i * 4 + 2) * xi_stride, sizeof(V));
        std::memcpy(&m3, m + (i * 4 + 3) * xi_stride, sizeof(V));
        p[i][0] = m0 + m1 + m2;
        p[i][1] = m1 - m2 - m3;
    }
    const V b = splat<T>(bias);
    V out[2][2];  // out[row][half]: the 2L pixels of an output row, interleaved back from the tiles
    for (Index r = 0; r < 2; ++r) {
        const V y0 = (r == 0 ? p[0][0] + p[1][0] + p[2][0] : p[1][0] - p[2][0] - p[3][0]) + b;
        const V y1 = (r == 0 ? p[0][1] + p[1][1] + p[2][1] : p[1][1] - p[2][1] - p[3][1]) + b;
        out[r][0] = interleave_low(y0, y1);
        out[r][1] = interleave_high(y0, y1);
        if (relu) {
            out[r][0] = relu_lanes(out[r][0]);
            out[r][1] = relu_lanes(out[r][1]);
        }
    }
    for (Index r = 0; r < (two_rows ? 2 : 1); ++r) {
        T* dst = y + r * ld;
        if (width == 2 * L) {
            for (Index h = 0; h < 2; ++h) {
                V v = out[r][h];
                if (accumulate) {
                    V old;
                    std::memcpy(&old, dst + h * L, sizeof(V));
                    v += old;
                }
                std::memcpy(dst + h * L, &v, sizeof(V));
            }
        } else {
            T buf[2 * L];
            std::memcpy(buf, &out[r][0], sizeof(V));
            std::memcpy(buf + L, &out[r][1], sizeof(V));
            for (Index j = 0; j < width; ++j) dst[j] = accumulate ? dst[j] + buf[j] : buf[j];
        }
    }
}

#include "maunet/autograd/ops/isa/winograd4_tiles.inl"

// y[n] (+)= b + conv3x3(x[n], weight) for a ConvCall with a 3x3 kernel and padding 1, by
// F(M x M, 3x3) (M = 2 or 4). `product` runs the products M = U V (isa/winograd_product.inl: this
// copy's, or the AVX-512 one).
template <Index M, class T>
void winograd_conv3x3(const ConvCall<T>& call, WinogradProductKernel<T> product) {
    static_assert(M == 2 || M == 4, "winograd_conv3x3: F(2x2, 3x3) or F(4x4, 3x3)");
    constexpr Index L = Simd<T>::lanes;
    constexpr Index alpha = M + 2, positions = alpha * alpha;  // input tile side, transformed values
    const Index N = call.batch, C = call.channels, H = call.height, W = call.width, C_out = call.out_channels;
    const bool accumulate = call.store == Store::accumulate, relu = call.store == Store::overwrite_relu;
    const WinogradPlan p = winograd_plan<T>(C, H, W, M, C_out);
    const Index oblocks = (C_out + winograd_mr - 1) / winograd_mr;

    // Scratch (conv_direct.hpp): U on this thread; V, M and the padded rows per worker.
    T* u = scratch<T>(ScratchSlot::operand, static_cast<std::size_t>(positions * oblocks * C * winograd_mr));
    winograd_pack_weights<M>(call.weight, C_out, C, call.weight_order, u);

    // Output channels are sliced only when images x blocks leave threads idle.
    const Index items0 = N * p.blocks, threads = num_threads();
    const Index slices =
        threads > 1 && items0 < 4 * threads ? std::min(oblocks, (4 * threads + items0 - 1) / items0) : Index(1);
    const Index obs_per_slice = (oblocks + slices - 1) / slices;
    parallel_for_affine(0, items0 * slices, [&](std::ptrdiff_t item) {
        const Index n = item / (p.blocks * slices), blk = (item / slices) % p.blocks, slice = item % slices;
        const Index ob_lo = slice * obs_per_slice, ob_hi = std::min(oblocks, ob_lo + obs_per_slice);
        if (ob_lo >= ob_hi) return;
        const Index o_lo = ob_lo * winograd_mr, o_hi = std::min(C_out, ob_hi * winograd_mr), rows = o_hi - o_lo;
        const Index panel0 = blk * p.panels_per_block;
        const Index pb = std::min(p.panels_per_block, p.panels - panel0);
        // V[xi][panel][c][s] and M[xi][panel][o][s], s < step. The positions xi are one cache
        // line more than a multiple apart: at power-of-two distances (common here) their streams
        // in the transforms would fall into one L1 set and evict each other on every access.
        constexpr Index line = Index(64 / sizeof(T));
        const Index v_xi = pb * C * p.step + line, m_xi = pb * rows * p.step + line;
        // The block's tile rows a_lo .. a_hi read padded rows M a_lo .. M a_hi + M + 1 of each plane.
        const Index a_lo = panel0 * p.step / p.row_slots;
        const Index a_hi = (std::min(p.slots, (panel0 + pb) * p.step) - 1) / p.row_slots;
        const Index strip_rows = M * (a_hi - a_lo) + alpha;
        T* v = scratch<T>(ScratchSlot::transform, static_cast<std::size_t>(positions * v_xi + strip_rows * p.padded_w));
        T* m = scratch<T>(ScratchSlot::output, static_cast<std::size_t>(positions * m_xi));
        T* strip = v + positions * v_xi;

        // Input transform, one channel plane at a time: its rows the block reads are first copied,
        // zero-padded, into `strip` (on this core, in L1 or L2) instead of padding the whole input
        // in memory before the loop (a pass that wrote and read again every value); then one vector
        // of tiles (one tile row, columns b0 .. b0+L-1) at a time.
        const T* x_n = call.x + n * C * H * W;
        for (Index c = 0; c < C; ++c) {
            pad_rows(x_n + c * H * W, H, W, M * a_lo - 1, strip_rows, 1, p.padded_w, strip);
            for (Index q = 0; q < pb; ++q)
                for (Index g = 0; g < winograd_nv; ++g) {
                    const Index slot = (panel0 + q) * p.step + g * L;
                    T* out = v + (q * C + c) * p.step + g * L;
                    if (slot >= p.slots) {  // past the last tile row: zeros, dropped at the end
                        for (Index xi = 0; xi < positions; ++xi) std::fill_n(out + xi * v_xi, L, T(0));
                        continue;
                    }
                    const Index a = slot / p.row_slots, b0 = slot - a * p.row_slots;
                    const T* in = strip + M * (a - a_lo) * p.padded_w + M * b0;
                    if constexpr (M == 2) winograd_input_tile(in, p.padded_w, out, v_xi);
                    else winograd4_input_tile(in, p.padded_w, out, v_xi);
                }
        }

        // M[xi] = U[xi] V[xi]: the U block (C x 6) stays in L1 while it sweeps the block's panels.
        WinogradProduct<T> block;
        block.channels = C;
        block.panels = pb;
        block.step = p.step;
        block.m_panel_stride = rows * p.step;
        for (Index xi = 0; xi < positions; ++xi)
            for (Index ob = ob_lo; ob < ob_hi; ++ob) {
                const Index r0 = (ob - ob_lo) * winograd_mr;
                block.v = v + xi * v_xi;
                block.u = u + ((xi * oblocks + ob) * C) * winograd_mr;
                block.m = m + xi * m_xi + r0 * p.step;
                block.rows = std::min(winograd_mr, rows - r0);
                product(block);
            }

        // Output transform into y, one vector of tiles at a time; one output plane at a time, so
        // its rows are written in order.
        T* y_n = call.y + n * C_out * H * W;
        for (Index o = o_lo; o < o_hi; ++o) {
            const T b = call.bias ? call.bias[o] : T(0);
            for (Index q = 0; q < pb; ++q)
                for (Index g = 0; g < winograd_nv; ++g) {
                    const Index slot = (panel0 + q) * p.step + g * L;
                    if (slot >= p.slots) break;
                    const Index a = slot / p.row_slots, b0 = slot - a * p.row_slots;
                    const Index width = std::min(M * L, W - M * b0);
                    if (width <= 0) continue;  // slots past tiles_w
                    const T* mt = m + (q * rows + o - o_lo) * p.step + g * L;
                    T* yt = y_n + (o * H + M * a) * W + M * b0;
                    if constexpr (M == 2)
                        winograd_output_tile(mt, m_xi, b, yt, W, 2 * a + 1 < H, width, accumulate, relu);
                    else
                        winograd4_output_tile(mt, m_xi, b, yt, W, std::min<Index>(4, H - 4 * a), width, accumulate,
                                              relu);
                }
        }
    });
}
