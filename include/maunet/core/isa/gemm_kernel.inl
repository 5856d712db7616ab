// maunet's own GEMM kernel, one copy per instruction set (included through instantiate.inl from
// maunet/core/gemm.hpp; no include guard). Eigen's GEMM picks its vectors by preprocessor macros
// (__AVX2__, __FMA__), so in a program built for baseline x86-64 it runs SSE2 code even on an
// AVX2 CPU; this kernel is compiled in the AVX2 + FMA target region and is what gemm() runs when
// kernel_isa() is avx2 (the 8 x 8 bottleneck convolutions of the U-Nets are GEMMs).
//
//   C (M x N) += alpha op(A) (M x K) op(B) (K x N), row-major, C already scaled by beta.
//
// The loops of Goto & van de Geijn (2008) / BLIS: for each block of nc columns and kc of the
// K range, B's block is packed into panels of NR = 2L columns ([k][NR], zero-padded past N), and
// each block of mc rows of A into strips of MR = 6 rows ([k][6], times alpha, zero-padded past M).
// The micro-kernel keeps a 6 x 2L tile of C in 12 vector accumulators over the whole kc range
// (per k: 2 loads of B, 6 broadcasts of A, 12 FMAs), then adds it to C. Packing makes op(A) and
// op(B) one code path: the transposes only change how the packing reads.
//
// Sizes: kc = 256 keeps a strip of A (6 KB in float) and a panel of B (16 KB with AVX2) in L1;
// mc = 96 rows of A (96 KB) stay in L2 while they sweep the packed B block (nc = 2048 columns,
// up to 2 MB, from L3).
//
// Threads: items are (row block, range of panels) pairs, split statically; every element of C is
// summed by one thread in the same order whatever the thread count. Inside a parallel region
// (a convolution running one GEMM per image) the kernel runs on the calling thread alone.

constexpr Index gemm_mr = 6, gemm_kc = 256, gemm_mc = 96, gemm_nc = 2048;

// c[r*ldc + j] += sum_k a[k*MR + r] b[k*NR + j] for r < rows, j < cols (the rest is padding).
template <class T>
inline void gemm_micro_kernel(const T* a, const T* b, Index kb, T* c, Index ldc, Index rows, Index cols) {
    using V = typename Simd<T>::vec;
    constexpr Index L = Simd<T>::lanes;
    V acc[gemm_mr][2] = {};
    for (Index k = 0; k < kb; ++k, a += gemm_mr, b += 2 * L) {
        V b0, b1;
        std::memcpy(&b0, b, sizeof(V));
        std::memcpy(&b1, b + L, sizeof(V));
        for (Index r = 0; r < gemm_mr; ++r) {
            const V w = splat<T>(a[r]);
            acc[r][0] += w * b0;
            acc[r][1] += w * b1;
        }
    }
    // Constant row indices (the loops unroll), so the accumulators stay in registers.
    for (Index r = 0; r < gemm_mr; ++r) {
        if (r >= rows) break;
        if (cols == 2 * L) {
            for (Index h = 0; h < 2; ++h) {
                V old;
                std::memcpy(&old, c + r * ldc + h * L, sizeof(V));
                old += acc[r][h];
                std::memcpy(c + r * ldc + h * L, &old, sizeof(V));
            }
        } else {
            T buf[2 * L];
            std::memcpy(buf, &acc[r][0], sizeof(V));
            std::memcpy(buf + L, &acc[r][1], sizeof(V));
            for (Index j = 0; j < cols; ++j) c[r * ldc + j] += buf[j];
        }
    }
}

// C += alpha op(A) op(B); see the top of this file. Sizes are checked by gemm().
template <class T>
void packed_gemm(bool trans_a, bool trans_b, Index M, Index N, Index K, T alpha, const T* A, Index lda, const T* B,
                 Index ldb, T* C, Index ldc) {
    constexpr Index NR = 2 * Simd<T>::lanes;
    const bool serial = in_parallel_region();
    const Index threads = serial ? 1 : num_threads();
    for (Index jc = 0; jc < N; jc += gemm_nc) {
        const Index nb = std::min(gemm_nc, N - jc), panels = (nb + NR - 1) / NR;
        for (Index pc = 0; pc < K; pc += gemm_kc) {
            const Index kb = std::min(gemm_kc, K - pc);
            // bp[panel][k][NR] = op(B)(pc + k, jc + panel*NR + j), zero past N.
            T* bp = scratch<T>(ScratchSlot::gemm_b, static_cast<std::size_t>(panels * kb * NR));
            const auto pack_panel = [&](std::ptrdiff_t p) {
                T* dst = bp + p * kb * NR;
                const Index j0 = jc + p * NR, jn = std::min(NR, N - j0);
                for (Index k = 0; k < kb; ++k) {
                    T* row = dst + k * NR;
                    if (trans_b)
                        for (Index j = 0; j < jn; ++j) row[j] = B[(j0 + j) * ldb + pc + k];
                    else
                        std::memcpy(row, B + (pc + k) * ldb + j0, sizeof(T) * jn);
                    std::fill(row + jn, row + NR, T(0));
                }
            };
            if (serial)
                for (Index p = 0; p < panels; ++p) pack_panel(p);
            else
                parallel_for(0, panels, pack_panel);

            // Items: (block of mc rows, range of panels); enough of them to keep every thread busy.
            const Index mblocks = (M + gemm_mc - 1) / gemm_mc;
            const Index splits = std::min(panels, std::max<Index>(1, (2 * threads + mblocks - 1) / mblocks));
            const Index per_split = (panels + splits - 1) / splits;
            const auto run_item = [&](std::ptrdiff_t item) {
                const Index ib = item / splits, s = item % splits;
                const Index i0 = ib * gemm_mc, mb = std::min(gemm_mc, M - i0), strips = (mb + gemm_mr - 1) / gemm_mr;
                const Index p_lo = s * per_split, p_hi = std::min(panels, p_lo + per_split);
                if (p_lo >= p_hi) return;
                // ap[strip][k][MR] = alpha op(A)(i0 + strip*MR + r, pc + k), zero past M.
                T* ap = scratch<T>(ScratchSlot::gemm_a, static_cast<std::size_t>(strips * kb * gemm_mr));
                for (Index st = 0; st < strips; ++st)
                    for (Index r = 0; r < gemm_mr; ++r) {
                        const Index i = i0 + st * gemm_mr + r;
                        T* dst = ap + st * kb * gemm_mr + r;
                        if (i >= M)
                            for (Index k = 0; k < kb; ++k) dst[k * gemm_mr] = T(0);
                        else if (trans_a)
                            for (Index k = 0; k < kb; ++k) dst[k * gemm_mr] = alpha * A[(pc + k) * lda + i];
                        else
                            for (Index k = 0; k < kb; ++k) dst[k * gemm_mr] = alpha * A[i * lda + pc + k];
                    }
                for (Index p = p_lo; p < p_hi; ++p) {
                    const Index j0 = jc + p * NR, cols = std::min(NR, N - j0);
                    for (Index st = 0; st < strips; ++st) {
                        const Index r0 = i0 + st * gemm_mr;
                        gemm_micro_kernel(ap + st * kb * gemm_mr, bp + p * kb * NR, kb, C + r0 * ldc + j0, ldc,
                                          std::min(gemm_mr, M - r0), cols);
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
