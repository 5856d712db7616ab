// maunet/metrics/pointwise.hpp: cell-by-cell scores of a prediction against observations.
//
// Every metric in maunet/metrics/ is mask-aware and follows one convention:
//   - pred and obs have the same shape: a field [H, W], a stack [N, H, W] or images
//     [N, C, H, W] (the pointwise scores accept any shape: they only look at cells);
//   - mask is optional: an empty Tensor<T>() means "all cells valid"; otherwise it has the
//     shape of pred and holds only 0 and 1 (anything else throws ArgumentError);
//   - a cell is VALID when mask == 1 AND pred and obs are both finite (NaN marks missing
//     data in this field, and masked cells may hold anything, NaN included);
//   - sums are accumulated in double whatever T is;
//   - a metric with no valid cell (an all-ocean tile, an all-missing day) returns NaN, it
//     never throws: that is a normal situation, not an error.
// The arguments always come in the order (pred, obs, mask, parameters...).
//
// Over the n valid cells, with d_i = pred_i - obs_i:
//   RMSE          = sqrt(sum d_i^2 / n)
//   MAE           = sum |d_i| / n
//   mean bias     = sum d_i / n                         (positive: pred too wet)
//   relative bias = 100 * sum d_i / sum obs_i   [%]     (NaN when sum obs_i == 0)
//   Pearson r     = sum (p_i - mean p)(o_i - mean o) / sqrt(sum (p_i - mean p)^2 sum (o_i - mean o)^2)
//                   (two-pass, centred sums; NaN when pred or obs is constant over the valid cells)
//   PSNR          = 20 log10(R / RMSE) [dB], R the data range, an explicit argument with no
//                   default (> 0); +inf when RMSE == 0, NaN when there is no valid cell.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "maunet/core/errors.hpp"
#include "maunet/core/tensor.hpp"

namespace maunet::metrics {

namespace detail {

inline double not_a_number() { return std::numeric_limits<double>::quiet_NaN(); }

// The empty Tensor<T>() (shape [0]) stands for "no mask: all cells valid".
template <class T>
bool is_no_mask(const Tensor<T>& mask) {
    return mask.rank() == 1 && mask.dim(0) == 0;
}

// Checks pred, obs and mask against each other and the mask values; `metric` names the caller.
template <class T>
void check_inputs(const char* metric, const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask) {
    require_shape(pred.shape() == obs.shape(), metric, ": pred ", pred.shape(), " and obs ", obs.shape(),
                  " must have the same shape");
    if (is_no_mask(mask)) return;
    require_shape(mask.shape() == pred.shape(), metric, ": mask ", mask.shape(), " must have the shape of pred ",
                  pred.shape(), " (or be an empty Tensor for all cells valid)");
    const T* m = mask.data();
    for (Index i = 0; i < mask.numel(); ++i)
        require(m[i] == T(0) || m[i] == T(1), metric, ": mask values must be 0 or 1, found ", m[i],
                " at flat index ", i);
}

// The mask pointer for is_valid: nullptr when the mask is the empty "all valid" tensor.
template <class T>
const T* mask_pointer(const Tensor<T>& mask) {
    return is_no_mask(mask) ? nullptr : mask.data();
}

template <class T>
bool is_valid(const T* mask, const T* pred, const T* obs, Index i) {
    return (mask == nullptr || mask[i] == T(1)) && std::isfinite(pred[i]) && std::isfinite(obs[i]);
}

// Sums are formed per time step and then added in step order (a step: one index of the
// leading axis of [N, H, W] or [N, C, H, W]; a field [H, W] or a vector is one step). So the
// result depends only on the data, not on how the steps were split into pieces: the streaming
// evaluator (streaming_report.hpp) and ranks that each score some steps get the same bits.
template <class T>
std::pair<Index, Index> time_steps(const Tensor<T>& t) {  // (steps, values per step)
    if (t.rank() < 3) return {t.numel() > 0 ? 1 : 0, t.numel()};
    return {t.dim(0), t.dim(0) > 0 ? t.numel() / t.dim(0) : 0};
}

inline void check_data_range(const char* metric, double data_range) {
    require(std::isfinite(data_range) && data_range > 0, metric,
            ": expected a data range R > 0 (e.g. max(obs) - min(obs)), found ", data_range);
}

}  // namespace detail

// All pointwise scores of one (pred, obs, mask), from one validation and two passes.
struct PointwiseScores {
    std::int64_t n_valid = 0;  // number of valid cells
    double rmse = detail::not_a_number();
    double mae = detail::not_a_number();
    double bias = detail::not_a_number();                   // mean(pred - obs)
    double relative_bias_percent = detail::not_a_number();  // 100 sum(pred - obs) / sum(obs)
    double pearson_r = detail::not_a_number();
};

template <class T>
PointwiseScores pointwise_scores(const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask = Tensor<T>(),
                                 const char* metric = "pointwise_scores") {
    detail::check_inputs(metric, pred, obs, mask);
    const T* p = pred.data();
    const T* o = obs.data();
    const T* m = detail::mask_pointer(mask);

    // Pass 1: counts, sums and the extremes of each side (a constant side has min == max);
    // each step's sums from zero, added to the totals in step order (detail::time_steps).
    const auto [steps, per_step] = detail::time_steps(pred);
    std::int64_t count = 0;
    double sum_p = 0, sum_o = 0, sum_d = 0, sum_abs_d = 0, sum_sq_d = 0;
    double min_p = 0, max_p = 0, min_o = 0, max_o = 0;
    for (Index t = 0; t < steps; ++t) {
        const std::int64_t before = count;
        double sp = 0, so = 0, sd = 0, sad = 0, ssd = 0;
        for (Index i = t * per_step; i < (t + 1) * per_step; ++i) {
            if (!detail::is_valid(m, p, o, i)) continue;
            const double pi = p[i], oi = o[i], d = pi - oi;
            if (count == 0) {
                min_p = max_p = pi;
                min_o = max_o = oi;
            }
            min_p = std::min(min_p, pi), max_p = std::max(max_p, pi);
            min_o = std::min(min_o, oi), max_o = std::max(max_o, oi);
            ++count;
            sp += pi, so += oi, sd += d, sad += std::abs(d), ssd += d * d;
        }
        if (count > before) sum_p += sp, sum_o += so, sum_d += sd, sum_abs_d += sad, sum_sq_d += ssd;
    }
    PointwiseScores s;
    s.n_valid = count;
    if (count == 0) return s;
    const double c = static_cast<double>(count);
    s.rmse = std::sqrt(sum_sq_d / c);
    s.mae = sum_abs_d / c;
    s.bias = sum_d / c;
    s.relative_bias_percent = sum_o == 0 ? detail::not_a_number() : 100.0 * sum_d / sum_o;

    // Pass 2: centred sums for Pearson r (exactly zero variance is detected by min == max).
    if (min_p == max_p || min_o == max_o) return s;
    const double mean_p = sum_p / c, mean_o = sum_o / c;
    double spp = 0, soo = 0, spo = 0;
    for (Index t = 0; t < steps; ++t) {
        double a = 0, b = 0, ab = 0;
        for (Index i = t * per_step; i < (t + 1) * per_step; ++i) {
            if (!detail::is_valid(m, p, o, i)) continue;
            const double dp = p[i] - mean_p, dob = o[i] - mean_o;
            a += dp * dp, b += dob * dob, ab += dp * dob;
        }
        spp += a, soo += b, spo += ab;
    }
    s.pearson_r = std::clamp(spo / std::sqrt(spp * soo), -1.0, 1.0);
    return s;
}

// Root-mean-square error over the valid cells; NaN if none.
template <class T>
double rmse(const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask = Tensor<T>()) {
    return pointwise_scores(pred, obs, mask, "rmse").rmse;
}

// Mean absolute error over the valid cells; NaN if none.
template <class T>
double mae(const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask = Tensor<T>()) {
    return pointwise_scores(pred, obs, mask, "mae").mae;
}

// Mean bias mean(pred - obs) over the valid cells; NaN if none.
template <class T>
double mean_bias(const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask = Tensor<T>()) {
    return pointwise_scores(pred, obs, mask, "mean_bias").bias;
}

// Relative bias 100 * sum(pred - obs) / sum(obs) in percent; NaN if no valid cell or sum(obs) == 0.
template <class T>
double relative_bias_percent(const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask = Tensor<T>()) {
    return pointwise_scores(pred, obs, mask, "relative_bias_percent").relative_bias_percent;
}

// Pearson correlation over the valid cells; NaN if none or if either side has zero variance.
template <class T>
double pearson_r(const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask = Tensor<T>()) {
    return pointwise_scores(pred, obs, mask, "pearson_r").pearson_r;
}

// PSNR from an RMSE already computed: 20 log10(data_range / rmse_value), +inf at 0, NaN stays NaN.
inline double psnr_from_rmse(double rmse_value, double data_range) {
    if (std::isnan(rmse_value)) return rmse_value;
    if (rmse_value == 0) return std::numeric_limits<double>::infinity();
    return 20.0 * std::log10(data_range / rmse_value);
}

// PSNR = 20 log10(data_range / RMSE) in dB. data_range > 0 is required (no default: the
// range of precipitation depends on units and region). +inf when RMSE == 0, NaN if no valid cell.
template <class T>
double psnr(const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask, double data_range) {
    detail::check_data_range("psnr", data_range);
    return psnr_from_rmse(pointwise_scores(pred, obs, mask, "psnr").rmse, data_range);
}

}  // namespace maunet::metrics
