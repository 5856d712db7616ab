// Shared helpers of the maunet benchmarks: thread setting per benchmark, FLOP counters.
#pragma once

#include <benchmark/benchmark.h>

#include <maunet/core/threading.hpp>

namespace maunet::bench {

// Every benchmark takes its thread count as the last argument; maunet::set_num_threads is the
// one setting for maunet's loops, Eigen's GEMM and a BLAS backend.
inline int threads_arg(const benchmark::State& state, int index) {
    const int t = static_cast<int>(state.range(index));
    set_num_threads(t);
    return t;
}

// GFLOP/s and items/s counters from the work of one iteration.
inline void set_rate_counters(benchmark::State& state, double flops_per_iteration, double fields_per_iteration) {
    state.counters["GFLOP/s"] =
        benchmark::Counter(flops_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["fields/s"] = benchmark::Counter(fields_per_iteration, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace maunet::bench
