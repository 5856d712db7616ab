#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "maunet/core/eigen.hpp"
#include "maunet/core/threading.hpp"

using namespace maunet;

TEST_CASE("set_num_threads controls maunet's parallel regions and leaves Eigen's setting alone", "[threading]") {
    const int hw = max_hardware_threads();
    REQUIRE(hw >= 1);
    Eigen::setNbThreads(3);  // the program's own choice for its Eigen code
    set_num_threads(1);
    CHECK(num_threads() == 1);
    set_num_threads(2);
    CHECK(num_threads() == 2);
    CHECK(Eigen::nbThreads() == 3);
    set_num_threads(hw);
    CHECK_THROWS_WITH(set_num_threads(0), Catch::Contains("expected a thread count >= 1, got 0"));
}

TEST_CASE("parallel_for visits every index exactly once with any thread count", "[threading]") {
    for (int threads : {1, 2, 3}) {
        set_num_threads(threads);
        std::vector<int> visits(1000, 0);
        parallel_for(0, 1000, [&](std::ptrdiff_t i) { visits[static_cast<std::size_t>(i)] += 1; });
        bool once = true;
        for (int v : visits) once = once && v == 1;
        CHECK(once);
#if defined(_OPENMP)
        // With more than one thread the body runs inside an OpenMP team (kernels then keep
        // their inner GEMMs single-threaded); with one thread it runs inline.
        std::atomic<int> inside{0};
        parallel_for(0, 4, [&](std::ptrdiff_t) { inside += in_parallel_region() == (threads > 1) ? 1 : 0; });
        CHECK(inside.load() == 4);
#endif
    }
    set_num_threads(max_hardware_threads());
    int count = 0;
    parallel_for(5, 5, [&](std::ptrdiff_t) { ++count; });  // an empty range does nothing
    CHECK(count == 0);
}

TEST_CASE("parallel_for_affine and parallel_for_dynamic visit every index exactly once", "[threading]") {
    // Up to 3 threads, as above: with 5 on a 2-core machine Clang's OpenMP runtime (libomp 14)
    // keeps some of its own allocations past exit, which LeakSanitizer reports (CI's ASan run).
    for (int threads : {1, 2, 3}) {
        set_num_threads(threads);
        for (std::ptrdiff_t n : {0, 1, 2, 7, 1000}) {
            std::vector<std::atomic<int>> affine(static_cast<std::size_t>(n)), dynamic(static_cast<std::size_t>(n));
            parallel_for_affine(3, 3 + n, [&](std::ptrdiff_t i) { affine[static_cast<std::size_t>(i - 3)] += 1; });
            parallel_for_dynamic(3, 3 + n, [&](std::ptrdiff_t i) { dynamic[static_cast<std::size_t>(i - 3)] += 1; });
            bool once = true;
            for (std::ptrdiff_t i = 0; i < n; ++i)
                once = once && affine[static_cast<std::size_t>(i)] == 1 && dynamic[static_cast<std::size_t>(i)] == 1;
            INFO(threads << " threads, " << n << " items");
            CHECK(once);
        }
    }
    set_num_threads(max_hardware_threads());
}

#if defined(_OPENMP)
TEST_CASE("parallel_for_affine starts each thread on its own contiguous slice", "[threading]") {
    // Two threads, 8 items: thread 0 owns 0..3, thread 1 owns 4..7, so the threads' first items are
    // 0 and 4 (a dynamic schedule hands out 0 and 1 first). Each item takes 20 ms, so neither
    // thread can finish its slice and take the other's first item before the other has started.
    const int before = num_threads();
    set_num_threads(2);
    std::vector<std::ptrdiff_t> first(2, -1);
    std::atomic<int> team{0};
    parallel_for_affine(0, 8, [&](std::ptrdiff_t i) {
        team = omp_get_num_threads();
        const int me = omp_get_thread_num();
        if (first[static_cast<std::size_t>(me)] < 0) first[static_cast<std::size_t>(me)] = i;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    });
    set_num_threads(before);
    if (team.load() < 2) {
        WARN("OpenMP formed no team of two threads here: the slices cannot be observed");
        return;
    }
    CHECK(first[0] == 0);
    CHECK(first[1] == 4);
}
#endif

#if defined(_OPENMP)
TEST_CASE("before set_num_threads maunet follows OpenMP's default, and never changes it", "[threading]") {
    const int omp_before = omp_get_max_threads();  // OMP_NUM_THREADS if set, else every core
    detail::thread_setting() = 0;                  // as in a program that never called set_num_threads
    CHECK(num_threads() == omp_before);
    omp_set_num_threads(3);  // the program's own OpenMP setting
    CHECK(num_threads() == 3);
    set_num_threads(2);
    CHECK(num_threads() == 2);
    CHECK(omp_get_max_threads() == 3);  // maunet's setting stays maunet's
    std::atomic<int> team{0};
    parallel_for(0, 2, [&](std::ptrdiff_t) { team = omp_get_num_threads(); });
    CHECK(team.load() == 2);
    omp_set_num_threads(omp_before);
    set_num_threads(max_hardware_threads());
}
#endif
