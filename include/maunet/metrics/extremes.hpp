// maunet/metrics/extremes.hpp: scores of the tail and of events: quantile errors, wet-day
// frequency error, and the contingency scores POD/FAR/CSI.
//
// Mask convention as in maunet/metrics/pointwise.hpp: a cell counts when mask == 1 (an empty
// Tensor<T>() means all cells) and pred and obs are both finite; the same cells are used for
// pred and for obs. No valid cell: NaN, never an exception.
//
//   quantile_q(v)        NumPy's default 'linear' method: sort the n values v_(0) <= ... <= v_(n-1),
//                        h = (n - 1) q, quantile = v_(floor h) + (h - floor h)(v_(floor h + 1) - v_(floor h))
//   signed quantile err  quantile_q(pred) - quantile_q(obs)      (positive: pred's tail too heavy)
//   quantile error       |quantile_q(pred) - quantile_q(obs)|     (p95 error: q = 0.95, p99: q = 0.99)
//   wet-day freq. error  #{pred >= t} / n - #{obs >= t} / n,  t the wet threshold (default 1.0 mm)
//   contingency at t     event = value >= t; hits a (pred and obs events), false alarms b (pred
//                        only), misses c (obs only), correct negatives d (neither):
//                        POD = a / (a + c), FAR = b / (a + b), CSI = a / (a + b + c),
//                        each NaN when its denominator is 0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "maunet/metrics/pointwise.hpp"

namespace maunet::metrics {

// The default wet-day threshold in the units of the data (mm per day for daily precipitation).
constexpr double kDefaultWetThreshold = 1.0;

namespace detail {
// NumPy 'linear' quantile of values already sorted ascending; q in [0, 1]. NaN if empty.
inline double quantile_of_sorted(const std::vector<double>& sorted, double q) {
    if (sorted.empty()) return not_a_number();
    const double h = static_cast<double>(sorted.size() - 1) * q;
    const std::size_t lo = static_cast<std::size_t>(std::floor(h));
    if (lo + 1 >= sorted.size()) return sorted.back();
    return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[lo + 1] - sorted[lo]);
}
}  // namespace detail

// NumPy 'linear' quantile of finite `values` (taken by value, sorted here); q in [0, 1]. NaN if empty.
inline double linear_quantile(std::vector<double> values, double q) {
    require(q >= 0 && q <= 1, "linear_quantile: expected a quantile level q in [0, 1], found ", q);
    for (std::size_t i = 0; i < values.size(); ++i)
        require(std::isfinite(values[i]), "linear_quantile: expected finite values, found ", values[i],
                " at index ", i);
    std::sort(values.begin(), values.end());
    return detail::quantile_of_sorted(values, q);
}

namespace detail {

// The pred and obs values of the valid cells, in cell order.
template <class T>
void valid_values(const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask, std::vector<double>& p_out,
                  std::vector<double>& o_out) {
    const T* p = pred.data();
    const T* o = obs.data();
    const T* m = mask_pointer(mask);
    p_out.clear(), o_out.clear();
    for (Index i = 0; i < pred.numel(); ++i) {
        if (!is_valid(m, p, o, i)) continue;
        p_out.push_back(static_cast<double>(p[i]));
        o_out.push_back(static_cast<double>(o[i]));
    }
}

inline void check_quantile_level(const char* metric, double q) {
    require(q >= 0 && q <= 1, metric, ": expected a quantile level q in [0, 1], found ", q);
}

inline void check_threshold(const char* metric, double threshold) {
    require(std::isfinite(threshold), metric, ": expected a finite threshold, found ", threshold);
}

inline double ratio_or_nan(std::int64_t num, std::int64_t den) {
    return den == 0 ? not_a_number() : static_cast<double>(num) / static_cast<double>(den);
}

}  // namespace detail

// quantile_q(pred) - quantile_q(obs) over the valid cells; NaN if none.
template <class T>
double signed_quantile_error(const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask, double q) {
    detail::check_inputs("signed_quantile_error", pred, obs, mask);
    detail::check_quantile_level("signed_quantile_error", q);
    std::vector<double> p, o;
    detail::valid_values(pred, obs, mask, p, o);
    return linear_quantile(std::move(p), q) - linear_quantile(std::move(o), q);
}

// |quantile_q(pred) - quantile_q(obs)| over the valid cells; NaN if none.
template <class T>
double quantile_error(const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask, double q) {
    detail::check_inputs("quantile_error", pred, obs, mask);
    detail::check_quantile_level("quantile_error", q);
    std::vector<double> p, o;
    detail::valid_values(pred, obs, mask, p, o);
    return std::abs(linear_quantile(std::move(p), q) - linear_quantile(std::move(o), q));
}

// Fraction of valid cells with pred >= wet_threshold minus that fraction for obs; NaN if none.
template <class T>
double wet_day_frequency_error(const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask = Tensor<T>(),
                               double wet_threshold = kDefaultWetThreshold) {
    detail::check_inputs("wet_day_frequency_error", pred, obs, mask);
    detail::check_threshold("wet_day_frequency_error", wet_threshold);
    const T* p = pred.data();
    const T* o = obs.data();
    const T* m = detail::mask_pointer(mask);
    std::int64_t n = 0, wet_p = 0, wet_o = 0;
    for (Index i = 0; i < pred.numel(); ++i) {
        if (!detail::is_valid(m, p, o, i)) continue;
        ++n;
        wet_p += static_cast<double>(p[i]) >= wet_threshold ? 1 : 0;
        wet_o += static_cast<double>(o[i]) >= wet_threshold ? 1 : 0;
    }
    if (n == 0) return detail::not_a_number();
    return static_cast<double>(wet_p - wet_o) / static_cast<double>(n);
}

// The 2x2 table of events (value >= threshold) over the valid cells, and its scores.
struct ContingencyTable {
    double threshold = 0;
    std::int64_t hits = 0;               // a: pred event, obs event
    std::int64_t false_alarms = 0;       // b: pred event, no obs event
    std::int64_t misses = 0;             // c: no pred event, obs event
    std::int64_t correct_negatives = 0;  // d: neither

    // Counts one valid cell into the table.
    void add(double pred_value, double obs_value) {
        const bool predicted = pred_value >= threshold, observed = obs_value >= threshold;
        if (predicted && observed) ++hits;
        else if (predicted) ++false_alarms;
        else if (observed) ++misses;
        else ++correct_negatives;
    }

    // Probability of detection a / (a + c); NaN when no event was observed.
    double pod() const { return detail::ratio_or_nan(hits, hits + misses); }
    // False alarm ratio b / (a + b); NaN when no event was predicted.
    double far() const { return detail::ratio_or_nan(false_alarms, hits + false_alarms); }
    // Critical success index a / (a + b + c); NaN when there is no event on either side.
    double csi() const { return detail::ratio_or_nan(hits, hits + false_alarms + misses); }
};

template <class T>
ContingencyTable contingency_table(const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask,
                                   double threshold, const char* metric = "contingency_table") {
    detail::check_inputs(metric, pred, obs, mask);
    detail::check_threshold(metric, threshold);
    const T* p = pred.data();
    const T* o = obs.data();
    const T* m = detail::mask_pointer(mask);
    ContingencyTable t;
    t.threshold = threshold;
    for (Index i = 0; i < pred.numel(); ++i) {
        if (!detail::is_valid(m, p, o, i)) continue;
        t.add(static_cast<double>(p[i]), static_cast<double>(o[i]));
    }
    return t;
}

// Probability of detection of events value >= threshold; NaN when obs has no event.
template <class T>
double pod(const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask, double threshold) {
    return contingency_table(pred, obs, mask, threshold, "pod").pod();
}

// False alarm ratio of events value >= threshold; NaN when pred has no event.
template <class T>
double far(const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask, double threshold) {
    return contingency_table(pred, obs, mask, threshold, "far").far();
}

// Critical success index of events value >= threshold; NaN when neither side has an event.
template <class T>
double csi(const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask, double threshold) {
    return contingency_table(pred, obs, mask, threshold, "csi").csi();
}

}  // namespace maunet::metrics
