// maunet/stats/sample_summary.hpp: per-cell summary of an ensemble of fields (Monte Carlo
// dropout samples, seed ensembles): mean, standard deviation and quantiles over the members.
//
// For the K values v_1..v_K of one cell:
//   mean  m = (1/K) sum v_k
//   sd    s = sqrt( sum (v_k - m)^2 / (K - 1) )       (0 when K = 1)
//   Q(p)  the empirical quantile of the K sorted values (Hazen positions, stats/quantiles.hpp;
//         clamped: Q(p) is the minimum for p <= 1/(2K), the maximum for p >= 1 - 1/(2K))
// A cell where any member is NaN (the input was missing there) is NaN in every output.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "maunet/core/errors.hpp"
#include "maunet/core/tensor.hpp"
#include "maunet/stats/quantiles.hpp"

namespace maunet::stats {

// samples [N, K, H, W] (K members of N fields) -> [N, 2 + P, H, W]: per field the mean, the
// standard deviation and the quantiles at `probabilities` (each in [0, 1]), in that order.
template <class T>
Tensor<T> summarize_samples(const Tensor<T>& samples, const std::vector<double>& probabilities) {
    require_shape(samples.rank() == 4 && samples.dim(1) >= 1, "summarize_samples: expected samples [N, K, H, W], got ",
                  samples.shape());
    for (double p : probabilities)
        require(p >= 0.0 && p <= 1.0, "summarize_samples: quantile probabilities must be in [0, 1], got ", p);
    const Index N = samples.dim(0), K = samples.dim(1), plane = samples.dim(2) * samples.dim(3);
    const Index outputs = 2 + static_cast<Index>(probabilities.size());
    Tensor<T> out(Shape{N, outputs, samples.dim(2), samples.dim(3)});
    std::vector<double> v(static_cast<std::size_t>(K));
    for (Index n = 0; n < N; ++n)
        for (Index j = 0; j < plane; ++j) {
            bool missing = false;
            double sum = 0;
            for (Index k = 0; k < K; ++k) {
                v[static_cast<std::size_t>(k)] = static_cast<double>(samples[(n * K + k) * plane + j]);
                missing = missing || std::isnan(v[static_cast<std::size_t>(k)]);
                sum += v[static_cast<std::size_t>(k)];
            }
            T* cell = out.data() + n * outputs * plane + j;
            if (missing) {
                for (Index o = 0; o < outputs; ++o) cell[o * plane] = std::numeric_limits<T>::quiet_NaN();
                continue;
            }
            const double mean = sum / static_cast<double>(K);
            double squares = 0;
            for (double x : v) squares += (x - mean) * (x - mean);
            cell[0] = static_cast<T>(mean);
            cell[plane] = static_cast<T>(K > 1 ? std::sqrt(squares / static_cast<double>(K - 1)) : 0.0);
            std::sort(v.begin(), v.end());
            for (std::size_t q = 0; q < probabilities.size(); ++q)
                cell[(2 + static_cast<Index>(q)) * plane] = static_cast<T>(quantile_sorted(v.data(), K, probabilities[q]));
        }
    return out;
}

}  // namespace maunet::stats
