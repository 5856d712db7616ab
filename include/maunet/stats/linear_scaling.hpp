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

#include "maunet/stats/bias_correction_common.hpp"

namespace maunet::stats {

template <class T>
class LinearScaling {
public:
    explicit LinearScaling(Kind kind = Kind::multiplicative, BiasCorrectionConfig config = {})
        : kind_(kind), config_(config) {
        detail::check_config(config_, "LinearScaling");
    }

    void fit(const Tensor<T>& obs, const Tensor<T>& sim) {
        calib_ = detail::calibrate("LinearScaling::fit", kind_, config_, obs, detail::no_doy(), sim,
                                   detail::no_doy(), 365, false);
    }
    void fit(const Tensor<T>& obs, const std::vector<int>& obs_doy, const Tensor<T>& sim,
             const std::vector<int>& sim_doy, int days_in_year) {
        calib_ = detail::calibrate("LinearScaling::fit", kind_, config_, obs, obs_doy, sim, sim_doy, days_in_year,
                                   true);
    }

    Tensor<T> apply(const Tensor<T>& x) const { return run(x, detail::no_doy(), 365, false); }
    Tensor<T> apply(const Tensor<T>& x, const std::vector<int>& doy, int days_in_year) const {
        return run(x, doy, days_in_year, true);
    }

    bool fitted() const { return calib_.fitted; }
    Kind kind() const { return kind_; }
    const BiasCorrectionConfig& config() const { return config_; }

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

    Tensor<T> run(const Tensor<T>& x, const std::vector<int>& doy, int days_in_year, bool with_doy) const {
        const auto buckets = detail::check_apply("LinearScaling::apply", calib_, x, doy, days_in_year, with_doy);
        const Kind kind = kind_;
        const BiasCorrectionConfig& cfg = config_;
        const std::array<const detail::CellSamples<T>*, 2> samples = {&calib_.obs, &calib_.sim};
        return detail::correct_per_cell<T, 2>(
            x, buckets, calib_.windows, samples, kind, cfg,
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

    Kind kind_;
    BiasCorrectionConfig config_;
    detail::Calibration<T> calib_;
};

}  // namespace maunet::stats
