// maunet/stats/quantiles.hpp: empirical quantiles and CDFs of sorted samples.
//
// Plotting positions (Hazen): the k-th of n sorted values (k = 0..n-1) sits at probability
//   p_k = (k + 1/2) / n.
// The empirical quantile function interpolates linearly between them (Hyndman & Fan type 5):
//   Q(p) = x[h] with h = n p - 1/2, linear between neighbours, clamped to [x_0, x_{n-1}].
// A quantile table is Q evaluated at the plotting positions of m nodes, p_j = (j + 1/2) / m.
// Lookups in a table (a non-decreasing node list xs with values ys) interpolate linearly;
// a value equal to a run of tied nodes takes the midpoint of the run's ys (mid-rank), and a
// value outside [xs_0, xs_last] is reported as below/above so that the caller can apply its
// extrapolation policy.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "maunet/core/errors.hpp"
#include "maunet/core/shape.hpp"

namespace maunet::stats {

// Hazen plotting positions (k + 1/2) / n for k = 0..n-1.
inline std::vector<double> plotting_positions(Index n) {
    require(n >= 1, "plotting_positions: expected n >= 1, got ", n);
    std::vector<double> p(static_cast<std::size_t>(n));
    for (Index k = 0; k < n; ++k) p[static_cast<std::size_t>(k)] = (static_cast<double>(k) + 0.5) / static_cast<double>(n);
    return p;
}

// Q(p) of a sorted sample of n >= 1 values (type 5 interpolation, clamped at the ends).
template <class V>
double quantile_sorted(const V* sorted, Index n, double p) {
    const double h = static_cast<double>(n) * p - 0.5;
    if (h <= 0.0) return static_cast<double>(sorted[0]);
    if (h >= static_cast<double>(n - 1)) return static_cast<double>(sorted[n - 1]);
    const auto i = static_cast<Index>(std::floor(h));
    const double f = h - static_cast<double>(i);
    return static_cast<double>(sorted[i]) + f * (static_cast<double>(sorted[i + 1]) - static_cast<double>(sorted[i]));
}

// Q evaluated at each of `positions` (a quantile table). n >= 1.
template <class V>
std::vector<double> quantile_table(const V* sorted, Index n, const std::vector<double>& positions) {
    std::vector<double> q(positions.size());
    for (std::size_t j = 0; j < positions.size(); ++j) q[j] = quantile_sorted(sorted, n, positions[j]);
    return q;
}

// Checked convenience version: sorts a copy of `values` (NaN dropped) and returns Q(p).
inline double empirical_quantile(std::vector<double> values, double p) {
    require(p >= 0.0 && p <= 1.0, "empirical_quantile: expected a probability in [0, 1], got ", p);
    values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return std::isnan(v); }), values.end());
    require(!values.empty(), "empirical_quantile: expected at least one non-NaN value, got none");
    std::sort(values.begin(), values.end());
    return quantile_sorted(values.data(), static_cast<Index>(values.size()), p);
}

// Empirical CDF at x of a sorted sample (the inverse of quantile_sorted): linear between
// plotting positions, mid-rank for ties, clamped to [1/(2n), 1 - 1/(2n)].
template <class V>
double ecdf_sorted(const V* sorted, Index n, double x) {
    const V* lo = std::lower_bound(sorted, sorted + n, x, [](V a, double b) { return static_cast<double>(a) < b; });
    const V* hi = std::upper_bound(sorted, sorted + n, x, [](double a, V b) { return a < static_cast<double>(b); });
    const double dn = static_cast<double>(n);
    if (lo != hi) return (static_cast<double>((lo - sorted) + (hi - sorted))) / 2.0 / dn;  // mid-rank
    const Index k = lo - sorted;  // insertion point
    if (k == 0) return 0.5 / dn;
    if (k == n) return 1.0 - 0.5 / dn;
    const double a = static_cast<double>(sorted[k - 1]), b = static_cast<double>(sorted[k]);
    return (static_cast<double>(k) - 0.5 + (x - a) / (b - a)) / dn;
}

// Result of looking x up in a non-decreasing node list.
struct TableLookup {
    enum class Where { below, inside, above };
    Where where = Where::inside;
    double value = 0.0;  // interpolated ys when inside
};

// Linear interpolation of (xs, ys) at x; ties take the midpoint of the tied run's ys.
inline TableLookup interpolate_table(const std::vector<double>& xs, const std::vector<double>& ys, double x) {
    TableLookup r;
    if (x < xs.front()) return {TableLookup::Where::below, ys.front()};
    if (x > xs.back()) return {TableLookup::Where::above, ys.back()};
    const Index lo = std::lower_bound(xs.begin(), xs.end(), x) - xs.begin();
    const Index hi = std::upper_bound(xs.begin(), xs.end(), x) - xs.begin();
    const auto at = [&](Index i) { return ys[static_cast<std::size_t>(i)]; };
    if (lo != hi) {
        r.value = 0.5 * (at(lo) + at(hi - 1));
        return r;
    }
    const double x0 = xs[static_cast<std::size_t>(lo - 1)], x1 = xs[static_cast<std::size_t>(lo)];
    r.value = at(lo - 1) + (x - x0) / (x1 - x0) * (at(lo) - at(lo - 1));
    return r;
}

// Q(p) read from a quantile table built at the m Hazen positions (j + 1/2) / m (O(1)).
inline double table_quantile(const std::vector<double>& table, double p) {
    const auto m = static_cast<Index>(table.size());
    const double h = static_cast<double>(m) * p - 0.5;
    if (h <= 0.0) return table.front();
    if (h >= static_cast<double>(m - 1)) return table.back();
    const auto i = static_cast<Index>(std::floor(h));
    const double f = h - static_cast<double>(i);
    return table[static_cast<std::size_t>(i)] +
           f * (table[static_cast<std::size_t>(i + 1)] - table[static_cast<std::size_t>(i)]);
}

}  // namespace maunet::stats
