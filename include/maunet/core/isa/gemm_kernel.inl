// maunet's own GEMM kernel, one copy per instruction set (included through instantiate.inl from
// maunet/core/gemm.hpp; no include guard). Eigen's GEMM picks its vectors by preprocessor macros
// (__AVX2__, __FMA__), so in a program built for baseline x86-64 it runs SSE2 code even on an
// AVX2 CPU; this kernel is compiled in the AVX2 + FMA target region and is what gemm() runs when
// kernel_isa() is avx2 (the 8 x 8 bottleneck convolutions of the U-Nets are GEMMs).
//
//   C (M x N) += alpha op(A) (M x K) op(B) (K x N), row-major, C already scaled by beta.
//
// The loops of Goto & van de Geijn (2008) / BLIS: for each block of nc columns and kc of the
// K range, B's block is packed into panels of NR = NV L columns ([k][NR], zero-padded past N;
// B stored K x N exactly one panel wide, with ldb = NR, is that layout already and is read in place).
// The micro-kernel keeps a 6 x NR tile of C in 6 NV vector accumulators over the whole kc range
// (per k: NV loads of B, 6 broadcasts of A, 6 NV FMAs), then adds alpha times it to C. NV = 2
// (12 accumulators) with SSE2 and AVX2, which have 16 vector registers; with AVX-512's 32, NV = 4
// (24 accumulators) where N is not better served by 2L-wide panels (see gemm_wide_tile).
//
// A is read where it lies when it is stored M x K (trans_a false): the 6 broadcasts of a step come
// from 6 row pointers, which the hardware prefetcher follows as 6 sequential streams. Packing it
// would copy every element of A once per call, and in the convolutions A is the weight matrix,
// used for only 64 columns at 8 x 8 (the copy cost a quarter of the multiply's time). Stored
// K x M (trans_a true), a strip's 6 values of one k are adjacent but successive k are lda apart,
// often a multiple of a large power of two that maps a strip onto a few cache sets; those strips
// are packed ([strip][k][6], one copy of 6 adjacent values per strip and k) per block of mc rows.
// A partial last strip repeats its last row in the missing ones (no reads past A) and stores only
// its real rows.
//
// Sizes: kc = 256 keeps a strip of A (6 KB in float) and a panel of B (16 KB with AVX2) in L1;
// the packed B block (kc x nc = 256 x 256, 256 KB) and mc = 96 rows of A (96 KB) stay in L2 (512 KB
// on Zen 3). A block of B as large as L3 (nc = 2048) was written to L3 by the packing and read
// back from it by the kernel, which cost the dx product a quarter of its time. The AVX-512 wide
// panel (64 floats, 64 KB at kc = 256) is read from L2; kc = 128, which fits it in L1, measured
// 0.77-0.92x as fast on the bottleneck's forward and dx products (1.0-1.07x on dW). Where B is
// narrow, kc grows (gemm_k_block below).
//
// Threads: items are (row block, range of panels) pairs, split statically; every element of C is
// summed by one thread in the same order whatever the thread count. Inside a parallel region
// (a convolution running one GEMM per image) the kernel runs on the calling thread alone.

constexpr Index gemm_mr = 6, gemm_kc = 256, gemm_mc = 96, gemm_nc = 256;

// Vectors per row of the micro-kernel's tile: 2 (12 accumulators) fits the 16 vector registers
// of SSE2 and AVX2; AVX-512 has 32, and a 6 x 4L tile (24 accumulators) loads B 4 times and A 6
// times per 24 FMAs instead of 2 and 6 per 12.
constexpr Index gemm_nv_wide = vector_bytes == 64 ? 4 : 2;

// The tile width for N columns: the wide one unless it pads more columns than 2L does (N = 32 in
// float with AVX-512 would be half padding, and a partial panel's C update and packing run value
// by value). The choice depends on the shape alone, and both widths sum every element of C in the
// same order, so the bits do not change with it.
template <class T>
constexpr bool gemm_wide_tile(Index N) {
    constexpr Index narrow = 2 * Simd<T>::lanes, wide = gemm_nv_wide * Simd<T>::lanes;
    return wide > narrow && (N + wide - 1) / wide * wide <= (N + narrow - 1) / narrow * narrow;
}

// The K block of a call with N columns: gemm_kc, or, where the tile is the wide one and its
// panel at gemm_kc is already larger than an L1 cache (32 KB) and read from L2 anyway (AVX-512's
// 64-column panels, 64 KB), more while the packed block of B stays within 256 KB (half of Zen 3's
// L2), in equal parts of K. Narrow B is the convolutions' case (64 columns per image at 8 x 8):
// there kb = 922 instead of 256 lets the micro-kernel read A's rows in runs 4x longer and add its
// tile to C 4x less often (the bottleneck's forward product 1.05-1.07x as fast by medians on
// Sapphire Rapids). AVX2's 16-column panel (16 KB) stays in L1 at kc = 256 (a longer block
// measured the same there). A function of the shape and the instruction set, not of the tile a
// caller forces, so both tiles sum in the same order.
template <class T>
constexpr Index gemm_k_block(Index K, Index N) {
    constexpr Index wide = gemm_nv_wide * Simd<T>::lanes, block_bytes = 256 * 1024, l1_bytes = 32 * 1024;
    if (!gemm_wide_tile<T>(N) || wide * gemm_kc * Index(sizeof(T)) <= l1_bytes) return gemm_kc;
    const Index nb = (std::min(gemm_nc, N) + wide - 1) / wide * wide;
    const Index k_max = std::max<Index>(gemm_kc, block_bytes / (nb * Index(sizeof(T))));
    const Index parts = (K + k_max - 1) / k_max;
    return std::max<Index>(1, (K + parts - 1) / parts);
}

// Where the micro-kernel reads a strip of op(A): element (r, k) at a[row[r] + k * k_stride]. For A
// read in place (k_stride 1), next_strip is the offset of the next strip's rows (6 lda), or 0 when
// there is no whole strip after this one: the kernel prefetches into it (see gemm_micro_kernel).
template <class T>
struct GemmStrip {
    const T* a;
    Index row[gemm_mr];
    Index k_stride;
    Index next_strip;
};

// How far ahead, in cache lines, the micro-kernel fetches the rows of A it reads in place.
constexpr Index gemm_a_prefetch_lines = 4;

// tile(r, j) = alpha sum_k A(r, k) b[k*NR + j] for r < rows, j < cols (the rest is padding), added
// to c[r*ldc + j], or with c_trans to c[j*ldc + r] (C^T is computed: see packed_gemm). NR = NV L.
template <Index NV, class T>
inline void gemm_micro_kernel(const GemmStrip<T>& s, const T* b, Index kb, T alpha, T* c, Index ldc, Index rows,
                              Index cols, bool c_trans) {
    using V = typename Simd<T>::vec;
    constexpr Index L = Simd<T>::lanes, NR = NV * L, line = Index(64 / sizeof(T));
    // The tile of C is needed only after the kb steps: start fetching it now.
    if (c_trans)
        for (Index j = 0; j < cols; ++j) __builtin_prefetch(c + j * ldc, 1);
    else
        for (Index r = 0; r < rows; ++r) {
            for (Index j = 0; j < NR; j += line) __builtin_prefetch(c + r * ldc + j, 1);
            __builtin_prefetch(c + r * ldc + NR - 1, 1);
        }
    const T* a0 = s.a + s.row[0];
    const T* a1 = s.a + s.row[1];
    const T* a2 = s.a + s.row[2];
    const T* a3 = s.a + s.row[3];
    const T* a4 = s.a + s.row[4];
    const T* a5 = s.a + s.row[5];
    const Index ks = s.k_stride;
    // A read in place: 6 rows, kb values each (1 KB at kb = 256), too short a run for the hardware
    // prefetchers to get ahead of the loads, so at each new cache line the kernel fetches the line
    // 4 on in every row, or, past the strip's end, the same line of the next strip's rows if there
    // is one, within the block's kb columns (never past A: a prefetch does not fault, but the
    // pointer would leave the array). 1.13-1.17x by medians on the 8 x 8 bottleneck's forward
    // product (Sapphire Rapids).
    const Index ahead = gemm_a_prefetch_lines * line;
    const bool prefetch_a = ks == 1;
    // The small loops are unrolled by pragma: rolled, an array indexed by a loop variable lives in
    // memory, and GCC 12 left the AVX2 copy's accumulators on the stack (half the speed).
    V acc[gemm_mr][NV] = {};
    for (Index k = 0, o = 0; k < kb; ++k, o += ks, b += NR) {
        const Index k_ahead = k + ahead;  // = o + ahead, as o = k when ks = 1
        if (prefetch_a && k % line == 0 && (k_ahead < kb || (s.next_strip != 0 && k_ahead - kb < kb))) {
            const Index t = k_ahead < kb ? k_ahead : k_ahead - kb + s.next_strip;
            __builtin_prefetch(a0 + t);
            __builtin_prefetch(a1 + t);
            __builtin_prefetch(a2 + t);
            __builtin_prefetch(a3 + t);
            __builtin_prefetch(a4 + t);
            __builtin_prefetch(a5 + t);
        }
        V bv[NV];
#pragma GCC unroll 4
        for (Index h = 0; h < NV; ++h) {
            V x;
            std::memcpy(&x, b + h * L, sizeof(V));
            keep_in_register(x);  // one load each, not one per FMA (simd.inl)
            bv[h] = x;
        }
        const T w[gemm_mr] = {a0[o], a1[o], a2[o], a3[o], a4[o], a5[o]};
#pragma GCC unroll 6
        for (Index r = 0; r < gemm_mr; ++r) {
            const V wr = splat<T>(w[r]);
#pragma GCC unroll 4
            for (Index h = 0; h < NV; ++h) acc[r][h] += wr * bv[h];
        }
    }
    if (c_trans) {  // 6 x NR values, one short column of C each: scalar adds are few beside kb steps
        T buf[gemm_mr][NR];
#pragma GCC unroll 6
        for (Index r = 0; r < gemm_mr; ++r)
#pragma GCC unroll 4
            for (Index h = 0; h < NV; ++h) {
                const V scaled = alpha * acc[r][h];
                std::memcpy(buf[r] + h * L, &scaled, sizeof(V));
            }
        for (Index j = 0; j < cols; ++j)
            for (Index r = 0; r < rows; ++r) c[j * ldc + r] += buf[r][j];
        return;
    }
    // Constant row indices (the loops unroll), so the accumulators stay in registers.
#pragma GCC unroll 6
    for (Index r = 0; r < gemm_mr; ++r) {
        if (r >= rows) break;
        V scaled[NV];
#pragma GCC unroll 4
        for (Index h = 0; h < NV; ++h) scaled[h] = alpha * acc[r][h];
        if (cols == NR) {
#pragma GCC unroll 4
            for (Index h = 0; h < NV; ++h) {
                V old;
                std::memcpy(&old, c + r * ldc + h * L, sizeof(V));
                old += scaled[h];
                std::memcpy(c + r * ldc + h * L, &old, sizeof(V));
            }
        } else {
            T buf[NR];
            std::memcpy(buf, scaled, sizeof(scaled));
            for (Index j = 0; j < cols; ++j) c[r * ldc + j] += buf[j];
        }
    }
}

// The lane of the two-source shuffle that interleaves blocks of `b` lanes of x and y (L lanes
// each): their first halves (`high` false) or second halves, x's block first.
constexpr int interleave_pick(Index L, Index b, bool high, Index m) {
    const Index q = m / b, src = (q / 2 + (high ? L / (2 * b) : 0)) * b + m % b;
    return int(q % 2 == 0 ? src : src + L);
}
template <class V, Index L, Index B, bool High, std::size_t... M>
inline __attribute__((always_inline)) V interleave_blocks(V x, V y, std::index_sequence<M...>) {
    return shuffle_lanes<V, interleave_pick(L, B, High, Index(M))...>(x, y);
}
constexpr Index bit_reversed(Index i, Index L) {
    Index r = 0;
    for (Index bit = 1; bit < L; bit <<= 1) r = (r << 1) | ((i & bit) ? 1 : 0);
    return r;
}

// dst[c * ld_dst + r] = src[r * ld_src + c] for r, c < L: one L x L block transposed in registers.
// log2(L) rounds; round b pairs rows 2i and 2i+1 and interleaves them in blocks of b lanes (b = 1,
// 2, 4, ...), the first halves into row i, the second into row i + L/2. After the last round row i
// holds column bit_reversed(i). For L = 16: 64 shuffles per 256 values instead of 256 scalar stores.
template <class T>
inline __attribute__((always_inline)) void transpose_block(const T* src, Index ld_src, T* dst, Index ld_dst) {
    using V = typename Simd<T>::vec;
    constexpr Index L = Simd<T>::lanes;
    V x[L];
    for (Index r = 0; r < L; ++r) std::memcpy(&x[r], src + r * ld_src, sizeof(V));
    const auto round = [&](auto b_tag) __attribute__((always_inline)) {
        constexpr Index B = decltype(b_tag)::value;
        V y[L];
        for (Index i = 0; i < L / 2; ++i) {
            y[i] = interleave_blocks<V, L, B, false>(x[2 * i], x[2 * i + 1], std::make_index_sequence<L>{});
            y[i + L / 2] = interleave_blocks<V, L, B, true>(x[2 * i], x[2 * i + 1], std::make_index_sequence<L>{});
        }
        for (Index i = 0; i < L; ++i) x[i] = y[i];
    };
    round(std::integral_constant<Index, 1>{});
    if constexpr (L > 2) round(std::integral_constant<Index, 2>{});
    if constexpr (L > 4) round(std::integral_constant<Index, 4>{});
    if constexpr (L > 8) round(std::integral_constant<Index, 8>{});
    static_assert(L <= 16, "transpose_block: at most 16 lanes");
    for (Index i = 0; i < L; ++i) std::memcpy(dst + bit_reversed(i, L) * ld_dst, &x[i], sizeof(V));
}

// bp[p][k][NR] = op(B)(pc + k, jc + p*NR + j) for panels p_lo <= p < p_hi, k < kb, j < NR; zero
// past N.
template <Index NV, class T>
inline void gemm_pack_panels(bool trans_b, const T* B, Index ldb, Index N, Index pc, Index kb, Index jc, Index p_lo,
                             Index p_hi, T* bp) {
    constexpr Index NR = NV * Simd<T>::lanes;
    if (trans_b) {  // B stored N x K: L x L blocks transposed in registers, the rest value by value
        constexpr Index L = Simd<T>::lanes;
        for (Index p = p_lo; p < p_hi; ++p) {
            T* dst = bp + p * kb * NR;
            const Index j0 = jc + p * NR, jn = std::min(NR, N - j0);
            Index k_done = 0;  // a whole panel: blocks of L k first
            for (; jn == NR && k_done + L <= kb; k_done += L)
                for (Index h = 0; h < NR; h += L)
                    transpose_block(B + (j0 + h) * ldb + pc + k_done, ldb, dst + k_done * NR + h, NR);
            for (Index j = 0; j < jn; ++j) {
                const T* src = B + (j0 + j) * ldb + pc;
                for (Index k = k_done; k < kb; ++k) dst[k * NR + j] = src[k];
            }
            for (Index k = 0; k < kb && jn < NR; ++k) std::fill(dst + k * NR + jn, dst + (k + 1) * NR, T(0));
        }
        return;
    }
    // B stored K x N: 8 rows at a time across all the panels, so B is read in 8 sequential streams
    // (one panel at a time read one cache line from each of kb rows, a page apart when ldb is
    // large: a TLB miss per line) and each panel is written in runs of 8 rows.
    constexpr Index rows_per_pass = 8;
    for (Index k0 = 0; k0 < kb; k0 += rows_per_pass) {
        const Index k1 = std::min(kb, k0 + rows_per_pass);
        for (Index p = p_lo; p < p_hi; ++p) {
            T* dst = bp + p * kb * NR;
            const Index j0 = jc + p * NR, jn = std::min(NR, N - j0);
            for (Index k = k0; k < k1; ++k) {
                const T* src = B + (pc + k) * ldb + j0;
                if (jn == NR) {
                    std::memcpy(dst + k * NR, src, sizeof(T) * NR);  // constant size: two vector moves
                } else {
                    std::memcpy(dst + k * NR, src, sizeof(T) * jn);
                    std::fill(dst + k * NR + jn, dst + (k + 1) * NR, T(0));
                }
            }
        }
    }
}

// C += alpha op(A) op(B), or with op_c transposed C^T += ..., C^T being ldc-strided N x M.
template <class T, Index NV>
void packed_gemm_blocks(MatrixOp op_a, MatrixOp op_b, Index M, Index N, Index K, T alpha, const T* A, Index lda,
                        const T* B, Index ldb, T* C, Index ldc, MatrixOp op_c) {
    const bool trans_a = op_a == MatrixOp::transposed, trans_b = op_b == MatrixOp::transposed,
               c_trans = op_c == MatrixOp::transposed;
    constexpr Index NR = NV * Simd<T>::lanes;
    static_assert(gemm_nc % NR == 0, "packed_gemm_blocks: a block of columns must hold whole panels");
    const bool serial = in_parallel_region();
    const Index threads = serial ? 1 : num_threads();
    const Index kc = gemm_k_block<T>(K, N);
    for (Index jc = 0; jc < N; jc += gemm_nc) {
        const Index nb = std::min(gemm_nc, N - jc), panels = (nb + NR - 1) / NR;
        for (Index pc = 0; pc < K; pc += kc) {
            const Index kb = std::min(kc, K - pc);
            // The block packed after this one (next_kb = 0: none).
            const bool last_k = pc + kb >= K;
            const Index next_pc = last_k ? 0 : pc + kb, next_jc = last_k ? jc + gemm_nc : jc;
            const Index next_kb = next_jc < N ? std::min(kc, K - next_pc) : 0;
            // bp[panel][k][NR] = op(B)(pc + k, jc + panel*NR + j), zero past N. B of exactly one
            // panel's width stored with ldb = NR (the 8 x 8 convolutions' columns with AVX-512's
            // 64-float panel) has that layout already and is read in place: its copy had 6.6% of
            // the samples of the bottleneck's forward op in `perf record`; in place, the forward
            // and dx ops took 0.99x the time by medians of 40 alternating calls.
            const T* bp = B + pc * ldb;
            if (trans_b || N != NR || ldb != NR) {
                T* packed = scratch<T>(ScratchSlot::gemm_b, static_cast<std::size_t>(panels * kb * NR));
                if (serial || threads == 1)
                    gemm_pack_panels<NV>(trans_b, B, ldb, N, pc, kb, jc, 0, panels, packed);
                else
                    parallel_for(0, threads, [&](std::ptrdiff_t t) {
                        gemm_pack_panels<NV>(trans_b, B, ldb, N, pc, kb, jc, panels * t / threads,
                                             panels * (t + 1) / threads, packed);
                    });
                bp = packed;
            }

            // Items: (block of mc rows, range of panels); enough of them to keep every thread busy.
            const Index mblocks = (M + gemm_mc - 1) / gemm_mc;
            const Index splits = std::min(panels, std::max<Index>(1, (2 * threads + mblocks - 1) / mblocks));
            const Index per_split = (panels + splits - 1) / splits;
            const auto run_item = [&](std::ptrdiff_t item) {
                const Index ib = item / splits, sp = item % splits;
                const Index i0 = ib * gemm_mc, mb = std::min(gemm_mc, M - i0), strips = (mb + gemm_mr - 1) / gemm_mr;
                const Index p_lo = sp * per_split, p_hi = std::min(panels, p_lo + per_split);
                if (p_lo >= p_hi) return;
                // Stored K x M: ap[strip][k][MR] = op(A)(i0 + strip*MR + r, pc + k) for the strip's real
                // rows, one copy of up to 6 adjacent values per (strip, k).
                T* ap = nullptr;
                if (trans_a) {
                    ap = scratch<T>(ScratchSlot::gemm_a, static_cast<std::size_t>(strips * kb * gemm_mr));
                    // Strip by strip, so the writes are sequential (writing the strips side by side,
                    // kb * 6 apart, stalled every load behind a store to an address 4 KB away).
                    for (Index st = 0; st < strips; ++st) {
                        const T* src = A + pc * lda + i0 + st * gemm_mr;
                        T* dst = ap + st * kb * gemm_mr;
                        const Index rows = std::min(gemm_mr, mb - st * gemm_mr);
                        for (Index k = 0; k < kb; ++k, src += lda, dst += gemm_mr) {
                            if (rows == gemm_mr)
                                std::memcpy(dst, src, sizeof(T) * gemm_mr);  // constant size: inlined
                            else
                                std::copy_n(src, rows, dst);
                        }
                    }
                }
                const auto strip = [&](Index st, Index rows) {
                    GemmStrip<T> s;
                    for (Index r = 0; r < gemm_mr; ++r) {
                        const Index ri = std::min(r, rows - 1);  // a partial strip repeats its last row
                        s.row[r] = trans_a ? st * kb * gemm_mr + ri : (i0 + st * gemm_mr + ri) * lda + pc;
                    }
                    s.a = trans_a ? ap : A;
                    s.k_stride = trans_a ? gemm_mr : 1;
                    // The next strip, if it is a whole one (a partial one would be fetched past row M).
                    const Index next_r0 = i0 + (st + 1) * gemm_mr;
                    s.next_strip = !trans_a && next_r0 + gemm_mr <= M ? gemm_mr * lda : 0;
                    return s;
                };
                for (Index p = p_lo; p < p_hi; ++p) {
                    const Index j0 = jc + p * NR, cols = std::min(NR, N - j0);
                    const Index next_j0 = next_jc + p * NR;
                    const bool prefetch = !trans_b && ib == 0 && next_kb > 0 && next_j0 < N;
                    for (Index st = 0; st < strips; ++st) {
                        // The same panel of the next block of B, a few rows per kernel call: packing
                        // it then reads from cache while the multiply hid the memory latency.
                        for (Index k = next_kb * st / strips; prefetch && k < next_kb * (st + 1) / strips; ++k)
                            __builtin_prefetch(B + (next_pc + k) * ldb + next_j0, 0, 2);
                        const Index r0 = i0 + st * gemm_mr, rows = std::min(gemm_mr, M - r0);
                        T* c = c_trans ? C + j0 * ldc + r0 : C + r0 * ldc + j0;
                        gemm_micro_kernel<NV>(strip(st, rows), bp + p * kb * NR, kb, alpha, c, ldc, rows, cols, c_trans);
                    }
                }
            };
            if (serial)
                for (Index item = 0; item < mblocks * splits; ++item) run_item(item);
            else
                parallel_for(0, mblocks * splits, run_item);
        }
    }
}

template <class T>
void packed_gemm_tiles(MatrixOp op_a, MatrixOp op_b, Index M, Index N, Index K, T alpha, const T* A, Index lda,
                       const T* B, Index ldb, T* C, Index ldc, MatrixOp op_c) {
    if (gemm_wide_tile<T>(N))
        packed_gemm_blocks<T, gemm_nv_wide>(op_a, op_b, M, N, K, alpha, A, lda, B, ldb, C, ldc, op_c);
    else
        packed_gemm_blocks<T, 2>(op_a, op_b, M, N, K, alpha, A, lda, B, ldb, C, ldc, op_c);
}

// C += alpha op(A) op(B); see the top of this file. Sizes are checked by gemm().
template <class T>
void packed_gemm(MatrixOp op_a, MatrixOp op_b, Index M, Index N, Index K, T alpha, const T* A, Index lda,
                 const T* B, Index ldb, T* C, Index ldc) {
    // A stored K x M must be packed strip by strip, reading 6 values per row of A; when it is the
    // larger operand (the dx of a convolution, W^T dL/dy, 4608 x 512 times 512 x 64 at the
    // bottleneck), compute C^T = op(B)^T op(A)^T instead: A becomes the B operand, whose panels
    // are copied in whole vectors from A's contiguous rows, and op(B)^T the small strip operand.
    // op(B)^T is then stored K x N (trans_b false) or read in place (trans_b true).
    const bool trans_a = op_a == MatrixOp::transposed, trans_b = op_b == MatrixOp::transposed;
    if (trans_a && (trans_b || M > N))
        packed_gemm_tiles(trans_b ? MatrixOp::as_is : MatrixOp::transposed, MatrixOp::as_is, N, M, K, alpha, B, ldb,
                          A, lda, C, ldc, MatrixOp::transposed);
    else
        packed_gemm_tiles(op_a, op_b, M, N, K, alpha, A, lda, B, ldb, C, ldc, MatrixOp::as_is);
}
