// Test data for the bias-correction tests: a seeded gamma sampler (Marsaglia & Tsang 2000)
// and helpers to build [time, H, W] series and day-of-year vectors.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "maunet/core/random.hpp"
#include "maunet/core/tensor.hpp"

namespace maunet::testing {

// Gamma(shape k, scale theta) by Marsaglia-Tsang; k < 1 via Gamma(k + 1) * U^(1/k).
inline double gamma_draw(Rng& rng, double k, double theta) {
    if (k < 1.0) {
        double u = rng.uniform();
        while (u <= 0.0) u = rng.uniform();
        return gamma_draw(rng, k + 1.0, theta) * std::pow(u, 1.0 / k);
    }
    const double d = k - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = rng.normal();
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        const double u = rng.uniform();
        if (u < 1.0 - 0.0331 * x * x * x * x) return d * v * theta;
        if (u > 0.0 && std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v * theta;
    }
}

// [time, h, w] series with values from gen(rng).
template <class T, class Gen>
Tensor<T> series(Index time, Index h, Index w, std::uint64_t seed, Gen gen) {
    Rng rng(seed);
    Tensor<T> t(Shape{time, h, w});
    for (auto& v : t) v = static_cast<T>(gen(rng));
    return t;
}

// Precipitation: dry with probability p_dry, else Gamma(k, theta).
inline auto precipitation(double p_dry, double k = 0.8, double theta = 5.0) {
    return [=](Rng& rng) { return rng.uniform() < p_dry ? 0.0 : gamma_draw(rng, k, theta); };
}

// Values of one cell of a [time, H, W] tensor, NaN dropped.
template <class T>
std::vector<double> cell_values(const Tensor<T>& x, Index i, Index j) {
    std::vector<double> v;
    for (Index t = 0; t < x.dim(0); ++t)
        if (!std::isnan(x(t, i, j))) v.push_back(static_cast<double>(x(t, i, j)));
    return v;
}

// Hazen quantile of a sample (sorts a copy).
inline double sample_quantile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    const double h = static_cast<double>(v.size()) * p - 0.5;
    if (h <= 0) return v.front();
    if (h >= static_cast<double>(v.size() - 1)) return v.back();
    const auto i = static_cast<std::size_t>(h);
    return v[i] + (h - static_cast<double>(i)) * (v[i + 1] - v[i]);
}

inline double mean_of(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / static_cast<double>(v.size());
}

inline double wet_fraction(const std::vector<double>& v, double thr = 0.1) {
    return static_cast<double>(std::count_if(v.begin(), v.end(), [&](double x) { return x >= thr; })) /
           static_cast<double>(v.size());
}

// Day of year for `years` consecutive years of `days_in_year` days.
inline std::vector<int> doy_cycle(int years, int days_in_year) {
    std::vector<int> d;
    for (int y = 0; y < years; ++y)
        for (int k = 1; k <= days_in_year; ++k) d.push_back(k);
    return d;
}

}  // namespace maunet::testing
