// maunet/core/threading.hpp: the one thread setting that controls every parallel region.
//
// set_num_threads(n) sets maunet's own loops (OpenMP when the build has it) and, with the BLAS
// backend, the BLAS library's threads. Loops use static scheduling, so a fixed
// thread count gives a fixed partition of work and bit-identical results from run to run.
//
// Before any set_num_threads call maunet uses what OpenMP would use: OMP_NUM_THREADS if set (or a
// count the program gave omp_set_num_threads), else every core (omp_get_max_threads()).
// maunet's own loops pass their thread count to each parallel region and never change OpenMP's
// process-wide default. The one setting set_num_threads does change that other code in the
// program sees is, with the BLAS backend, openblas_set_num_threads (process-wide by OpenBLAS's
// design). Eigen's thread count is left alone: maunet no longer runs Eigen's GEMM.
//
// Each loop below takes, as a defaulted last argument, the source line that called it, so that a
// region profile (region_profile.hpp, `maunet bench --regions`) can say where the threads' time
// went.
#pragma once

#include <algorithm>
#include <atomic>
#include <thread>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "maunet/core/errors.hpp"
#include "maunet/core/region_profile.hpp"

#if defined(MAUNET_USE_BLAS)
// OpenBLAS's thread setting, declared weak: with another BLAS (reference BLAS, BLIS, MKL) the
// symbol is absent, resolves to null, and is not called; the program still links.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
#endif

namespace maunet {

namespace detail {
inline std::atomic<int>& thread_setting() {
    static std::atomic<int> n{0};  // 0 = not chosen yet: use default_num_threads()
    return n;
}
}  // namespace detail

// The hardware's thread count, or 1 if the build has no OpenMP.
inline int max_hardware_threads() {
#if defined(_OPENMP)
    return std::max(1, omp_get_num_procs());
#else
    return 1;
#endif
}

// Threads used by maunet's parallel regions: the last set_num_threads(n), else OpenMP's default
// (OMP_NUM_THREADS when set, else every core), else 1 without OpenMP.
inline int num_threads() {
    const int n = detail::thread_setting().load();
    if (n > 0) return n;
#if defined(_OPENMP)
    return std::max(1, omp_get_max_threads());
#else
    return 1;
#endif
}

// Sets the number of threads for maunet's loops and the BLAS backend. n >= 1.
inline void set_num_threads(int n) {
    require(n >= 1, "set_num_threads: expected a thread count >= 1, got ", n);
    detail::thread_setting().store(n);
#if defined(MAUNET_USE_BLAS)
    if (openblas_set_num_threads) openblas_set_num_threads(n);  // process-wide; absent with other BLAS
#endif
}

// True inside a maunet parallel region (kernels then run their inner GEMMs single-threaded).
inline bool in_parallel_region() {
#if defined(_OPENMP)
    return omp_in_parallel() != 0;
#else
    return false;
#endif
}

namespace detail {
// The timer of a region started on `threads` threads (region_profile.hpp): recording only while a
// profile is on and only for regions not nested in another (those are the outer one's busy time).
inline int region_threads(int threads) { return in_parallel_region() ? -1 : threads; }

// The loops' path without a team (one thread, one item, or no OpenMP): fn(i) for i in
// [begin, end) on the calling thread, timed as one region of `site`.
template <class Fn>
void run_on_calling_thread(std::ptrdiff_t begin, std::ptrdiff_t end, Fn& fn, const RegionSite& site) {
    RegionTimer timer(site, region_threads(1), num_threads());
    BusyClock busy(timer, 0);
    for (std::ptrdiff_t i = begin; i < end; ++i) fn(i);
}
}  // namespace detail

// Runs fn(i) for i in [begin, end) across num_threads() threads with a static partition.
// fn must not throw (an exception cannot cross an OpenMP region); callers validate first.
// `site`, filled in by the compiler, names the caller's line in a region profile.
template <class Fn>
void parallel_for(std::ptrdiff_t begin, std::ptrdiff_t end, Fn&& fn, RegionSite site = RegionSite::here()) {
#if defined(_OPENMP)
    const int threads = num_threads();
    if (threads > 1 && end - begin > 1) {
        detail::RegionTimer timer(site, detail::region_threads(threads), threads);
#pragma omp parallel num_threads(threads)
        {
            detail::BusyClock busy(timer, omp_get_thread_num());
#pragma omp for schedule(static) nowait
            for (std::ptrdiff_t i = begin; i < end; ++i) fn(i);
        }
        return;
    }
#endif
    detail::run_on_calling_thread(begin, end, fn, site);
}

// Runs fn(i) for i in [begin, end) across num_threads() threads, each taking the next item as it
// finishes one (OpenMP's dynamic schedule). Only for items that each write their own outputs with
// arithmetic that does not depend on the thread: then the result is the same for any partition,
// and items whose cost differs (border tiles, input against gradient transforms), or a core slowed
// for a moment by its neighbours on a shared machine, no longer leave the other thread waiting at
// the end of the region. fn must not throw.
template <class Fn>
void parallel_for_dynamic(std::ptrdiff_t begin, std::ptrdiff_t end, Fn&& fn, RegionSite site = RegionSite::here()) {
#if defined(_OPENMP)
    const int threads = num_threads();
    if (threads > 1 && end - begin > 1) {
        detail::RegionTimer timer(site, detail::region_threads(threads), threads);
#pragma omp parallel num_threads(threads)
        {
            detail::BusyClock busy(timer, omp_get_thread_num());
#pragma omp for schedule(dynamic, 1) nowait
            for (std::ptrdiff_t i = begin; i < end; ++i) fn(i);
        }
        return;
    }
#endif
    detail::run_on_calling_thread(begin, end, fn, site);
}

// Runs fn(i) for i in [begin, end) across num_threads() threads: thread t first takes the items
// of its own contiguous slice, [begin + n t / T, begin + n (t + 1) / T), one at a time in order,
// as a static partition would; a thread whose slice is done then takes the next items of the
// others' slices. For items that own their outputs, like parallel_for_dynamic (same results for
// any partition). Why not plain dynamic: items handed out in turn put neighbouring items, and so
// an image's data, on both cores, whereas the elementwise loops (parallel_pieces) and static
// loops give the first half of a batch to thread 0 and the second to thread 1 in every layer; a
// core reads data another core has just written 1.5-3x slower than its own (measured on 2-core
// Zen 5, docs/performance.md). This keeps each image on one core and still lets a thread that
// finished early help the other. fn must not throw.
template <class Fn>
void parallel_for_affine(std::ptrdiff_t begin, std::ptrdiff_t end, Fn&& fn, RegionSite site = RegionSite::here()) {
#if defined(_OPENMP)
    const std::ptrdiff_t n = end - begin;
    const int threads = static_cast<int>(std::min<std::ptrdiff_t>(num_threads(), n));
    if (threads > 1) {
        struct alignas(64) Slice {  // one cache line each: the counters are written by both threads
            std::atomic<std::ptrdiff_t> next;
            std::ptrdiff_t end;
        };
        constexpr int max_slices = 64;  // more threads than that: dynamic schedule
        if (threads > max_slices) return parallel_for_dynamic(begin, end, fn, site);
        Slice slices[max_slices];
        for (int t = 0; t < threads; ++t) {
            slices[t].next.store(begin + n * t / threads, std::memory_order_relaxed);
            slices[t].end = begin + n * (t + 1) / threads;
        }
        detail::RegionTimer timer(site, detail::region_threads(threads), threads);
#pragma omp parallel num_threads(threads)
        {
            const int me = omp_get_thread_num();
            detail::BusyClock busy(timer, me);
            for (int k = 0; k < threads; ++k) {  // own slice first, then the next ones round
                Slice& s = slices[(me + k) % threads];
                for (std::ptrdiff_t i = s.next.fetch_add(1, std::memory_order_relaxed); i < s.end;
                     i = s.next.fetch_add(1, std::memory_order_relaxed))
                    fn(i);
            }
        }
        return;
    }
#endif
    detail::run_on_calling_thread(begin, end, fn, site);
}

// Runs fn(lo, hi) over [0, n) cut into one contiguous piece per thread (none shorter than
// `grain`), for elementwise loops: each element is handled alone, so results do not depend on
// the cut. fn must not throw.
template <class Fn>
void parallel_pieces(std::ptrdiff_t n, Fn&& fn, std::ptrdiff_t grain = 32768, RegionSite site = RegionSite::here()) {
    const std::ptrdiff_t pieces = std::max<std::ptrdiff_t>(1, std::min<std::ptrdiff_t>(num_threads(), n / grain));
    parallel_for(0, pieces, [&](std::ptrdiff_t k) { fn(n * k / pieces, n * (k + 1) / pieces); }, site);
}

}  // namespace maunet
