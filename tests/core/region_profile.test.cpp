#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "maunet/core/region_profile.hpp"
#include "maunet/core/threading.hpp"

using namespace maunet;

namespace {

const RegionTotals* find_region(const std::vector<RegionTotals>& all, int line, int threads) {
    const std::string suffix = "region_profile.test.cpp:" + std::to_string(line);
    for (const RegionTotals& r : all)
        if (r.threads == threads && r.site.size() >= suffix.size() &&
            r.site.compare(r.site.size() - suffix.size(), suffix.size(), suffix) == 0)
            return &r;
    return nullptr;
}

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

}  // namespace

TEST_CASE("a region profile records each region by its caller's line and thread count", "[threading]") {
    const int before = num_threads();
    set_num_threads(1);
    parallel_for(0, 4, [](std::ptrdiff_t) {});  // not recorded: no profile yet
    start_region_profile();
    const int line_loop = __LINE__ + 1;
    for (int k = 0; k < 3; ++k) parallel_for(0, 2, [](std::ptrdiff_t) { sleep_ms(2); });
    const int line_outer = __LINE__ + 1;
    parallel_for_dynamic(0, 2, [](std::ptrdiff_t) {
        parallel_pieces(100, [](std::ptrdiff_t, std::ptrdiff_t) { sleep_ms(2); }, 1);  // nested: the outer's time
    });
    const int line_affine = __LINE__ + 1;
    parallel_for_affine(0, 3, [](std::ptrdiff_t) {});
    const std::vector<RegionTotals> all = stop_region_profile();
    parallel_for(0, 4, [](std::ptrdiff_t) {});  // not recorded: stopped
    set_num_threads(before);

    REQUIRE(all.size() == 3);  // the nested parallel_pieces and the calls outside the profile are absent
    const RegionTotals* loop = find_region(all, line_loop, 1);
    const RegionTotals* outer = find_region(all, line_outer, 1);
    const RegionTotals* affine = find_region(all, line_affine, 1);
    REQUIRE(loop != nullptr);
    REQUIRE(outer != nullptr);
    REQUIRE(affine != nullptr);
    CHECK(loop->calls == 3);
    CHECK(outer->calls == 1);
    CHECK(affine->calls == 1);
    // The loop slept 3 x 2 x 2 ms, the outer region 2 x 2 ms (its nested regions included) on the
    // one thread: busy is the wall time up to the clock reads around the team, and nothing waited.
    CHECK(loop->wall_s >= 0.012);
    CHECK(outer->wall_s >= 0.004);
    CHECK(loop->busy_s <= loop->wall_s);
    CHECK(loop->waiting_s == Approx(loop->wall_s - loop->busy_s).margin(1e-12));
    CHECK(all.front().wall_s >= all.back().wall_s);  // the largest first
    // Sites are named below include/maunet/ when they are in the library.
    CHECK(detail::region_site_name({"/src/maunet/include/maunet/core/tensor.hpp", 50}) == "core/tensor.hpp:50");
    CHECK(detail::region_site_name({"tests/x.cpp", 7}) == "tests/x.cpp:7");
}

#if defined(_OPENMP)
TEST_CASE("a region profile counts the thread-time a team held but ran no item in", "[threading]") {
    // Two threads, two items of a static split: thread 0 sleeps 100 ms in item 0, thread 1 finds
    // item 1 empty and waits at the join. Waiting = 2 x wall - busy >= wall - busy of thread 1.
    const int before = num_threads();
    set_num_threads(2);
    int team = 0;
    start_region_profile();
    const int line = __LINE__ + 1;
    parallel_for(0, 2, [&](std::ptrdiff_t i) {
        if (i == 0) {
            team = omp_get_num_threads();
            sleep_ms(100);
        }
    });
    const std::vector<RegionTotals> all = stop_region_profile();
    set_num_threads(before);
    const RegionTotals* r = find_region(all, line, 2);
    REQUIRE(r != nullptr);
    CHECK(r->calls == 1);
    CHECK(r->wall_s >= 0.1);
    if (team < 2) {
        WARN("OpenMP formed no team of two threads here: the waiting cannot be observed");
        return;
    }
    CHECK(r->busy_s >= 0.1);
    CHECK(r->busy_s <= 2 * r->wall_s);
    CHECK(r->waiting_s >= 0.05);
    CHECK(r->waiting_s == Approx(2 * r->wall_s - r->busy_s).margin(1e-9));
}
#endif
