// The products of the Winograd kernels (winograd.hpp, winograd_weight_grad.hpp), one copy per
// instruction set (included through maunet/core/isa/instantiate.inl; no include guard).
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

// du[k*ld_du + c] += sum_t dm[k*ld + t] v[c*ld + t] for k < kr, c < cr (each 1..3), t < len:
// tiles in the lanes, 9 accumulators (named, so they stay in registers), one lane sum per (k, c)
// at the end, in lane order. Missing rows repeat the last one and are not written. `len` is a
// multiple of the calling transforms' vector (L, or L/2 for the AVX-512 copy behind AVX2
// transforms: the last half vector is then loaded into the low lanes of zeroed vectors).
template <class T>
inline void winograd_grad_product(const T* dm, const T* v, Index ld, Index len, T* du, Index ld_du, Index kr,
                                  Index cr) {
    using V = typename Simd<T>::vec;
    constexpr Index L = Simd<T>::lanes;
    const T* m0 = dm;
    const T* m1 = dm + std::min<Index>(1, kr - 1) * ld;
    const T* m2 = dm + std::min<Index>(2, kr - 1) * ld;
    const T* v0 = v;
    const T* v1 = v + std::min<Index>(1, cr - 1) * ld;
    const T* v2 = v + std::min<Index>(2, cr - 1) * ld;
    V a00 = {}, a01 = {}, a02 = {}, a10 = {}, a11 = {}, a12 = {}, a20 = {}, a21 = {}, a22 = {};
    const auto step = [&](Index t, std::size_t bytes) __attribute__((always_inline)) {
        V x0 = {}, x1 = {}, x2 = {}, y0 = {}, y1 = {}, y2 = {};
        std::memcpy(&x0, v0 + t, bytes);
        std::memcpy(&x1, v1 + t, bytes);
        std::memcpy(&x2, v2 + t, bytes);
        std::memcpy(&y0, m0 + t, bytes);
        std::memcpy(&y1, m1 + t, bytes);
        std::memcpy(&y2, m2 + t, bytes);
        keep_in_register(x0);
        keep_in_register(x1);
        keep_in_register(x2);
        keep_in_register(y0);
        keep_in_register(y1);
        keep_in_register(y2);
        a00 += y0 * x0; a01 += y0 * x1; a02 += y0 * x2;
        a10 += y1 * x0; a11 += y1 * x1; a12 += y1 * x2;
        a20 += y2 * x0; a21 += y2 * x1; a22 += y2 * x2;
    };
    Index t = 0;
    for (; t + L <= len; t += L) step(t, sizeof(V));
    if (t < len) step(t, sizeof(V) / 2);
    const V acc[3][3] = {{a00, a01, a02}, {a10, a11, a12}, {a20, a21, a22}};
    for (Index k = 0; k < kr; ++k)
        for (Index c = 0; c < cr; ++c) {
            T sum = T(0);
            for (Index l = 0; l < L; ++l) sum += acc[k][c][l];
            du[k * ld_du + c] += sum;
        }
}
