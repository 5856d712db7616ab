// Vector helpers for the kernels, one copy per instruction set (included by simd.hpp through
// instantiate.inl inside maunet::detail::generic / ::avx2 / ::avx512; MAUNET_ISA_VECTOR_BYTES is
// 16, 32 or 64). GCC/Clang vector extensions: the same source gives SSE2, AVX2 + FMA or AVX-512
// code (a += w * x contracts to one FMA in the AVX2 and AVX-512 regions).

constexpr Index vector_bytes = MAUNET_ISA_VECTOR_BYTES;

template <class T>
struct Simd {
    typedef T vec __attribute__((vector_size(MAUNET_ISA_VECTOR_BYTES)));
    static constexpr Index lanes = Index(MAUNET_ISA_VECTOR_BYTES / sizeof(T));
};

// A vector with every lane = s: one broadcast instruction. (The lane loop of the fallback makes
// GCC build the vector in pieces and spill accumulators in the kernels; `V{} + s` would add a
// real 0.0.)
template <class T>
inline __attribute__((always_inline)) typename Simd<T>::vec splat(T s) {
    using V = typename Simd<T>::vec;
#if defined(__x86_64__)
    if constexpr (vector_bytes == 64 && std::is_same_v<T, float>) return (V)_mm512_set1_ps(s);
    if constexpr (vector_bytes == 64 && std::is_same_v<T, double>) return (V)_mm512_set1_pd(s);
    if constexpr (vector_bytes == 32 && std::is_same_v<T, float>) return (V)_mm256_set1_ps(s);
    if constexpr (vector_bytes == 32 && std::is_same_v<T, double>) return (V)_mm256_set1_pd(s);
    if constexpr (vector_bytes == 16 && std::is_same_v<T, float>) return (V)_mm_set1_ps(s);
    if constexpr (vector_bytes == 16 && std::is_same_v<T, double>) return (V)_mm_set1_pd(s);
#endif
    V v;
    for (Index l = 0; l < Simd<T>::lanes; ++l) v[l] = s;
    return v;
}

// Keeps a loaded vector in a register: without it GCC re-reads it from memory as the operand of
// every FMA that uses it (3 loads instead of 1 in the 3 x 3 kernels), and the loads, not the
// FMAs, become the limit. An empty asm that "modifies" the register forbids the refolding.
template <class V>
inline __attribute__((always_inline)) void keep_in_register(V& v) {
#if defined(__x86_64__)
    if constexpr (vector_bytes == 64)
        __asm__("" : "+v"(v));  // any of the 32 AVX-512 registers
    else
        __asm__("" : "+x"(v));
#else
    static_cast<void>(v);
#endif
}

// max(v, 0) in every lane, with relu's convention that NaN gives 0 (v > 0 is false for NaN).
template <class V>
inline __attribute__((always_inline)) V relu_lanes(V v) {
    const V zero = {};
    return v > zero ? v : zero;
}

// Lanes of a and b (indices 0 .. 2n-1) picked by the constant indices I. Clang and GCC >= 12
// have __builtin_shufflevector; GCC 11 only __builtin_shuffle, which compiles a constant mask to
// the same single instruction.
template <class V, int... I>
inline __attribute__((always_inline)) V shuffle_lanes(V a, V b) {
#if defined(__clang__)
    return __builtin_shufflevector(a, b, I...);
#else
    using Lane = std::conditional_t<sizeof(a[0]) == 4, std::int32_t, std::int64_t>;
    typedef Lane Mask __attribute__((vector_size(sizeof(V))));
    return __builtin_shuffle(a, b, Mask{I...});
#endif
}
