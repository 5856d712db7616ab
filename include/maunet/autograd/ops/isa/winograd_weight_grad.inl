// The Winograd weight-gradient kernels of winograd_weight_grad.hpp, a generic and an AVX2 copy
// (included through maunet/core/isa/instantiate.inl after isa/winograd.inl; no include guard).

// dM = A dY A^T for the L tiles whose 2x2 blocks of dL/dy start at `in` (rows `row` apart, tiles
// 2 columns apart), in the lane order of winograd_input_tile; out[xi * xi_stride] gets position xi.
template <class T>
inline __attribute__((always_inline)) void winograd_grad_output_tile(const T* in, Index row, T* out,
                                                                     Index xi_stride) {
    using V = typename Simd<T>::vec;
    constexpr Index L = Simd<T>::lanes;
    V z[2][4];  // z[r][j] = (dY A^T)[r][j]
    for (Index r = 0; r < 2; ++r) {
        V a, b;
        std::memcpy(&a, in + r * row, sizeof(V));
        std::memcpy(&b, in + r * row + L, sizeof(V));
        const V y0 = even_lanes(a, b), y1 = odd_lanes(a, b);
        z[r][0] = y0;
        z[r][1] = y0 + y1;
        z[r][2] = y0 - y1;
        z[r][3] = -y1;
    }
    for (Index j = 0; j < 4; ++j) {  // A (dY A^T)
        const V m0 = z[0][j], m1 = z[0][j] + z[1][j], m2 = z[0][j] - z[1][j], m3 = -z[1][j];
        std::memcpy(out + (0 * 4 + j) * xi_stride, &m0, sizeof(V));
        std::memcpy(out + (1 * 4 + j) * xi_stride, &m1, sizeof(V));
        std::memcpy(out + (2 * 4 + j) * xi_stride, &m2, sizeof(V));
        std::memcpy(out + (3 * 4 + j) * xi_stride, &m3, sizeof(V));
    }
}

// dw[k, c, u, v] += sum_{n,i,j} g[n, k, i, j] x[n, c, i+u-1, j+v-1] for x [N, C, H, W] and
// g = dL/dy [N, K, H, W]: the weight gradient of winograd_conv3x3 (unflipped). `split` sets the
// chunk length and the slices (winograd_weight_grad.hpp; 0 chooses). The products
// dU[xi] += dM[xi] V[xi]^T are maunet's GEMM (core/gemm.hpp), in the copy of kernel_isa().
template <class T>
void winograd_weight_grad3x3(const T* x, Index N, Index C, Index H, Index W, const T* g, Index K, T* dw,
                             WinogradGradSplit split) {
    constexpr Index L = Simd<T>::lanes, line = Index(64 / sizeof(T));
    const WinogradPlan p = winograd_plan<T>(C, H, W);
    const Index g_cols = 2 * p.row_slots;  // dL/dy rows zero-padded to whole vectors of tiles
    const Index total = N * p.slots;       // the batch's slots, a multiple of L
    const Index du_size = 16 * K * C;

    // Slices: S > 1 cuts the batch's slots into S contiguous runs, one per thread (the first half
    // of a batch on 2 threads is the images thread 0 wrote in the layers before), each summed
    // into a dU of its own and added in slice order at the end. 1: every thread works on each
    // chunk of the whole batch together. See winograd_weight_grad.hpp for the choice.
    const Index S = winograd_dw_slices<T>(split.slices, total / L, du_size);
    const Index chosen = split.chunk_slots > 0 ? split.chunk_slots : winograd_dw_chunk;
    const Index longest = S > 1 ? (total / L + S - 1) / S * L : total;  // the longest slice
    const Index chunk = std::min(longest, std::max(L, chosen / L * L));
    const Index v_xi = C * chunk + line, m_xi = K * chunk + line;  // one line off power-of-two strides

    // One channel row of V (r < C: an x plane) or of dM (a dL/dy plane) for slots [s0, s0 + len).
    // A tile row reads rows 2a-1 .. 2a+2 of x, zero-padded by one, or rows 2a, 2a+1 of dL/dy: they
    // are copied, padded, into this thread's `rows` when the tile row changes (no padded copy of
    // x and dL/dy in memory, which cost a pass that wrote every value and read it again).
    auto transform_row = [&](Index r, Index s0, Index len, T* v, T* dm) {
        const bool of_x = r < C;
        const Index cols = of_x ? 2 * p.row_slots + 2 : g_cols;
        T* rows = scratch<T>(ScratchSlot::input, static_cast<std::size_t>(4 * cols));
        Index filled = -1;  // the tile row (n * tiles_h + a) in `rows`
        for (Index s = s0; s < s0 + len; s += L) {
            const Index n = s / p.slots, local = s - n * p.slots;
            const Index a = local / p.row_slots, b0 = local - a * p.row_slots;
            if (n * p.tiles_h + a != filled) {
                if (of_x)
                    pad_rows(x + (n * C + r) * H * W, H, W, 2 * a - 1, 4, 1, cols, rows);
                else
                    pad_rows(g + (n * K + (r - C)) * H * W, H, W, 2 * a, 2, 0, cols, rows);
                filled = n * p.tiles_h + a;
            }
            if (of_x)
                winograd_input_tile(rows + 2 * b0, cols, v + r * chunk + (s - s0), v_xi);
            else
                winograd_grad_output_tile(rows + 2 * b0, cols, dm + (r - C) * chunk + (s - s0), m_xi);
        }
    };
    // dU[xi] (K x C) += dM[xi] (K x len) V[xi]^T (len x C): one GEMM per position xi, the sum over
    // the chunk's tiles in the GEMM's fixed order. `first` overwrites dU[xi] (beta = 0).
    auto product = [&](Index xi, Index len, bool first, const T* v, const T* dm, T* du) {
        maunet::gemm(maunet::MatrixOp::as_is, maunet::MatrixOp::transposed, K, C, len, T(1), dm + xi * m_xi, chunk,
                     v + xi * v_xi, chunk, first ? T(0) : T(1), du + xi * K * C, C);
    };

    // dU[s][xi][k][c] of every slice, on the calling thread.
    T* du = scratch<T>(ScratchSlot::operand, static_cast<std::size_t>(S * du_size));
    if (S == 1) {
        // The whole batch, chunk by chunk; in each, the transforms (items: channel rows, the two
        // kinds cost differently) and then the products (items: positions xi, each owning its
        // dU[xi]) are handed out dynamically, and chunks are summed in order: the same bits for
        // any thread count.
        T* v = scratch<T>(ScratchSlot::transform, static_cast<std::size_t>(16 * v_xi));
        T* dm = scratch<T>(ScratchSlot::output, static_cast<std::size_t>(16 * m_xi));
        for (Index s0 = 0; s0 < total; s0 += chunk) {
            const Index len = std::min(chunk, total - s0);
            parallel_for_dynamic(0, C + K, [&](std::ptrdiff_t r) { transform_row(r, s0, len, v, dm); });
            parallel_for_dynamic(0, 16, [&](std::ptrdiff_t xi) { product(xi, len, s0 == 0, v, dm, du); });
        }
    } else {
        // Slice s on thread s (static split, one item each), chunk by chunk with its own V and dM
        // (this thread's scratch): it reads only what its core wrote and writes only its dU.
        parallel_for(0, S, [&](std::ptrdiff_t s) {
            const Index lo = total / L * s / S * L, hi = total / L * (s + 1) / S * L;
            T* v = scratch<T>(ScratchSlot::transform, static_cast<std::size_t>(16 * v_xi));
            T* dm = scratch<T>(ScratchSlot::output, static_cast<std::size_t>(16 * m_xi));
            T* du_s = du + s * du_size;
            for (Index s0 = lo; s0 < hi; s0 += chunk) {
                const Index len = std::min(chunk, hi - s0);
                for (Index r = 0; r < C + K; ++r) transform_row(r, s0, len, v, dm);
                for (Index xi = 0; xi < 16; ++xi) product(xi, len, s0 == lo, v, dm, du_s);
            }
        });
    }

    // dw[k, c] += G^T dU_kc G, with G^T = [1 1/2 1/2 0; 0 1/2 -1/2 0; 0 1/2 1/2 1].
    // Per k, dU_k[xi][c] is first gathered into this thread's `rows`, one position xi at a time,
    // the slices added in order. Why: the 16 positions lie K C values apart (a multiple of 4 KB
    // for the usual widths), so reading all 16 for each c, times the slices, kept 16-32 lines of
    // one L1 set in use at once; gathered first, this step took 2.3x less time on 1 thread and
    // 3.7x less on 2 (U-Net train step, 2-core Zen 5; docs/performance.md).
    const Index ld = C + line;
    parallel_for(0, K, [&](std::ptrdiff_t k) {
        T* rows = scratch<T>(ScratchSlot::input, static_cast<std::size_t>(16 * ld));
        for (Index xi = 0; xi < 16; ++xi) {
            T* dst = rows + xi * ld;
            const T* first = du + (xi * K + k) * C;
            std::copy(first, first + C, dst);
            for (Index sl = 1; sl < S; ++sl) {
                const T* part = first + sl * du_size;
                for (Index c = 0; c < C; ++c) dst[c] += part[c];
            }
        }
        for (Index c = 0; c < C; ++c) {
            T d[4][4];  // dU_kc
            for (Index xi = 0; xi < 16; ++xi) d[xi / 4][xi % 4] = rows[xi * ld + c];
            T r[3][4];  // G^T dU
            for (Index j = 0; j < 4; ++j) {
                r[0][j] = d[0][j] + T(0.5) * (d[1][j] + d[2][j]);
                r[1][j] = T(0.5) * (d[1][j] - d[2][j]);
                r[2][j] = T(0.5) * (d[1][j] + d[2][j]) + d[3][j];
            }
            T* out = dw + (k * C + c) * 9;
            for (Index u = 0; u < 3; ++u) {  // (G^T dU) G
                out[u * 3 + 0] += r[u][0] + T(0.5) * (r[u][1] + r[u][2]);
                out[u * 3 + 1] += T(0.5) * (r[u][1] - r[u][2]);
                out[u * 3 + 2] += T(0.5) * (r[u][1] + r[u][2]) + r[u][3];
            }
        }
    });
}

