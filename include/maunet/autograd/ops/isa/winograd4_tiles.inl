// The tile transforms of Winograd F(4x4, 3x3) (winograd.hpp), a generic and an AVX2 copy
// (included by isa/winograd.inl; no include guard).
//
// A vector holds L neighbouring tiles of one tile row, one lane per tile, as in F(2x2, 3x3); but
// tile t now starts 4 columns after tile t-1, so column k of the L tiles is every fourth value of
// the padded row from k. split_columns4 gets columns 0..3 from four vectors loaded one after the
// other (a 4 x 4 transpose inside each 128-bit half: 8 shuffles for 4 columns), and the same split
// of the four vectors loaded 4 values further gives columns 4 and 5 (columns 0 and 1 of the next
// tile). With 32-byte float vectors the tiles come out in the order 0 2 4 6 1 3 5 7; the products
// are lane-wise, and join_columns4 puts the output columns back into 4L contiguous pixels.

// a, b, c, d: 4L consecutive values, tile t at 4t .. 4t+3. Out: a, b, c, d = columns 0, 1, 2, 3 of
// the L tiles.
template <class V>
inline __attribute__((always_inline)) void split_columns4(V& a, V& b, V& c, V& d) {
    constexpr Index lanes = Index(sizeof(V) / sizeof(a[0]));
    if constexpr (lanes == 2) {  // double, 16 bytes: a tile is two vectors
        const V c0 = shuffle_lanes<V, 0, 2>(a, c), c1 = shuffle_lanes<V, 1, 3>(a, c);
        const V c2 = shuffle_lanes<V, 0, 2>(b, d), c3 = shuffle_lanes<V, 1, 3>(b, d);
        a = c0, b = c1, c = c2, d = c3;
    } else if constexpr (lanes == 4 && sizeof(a[0]) == 8) {  // double, 32 bytes: a tile a vector
        const V t0 = shuffle_lanes<V, 0, 4, 2, 6>(a, b), t1 = shuffle_lanes<V, 1, 5, 3, 7>(a, b);
        const V t2 = shuffle_lanes<V, 0, 4, 2, 6>(c, d), t3 = shuffle_lanes<V, 1, 5, 3, 7>(c, d);
        a = shuffle_lanes<V, 0, 1, 4, 5>(t0, t2), b = shuffle_lanes<V, 0, 1, 4, 5>(t1, t3);
        c = shuffle_lanes<V, 2, 3, 6, 7>(t0, t2), d = shuffle_lanes<V, 2, 3, 6, 7>(t1, t3);
    } else if constexpr (lanes == 4) {  // float, 16 bytes: _MM_TRANSPOSE4_PS
        const V t0 = shuffle_lanes<V, 0, 4, 1, 5>(a, b), t1 = shuffle_lanes<V, 2, 6, 3, 7>(a, b);
        const V t2 = shuffle_lanes<V, 0, 4, 1, 5>(c, d), t3 = shuffle_lanes<V, 2, 6, 3, 7>(c, d);
        a = shuffle_lanes<V, 0, 1, 4, 5>(t0, t2), b = shuffle_lanes<V, 2, 3, 6, 7>(t0, t2);
        c = shuffle_lanes<V, 0, 1, 4, 5>(t1, t3), d = shuffle_lanes<V, 2, 3, 6, 7>(t1, t3);
    } else {  // float, 32 bytes: the same inside each 128-bit half (vunpck*ps, vshufps)
        static_assert(lanes == 8, "split_columns4: 16- or 32-byte vectors");
        const V t0 = shuffle_lanes<V, 0, 8, 1, 9, 4, 12, 5, 13>(a, b);
        const V t1 = shuffle_lanes<V, 2, 10, 3, 11, 6, 14, 7, 15>(a, b);
        const V t2 = shuffle_lanes<V, 0, 8, 1, 9, 4, 12, 5, 13>(c, d);
        const V t3 = shuffle_lanes<V, 2, 10, 3, 11, 6, 14, 7, 15>(c, d);
        a = shuffle_lanes<V, 0, 1, 8, 9, 4, 5, 12, 13>(t0, t2);
        b = shuffle_lanes<V, 2, 3, 10, 11, 6, 7, 14, 15>(t0, t2);
        c = shuffle_lanes<V, 0, 1, 8, 9, 4, 5, 12, 13>(t1, t3);
        d = shuffle_lanes<V, 2, 3, 10, 11, 6, 7, 14, 15>(t1, t3);
    }
}

// The inverse of split_columns4: columns 0..3 of the L tiles -> their 4L values in row order. A
// transpose is its own inverse; only the two-vector tiles of 16-byte doubles need another order.
template <class V>
inline __attribute__((always_inline)) void join_columns4(V& a, V& b, V& c, V& d) {
    constexpr Index lanes = Index(sizeof(V) / sizeof(a[0]));
    if constexpr (lanes == 2) {
        const V r0 = shuffle_lanes<V, 0, 2>(a, b), r1 = shuffle_lanes<V, 0, 2>(c, d);
        const V r2 = shuffle_lanes<V, 1, 3>(a, b), r3 = shuffle_lanes<V, 1, 3>(c, d);
        a = r0, b = r1, c = r2, d = r3;
    } else {
        split_columns4(a, b, c, d);
    }
}

// x -> B^T x for the 6 values of one line of an input tile (F(4, 3), Lavin & Gray 2016):
//   B^T = | 4  0 -5  0  1  0 |
//         | 0 -4 -4  1  1  0 |
//         | 0  4 -4 -1  1  0 |
//         | 0 -2 -1  2  1  0 |
//         | 0  2 -1 -2  1  0 |
//         | 0  4  0 -5  0  1 |
template <class V, class T>
inline __attribute__((always_inline)) void winograd4_input_line(const V x[6], V y[6]) {
    const V four = splat<T>(T(4)), five = splat<T>(T(5)), two = splat<T>(T(2));
    y[0] = four * x[0] - five * x[2] + x[4];
    y[1] = (x[3] + x[4]) - four * (x[1] + x[2]);
    y[2] = (x[4] - x[3]) + four * (x[1] - x[2]);
    y[3] = (x[4] - x[2]) + two * (x[3] - x[1]);
    y[4] = (x[4] - x[2]) - two * (x[3] - x[1]);
    y[5] = four * x[1] - five * x[3] + x[5];
}

// V = B^T d B for the L tiles whose top-left padded pixel is at `in` (rows `row` apart, tiles 4
// columns apart; reads 4L + 4 values a row); out[xi * xi_stride] gets the vector of position xi.
template <class T>
inline __attribute__((always_inline)) void winograd4_input_tile(const T* in, Index row, T* out, Index xi_stride) {
    using V = typename Simd<T>::vec;
    constexpr Index L = Simd<T>::lanes;
    V t[6][6];  // t[i] = B^T applied to row i of the tiles: (d B)[i][.]
#pragma GCC unroll 6
    for (Index i = 0; i < 6; ++i) {
        const T* r = in + i * row;
        V x[6], e, f;
        std::memcpy(&x[0], r, sizeof(V));
        std::memcpy(&x[1], r + L, sizeof(V));
        std::memcpy(&x[2], r + 2 * L, sizeof(V));
        std::memcpy(&x[3], r + 3 * L, sizeof(V));
        split_columns4(x[0], x[1], x[2], x[3]);
        std::memcpy(&x[4], r + 4, sizeof(V));  // the next tile's columns 0 and 1
        std::memcpy(&x[5], r + 4 + L, sizeof(V));
        std::memcpy(&e, r + 4 + 2 * L, sizeof(V));
        std::memcpy(&f, r + 4 + 3 * L, sizeof(V));
        split_columns4(x[4], x[5], e, f);
        winograd4_input_line<V, T>(x, t[i]);
    }
    // Unrolled by pragma: rolled, GCC 12 kept y on the stack and copied it out 16 bytes at a time.
#pragma GCC unroll 6
    for (Index j = 0; j < 6; ++j) {  // B^T (d B): down the columns
        const V x[6] = {t[0][j], t[1][j], t[2][j], t[3][j], t[4][j], t[5][j]};
        V y[6];
        winograd4_input_line<V, T>(x, y);
#pragma GCC unroll 6
        for (Index i = 0; i < 6; ++i) std::memcpy(out + (i * 6 + j) * xi_stride, &y[i], sizeof(V));
    }
}

// m -> A^T m for the 6 values of one line of a transformed tile:
//   A^T = | 1  1  1  1  1  0 |
//         | 0  1 -1  2 -2  0 |
//         | 0  1  1  4  4  0 |
//         | 0  1 -1  8 -8  1 |
template <class V, class T>
inline __attribute__((always_inline)) void winograd4_output_line(const V m[6], V y[4]) {
    const V two = splat<T>(T(2)), four = splat<T>(T(4)), eight = splat<T>(T(8));
    const V s12 = m[1] + m[2], d12 = m[1] - m[2], s34 = m[3] + m[4], d34 = m[3] - m[4];
    y[0] = m[0] + s12 + s34;
    y[1] = d12 + two * d34;
    y[2] = s12 + four * s34;
    y[3] = d12 + eight * d34 + m[5];
}

// Y = A^T M A + bias for L tiles (m[xi * xi_stride], one lane per tile), written (or added, with
// `accumulate`) at `y`: `rows` (1..4) rows `ld` apart, `width` <= 4L columns. With `relu`,
// max(Y, 0) is written (the fused activation of conv2d_relu; not with `accumulate`).
template <class T>
inline __attribute__((always_inline)) void winograd4_output_tile(const T* m, Index xi_stride, T bias, T* y, Index ld,
                                                                 Index rows, Index width, bool accumulate, bool relu) {
    using V = typename Simd<T>::vec;
    constexpr Index L = Simd<T>::lanes;
    V p[6][4];  // (M A)[i][.]
#pragma GCC unroll 6
    for (Index i = 0; i < 6; ++i) {
        V x[6];
#pragma GCC unroll 6
        for (Index j = 0; j < 6; ++j) std::memcpy(&x[j], m + (i * 6 + j) * xi_stride, sizeof(V));
        winograd4_output_line<V, T>(x, p[i]);
    }
    const V b = splat<T>(bias);
#pragma GCC unroll 4
    for (Index j = 0; j < 4; ++j) {  // A^T (M A), column j of the output tiles, in place in p[.][j]
        const V x[6] = {p[0][j], p[1][j], p[2][j], p[3][j], p[4][j], p[5][j]};
        V out[4];
        winograd4_output_line<V, T>(x, out);
#pragma GCC unroll 4
        for (Index r = 0; r < 4; ++r) p[r][j] = out[r] + b;
    }
    for (Index r = 0; r < rows; ++r) {
        V px[4] = {p[r][0], p[r][1], p[r][2], p[r][3]};
        join_columns4(px[0], px[1], px[2], px[3]);  // 4L pixels of output row r, in order
        T* dst = y + r * ld;
        if (relu)
            for (V& v : px) v = relu_lanes(v);
        if (width == 4 * L) {
            for (Index h = 0; h < 4; ++h) {
                V v = px[h];
                if (accumulate) {
                    V old;
                    std::memcpy(&old, dst + h * L, sizeof(V));
                    v += old;
                }
                std::memcpy(dst + h * L, &v, sizeof(V));
            }
        } else {
            T buf[4 * L];
            std::memcpy(buf, px, sizeof(px));
            for (Index j = 0; j < width; ++j) dst[j] = accumulate ? dst[j] + buf[j] : buf[j];
        }
    }
}
