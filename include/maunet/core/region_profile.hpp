// maunet/core/region_profile.hpp: where the threads' time goes, region by region.
//
// Every parallel region of maunet (parallel_for, parallel_for_dynamic, parallel_for_affine,
// parallel_pieces in threading.hpp) knows the source line that started it. While a profile is
// being recorded, each region adds to the totals of its line and thread count:
//
//   wall     the calling thread's clock from before the team starts to after it has joined
//   busy     summed over the team: the time each thread spent running the region's items
//   waiting  threads x wall - busy: thread-time the team held but did no item in, spent
//            starting the team, on items the other threads had not finished (a static split of
//            unequal work, a core slowed by its neighbours), and at the closing barrier
//
// so a region that scales perfectly to T threads has wall(T) = wall(1) / T and no waiting, and
// wall(1 thread) x T - wall(T threads) x T splits into waiting and extra busy time (items that
// run slower side by side: shared memory bandwidth, data the other core wrote). `maunet bench
// --regions` prints the table; the time of a step outside all regions is work no second thread
// helps with. Off, the cost is one atomic load per region. Regions started inside another
// region (a team's member, or the calling thread running a one-thread region) are part of the
// outer one's busy time and are not recorded.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace maunet {

// The source line that started a region: a default argument of the parallel loops, filled in
// at their call site by the compiler (GCC and Clang builtins, as std::source_location does).
struct RegionSite {
    const char* file;
    int line;
    static RegionSite here(const char* file = __builtin_FILE(), int line = __builtin_LINE()) { return {file, line}; }
};

// A region's totals over the recording, per source line and thread count.
struct RegionTotals {
    std::string site;  // "autograd/ops/isa/winograd.inl:153": the path below include/maunet/
    int threads = 0;   // maunet's thread setting when the region ran (num_threads())
    long calls = 0;
    double wall_s = 0, busy_s = 0, waiting_s = 0;
};

namespace detail {

struct RegionRecorder {
    std::atomic<bool> on{false};
    std::mutex mutex;
    std::map<std::pair<std::string, int>, RegionTotals> totals;
};
inline RegionRecorder& region_recorder() {
    static RegionRecorder r;
    return r;
}
inline std::string region_site_name(const RegionSite& site) {
    const char* f = site.file ? site.file : "?";
    for (const char* p = f; (p = std::strstr(p, "include/maunet/")) != nullptr; ++p) f = p + 15;
    return std::string(f) + ":" + std::to_string(site.line);
}

// One region's measurement: made by the calling thread before the team starts, handed each
// team member's busy time, recorded when it goes out of scope after the join.
class RegionTimer {
public:
    using Clock = std::chrono::steady_clock;
    // `team` threads run the region (1: the calling thread alone, as for a single item; < 1: a
    // region nested in another, never recorded) while maunet's thread setting is `setting`.
    RegionTimer(const RegionSite& site, int team, int setting) : site_(site), team_(team), setting_(setting) {
        if (team < 1 || depth() > 0 || !region_recorder().on.load(std::memory_order_relaxed)) return;
        active_ = true;
        depth() += 1;
        busy_.assign(static_cast<std::size_t>(team), 0.0);
        start_ = Clock::now();
    }
    RegionTimer(const RegionTimer&) = delete;
    RegionTimer& operator=(const RegionTimer&) = delete;
    bool active() const { return active_; }
    // Thread `me` of the team ran items for `seconds` (each member writes its own entry).
    void add_busy(int me, double seconds) {
        if (active_ && me >= 0 && me < static_cast<int>(busy_.size())) busy_[static_cast<std::size_t>(me)] += seconds;
    }
    ~RegionTimer() {
        if (!active_) return;
        depth() -= 1;
        const double wall = std::chrono::duration<double>(Clock::now() - start_).count();
        double busy = 0;
        for (double b : busy_) busy += b;
        RegionRecorder& r = region_recorder();
        std::lock_guard<std::mutex> lock(r.mutex);
        if (!r.on.load(std::memory_order_relaxed)) return;  // stopped while this region ran
        const std::string name = region_site_name(site_);
        RegionTotals& t = r.totals[{name, setting_}];
        if (t.calls == 0) {
            t.site = name;
            t.threads = setting_;
        }
        t.calls += 1;
        t.wall_s += wall;
        t.busy_s += busy;
        t.waiting_s += std::max(0.0, team_ * wall - busy);
    }

private:
    // Recorded regions open on this thread: a region started inside one that runs on the calling
    // thread alone (one thread, or a single item) is part of the outer one's time.
    static int& depth() {
        thread_local int d = 0;
        return d;
    }
    RegionSite site_;
    int team_, setting_;
    bool active_ = false;
    std::vector<double> busy_;
    Clock::time_point start_{};
};

// A team member's busy time: from construction to destruction, added to the region's timer.
class BusyClock {
public:
    BusyClock(RegionTimer& timer, int me) : timer_(timer), me_(me) {
        if (timer_.active()) start_ = RegionTimer::Clock::now();
    }
    BusyClock(const BusyClock&) = delete;
    BusyClock& operator=(const BusyClock&) = delete;
    ~BusyClock() {
        if (timer_.active())
            timer_.add_busy(me_, std::chrono::duration<double>(RegionTimer::Clock::now() - start_).count());
    }

private:
    RegionTimer& timer_;
    int me_;
    RegionTimer::Clock::time_point start_{};
};

}  // namespace detail

// Starts recording every parallel region, from any thread, forgetting earlier totals.
inline void start_region_profile() {
    detail::RegionRecorder& r = detail::region_recorder();
    std::lock_guard<std::mutex> lock(r.mutex);
    r.totals.clear();
    r.on.store(true);
}

// Stops recording and returns the totals, the largest wall time first.
inline std::vector<RegionTotals> stop_region_profile() {
    detail::RegionRecorder& r = detail::region_recorder();
    std::lock_guard<std::mutex> lock(r.mutex);
    r.on.store(false);
    std::vector<RegionTotals> out;
    for (auto& kv : r.totals) out.push_back(std::move(kv.second));
    r.totals.clear();
    std::sort(out.begin(), out.end(), [](const RegionTotals& a, const RegionTotals& b) {
        return a.wall_s != b.wall_s ? a.wall_s > b.wall_s : a.site < b.site;
    });
    return out;
}

}  // namespace maunet
