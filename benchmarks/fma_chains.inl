// One core's FP32 FMA peak as a run sees it (frequency, a neighbour on the core): 12 independent
// chains of FMAs on vectors of BENCH_VECTOR_BYTES, included once per target region by bench_ops.cpp
// (AVX2: 8 lanes, 2 per cycle on Zen 3 and Zen 4; AVX-512: 16 lanes, which Zen 4 executes as two
// 256-bit halves, so the same FLOPs per cycle). No include guard.
__attribute__((noinline)) float fma_chains(std::int64_t steps) {
    typedef float V __attribute__((vector_size(BENCH_VECTOR_BYTES)));
    const V x = V{} + 1.0000001f, y = V{} + 1e-7f;  // every lane
    // Named variables, not an array: an array stays in memory and every FMA waits on a reload.
    V a0 = x, a1 = x + y, a2 = a1 + y, a3 = a2 + y, a4 = a3 + y, a5 = a4 + y;
    V a6 = a5 + y, a7 = a6 + y, a8 = a7 + y, a9 = a8 + y, a10 = a9 + y, a11 = a10 + y;
    for (std::int64_t s = 0; s < steps; ++s) {
        a0 = a0 * x + y, a1 = a1 * x + y, a2 = a2 * x + y, a3 = a3 * x + y, a4 = a4 * x + y, a5 = a5 * x + y;
        a6 = a6 * x + y, a7 = a7 * x + y, a8 = a8 * x + y, a9 = a9 * x + y, a10 = a10 * x + y, a11 = a11 * x + y;
        __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5));  // never hoisted
        __asm__ volatile("" : "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));
    }
    const V sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
    return sum[0];
}
constexpr double fma_chains_flops_per_step = 2.0 * 12 * BENCH_VECTOR_BYTES / sizeof(float);
