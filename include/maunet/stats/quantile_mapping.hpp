// maunet/stats/quantile_mapping.hpp: empirical quantile mapping, per grid cell over time.
//
// Fit: per cell (and day window, see bias_correction_common.hpp) the quantile tables of
// obs and sim at m = n_quantiles Hazen positions p_j = (j + 1/2) / m:  o_j = Q_obs(p_j),
// s_j = Q_sim(p_j). Apply: for a value x, with linear interpolation between table nodes,
//   inside [s_0, s_{m-1}]:  y = interp(x; s -> o)            (= Q_obs(F_sim(x)))
//   beyond (constant extrapolation of the end correction, e = 0 or m - 1):
//     additive        y = x + (o_e - s_e)
//     multiplicative  y = x * min(o_e / s_e, max_ratio)   (factor 1 if s_e = 0)
// Multiplicative outputs are also capped inside the range: y <= max_ratio * x.
//
// Precipitation (Kind::multiplicative), with p_obs_dry and p_sim_dry the dry-day fractions
// of the calibration samples:
//  - adapt_wet_day_frequency = true: the tables describe the FULL distributions, dry days
//    included (as zeros). A sim with too many wet days (p_sim_dry < p_obs_dry) sees its
//    surplus light-rain days mapped to obs quantiles below the threshold, i.e. set dry.
//    A sim with too few wet days (p_sim_dry > p_obs_dry): following Themessl et al. (2012,
//    Climatic Change 112, 449) and xsdba's adapt_freq, each dry sim day draws
//    u ~ Uniform(0, p_sim_dry) from the seeded per-cell Rng; if u > p_obs_dry the day
//    becomes wet with the amount Q_obs(u) (a small amount between the threshold and
//    Q_obs(p_sim_dry)), otherwise it stays dry. So a fraction (p_sim_dry - p_obs_dry) /
//    p_sim_dry of the dry days turns wet, restoring the observed wet-day frequency.
//    A sim that is never wet in the calibration window gets no random rain: it stays dry.
//  - adapt_wet_day_frequency = false: the tables describe the wet-day distributions only;
//    dry days stay dry and wet days are mapped wet to wet (the sim's frequency is kept).
#pragma once

#include <array>
#include <vector>

#include "maunet/stats/bias_correction_method.hpp"
#include "maunet/stats/quantiles.hpp"

namespace maunet::stats {

namespace detail {

// Quantile mapping of one (wet-day transformed) value; NaN if the window has no calibration data.
inline double quantile_map_value(double x, const Distribution& obs, const Distribution& sim, Kind kind,
                                 const BiasCorrectionConfig& cfg, Rng& rng) {
    if (obs.size == 0 || sim.size == 0) return std::numeric_limits<double>::quiet_NaN();
    const bool mult = kind == Kind::multiplicative;
    if (mult && x < cfg.wet_day_threshold) {  // a dry day
        if (cfg.adapt_wet_day_frequency && has_wet(sim) && sim.dry_fraction > obs.dry_fraction) {
            const double u = rng.uniform() * sim.dry_fraction;
            if (u > obs.dry_fraction) return table_quantile(obs.q, u);
        }
        return 0.0;
    }
    if (mult) {
        if (sim.empty() || !has_wet(sim)) return x;  // never-wet calibration: factor 1
        if (obs.empty()) return 0.0;                 // obs never wet (wet-day tables only)
    }
    const TableLookup r = interpolate_table(sim.q, obs.q, x);
    const std::size_t e = r.where == TableLookup::Where::below ? 0 : sim.q.size() - 1;
    if (r.where == TableLookup::Where::inside) return mult ? std::min(r.value, cfg.max_ratio * x) : r.value;
    return mult ? x * capped_ratio(obs.q[e], sim.q[e], cfg.max_ratio) : x + (obs.q[e] - sim.q[e]);
}

}  // namespace detail

template <class T>
class QuantileMapping : public BiasCorrectionMethod<T, QuantileMapping<T>> {
    using Base = BiasCorrectionMethod<T, QuantileMapping<T>>;
    friend Base;

public:
    static constexpr const char* kName = "QuantileMapping";
    static constexpr const char* kMethod = "qm";  // the CLI's and the fit file's name

    explicit QuantileMapping(Kind kind = Kind::multiplicative, BiasCorrectionConfig config = {},
                             Index n_quantiles = 100)
        : Base(kind, config, n_quantiles, true) {}

    Index n_quantiles() const { return this->n_quantiles_; }

private:
    Tensor<T> correct(const Tensor<T>& x, const std::vector<int>& buckets) const {
        const auto positions = plotting_positions(this->n_quantiles_);
        const Kind kind = this->kind_;
        const BiasCorrectionConfig& cfg = this->config_;
        const std::array<const detail::CellSamples<T>*, 2> samples = {&this->calib_.obs, &this->calib_.sim};
        return detail::correct_per_cell<T, 2>(
            x, buckets, this->calib_.windows, samples, kind, cfg, this->calib_.first_cell,
            [&](const std::array<const std::vector<T>*, 2>& s) {
                return std::array<detail::Distribution, 2>{detail::describe(*s[0], positions, kind, cfg),
                                                           detail::describe(*s[1], positions, kind, cfg)};
            },
            [&](const std::array<detail::Distribution, 2>& d, double v, Rng& rng) {
                return detail::quantile_map_value(v, d[0], d[1], kind, cfg, rng);
            });
    }
};

}  // namespace maunet::stats
