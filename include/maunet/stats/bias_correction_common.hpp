// maunet/stats/bias_correction_common.hpp: what linear scaling, quantile mapping and quantile
// delta mapping share: the configuration, input checks, wet-day handling, day-of-year windows
// and the per-cell calibration samples.
//
// Data: tensors [time, H, W]; observation and simulation share H and W, their time lengths
// may differ. NaN marks a missing value: it is skipped in fitting and stays NaN in the output.
// A cell (or a day window of a cell) with no valid calibration value in obs or in sim is
// passed through as all NaN, with no exception.
//
// Kind::additive corrects offsets (temperature-like variables); no wet-day logic is applied.
// Kind::multiplicative corrects ratios and treats the variable as precipitation:
//  - dry day: value < wet_day_threshold. Dry values are set to 0 before fitting and before
//    correcting, and every output below the threshold is 0. Outputs are never negative.
//  - multiplicative factors are capped at max_ratio (upper cap only; a factor of 0 - a wet
//    day turned dry - is allowed).
//  - wet-day frequency adaptation (adapt_wet_day_frequency = true) is described in each
//    method's header; with it off, the methods use the wet-day (conditional) distributions
//    and keep the simulation's dry days dry.
//  - a calibration sample that is never wet cannot say how to scale a wet value: such a
//    value is left unchanged (factor 1), and a never-wet simulation yields an all-dry output.
//
// Day-of-year windows: with window_half_width_days = w > 0 the value of day d is corrected
// with distributions built from the calibration days whose day of year lies within w of d in
// circular distance over days_in_year, min(|d - e|, D - |d - e|) <= w, so windows wrap around
// the new year. D is 365, 366 (doy 60 is 29 February in a leap year; a common convention maps
// the days after 28 February of non-leap years to doy + 1 so that doy 60 is always 29 February)
// or 360 (360-day model calendars). Callers derive the day-of-year vectors (1-based) from the
// calendar. w = 0, or 2w + 1 >= D, means one distribution from the whole series.
//
// Implementation: fit() stores, for every cell, the valid (wet-day transformed) calibration
// values sorted within each day-of-year bucket (memory ~ the calibration data). apply() runs a
// parallel_for over cells; each cell slides its window over the days of the year, updating
// the sorted window sample by erasing the leaving day's values and inserting the entering
// day's (binary search and a short move each), builds the quantile tables, and corrects each value by binary search.
// Randomness (wet-day frequency adaptation) comes from one Rng per cell seeded from
// (seed, cell index): results do not depend on the thread count.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <vector>

#include "maunet/core/errors.hpp"
#include "maunet/core/random.hpp"
#include "maunet/core/shape.hpp"
#include "maunet/core/tensor.hpp"
#include "maunet/core/threading.hpp"
#include "maunet/stats/quantiles.hpp"

namespace maunet::stats {

enum class Kind { additive, multiplicative };

// Policy beyond the calibration range. constant: the correction at the end quantile (the
// additive offset or the ratio) is held for values beyond it.
enum class Extrapolation { constant };

struct BiasCorrectionConfig {
    double wet_day_threshold = 0.1;     // mm/day; values below are dry (multiplicative kind)
    bool adapt_wet_day_frequency = true;
    double max_ratio = 10;              // cap on multiplicative factors
    Extrapolation extrapolation = Extrapolation::constant;
    int window_half_width_days = 0;     // 0 = whole series; 15 for +-15-day windows
    std::uint64_t seed = 42;            // for the random wet-day amounts
};

// Circular distance between two days of the year over a year of days_in_year days.
inline int circular_day_distance(int a, int b, int days_in_year) {
    const int d = std::abs(a - b) % days_in_year;
    return std::min(d, days_in_year - d);
}

namespace detail {

inline void check_config(const BiasCorrectionConfig& c, const char* op) {
    require(std::isfinite(c.wet_day_threshold) && c.wet_day_threshold >= 0.0, op,
            ": expected a finite wet_day_threshold >= 0, got ", c.wet_day_threshold);
    require(std::isfinite(c.max_ratio) && c.max_ratio >= 1.0, op, ": expected a finite max_ratio >= 1, got ",
            c.max_ratio);
    require(c.window_half_width_days >= 0, op, ": expected window_half_width_days >= 0, got ",
            c.window_half_width_days);
}

template <class T>
void check_series(const Tensor<T>& x, const char* op, const char* what) {
    require_shape(x.rank() == 3 && x.dim(0) >= 1 && x.dim(1) >= 1 && x.dim(2) >= 1, op, ": ", what,
                  " must have shape [time, H, W] with every extent >= 1, got ", x.shape());
}

template <class T>
void check_same_grid(const Tensor<T>& a, const Tensor<T>& b, const char* op, const char* what_a, const char* what_b) {
    require_shape(a.dim(1) == b.dim(1) && a.dim(2) == b.dim(2), op, ": ", what_a, " ", a.shape(), " and ", what_b,
                  " ", b.shape(), " must share the grid (H, W)");
}

inline void check_days_in_year(int days_in_year, const char* op) {
    require(days_in_year == 365 || days_in_year == 366 || days_in_year == 360, op,
            ": expected days_in_year 365, 366 or 360, got ", days_in_year);
}

inline void check_doy(const std::vector<int>& doy, Index time, int days_in_year, const char* op, const char* what) {
    require(static_cast<Index>(doy.size()) == time, op, ": ", what, " has ", doy.size(),
            " days of year but the series has ", time, " time steps");
    for (std::size_t t = 0; t < doy.size(); ++t)
        require(doy[t] >= 1 && doy[t] <= days_in_year, op, ": ", what, "[", t, "] = ", doy[t],
                " is outside 1..", days_in_year);
}

// Day-of-year buckets: one bucket (whole series) or one per day of the year.
struct DayWindows {
    int days_in_year = 365;
    int half_width = 0;
    int buckets = 1;

    DayWindows() = default;
    DayWindows(int d, int w) : days_in_year(d), half_width(w), buckets((w == 0 || 2 * w + 1 >= d) ? 1 : d) {}
    bool whole_series() const { return buckets == 1; }
    int bucket_of(int doy) const { return whole_series() ? 0 : doy - 1; }
    std::vector<int> buckets_of(const std::vector<int>& doy, Index time) const {
        std::vector<int> b(static_cast<std::size_t>(time), 0);
        if (!whole_series())
            for (std::size_t t = 0; t < b.size(); ++t) b[t] = bucket_of(doy[t]);
        return b;
    }
    // Time indices of each bucket, in time order.
    std::vector<std::vector<Index>> times_by_bucket(const std::vector<int>& bucket_of_time) const {
        std::vector<std::vector<Index>> g(static_cast<std::size_t>(buckets));
        for (std::size_t t = 0; t < bucket_of_time.size(); ++t)
            g[static_cast<std::size_t>(bucket_of_time[t])].push_back(static_cast<Index>(t));
        return g;
    }
};

// Sets dry values (< threshold, including negatives) to 0 for the multiplicative kind.
inline double wet_day_transform(double v, Kind kind, double threshold) {
    return (kind == Kind::multiplicative && v < threshold) ? 0.0 : v;
}

// Final output rule: multiplicative outputs below the threshold are dry (0).
inline double finish_output(double v, Kind kind, double threshold) {
    if (std::isnan(v)) return v;
    return (kind == Kind::multiplicative && v < threshold) ? 0.0 : v;
}

// Valid values of every cell of a [time, H, W] series, sorted within each bucket.
template <class T>
struct CellSamples {
    Index cells = 0;
    int buckets = 1;
    std::vector<std::vector<T>> values;       // per cell: bucket after bucket, each sorted
    std::vector<std::vector<Index>> offsets;  // per cell: buckets + 1 offsets into values
};

template <class T>
CellSamples<T> collect_samples(const Tensor<T>& x, const std::vector<int>& bucket_of_time, int buckets, Kind kind,
                               double threshold) {
    CellSamples<T> s;
    const Index time = x.dim(0);
    s.cells = x.dim(1) * x.dim(2);
    s.buckets = buckets;
    s.values.resize(static_cast<std::size_t>(s.cells));
    s.offsets.resize(static_cast<std::size_t>(s.cells));
    // Transpose to [cell, time] in 64 x 64 tiles first: reading a cell's series straight from
    // [time, H, W] would touch one cache line per value.
    const Index cells = s.cells, tile = 64;
    std::vector<T> by_cell(static_cast<std::size_t>(cells * time));
    const T* src = x.data();
    parallel_for(0, (cells + tile - 1) / tile, [&](Index cb) {
        const Index c0 = cb * tile, c1 = std::min(cells, c0 + tile);
        for (Index t0 = 0; t0 < time; t0 += tile)
            for (Index t = t0; t < std::min(time, t0 + tile); ++t)
                for (Index c = c0; c < c1; ++c) by_cell[static_cast<std::size_t>(c * time + t)] = src[t * cells + c];
    });
    parallel_for(0, s.cells, [&](Index c) {
        const T* data = by_cell.data() + c * time;
        std::vector<Index> count(static_cast<std::size_t>(buckets) + 1, 0);
        for (Index t = 0; t < time; ++t)
            if (!std::isnan(data[t])) ++count[static_cast<std::size_t>(bucket_of_time[t]) + 1];
        auto& off = s.offsets[static_cast<std::size_t>(c)];
        off.assign(count.begin(), count.end());
        for (std::size_t b = 1; b < off.size(); ++b) off[b] += off[b - 1];
        auto& vals = s.values[static_cast<std::size_t>(c)];
        vals.resize(static_cast<std::size_t>(off.back()));
        std::vector<Index> next(off.begin(), off.end() - 1);
        for (Index t = 0; t < time; ++t) {
            const T v = data[t];
            if (std::isnan(v)) continue;
            auto& pos = next[static_cast<std::size_t>(bucket_of_time[t])];
            vals[static_cast<std::size_t>(pos++)] =
                static_cast<T>(wet_day_transform(static_cast<double>(v), kind, threshold));
        }
        for (int b = 0; b < buckets; ++b)
            std::sort(vals.begin() + off[static_cast<std::size_t>(b)], vals.begin() + off[static_cast<std::size_t>(b) + 1]);
    });
    return s;
}

// The sorted union of the buckets within +-half_width of a centre bucket (circular), kept
// up to date as the centre moves forward one bucket at a time.
template <class T>
class WindowSample {
public:
    WindowSample(const CellSamples<T>& s, Index cell, int half_width)
        : vals_(s.values[static_cast<std::size_t>(cell)]), off_(s.offsets[static_cast<std::size_t>(cell)]),
          buckets_(s.buckets), half_width_(s.buckets == 1 ? 0 : half_width) {}

    // Positions the window on `centre`; moving forward is incremental, anything else rebuilds.
    void move_to(int centre) {
        if (centre_ >= 0 && centre >= centre_ && centre - centre_ <= 2 * half_width_ + 1) {
            while (centre_ < centre) advance();
            return;
        }
        centre_ = centre;
        sorted_.clear();
        for (int k = -half_width_; k <= half_width_; ++k) {
            const auto [b, e] = bucket(centre + k);
            sorted_.insert(sorted_.end(), b, e);
        }
        if (half_width_ > 0) std::sort(sorted_.begin(), sorted_.end());  // one bucket is sorted already
    }
    const std::vector<T>& sorted() const { return sorted_; }

private:
    using It = typename std::vector<T>::const_iterator;
    std::pair<It, It> bucket(int b) const {
        const int m = ((b % buckets_) + buckets_) % buckets_;
        return {vals_.begin() + off_[static_cast<std::size_t>(m)], vals_.begin() + off_[static_cast<std::size_t>(m) + 1]};
    }
    // Moves the centre one bucket forward: each value of the leaving bucket is found by
    // binary search and erased, each value of the entering bucket inserted at its place
    // (buckets hold a few values per year, the moves are short memmoves).
    void advance() {
        const auto [rb, re] = bucket(centre_ - half_width_);
        for (auto it = rb; it != re; ++it) sorted_.erase(std::lower_bound(sorted_.begin(), sorted_.end(), *it));
        const auto [ab, ae] = bucket(centre_ + half_width_ + 1);
        for (auto it = ab; it != ae; ++it) sorted_.insert(std::upper_bound(sorted_.begin(), sorted_.end(), *it), *it);
        ++centre_;
    }

    const std::vector<T>& vals_;
    const std::vector<Index>& off_;
    int buckets_;
    int half_width_;
    int centre_ = -1;
    std::vector<T> sorted_;
};

// Calibration data shared by the three methods: grid, calendar and per-cell samples.
template <class T>
struct Calibration {
    bool fitted = false;
    Index height = 0, width = 0;
    // The global index of cell 0 when this grid is a tile (rows) of a larger grid: cell c draws
    // its random numbers from cell_rng(seed, first_cell + c), as it would untiled.
    Index first_cell = 0;
    DayWindows windows;
    CellSamples<T> obs, sim;
};

inline const std::vector<int>& no_doy() {
    static const std::vector<int> empty;
    return empty;
}

// Checks the fit inputs and collects the samples. doy vectors may be empty only when the
// configuration asks for no windows (then days_in_year is not used).
template <class T>
Calibration<T> calibrate(const char* op, Kind kind, const BiasCorrectionConfig& cfg, const Tensor<T>& obs,
                         const std::vector<int>& obs_doy, const Tensor<T>& sim, const std::vector<int>& sim_doy,
                         int days_in_year, bool with_doy) {
    check_config(cfg, op);
    check_series(obs, op, "obs");
    check_series(sim, op, "sim");
    check_same_grid(obs, sim, op, "obs", "sim");
    if (with_doy) {
        check_days_in_year(days_in_year, op);
        check_doy(obs_doy, obs.dim(0), days_in_year, op, "obs_doy");
        check_doy(sim_doy, sim.dim(0), days_in_year, op, "sim_doy");
    } else {
        require(cfg.window_half_width_days == 0, op, ": window_half_width_days = ", cfg.window_half_width_days,
                " needs day-of-year vectors; call fit(obs, obs_doy, sim, sim_doy, days_in_year)");
    }
    Calibration<T> c;
    c.height = obs.dim(1);
    c.width = obs.dim(2);
    c.windows = with_doy ? DayWindows(days_in_year, cfg.window_half_width_days) : DayWindows(365, 0);
    c.obs = collect_samples(obs, c.windows.buckets_of(obs_doy, obs.dim(0)), c.windows.buckets, kind,
                            cfg.wet_day_threshold);
    c.sim = collect_samples(sim, c.windows.buckets_of(sim_doy, sim.dim(0)), c.windows.buckets, kind,
                            cfg.wet_day_threshold);
    c.fitted = true;
    return c;
}

// Checks the apply inputs against the calibration; returns the bucket of each time step.
template <class T>
std::vector<int> check_apply(const char* op, const Calibration<T>& c, const Tensor<T>& x, const std::vector<int>& doy,
                             int days_in_year, bool with_doy) {
    require(c.fitted, op, ": apply() called before fit()");
    check_series(x, op, "input");
    require_shape(x.dim(1) == c.height && x.dim(2) == c.width, op, ": input ", x.shape(),
                  " does not match the fitted grid [time, ", c.height, ", ", c.width, "]");
    if (with_doy) {
        check_days_in_year(days_in_year, op);
        require(c.windows.whole_series() || days_in_year == c.windows.days_in_year, op, ": fitted with days_in_year ",
                c.windows.days_in_year, " but apply() got ", days_in_year);
        check_doy(doy, x.dim(0), days_in_year, op, "doy");
    } else {
        require(c.windows.whole_series(), op,
                ": the model was fitted with day-of-year windows; call apply(x, doy, days_in_year)");
    }
    return c.windows.buckets_of(doy, x.dim(0));
}

// One random stream per cell, independent of the thread that runs it.
inline Rng cell_rng(std::uint64_t seed, Index cell) {
    return Rng(seed ^ (0x9e3779b97f4a7c15ULL * (static_cast<std::uint64_t>(cell) + 1)));
}

// A distribution of one cell in one day window, summarised by a quantile table.
struct Distribution {
    Index size = 0;             // valid values in the window
    double dry_fraction = 0;    // share of values < threshold (multiplicative kind)
    std::vector<double> q;      // quantiles at the plotting positions; empty = no usable values
    bool empty() const { return q.empty(); }
};

// Full distribution (additive kind, or frequency adaptation on) or the wet-day distribution
// (multiplicative kind with adaptation off).
template <class T>
Distribution describe(const std::vector<T>& sorted, const std::vector<double>& positions, Kind kind,
                      const BiasCorrectionConfig& cfg) {
    Distribution d;
    d.size = static_cast<Index>(sorted.size());
    if (d.size == 0) return d;
    Index first = 0;
    if (kind == Kind::multiplicative) {
        const Index dry = std::partition_point(sorted.begin(), sorted.end(), [&](T v) {
                              return static_cast<double>(v) < cfg.wet_day_threshold;
                          }) - sorted.begin();
        d.dry_fraction = static_cast<double>(dry) / static_cast<double>(d.size);
        if (!cfg.adapt_wet_day_frequency) first = dry;
    }
    if (first == d.size) return d;  // no wet value: an empty wet-day distribution
    d.q = quantile_table(sorted.data() + first, d.size - first, positions);
    return d;
}

// True if the distribution has a wet value (multiplicative kind).
inline bool has_wet(const Distribution& d) { return !d.empty() && d.dry_fraction < 1.0; }

// o / s capped at max_ratio; 1 (no correction) when s <= 0.
inline double capped_ratio(double o, double s, double max_ratio) {
    if (!(s > 0.0)) return 1.0;
    return std::min(o / s, max_ratio);
}

// The per-cell driver of every method. For each cell (in parallel) and each day bucket that
// occurs in x, positions the windows of the N calibration samples, calls
// state = prepare(std::array<const std::vector<T>*, N> sorted_window_samples), then for each
// valid value v of that bucket writes finish_output(correct(state, wet_day_transform(v), rng)).
// NaN inputs stay NaN. prepare and correct must not throw (they run inside parallel_for).
// first_cell: the global index of x's cell 0 (Calibration::first_cell), for the random streams.
template <class T, std::size_t N, class Prepare, class Correct>
Tensor<T> correct_per_cell(const Tensor<T>& x, const std::vector<int>& bucket_of_time, const DayWindows& windows,
                           const std::array<const CellSamples<T>*, N>& samples, Kind kind,
                           const BiasCorrectionConfig& cfg, Index first_cell, Prepare prepare, Correct correct) {
    Tensor<T> out(x.shape());
    const Index cells = x.dim(1) * x.dim(2);
    const auto groups = windows.times_by_bucket(bucket_of_time);
    const T* in = x.data();
    T* dst = out.data();
    parallel_for(0, cells, [&](Index c) {
        std::vector<WindowSample<T>> window;
        window.reserve(N);
        for (std::size_t k = 0; k < N; ++k) window.emplace_back(*samples[k], c, windows.half_width);
        Rng rng = cell_rng(cfg.seed, first_cell + c);
        for (int b = 0; b < windows.buckets; ++b) {
            const auto& times = groups[static_cast<std::size_t>(b)];
            if (times.empty()) continue;
            std::array<const std::vector<T>*, N> sorted{};
            for (std::size_t k = 0; k < N; ++k) {
                window[k].move_to(b);
                sorted[k] = &window[k].sorted();
            }
            const auto state = prepare(sorted);
            for (Index t : times) {
                const double v = static_cast<double>(in[t * cells + c]);
                const double r = std::isnan(v) ? v : correct(state, wet_day_transform(v, kind, cfg.wet_day_threshold), rng);
                dst[t * cells + c] = static_cast<T>(finish_output(r, kind, cfg.wet_day_threshold));
            }
        }
    });
    return out;
}

}  // namespace detail
}  // namespace maunet::stats
