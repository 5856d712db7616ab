// The products M = U V of the Winograd kernels (winograd.hpp), one copy per instruction set
// (included through maunet/core/isa/instantiate.inl; no include guard). The weight gradient's
// products are GEMMs (winograd_weight_grad.hpp).
//
// The transforms have no AVX-512 copy (winograd.hpp), but their products do: on a CPU whose FMA
// units are 512 bits wide (Zen 5, Intel's server cores) a 16-lane FMA does twice the arithmetic of
// an 8-lane one, while the products do not care how the tiles got into their lanes. So an AVX-512
// CPU runs the AVX2 transforms with these AVX-512 products. A panel is then 16 tiles: two vectors
// of the calling (AVX2) copy, one vector of this one.

// m[r*ld + j*m_next + l] = sum_c u[c*6 + r] v[c*ld + j*v_next + l] for r < MR, j < NV, l < L:
// MR output channels x NV vectors of tiles in MR*NV accumulators over all C channels (u packed
// [c][6], v rows `ld` apart). Per channel NV loads, MR broadcasts, MR*NV FMAs.
template <class T, int MR, int NV>
inline __attribute__((always_inline)) void winograd_product_tile(const T* v, Index v_next, Index ld, Index C,
                                                                 const T* u, T* m, Index m_next) {
    using V = typename Simd<T>::vec;
    V acc[MR][NV] = {};
    for (Index c = 0; c < C; ++c, v += ld, u += winograd_mr) {
        V x[NV];
        for (int j = 0; j < NV; ++j) std::memcpy(&x[j], v + j * v_next, sizeof(V));
        for (int r = 0; r < MR; ++r) {
            const V w = splat<T>(u[r]);
            for (int j = 0; j < NV; ++j) acc[r][j] += w * x[j];
        }
    }
    for (int r = 0; r < MR; ++r)
        for (int j = 0; j < NV; ++j) std::memcpy(m + r * ld + j * m_next, &acc[r][j], sizeof(V));
}

// The tile for the `rows` (1..6) output channels left in a block.
template <class T, int NV>
inline void winograd_product_rows(const T* v, Index v_next, Index ld, Index C, const T* u, T* m, Index m_next,
                                  Index rows) {
    switch (rows) {
        case 1: winograd_product_tile<T, 1, NV>(v, v_next, ld, C, u, m, m_next); break;
        case 2: winograd_product_tile<T, 2, NV>(v, v_next, ld, C, u, m, m_next); break;
        case 3: winograd_product_tile<T, 3, NV>(v, v_next, ld, C, u, m, m_next); break;
        case 4: winograd_product_tile<T, 4, NV>(v, v_next, ld, C, u, m, m_next); break;
        case 5: winograd_product_tile<T, 5, NV>(v, v_next, ld, C, u, m, m_next); break;
        default: winograd_product_tile<T, 6, NV>(v, v_next, ld, C, u, m, m_next); break;
    }
}

// M[q] = U V[q] for the panels q of one block (WinogradProduct, winograd.hpp). A panel is two
// vectors of the generic and AVX2 copies: one tile of 2 vectors per panel. It is one vector of the
// AVX-512 copy (called by the AVX2 transforms): four panels at a time then (24 of its 32
// registers hold accumulators), two or one for the rest. Per channel that is 4 loads and 6
// broadcasts for 24 FMAs, against 2 and 6 for 12 with two panels. On a 2-core Sapphire Rapids
// (two 512-bit loads and two 512-bit FMAs a cycle) two panels at a time took 10-20% more time in
// the products alone and 2-7% more in a whole forward convolution. Each accumulator sums over c
// in order either way: the same bits.
template <class T>
void winograd_product_panels(const WinogradProduct<T>& b) {
    constexpr Index L = Simd<T>::lanes;
    const Index v_panel = b.channels * b.step, m_panel = b.m_panel_stride;
    if (b.step == 2 * L) {
        for (Index q = 0; q < b.panels; ++q)
            winograd_product_rows<T, 2>(b.v + q * v_panel, L, b.step, b.channels, b.u, b.m + q * m_panel, L, b.rows);
        return;
    }
    Index q = 0;  // b.step == L
    if constexpr (sizeof(typename Simd<T>::vec) == 64)
        for (; q + 4 <= b.panels; q += 4)
            winograd_product_rows<T, 4>(b.v + q * v_panel, v_panel, b.step, b.channels, b.u, b.m + q * m_panel,
                                        m_panel, b.rows);
    for (; q + 2 <= b.panels; q += 2)
        winograd_product_rows<T, 2>(b.v + q * v_panel, v_panel, b.step, b.channels, b.u, b.m + q * m_panel, m_panel,
                                    b.rows);
    if (q < b.panels)
        winograd_product_rows<T, 1>(b.v + q * v_panel, 0, b.step, b.channels, b.u, b.m + q * m_panel, 0, b.rows);
}
