// Kernels of the U-Net family on the shapes the models use at 128 x 128 input:
// conv2d 3x3 "same" (forward; forward + backward; each path forced), conv_transpose2d 2x2 stride 2, max and
// average pooling, max-average pooling (mean mode), and the UpSampler Unit (mean mode).
// Arguments: batch, channels (c_in = c_out for conv2d), image side, threads. Also the bias
// correction of the classical baselines: quantile mapping over a decade of daily fields.
#include <chrono>
#include <cmath>
#include <string>
#include <vector>
#if defined(_OPENMP)
#include <omp.h>
#endif

#include <maunet/autograd/ops/conv2d.hpp>
#include <maunet/autograd/ops/conv_transpose2d.hpp>
#include <maunet/autograd/ops/max_average_pool.hpp>
#include <maunet/autograd/ops/pooling.hpp>
#include <maunet/autograd/ops/reduction.hpp>
#include <maunet/nn/blocks/upsampler_unit.hpp>
#include <maunet/stats/quantile_mapping.hpp>

#include "bench_common.hpp"

namespace {

using namespace maunet;
using maunet::bench::set_rate_counters;
using maunet::bench::threads_arg;

Tensor<float> random(Shape s, std::uint64_t seed) {
    Rng rng(seed);
    return Tensor<float>::uniform(std::move(s), rng, -1.0f, 1.0f);
}

// The U-Net's 3x3 layers: (channels, side) = (32, 128), (64, 64), (128, 32), (256, 16), (512, 8).
void conv_shapes(benchmark::internal::Benchmark* b) {
    for (int threads : {1, 2})
        for (int batch : {1, 8})
            for (auto [c, s] : {std::pair{32, 128}, {64, 64}, {128, 32}, {256, 16}, {512, 8}})
                b->Args({batch, c, s, threads});
    b->Unit(benchmark::kMillisecond)->UseRealTime();
}

// The timed loops, shared by the automatic and the forced-path benchmarks: a C -> C 3x3 "same"
// convolution on N x C x S x S, forward only (no graph) or forward + backward.
void time_conv2d_forward(benchmark::State& state, Index N, Index C, Index S) {
    const Var<float> x(random(Shape{N, C, S, S}, 1)), w(random(Shape{C, C, 3, 3}, 2)), b(random(Shape{C}, 3));
    NoGradGuard no_grad;
    for (auto _ : state) benchmark::DoNotOptimize(conv2d(x, w, b, Conv2dOptions{1, 1}).value().data());
    set_rate_counters(state, 2.0 * N * C * C * 9 * S * S, double(N));
}

void time_conv2d_forward_backward(benchmark::State& state, Index N, Index C, Index S) {
    const Tensor<float> xt = random(Shape{N, C, S, S}, 1), wt = random(Shape{C, C, 3, 3}, 2), bt = random(Shape{C}, 3);
    const Tensor<float> seed = random(Shape{N, C, S, S}, 4);
    for (auto _ : state) {
        Var<float> x(xt, true), w(wt, true), b(bt, true);
        conv2d(x, w, b, Conv2dOptions{1, 1}).backward(seed);
        benchmark::DoNotOptimize(w.grad().data());
    }
    set_rate_counters(state, 3 * 2.0 * N * C * C * 9 * S * S, double(N));
}

void BM_conv2d_forward(benchmark::State& state) {
    threads_arg(state, 3);
    time_conv2d_forward(state, state.range(0), state.range(1), state.range(2));
}
BENCHMARK(BM_conv2d_forward)->Apply(conv_shapes);

void BM_conv2d_forward_backward(benchmark::State& state) {
    threads_arg(state, 3);
    time_conv2d_forward_backward(state, state.range(0), state.range(1), state.range(2));
}
BENCHMARK(BM_conv2d_forward_backward)->Apply(conv_shapes);

// One convolution path forced (0 direct, 1 Winograd with the tile chosen per shape, 2 im2col +
// GEMM, 3 Winograd F(2x2, 3x3), 4 Winograd F(4x4, 3x3), 5 Winograd F(2x2, 3x3) over the batch's
// tiles), 1 thread, on the U-Net's 3x3 layers: what
// each kernel reaches (GFLOP/s counted as direct-convolution FLOPs, so Winograd can pass the FMA
// peak). Forward only, and forward + backward at batch 8.
void path_shapes_for(benchmark::internal::Benchmark* b, std::initializer_list<int> batches) {
    for (int path : {0, 1, 2, 3, 4, 5})
        for (int batch : batches)
            for (auto [c, s] : {std::pair{32, 128}, {64, 64}, {128, 32}, {256, 16}, {512, 8}})
                b->Args({batch, c, s, path});
    b->Unit(benchmark::kMillisecond)->UseRealTime();
}
void path_shapes(benchmark::internal::Benchmark* b) { path_shapes_for(b, {1, 8}); }
void path_shapes_batch8(benchmark::internal::Benchmark* b) { path_shapes_for(b, {8}); }

struct ForcePath {  // path -1: the automatic choice
    explicit ForcePath(std::int64_t path) {
        using detail::ConvPath;
        detail::conv_path() = path == -1  ? ConvPath::automatic
                              : path == 0 ? ConvPath::direct
                              : path == 2 ? ConvPath::gemm
                              : path == 5 ? ConvPath::winograd_batch
                                          : ConvPath::winograd;
        detail::winograd_tile_override() = path == 3 ? 2 : path == 4 ? 4 : 0;
    }
    ~ForcePath() {
        detail::conv_path() = detail::ConvPath::automatic;
        detail::winograd_tile_override() = 0;
    }
};

void BM_conv2d_forward_path(benchmark::State& state) {
    set_num_threads(1);
    ForcePath force(state.range(3));
    time_conv2d_forward(state, state.range(0), state.range(1), state.range(2));
}
BENCHMARK(BM_conv2d_forward_path)->Apply(path_shapes);

void BM_conv2d_forward_backward_path(benchmark::State& state) {
    set_num_threads(1);
    ForcePath force(state.range(3));
    time_conv2d_forward_backward(state, state.range(0), state.range(1), state.range(2));
}
BENCHMARK(BM_conv2d_forward_backward_path)->Apply(path_shapes_batch8);

#if MAUNET_HAVE_AVX2_KERNELS
// One core's FP32 FMA peak, with AVX2 and with AVX-512 vectors (fma_chains.inl). The bottleneck
// GEMMs below are given as a share of it.
MAUNET_TARGET_AVX2_BEGIN
namespace avx2_peak {
#define BENCH_VECTOR_BYTES 32
#include "fma_chains.inl"
#undef BENCH_VECTOR_BYTES
}  // namespace avx2_peak
MAUNET_TARGET_AVX2_END
MAUNET_TARGET_AVX512_BEGIN
namespace avx512_peak {
#define BENCH_VECTOR_BYTES 64
#include "fma_chains.inl"
#undef BENCH_VECTOR_BYTES
}  // namespace avx512_peak
MAUNET_TARGET_AVX512_END

// Argument: 0 AVX2 (8-lane FMAs), 1 AVX-512 (16-lane FMAs).
void BM_fma_peak(benchmark::State& state) {
    const bool wide = state.range(0) == 1;
    if (!isa_supported(wide ? Isa::avx512 : Isa::avx2)) {
        state.SkipWithError(wide ? "no AVX-512 on this CPU" : "no AVX2 + FMA on this CPU");
        return;
    }
    constexpr std::int64_t steps = 1 << 20;
    for (auto _ : state)
        benchmark::DoNotOptimize(wide ? avx512_peak::fma_chains(steps) : avx2_peak::fma_chains(steps));
    set_rate_counters(state, (wide ? avx512_peak::fma_chains_flops_per_step : avx2_peak::fma_chains_flops_per_step) *
                                 steps,
                      0.0);
}
BENCHMARK(BM_fma_peak)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
#endif

// The GEMMs of the 8 x 8 x 512 bottleneck convolution (3x3, padding 1) on the im2col path, made
// exactly as conv2d makes them, one per image: forward Y_n = W col_n (512 x 64 = 512 x 4608 .
// 4608 x 64), dx dx_n = W' col'_n (the same shapes: the flipped kernel W' times im2col of G_n;
// conv2d.hpp), dW += G_n col_n^T (512 x 4608 = 512 x 64 . 64 x 4608); 3, for comparison, the dx
// product conv2d ran before, dcol_n = W^T G_n (4608 x 64 = 4608 x 512 . 512 x 64, then col2im).
// Arguments: which (0 forward, 1 dx, 2 dW, 3 dx as W^T G), batch; one thread. GFLOP/s = 2 M N K
// per image: the % of one core's FMA peak (docs/performance.md).
void BM_bottleneck_gemm(benchmark::State& state) {
    const Index which = state.range(0), N = state.range(1), C = 512, P = 64, Kc = C * 9;
    set_num_threads(1);
    const Tensor<float> w = random(Shape{C, Kc}, 1), cols = random(Shape{N, Kc, P}, 2), g = random(Shape{N, C, P}, 3);
    Tensor<float> out = Tensor<float>::zeros(Shape{which <= 1 ? N * C * P : which == 3 ? Kc * P : C * Kc});
    for (auto _ : state) {
        for (Index n = 0; n < N; ++n) {
            const float* col = cols.data() + n * Kc * P;
            const float* g_n = g.data() + n * C * P;
            if (which == 0 || which == 1)  // (data differ only: W' and col'_n have W's and col_n's shapes)
                gemm<float>(MatrixOp::as_is, MatrixOp::as_is, C, P, Kc, 1.0f, w.data(), Kc, col, P, which == 0 ? 0.0f : 1.0f,
                            out.data() + n * C * P, P);
            else if (which == 3)
                gemm<float>(MatrixOp::transposed, MatrixOp::as_is, Kc, P, C, 1.0f, w.data(), Kc, g_n, P, 0.0f, out.data(), P);
            else
                gemm<float>(MatrixOp::as_is, MatrixOp::transposed, C, Kc, P, 1.0f, g_n, P, col, P, 1.0f, out.data(), Kc);
        }
        benchmark::DoNotOptimize(out.data());
    }
    state.SetLabel(gemm_backend());
    set_rate_counters(state, 2.0 * N * C * Kc * P, double(N));
}
// CPU time, not wall time: one thread, and on a shared machine the wall clock also counts the time
// other processes held the core.
BENCHMARK(BM_bottleneck_gemm)->ArgsProduct({{0, 1, 2, 3}, {1, 8}})->Unit(benchmark::kMillisecond);

// The bottleneck convolution itself, as the U-Net's training step runs it: conv2d 512 -> 512, 3x3,
// padding 1, on [N, 512, 8, 8], one thread. Arguments: which (0 forward, 1 dx alone, 2 dW alone),
// batch, path (0 the automatic choice: the batch's Winograd from 64 tiles, batch 4, up, else the
// GEMM path; 2 the GEMM path forced). The backward cases time the backward pass only (the forward
// pass that records the graph is outside the timed part) and include all its data movement:
// transforms, im2col, the flipped weight and col2im where they run. GFLOP/s = 2 N C_out C_in 9 P
// (direct-convolution FLOPs, so Winograd can pass the FMA peak): compare with BM_fma_peak.
void BM_bottleneck_conv(benchmark::State& state) {
    const Index which = state.range(0), N = state.range(1), C = 512, S = 8;
    set_num_threads(1);
    ForcePath force(state.range(2) == 2 ? 2 : -1);
    const Tensor<float> xt = random(Shape{N, C, S, S}, 1), wt = random(Shape{C, C, 3, 3}, 2), bt = random(Shape{C}, 3);
    const Tensor<float> seed = random(Shape{N, C, S, S}, 4);
    // The forward's operands are made once: a Var made from a Tensor holds a copy, and copying the
    // 9.4 MB weight into fresh pages took as long as the product itself at batch 1.
    const Var<float> x0(xt), w0(wt), b0(bt);
    for (auto _ : state) {
        if (which == 0) {
            NoGradGuard no_grad;
            benchmark::DoNotOptimize(conv2d(x0, w0, b0, Conv2dOptions{1, 1}).value().data());
            continue;
        }
        state.PauseTiming();
        Var<float> x(xt, which == 1), w(wt, which == 2), b(bt, false);
        Var<float> y = conv2d(x, w, b, Conv2dOptions{1, 1});
        state.ResumeTiming();
        y.backward(seed);
        benchmark::DoNotOptimize(which == 1 ? x.grad().data() : w.grad().data());
    }
    const bool batch_wino = detail::batch_winograd_applies(3, 3, 1, 1, S, S, C, C, N);
    state.SetLabel(std::string(batch_wino ? "winograd-batch, " : "gemm, ") + gemm_backend());
    set_rate_counters(state, 2.0 * N * C * C * 9 * S * S, double(N));
}
BENCHMARK(BM_bottleneck_conv)->ArgsProduct({{0, 1, 2}, {1, 8}, {0, 2}})->Unit(benchmark::kMillisecond);

// The input layer 1 -> 32 at 128 x 128 (little arithmetic per byte).
void BM_conv2d_first_layer_forward(benchmark::State& state) {
    const Index N = state.range(0);
    threads_arg(state, 1);
    const Var<float> x(random(Shape{N, 1, 128, 128}, 1)), w(random(Shape{32, 1, 3, 3}, 2)), b(random(Shape{32}, 3));
    NoGradGuard no_grad;
    for (auto _ : state) benchmark::DoNotOptimize(conv2d(x, w, b, Conv2dOptions{1, 1}).value().data());
    set_rate_counters(state, 2.0 * N * 32 * 9 * 128 * 128, double(N));
}
BENCHMARK(BM_conv2d_first_layer_forward)->ArgsProduct({{1, 8}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();

// conv_transpose2d 2x2 stride 2 of the U-Net decoder: c_in -> c_in/2 from side s to 2s.
void BM_conv_transpose2d_forward_backward(benchmark::State& state) {
    const Index N = state.range(0), C = state.range(1), S = state.range(2);
    threads_arg(state, 3);
    const Tensor<float> xt = random(Shape{N, C, S, S}, 1), wt = random(Shape{C, C / 2, 2, 2}, 2);
    const Tensor<float> bt = random(Shape{C / 2}, 3), seed = random(Shape{N, C / 2, 2 * S, 2 * S}, 4);
    for (auto _ : state) {
        Var<float> x(xt, true), w(wt, true), b(bt, true);
        conv_transpose2d(x, w, b, ConvTranspose2dOptions{2, 0, 0}).backward(seed);
        benchmark::DoNotOptimize(w.grad().data());
    }
    set_rate_counters(state, 3 * 2.0 * N * C * (C / 2) * 4 * S * S, double(N));
}
BENCHMARK(BM_conv_transpose2d_forward_backward)
    ->ArgsProduct({{1, 8}, {512, 128}, {8}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The machine's memory bandwidth as maunet's elementwise loops see it: a[i] += 0.5 b[i] over two
// 256 MB arrays (far beyond any cache), split with parallel_pieces like those loops. Argument:
// threads. The memory-bound parts of a training step (pooling, the Winograd transforms, the
// elementwise ops) scale from 1 to 2 threads at most as this does; the FMA-bound kernels as
// BM_fma_peak on both cores. GB/s counts 12 bytes per element (2 reads, 1 write).
void BM_memory_triad(benchmark::State& state) {
    threads_arg(state, 0);
    const Index n = Index(64) << 20;
    Tensor<float> a = Tensor<float>::full(Shape{n}, 1.0f), b = Tensor<float>::full(Shape{n}, 2.0f);
    float* pa = a.data();
    const float* pb = b.data();
    for (auto _ : state) {
        parallel_pieces(n, [pa, pb](Index lo, Index hi) {
            for (Index i = lo; i < hi; ++i) pa[i] += 0.5f * pb[i];
        });
        benchmark::DoNotOptimize(pa);
        benchmark::ClobberMemory();
    }
    state.counters["GB/s"] = benchmark::Counter(12.0 * n * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_memory_triad)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

#if defined(_OPENMP)
// How fast a core reads data that a core has just written: thread 0 updates an array of `MB`
// megabytes, then thread `reader` (0: the writer itself, 1: the other core) reads one value per
// 64-byte line. Only the read is timed (manual time); GB/s counts the whole array. Two threads
// must run at once. On a 2-core Zen 5 VM the other core read at a third to two thirds of the writer's
// speed: why the Winograd kernels keep each image on one core (parallel_for_affine).
void BM_read_written_data(benchmark::State& state) {
    const int reader = static_cast<int>(state.range(0));
    const Index n = state.range(1) << 18;  // floats in MB megabytes
    std::vector<float> a(static_cast<std::size_t>(n), 1.0f);
    float sink = 0.0f;
    for (auto _ : state) {
        double seconds = 0.0;
#pragma omp parallel num_threads(2)
        {
            const int me = omp_get_thread_num();
            if (me == 0)
                for (Index i = 0; i < n; ++i) a[std::size_t(i)] = a[std::size_t(i)] * 0.5f + 1.0f;
#pragma omp barrier
            const int who = omp_get_num_threads() < 2 ? 0 : reader;  // no team of two: the writer reads
            if (me == who) {
                const auto start = std::chrono::steady_clock::now();
                float acc = 0.0f;
                for (Index i = 0; i < n; i += 16) acc += a[std::size_t(i)];
                seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                sink += acc;
            }
        }
        state.SetIterationTime(seconds);
    }
    benchmark::DoNotOptimize(sink);
    state.counters["GB/s"] = benchmark::Counter(4.0 * n * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_read_written_data)->ArgsProduct({{0, 1}, {1, 16}})->Unit(benchmark::kMicrosecond)->UseManualTime();
#endif

// Pools on the first level: [N, 32, 128, 128] -> [N, 32, 64, 64], forward + backward.
template <int Mode>  // 0 max_pool2d, 1 avg_pool2d, 2 max-average pooling (mean)
void BM_pool_forward_backward(benchmark::State& state) {
    const Index N = state.range(0);
    threads_arg(state, 1);
    const Tensor<float> xt = random(Shape{N, 32, 128, 128}, 1), seed = random(Shape{N, 32, 64, 64}, 2);
    for (auto _ : state) {
        Var<float> x(xt, true);
        Var<float> y = Mode == 0 ? max_pool2d(x, 2) : Mode == 1 ? avg_pool2d(x, 2) : max_average_pool2d(x, PoolMode::mean);
        y.backward(seed);
        benchmark::DoNotOptimize(x.grad().data());
    }
    set_rate_counters(state, 0.0, double(N));
}
BENCHMARK_TEMPLATE(BM_pool_forward_backward, 0)->ArgsProduct({{1, 8}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_pool_forward_backward, 1)->ArgsProduct({{1, 8}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_pool_forward_backward, 2)->ArgsProduct({{1, 8}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();

// The UpSampler Unit (mean mode) of MAUNet's top decoder level: 64 -> 32 channels, 64 -> 128,
// with its ConvBlock on the concatenated skip; forward + backward.
void BM_upsampler_unit_forward_backward(benchmark::State& state) {
    const Index N = state.range(0);
    threads_arg(state, 1);
    Rng rng(7);
    nn::UpSamplerUnit<float> usu(64, 32, nn::UpsampleMode::mean, rng);
    const Tensor<float> xt = random(Shape{N, 64, 64, 64}, 1), skipt = random(Shape{N, 32, 128, 128}, 2);
    const Tensor<float> seed = random(Shape{N, 32, 128, 128}, 3);
    for (auto _ : state) {
        Var<float> x(xt, true), skip(skipt, true);
        usu.forward(x, skip, nn::ForwardMode{true, &rng}).backward(seed);
        benchmark::DoNotOptimize(x.grad().data());
    }
    // convT 64->32 2x2 at 64x64, conv 64->32 3x3 at 128x128, ConvBlock 64->32, 32->32 at 128x128.
    const double fwd = 2.0 * N * (64 * 32 * 4 * 64 * 64 + (64 * 32 * 9 + 64 * 32 * 9 + 32 * 32 * 9) * 128.0 * 128.0);
    set_rate_counters(state, 3 * fwd, double(N));
}
BENCHMARK(BM_upsampler_unit_forward_backward)->ArgsProduct({{1, 8}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();

// Quantile mapping (multiplicative, the precipitation kind) fitted and applied over a decade of
// daily 100 x 100 fields (3,650 x 10,000 values each of observations and model), without and with
// a +-15-day window around each day of the year. Precipitation-like data: dry with probability
// 0.5 (observations) or 0.3 (model), else exponential.
void BM_quantile_mapping_decade(benchmark::State& state) {
    const int window = static_cast<int>(state.range(0));
    threads_arg(state, 1);
    const Index years = 10, days = 365, T = years * days, H = 100, W = 100;
    std::vector<int> doy(static_cast<std::size_t>(T));
    for (Index t = 0; t < T; ++t) doy[static_cast<std::size_t>(t)] = static_cast<int>(t % days) + 1;
    const auto field = [&](std::uint64_t seed, double p_dry, double mean) {
        Rng rng(seed);
        Tensor<float> x(Shape{T, H, W});
        for (auto& v : x) v = rng.uniform() < p_dry ? 0.0f : static_cast<float>(-mean * std::log1p(-rng.uniform()));
        return x;
    };
    const Tensor<float> obs = field(61, 0.5, 4.0), sim = field(62, 0.3, 2.4);
    stats::BiasCorrectionConfig config;
    config.window_half_width_days = window;
    for (auto _ : state) {
        stats::QuantileMapping<float> qm(stats::Kind::multiplicative, config);
        qm.fit(obs, doy, sim, doy, static_cast<int>(days));
        benchmark::DoNotOptimize(qm.apply(sim, doy, static_cast<int>(days)).data());
    }
    state.counters["fields/s"] = benchmark::Counter(double(T), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_quantile_mapping_decade)->ArgsProduct({{0, 15}, {1, 2}})->Unit(benchmark::kSecond)->UseRealTime()
    ->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
