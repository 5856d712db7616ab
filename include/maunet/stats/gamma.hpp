// maunet/stats/gamma.hpp: what the gamma distribution of daily rain amounts needs: the
// digamma function, the regularised incomplete gamma function and its inverse (quantiles), and
// a sampler. Density with shape a > 0 and scale b > 0:
//
//   f(y; a, b) = y^(a-1) exp(-y / b) / (Gamma(a) b^a),   mean a b,   variance a b^2
//
// All in double precision; arguments outside the domain give NaN, never an exception, so that
// a cell with a bad parameter stays visible in the output instead of stopping a whole run.
#pragma once

#include <cmath>
#include <limits>

#include "maunet/core/random.hpp"

namespace maunet::stats {

// psi(x) = d/dx ln Gamma(x), x > 0. Recurrence psi(x) = psi(x + 1) - 1/x up to x >= 6, then
// the asymptotic series ln x - 1/(2x) - sum B_2k / (2k x^2k) (truncation error below 1e-16 there).
inline double digamma(double x) {
    if (!(x > 0) || !std::isfinite(x)) return std::numeric_limits<double>::quiet_NaN();
    double shift = 0;
    while (x < 10) shift -= 1 / x, x += 1;
    const double r = 1 / (x * x);
    const double series = r * (1.0 / 12 - r * (1.0 / 120 - r * (1.0 / 252 - r * (1.0 / 240 - r * (1.0 / 132)))));
    return shift + std::log(x) - 0.5 / x - series;
}

// P(a, x) = gamma(a, x) / Gamma(a), the gamma distribution's CDF at x with unit scale.
// Series for x < a + 1, Lentz's continued fraction for Q = 1 - P otherwise (both converge
// fast in their region; Numerical Recipes, 6.2).
inline double gamma_p(double a, double x) {
    if (!(a > 0) || std::isnan(x)) return std::numeric_limits<double>::quiet_NaN();
    if (x <= 0) return 0;
    if (std::isinf(x)) return 1;
    const double log_prefix = a * std::log(x) - x - std::lgamma(a);
    if (x < a + 1) {
        double term = 1 / a, sum = term;
        for (int n = 1; n < 10000 && std::abs(term) > std::abs(sum) * 1e-16; ++n) sum += term *= x / (a + n);
        return std::exp(log_prefix) * sum;
    }
    const double tiny = 1e-300;
    double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
    for (int n = 1; n < 10000; ++n) {
        const double an = -n * (n - a);
        b += 2;
        d = an * d + b;
        if (std::abs(d) < tiny) d = tiny;
        c = b + an / c;
        if (std::abs(c) < tiny) c = tiny;
        d = 1 / d;
        const double step = d * c;
        h *= step;
        if (std::abs(step - 1) < 1e-16) break;
    }
    return 1 - std::exp(log_prefix) * h;
}

// The x with P(a, x) = q, q in [0, 1]: Newton steps on P (derivative the density
// x^(a-1) e^-x / Gamma(a)) kept inside a bracket that bisection shrinks when a step leaves it.
inline double gamma_p_inverse(double a, double q) {
    if (!(a > 0) || !(q >= 0 && q <= 1)) return std::numeric_limits<double>::quiet_NaN();
    if (q == 0) return 0;
    if (q == 1) return std::numeric_limits<double>::infinity();
    double lo = 0, hi = std::max(1.0, a);
    while (gamma_p(a, hi) < q) lo = hi, hi *= 2;
    double x = 0.5 * (lo + hi);
    for (int it = 0; it < 200; ++it) {
        const double f = gamma_p(a, x) - q;
        if (f < 0) lo = x;
        else hi = x;
        const double density = std::exp((a - 1) * std::log(x) - x - std::lgamma(a));
        double next = density > 0 ? x - f / density : 0.5 * (lo + hi);
        if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
        if (std::abs(next - x) <= 1e-14 * x || hi - lo <= 1e-15 * hi) return next;
        x = next;
    }
    return x;
}

// One draw from Gamma(shape a, scale 1): Marsaglia and Tsang (2000) for a >= 1; for a < 1,
// Gamma(a) = Gamma(a + 1) U^(1/a). Deterministic for a given Rng state.
inline double sample_gamma(double a, Rng& rng) {
    if (!(a > 0) || !std::isfinite(a)) return std::numeric_limits<double>::quiet_NaN();
    if (a < 1) {
        const double u = rng.uniform();
        return sample_gamma(a + 1, rng) * std::pow(u > 0 ? u : 0x1.0p-53, 1 / a);
    }
    const double d = a - 1.0 / 3, c = 1 / std::sqrt(9 * d);
    for (;;) {
        double z = rng.normal(), v = 1 + c * z;
        if (v <= 0) continue;
        v = v * v * v;
        const double u = rng.uniform();
        if (u < 1 - 0.0331 * z * z * z * z) return d * v;
        if (u > 0 && std::log(u) < 0.5 * z * z + d * (1 - v + std::log(v))) return d * v;
    }
}

}  // namespace maunet::stats
