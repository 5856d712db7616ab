// maunet/stats/linear_scaling.hpp: linear scaling (the delta-change family's simplest member),
// per grid cell over time.
//
// Fit: per cell (and day window, see bias_correction_common.hpp) the means of the valid
// calibration values, mu_obs and mu_sim (multiplicative kind: dry values counted as 0).
// Apply:
//   additive:        y = x + (mu_obs - mu_sim)
//   multiplicative:  y = x * min(mu_obs / mu_sim, max_ratio)   (factor 1 if mu_sim = 0, so a
//                    never-wet simulation stays dry); outputs below the threshold are 0.
// Applied to the calibration simulation itself, the corrected mean equals mu_obs exactly
// (unless the cap binds or the threshold zeroes corrected values). Linear scaling corrects
// the mean only; it does not change the wet-day frequency, and config.extrapolation and
// adapt_wet_day_frequency do not apply to it.
#pragma once

#include <array>
#include <vector>

#include "maunet/stats/bias_correction_method.hpp"

namespace maunet::stats {

template <class T>
class LinearScaling : public BiasCorrectionMethod<T, LinearScaling<T>> {
    using Base = BiasCorrectionMethod<T, LinearScaling<T>>;
    friend Base;

public:
    static constexpr const char* kName = "LinearScaling";
    static constexpr const char* kMethod = "linear";  // the CLI's and the fit file's name

    explicit LinearScaling(Kind kind = Kind::multiplicative, BiasCorrectionConfig config = {})
        : Base(kind, config, 0, false) {}

private:
    struct Means {
        Index n_obs = 0, n_sim = 0;
        double obs = 0, sim = 0;
    };
    static double mean(const std::vector<T>& v) {
        double s = 0;
        for (T x : v) s += static_cast<double>(x);
        return v.empty() ? 0.0 : s / static_cast<double>(v.size());
    }

    Tensor<T> correct(const Tensor<T>& x, const std::vector<int>& buckets) const {
        const Kind kind = this->kind_;
        const BiasCorrectionConfig& cfg = this->config_;
        const std::array<const detail::CellSamples<T>*, 2> samples = {&this->calib_.obs, &this->calib_.sim};
        return detail::correct_per_cell<T, 2>(
            x, buckets, this->calib_.windows, samples, kind, cfg, this->calib_.first_cell,
            [&](const std::array<const std::vector<T>*, 2>& s) {
                return Means{static_cast<Index>(s[0]->size()), static_cast<Index>(s[1]->size()), mean(*s[0]),
                             mean(*s[1])};
            },
            [&](const Means& m, double v, Rng&) {
                if (m.n_obs == 0 || m.n_sim == 0) return std::numeric_limits<double>::quiet_NaN();
                return kind == Kind::additive ? v + (m.obs - m.sim)
                                              : v * detail::capped_ratio(m.obs, m.sim, cfg.max_ratio);
            });
    }
};

}  // namespace maunet::stats
