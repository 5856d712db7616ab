// The papers' comparison as `maunet demo` and `maunet compare` print it: every method scored on
// the same held-out fields for each model seed, the mean and spread over the seeds, and the RMSE
// differences the comparison is about, each with its paired bootstrap interval over the fields
// (maunet/metrics/paired_bootstrap.hpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <maunet/metrics/paired_bootstrap.hpp>
#include <maunet/pipeline/compare.hpp>
#include <maunet/pipeline/precip_model.hpp>
#include <maunet/train/sample.hpp>

namespace maunet::cli {

// The rows of the comparison, in this order; more reference rows (bilinear interpolation) may
// follow.
enum ComparisonRow { reference_row, teacher_row, alone_row, kd_row, kdkr_row, unet_row };

// One method over the seeds: its result and its per-field errors for each seed.
struct MethodRuns {
    std::vector<pipeline::MethodResult> results;
    std::vector<metrics::FieldErrors> errors;
};

// Adds one seed's results (and the errors of the same predictions), row by row.
inline void add_seed(std::vector<MethodRuns>& rows, const std::vector<pipeline::MethodResult>& results,
                     std::vector<metrics::FieldErrors> errors) {
    rows.resize(results.size());
    for (std::size_t i = 0; i < results.size(); ++i) {
        rows[i].results.push_back(results[i]);
        rows[i].errors.push_back(std::move(errors[i]));
    }
}

// Inference time of a model per field (batch 1, the first of `inputs` [N, C, H, W]): median and
// spread of repeated runs.
inline pipeline::Timing ms_per_field(const pipeline::PrecipModel<float>& m, const Tensor<float>& inputs) {
    Tensor<float> one(Shape{1, inputs.dim(1), inputs.dim(2), inputs.dim(3)});
    std::copy(inputs.begin(), inputs.begin() + one.numel(), one.begin());
    return pipeline::time_ms([&] { (void)m.predict(one); });
}

// The largest valid target of held-out fields: the data range R of PSNR and SSIM (1 if none is
// positive).
inline double data_range_of(const train::Batch<float>& b) {
    double range = 0;
    for (Index i = 0; i < b.target.numel(); ++i)
        if (b.mask[i] != 0 && std::isfinite(b.target[i])) range = std::max(range, double(b.target[i]));
    return range > 0 ? range : 1;
}

namespace detail {
inline double mean_of(const std::vector<double>& v) {
    double m = 0;
    for (double x : v) m += x;
    return m / double(v.size());
}
inline double sd_of(const std::vector<double>& v) {  // sample standard deviation (0 for one value)
    if (v.size() < 2) return 0.0;
    const double m = mean_of(v);
    double ss = 0;
    for (double x : v) ss += (x - m) * (x - m);
    return std::sqrt(ss / double(v.size() - 1));
}
}  // namespace detail

// Every method's RMSE, MAE and r over the seeds: mean, sample sd, and the range.
inline void print_seed_spread(const std::vector<MethodRuns>& rows, const std::string& title, const std::string& units) {
    const std::size_t seeds = rows.front().results.size();
    std::printf("\n%s over %zu seeds (mean, sample sd and range of the seeds' scores), in %s:\n", title.c_str(), seeds,
                units.c_str());
    std::printf("%-26s %24s %18s %8s\n", "method", "RMSE mean (sd) [min-max]", "MAE mean (sd)", "r mean");
    for (const MethodRuns& m : rows) {
        std::vector<double> rmse, mae, r;
        for (const auto& res : m.results) {
            rmse.push_back(res.report.rmse);
            mae.push_back(res.report.mae);
            r.push_back(res.report.pearson_r);
        }
        char rmse_text[64], mae_text[40];
        std::snprintf(rmse_text, sizeof rmse_text, "%.4f (%.4f) [%.3f-%.3f]", detail::mean_of(rmse),
                      detail::sd_of(rmse), *std::min_element(rmse.begin(), rmse.end()),
                      *std::max_element(rmse.begin(), rmse.end()));
        std::snprintf(mae_text, sizeof mae_text, "%.4f (%.4f)", detail::mean_of(mae), detail::sd_of(mae));
        std::printf("%-26s %24s %18s %8.4f\n", m.results.front().name.c_str(), rmse_text, mae_text, detail::mean_of(r));
    }
}

// The distilled student's cost against its teacher's: parameters, and inference time per field
// (each seed's median; the ratio of their means over seeds).
inline void print_student_cost(const std::vector<MethodRuns>& rows) {
    const auto mean_ms = [](const MethodRuns& m) {
        std::vector<double> ms;
        for (const auto& r : m.results) ms.push_back(r.ms_per_field);
        return detail::mean_of(ms);
    };
    const auto& teacher = rows[teacher_row].results.front();
    const auto& student = rows[kdkr_row].results.front();
    std::printf("\n%s: %ld parameters, %.0f%% of the teacher's %ld; %.3g ms per field against the teacher's %.3g "
                "(%.2fx as fast; batch 1, mean over seeds of each seed's median)\n",
                student.name.c_str(), static_cast<long>(student.parameters),
                100.0 * double(student.parameters) / double(teacher.parameters), static_cast<long>(teacher.parameters),
                mean_ms(rows[kdkr_row]), mean_ms(rows[teacher_row]), mean_ms(rows[teacher_row]) / mean_ms(rows[kdkr_row]));
}

// The RMSE differences the papers' comparison is about (every network against the reference;
// the distilled student against the teacher and against the same student trained alone; KD
// against the student alone; MAUNet against U-Net), each the mean over seeds with its paired
// bootstrap interval over the held-out fields; `seed` seeds the resampling.
inline void print_rmse_differences(const std::vector<MethodRuns>& rows, std::uint64_t seed, const std::string& units) {
    const std::pair<int, int> pairs[] = {{teacher_row, reference_row}, {alone_row, reference_row},
                                         {kd_row, reference_row},      {kdkr_row, reference_row},
                                         {unet_row, reference_row},    {kdkr_row, teacher_row},
                                         {kdkr_row, alone_row},        {kd_row, alone_row},
                                         {teacher_row, unet_row}};
    metrics::BootstrapOptions options;
    options.seed = seed;
    const std::size_t seeds = rows.front().results.size();
    const Index fields = rows.front().errors.front().fields();
    std::printf("\nRMSE differences (%s; mean over %zu seed%s) with %.0f%% paired bootstrap intervals over the %ld "
                "held-out fields (%d resamples):\n",
                units.c_str(), seeds, seeds == 1 ? "" : "s", 100 * options.level, static_cast<long>(fields),
                options.resamples);
    for (const auto& [a, b] : pairs) {
        const auto r = metrics::paired_bootstrap_rmse_difference(rows[a].errors, rows[b].errors, options);
        const std::string label = rows[a].results.front().name + " - " + rows[b].results.front().name;
        const char* verdict = r.high < 0 ? "lower" : r.low > 0 ? "higher" : "no clear difference";
        std::printf("  %-58s %+.4g [%+.4g, %+.4g]  %s\n", label.c_str(), r.estimate, r.low, r.high, verdict);
    }
}

}  // namespace maunet::cli
