// maunet/metrics/paired_bootstrap.hpp: is method A really better than method B on these held-out
// fields? The RMSE difference with a paired bootstrap interval.
//
// The unit of resampling is the field (one time step): the cells of one field are strongly
// correlated (one storm covers many of them), so resampling cells would pretend to far more
// independent evidence than there is; fields a day or more apart are much less so. Paired: every
// resample draws the same fields for A and for B, so what the two share (a hard day is hard for
// both) cancels out of the difference, and the interval is that of the difference itself, much
// narrower than the two separate intervals would suggest.
//
// For fields f = 1..F, each method's errors are kept as per-field sums: s_f = sum of d^2 over the
// field's valid cells and n_f their number (field_errors). Over a multiset R of fields,
//   RMSE(R) = sqrt( sum_{f in R} s_f / sum_{f in R} n_f ),
// the pooled RMSE the metrics report gives over all fields when R is every field once. With S
// seeds (one network trained per seed, scored on the same fields), the statistic is the mean over
// seeds of RMSE_A(R) - RMSE_B(R): one resample draws F fields with replacement and evaluates
// every seed on them. The estimate is the statistic on the fields as they are; the interval is
// the (1 - level)/2 and (1 + level)/2 percentiles of B resamples (percentile bootstrap, Efron &
// Tibshirani 1993, ch. 13), seeded, so the same inputs give the same interval.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "maunet/core/errors.hpp"
#include "maunet/core/random.hpp"
#include "maunet/core/tensor.hpp"
#include "maunet/metrics/pointwise.hpp"

namespace maunet::metrics {

// Per-field sums of squared errors and counts of valid cells (the validity rule of pointwise.hpp).
struct FieldErrors {
    std::vector<double> squared;  // s_f
    std::vector<double> count;    // n_f

    Index fields() const { return static_cast<Index>(squared.size()); }
    // The pooled RMSE over all fields (NaN without a valid cell).
    double rmse() const {
        double s = 0, n = 0;
        for (std::size_t f = 0; f < squared.size(); ++f) s += squared[f], n += count[f];
        return n > 0 ? std::sqrt(s / n) : detail::not_a_number();
    }
};

// The per-field sums of pred against obs ([N, ...], one field per index of the leading axis; a
// field [H, W] is one field), mask as everywhere in maunet/metrics.
template <class T>
FieldErrors field_errors(const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask = Tensor<T>()) {
    detail::check_inputs("field_errors", pred, obs, mask);
    const T* p = pred.data();
    const T* o = obs.data();
    const T* m = detail::mask_pointer(mask);
    const auto [steps, per_step] = detail::time_steps(pred);
    FieldErrors e;
    e.squared.assign(static_cast<std::size_t>(steps), 0.0);
    e.count.assign(static_cast<std::size_t>(steps), 0.0);
    for (Index t = 0; t < steps; ++t)
        for (Index i = t * per_step; i < (t + 1) * per_step; ++i) {
            if (!detail::is_valid(m, p, o, i)) continue;
            const double d = double(p[i]) - double(o[i]);
            e.squared[static_cast<std::size_t>(t)] += d * d;
            e.count[static_cast<std::size_t>(t)] += 1;
        }
    return e;
}

struct BootstrapOptions {
    int resamples = 2000;
    double level = 0.95;     // of the central interval
    std::uint64_t seed = 1;  // of the resampling
};

struct BootstrapInterval {
    double estimate = detail::not_a_number();  // the statistic on the fields as they are
    double low = detail::not_a_number(), high = detail::not_a_number();
    double level = 0.95;
    int resamples = 0;
    // True when the interval lies entirely on one side of zero.
    bool excludes_zero() const { return low > 0 || high < 0; }
};

namespace detail {

// The q-quantile (0 <= q <= 1) of sorted values, linear between order statistics (type 7).
inline double sorted_quantile(const std::vector<double>& v, double q) {
    const double pos = q * double(v.size() - 1);
    const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (pos - double(lo)) * (v[hi] - v[lo]);
}

inline void check_paired(const std::vector<FieldErrors>& a, const std::vector<FieldErrors>& b) {
    require(!a.empty() && a.size() == b.size(), "paired_bootstrap: expected the same number of seeds (>= 1) for both "
            "methods, got ", a.size(), " and ", b.size());
    const Index F = a.front().fields();
    require(F > 0, "paired_bootstrap: expected at least one field, got none");
    for (const auto* side : {&a, &b})
        for (const FieldErrors& e : *side) {
            require(e.fields() == F && static_cast<Index>(e.count.size()) == F,
                    "paired_bootstrap: every seed of both methods must be scored on the same ", F,
                    " fields, found one with ", e.fields());
            require(e.rmse() == e.rmse(), "paired_bootstrap: a seed has no valid cell in any field");
        }
}

// mean over seeds of RMSE_a - RMSE_b over the fields with the given multiplicities (NaN when a
// resample drew only fields without valid cells).
inline double mean_rmse_difference(const std::vector<FieldErrors>& a, const std::vector<FieldErrors>& b,
                                   const std::vector<int>& times) {
    double total = 0;
    for (std::size_t s = 0; s < a.size(); ++s) {
        double sa = 0, na = 0, sb = 0, nb = 0;
        for (std::size_t f = 0; f < times.size(); ++f) {
            if (times[f] == 0) continue;
            sa += times[f] * a[s].squared[f], na += times[f] * a[s].count[f];
            sb += times[f] * b[s].squared[f], nb += times[f] * b[s].count[f];
        }
        if (na == 0 || nb == 0) return not_a_number();
        total += std::sqrt(sa / na) - std::sqrt(sb / nb);
    }
    return total / double(a.size());
}

}  // namespace detail

// Mean over seeds of RMSE(A) - RMSE(B) on the same fields, with its paired percentile bootstrap
// interval (see the top of this file). a[s] and b[s] are seed s's per-field errors of A and B.
// Throws ArgumentError for unequal seeds or fields, a seed without any valid cell, fewer than
// 100 resamples or a level outside (0, 1).
inline BootstrapInterval paired_bootstrap_rmse_difference(const std::vector<FieldErrors>& a,
                                                          const std::vector<FieldErrors>& b,
                                                          const BootstrapOptions& options = {}) {
    detail::check_paired(a, b);
    require(options.resamples >= 100, "paired_bootstrap: expected at least 100 resamples, got ", options.resamples);
    require(options.level > 0 && options.level < 1, "paired_bootstrap: expected a level in (0, 1), got ",
            options.level);
    const std::size_t F = static_cast<std::size_t>(a.front().fields());
    BootstrapInterval r;
    r.level = options.level;
    r.estimate = detail::mean_rmse_difference(a, b, std::vector<int>(F, 1));
    Rng rng(options.seed);
    std::vector<double> stats;
    stats.reserve(static_cast<std::size_t>(options.resamples));
    std::vector<int> times(F);
    for (int k = 0; k < options.resamples; ++k) {
        std::fill(times.begin(), times.end(), 0);
        for (std::size_t f = 0; f < F; ++f) ++times[rng.below(F)];
        const double d = detail::mean_rmse_difference(a, b, times);
        if (d == d) stats.push_back(d);  // a resample of only empty fields says nothing
    }
    r.resamples = static_cast<int>(stats.size());
    if (stats.empty()) return r;
    std::sort(stats.begin(), stats.end());
    r.low = detail::sorted_quantile(stats, (1 - options.level) / 2);
    r.high = detail::sorted_quantile(stats, (1 + options.level) / 2);
    return r;
}

}  // namespace maunet::metrics
