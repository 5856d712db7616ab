// maunet/stats/quantile_delta_mapping.hpp: quantile delta mapping (Cannon, Sobie & Murdock
// 2015, J. Climate 28, 6938-6959), per grid cell over time.
//
// Fit on obs and the historical simulation (sim_hist); apply to a (future) series x. The
// future CDF is taken over the series being corrected, within the same day-of-year window as
// the calibration (or over the whole series when window_half_width_days = 0). With quantile
// tables at m Hazen positions (see quantiles.hpp) and linear interpolation:
//   tau = F_fut(x)                     (clamped to [p_0, p_{m-1}]: constant extrapolation)
//   additive:        y = x + (Q_obs(tau) - Q_hist(tau))
//   multiplicative:  y = x * min(Q_obs(tau) / Q_hist(tau), max_ratio)
// so the change between sim_hist and sim_future at every quantile (the difference, or the
// ratio) is carried onto the observed quantile: Q_y(tau) - Q_obs(tau) = Q_fut(tau) - Q_hist(tau)
// (additive), Q_y(tau) / Q_obs(tau) = Q_fut(tau) / Q_hist(tau) (multiplicative, ratio not capped).
// Beyond the range of the future sample tau sits at an end node, so the end correction
// (offset or ratio) is held: constant extrapolation.
//
// Precipitation (Kind::multiplicative), dry-day fractions p_obs, p_hist, p_fut:
//  - a wet x whose Q_hist(tau) is dry (the future is wetter than sim_hist at that rank, so no
//    ratio can be formed) gets y = Q_obs(tau), the plain quantile-mapped value.
//  - adapt_wet_day_frequency = true (full distributions): wet days with Q_obs(tau) below the
//    threshold become dry. A dry x draws u ~ Uniform(0, p_fut) from the seeded per-cell Rng
//    and becomes wet with amount Q_obs(u) when p_obs < u < p_hist (obs wet, sim_hist dry at
//    that rank: Themessl et al. 2012, as in quantile_mapping.hpp, to which this reduces when
//    the future equals sim_hist). A sim_hist that is never wet gives no random rain.
//  - adapt_wet_day_frequency = false: wet-day distributions only; dry days stay dry.
#pragma once

#include <array>
#include <vector>

#include "maunet/stats/bias_correction_method.hpp"
#include "maunet/stats/quantiles.hpp"

namespace maunet::stats {

namespace detail {

inline double quantile_delta_map_value(double x, const Distribution& obs, const Distribution& hist,
                                       const Distribution& fut, const std::vector<double>& positions, Kind kind,
                                       const BiasCorrectionConfig& cfg, Rng& rng) {
    if (obs.size == 0 || hist.size == 0) return std::numeric_limits<double>::quiet_NaN();
    const bool mult = kind == Kind::multiplicative;
    if (mult && x < cfg.wet_day_threshold) {  // a dry day
        if (cfg.adapt_wet_day_frequency && has_wet(hist)) {
            const double u = rng.uniform() * fut.dry_fraction;
            if (u > obs.dry_fraction && u < hist.dry_fraction) return table_quantile(obs.q, u);
        }
        return 0.0;
    }
    if (mult) {
        if (fut.empty() || hist.empty() || !has_wet(hist)) return x;  // no usable ranks: factor 1
        if (obs.empty()) return 0.0;                                    // obs never wet
    }
    const TableLookup r = interpolate_table(fut.q, positions, x);
    const double tau = r.where == TableLookup::Where::inside ? r.value
                       : r.where == TableLookup::Where::below ? positions.front()
                                                              : positions.back();
    const double o = table_quantile(obs.q, tau), s = table_quantile(hist.q, tau);
    if (!mult) return x + (o - s);
    if (!(s > 0.0) || s < cfg.wet_day_threshold) return o;
    return x * capped_ratio(o, s, cfg.max_ratio);
}

}  // namespace detail

// fit(obs, sim_hist) and apply(sim_future) as in BiasCorrectionMethod; apply() takes the future
// distribution (per cell and window) from the series it corrects.
template <class T>
class QuantileDeltaMapping : public BiasCorrectionMethod<T, QuantileDeltaMapping<T>> {
    using Base = BiasCorrectionMethod<T, QuantileDeltaMapping<T>>;
    friend Base;

public:
    static constexpr const char* kName = "QuantileDeltaMapping";
    static constexpr const char* kMethod = "qdm";  // the CLI's and the fit file's name

    explicit QuantileDeltaMapping(Kind kind = Kind::multiplicative, BiasCorrectionConfig config = {},
                                  Index n_quantiles = 100)
        : Base(kind, config, n_quantiles, true) {}

    Index n_quantiles() const { return this->n_quantiles_; }

private:
    Tensor<T> correct(const Tensor<T>& x, const std::vector<int>& buckets) const {
        const auto positions = plotting_positions(this->n_quantiles_);
        const Kind kind = this->kind_;
        const BiasCorrectionConfig& cfg = this->config_;
        const auto& calib = this->calib_;
        const auto future = detail::collect_samples(x, buckets, calib.windows.buckets, kind, cfg.wet_day_threshold);
        const std::array<const detail::CellSamples<T>*, 3> samples = {&calib.obs, &calib.sim, &future};
        return detail::correct_per_cell<T, 3>(
            x, buckets, calib.windows, samples, kind, cfg, this->calib_.first_cell,
            [&](const std::array<const std::vector<T>*, 3>& s) {
                return std::array<detail::Distribution, 3>{detail::describe(*s[0], positions, kind, cfg),
                                                           detail::describe(*s[1], positions, kind, cfg),
                                                           detail::describe(*s[2], positions, kind, cfg)};
            },
            [&](const std::array<detail::Distribution, 3>& d, double v, Rng& rng) {
                return detail::quantile_delta_map_value(v, d[0], d[1], d[2], positions, kind, cfg, rng);
            });
    }
};

}  // namespace maunet::stats
