// maunet/metrics/report.hpp: every metric of maunet/metrics/ in one call.
//
//   MetricOptions options(/*data_range=*/50.0);     // L for PSNR and SSIM: no default
//   options.event_thresholds = {1.0, 10.0, 20.0};   // CSI/POD/FAR at each
//   MetricReport r = evaluate(pred, obs, mask, options);
//   for (const auto& [name, value] : r.fields()) std::cout << name << ' ' << value << '\n';
//
// The definitions and the mask convention are those of pointwise.hpp, ssim.hpp and
// extremes.hpp; evaluate() gives exactly the values the single-metric functions give. Any
// metric without a valid cell (or window, for SSIM) is NaN; PSNR is +inf when RMSE == 0.
// JSON has no NaN or inf: a JSON writer should print those as null.
//
// Cost: two passes for the pointwise scores, one copy of the valid (pred, obs) values
// (16 bytes per valid cell) for the events and quantiles, one sort of each side, and the
// SSIM filters.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "maunet/metrics/extremes.hpp"
#include "maunet/metrics/pointwise.hpp"
#include "maunet/metrics/ssim.hpp"

namespace maunet::metrics {

struct MetricOptions {
    // data_range: L of PSNR and SSIM (> 0), in the units of the data, e.g. max - min of the
    // observations over the whole evaluation set. Explicit: it changes both scores.
    explicit MetricOptions(double range) : data_range(range) {}

    double data_range;
    double wet_threshold = kDefaultWetThreshold;     // wet day: value >= wet_threshold
    std::vector<double> event_thresholds{1.0, 10.0};  // POD/FAR/CSI at each, events value >= t
    bool compute_ssim = true;                         // SSIM needs H, W >= 11 and rank 2..4
};

struct MetricReport {
    double data_range = detail::not_a_number();
    double wet_threshold = detail::not_a_number();
    std::int64_t n_valid = 0;  // valid cells (mask == 1, pred and obs finite)

    double rmse = detail::not_a_number();
    double mae = detail::not_a_number();
    double bias = detail::not_a_number();                   // mean(pred - obs)
    double relative_bias_percent = detail::not_a_number();  // 100 sum(pred - obs) / sum(obs)
    double pearson_r = detail::not_a_number();
    double psnr = detail::not_a_number();  // dB
    double ssim = detail::not_a_number();  // NaN too when options.compute_ssim was false

    double p95_error = detail::not_a_number();         // |q95(pred) - q95(obs)|
    double p99_error = detail::not_a_number();         // |q99(pred) - q99(obs)|
    double p95_signed_error = detail::not_a_number();  // q95(pred) - q95(obs)
    double p99_signed_error = detail::not_a_number();  // q99(pred) - q99(obs)
    double wet_day_frequency_error = detail::not_a_number();

    std::vector<ContingencyTable> events;  // one per options.event_thresholds, in that order

    // (name, value) in a fixed order, for tables and JSON. Event scores are named
    // "pod@<t>", "far@<t>", "csi@<t>" with t printed as by std::ostream ("1", "0.5", "25.4").
    std::vector<std::pair<std::string, double>> fields() const {
        std::vector<std::pair<std::string, double>> f = {
            {"n_valid", static_cast<double>(n_valid)},
            {"rmse", rmse},
            {"mae", mae},
            {"bias", bias},
            {"relative_bias_percent", relative_bias_percent},
            {"pearson_r", pearson_r},
            {"psnr_db", psnr},
            {"ssim", ssim},
            {"p95_error", p95_error},
            {"p99_error", p99_error},
            {"p95_signed_error", p95_signed_error},
            {"p99_signed_error", p99_signed_error},
            {"wet_day_frequency_error", wet_day_frequency_error},
        };
        for (const ContingencyTable& t : events) {
            std::ostringstream name;
            name << t.threshold;
            f.emplace_back("pod@" + name.str(), t.pod());
            f.emplace_back("far@" + name.str(), t.far());
            f.emplace_back("csi@" + name.str(), t.csi());
        }
        return f;
    }
};

// Computes every metric of pred against obs (mask: empty Tensor<T>() for all cells valid).
// Validates everything before computing anything.
template <class T>
MetricReport evaluate(const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask,
                      const MetricOptions& options) {
    detail::check_inputs("evaluate", pred, obs, mask);
    detail::check_data_range("evaluate", options.data_range);
    detail::check_threshold("evaluate (wet_threshold)", options.wet_threshold);
    for (double t : options.event_thresholds) detail::check_threshold("evaluate (event_thresholds)", t);
    if (options.compute_ssim) {
        const std::size_t rank = pred.rank();
        require(rank >= 2 && rank <= 4 && pred.dim(-2) >= detail::kSsimWindow && pred.dim(-1) >= detail::kSsimWindow,
                "evaluate: SSIM needs fields [H, W], [N, H, W] or [N, C, H, W] with H, W >= 11, got ",
                pred.shape(), " (set MetricOptions::compute_ssim = false to skip SSIM)");
    }

    MetricReport r;
    r.data_range = options.data_range;
    r.wet_threshold = options.wet_threshold;

    const PointwiseScores s = pointwise_scores(pred, obs, mask, "evaluate");
    r.n_valid = s.n_valid;
    r.rmse = s.rmse, r.mae = s.mae, r.bias = s.bias;
    r.relative_bias_percent = s.relative_bias_percent, r.pearson_r = s.pearson_r;
    r.psnr = psnr_from_rmse(s.rmse, options.data_range);
    if (options.compute_ssim) r.ssim = metrics::ssim(pred, obs, mask, options.data_range);

    std::vector<double> p, o;
    detail::valid_values(pred, obs, mask, p, o);
    for (double t : options.event_thresholds) {
        ContingencyTable table;
        table.threshold = t;
        for (std::size_t i = 0; i < p.size(); ++i) table.add(p[i], o[i]);
        r.events.push_back(table);
    }
    if (!p.empty()) {
        std::int64_t wet_p = 0, wet_o = 0;
        for (std::size_t i = 0; i < p.size(); ++i) {
            wet_p += p[i] >= options.wet_threshold ? 1 : 0;
            wet_o += o[i] >= options.wet_threshold ? 1 : 0;
        }
        r.wet_day_frequency_error = static_cast<double>(wet_p - wet_o) / static_cast<double>(p.size());
    }
    std::sort(p.begin(), p.end());
    std::sort(o.begin(), o.end());
    r.p95_signed_error = detail::quantile_of_sorted(p, 0.95) - detail::quantile_of_sorted(o, 0.95);
    r.p99_signed_error = detail::quantile_of_sorted(p, 0.99) - detail::quantile_of_sorted(o, 0.99);
    r.p95_error = std::abs(r.p95_signed_error);
    r.p99_error = std::abs(r.p99_signed_error);
    return r;
}

}  // namespace maunet::metrics
