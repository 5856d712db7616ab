// maunet/stats/bernoulli_gamma.hpp: amounts from the Bernoulli-gamma parameters a network
// predicts per cell (autograd/ops/rain_loss.hpp): p = sigmoid(l) the wet probability, alpha =
// e^a the shape and beta = e^b the scale of the wet amounts. The mixture's CDF is
//
//   F(y) = (1 - p) + p P(alpha, y / beta)   for y >= 0   (a mass 1 - p at 0, dry)
//
// so its q-quantile is 0 when q <= 1 - p, else beta P^-1(alpha, (q - (1 - p)) / p).
//   mean     p alpha beta (unbiased for totals, but spreads rain thinly: drizzle everywhere)
//   median   the 0.5-quantile: 0 wherever p <= 1/2, which keeps dry areas dry
//   sample   wet with probability p, then a gamma draw: fields with realistic texture
#pragma once

#include <cmath>

#include "maunet/stats/gamma.hpp"

namespace maunet::stats {

struct BernoulliGamma {
    double p, alpha, beta;  // wet probability, shape, scale

    // From the network's raw channels: logit, log shape, log scale.
    static BernoulliGamma from_logits(double logit, double log_shape, double log_scale) {
        const double p = logit >= 0 ? 1 / (1 + std::exp(-logit)) : std::exp(logit) / (1 + std::exp(logit));
        return {p, std::exp(log_shape), std::exp(log_scale)};
    }
    double mean() const { return p * alpha * beta; }
    double quantile(double q) const {
        if (!(q >= 0 && q <= 1)) return std::nan("");
        if (q <= 1 - p) return 0;
        return beta * gamma_p_inverse(alpha, std::min(1.0, (q - (1 - p)) / p));
    }
    double median() const { return quantile(0.5); }
    // One draw: two uniform-based steps from rng, in a fixed order.
    double sample(Rng& rng) const { return rng.uniform() < p ? beta * sample_gamma(alpha, rng) : 0.0; }
};

}  // namespace maunet::stats
