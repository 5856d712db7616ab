// The direct convolution kernels of conv_direct.hpp, one copy per instruction set (included
// through maunet/core/isa/instantiate.inl; no include guard).

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

// y[n, o, i, j] (+)= b[o] + sum_{c,u,v} weight(o, c, u, v) x[n, c, i+u-p, j+v-p]: equation (1) over the
// batch x [N, C, H, W] (ConvCall in conv_direct.hpp names the arguments).
template <class T>
void direct_conv(const ConvCall<T>& call) {
    const Index N = call.batch, C = call.channels, C_out = call.out_channels;
    const DirectPlan d = direct_plan<T>(C, call.height, call.width, call.kernel_h, call.kernel_w, call.pad_h, call.pad_w);
    const Index blocks = (C_out + direct_mr - 1) / direct_mr, taps = d.taps();
    T* xp = scratch<T>(ScratchSlot::input, static_cast<std::size_t>(N * C * d.plane_stride));
    pad_planes(call.x, N, d, xp);
    const ArenaVector<T> wp = pack_forward_weights(call.weight, C_out, C, call.kernel_h, call.kernel_w, call.weight_order);
    const ArenaVector<Index> off = tap_offsets(d);
    // yq [N, blocks*MR, flat_padded]
    const Index rows = blocks * direct_mr;
    T* yq = scratch<T>(ScratchSlot::output, static_cast<std::size_t>(N * rows * d.flat_padded));  // every entry is written
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
    const bool accumulate = call.store == Store::accumulate, relu = call.store == Store::overwrite_relu;
    parallel_for(0, N * C_out, [&](std::ptrdiff_t no) {
        const Index n = no / C_out, o = no % C_out;
        const T* src = yq + (n * rows + o) * d.flat_padded;
        T* dst = call.y + no * P;
        const T b = call.bias ? call.bias[o] : T(0);
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
// g [N, C_out, H_out, W_out] (stride 1): the weight gradient of direct_conv with WeightOrder::forward.
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
    T* xp = scratch<T>(ScratchSlot::input, static_cast<std::size_t>(N * C * d.plane_stride));
    pad_planes(x, N, d, xp);
    const Index Q = d.flat_size;
    T* gt = scratch<T>(ScratchSlot::operand, static_cast<std::size_t>(N * Q * rows));
    std::fill(gt, gt + N * Q * rows, T(0));
    parallel_for(0, N, [&](std::ptrdiff_t n) {
        for (Index o = 0; o < C_out; ++o) {
            const T* src = g + (n * C_out + o) * d.out_h * d.out_w;
            T* dst = gt + n * Q * rows + o;
            for (Index i = 0; i < d.out_h; ++i)
                for (Index j = 0; j < d.out_w; ++j) dst[(i * d.padded_w + j) * rows] = src[i * d.out_w + j];
        }
    });
    const ArenaVector<Index> off = tap_offsets(d);
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

