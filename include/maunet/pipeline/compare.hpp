// maunet/pipeline/compare.hpp: score several methods on the same held-out fields and report
// them as a table and as JSON (the output of `maunet demo` and `maunet eval`).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "maunet/io/json.hpp"
#include "maunet/metrics/report.hpp"

namespace maunet::pipeline {

struct MethodResult {
    std::string name;
    std::string task;
    Index parameters = 0;      // trainable parameters (0 for interpolation and raw input)
    double ms_per_field = 0;   // inference time per field (median over repeats)
    metrics::MetricReport report;
};

// Scores predictions [N, 1, H, W] against observations of the same shape (mask: 1 valid, or
// empty for all valid), in physical units, with the given metric options.
template <class T>
MethodResult score_method(std::string name, std::string task, Index parameters, double ms_per_field,
                          const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask,
                          const metrics::MetricOptions& options) {
    MethodResult r;
    r.name = std::move(name);
    r.task = std::move(task);
    r.parameters = parameters;
    r.ms_per_field = ms_per_field;
    r.report = metrics::evaluate(pred, obs, mask, options);
    return r;
}

// The same with the default options; `data_range` is the range R of PSNR and SSIM.
template <class T>
MethodResult score_method(std::string name, std::string task, Index parameters, double ms_per_field,
                          const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask, double data_range) {
    return score_method(std::move(name), std::move(task), parameters, ms_per_field, pred, obs, mask,
                        metrics::MetricOptions(data_range));
}

// Milliseconds per call of fn() over `repeats` runs after one warm-up (the median).
template <class Fn>
double median_ms(Fn&& fn, int repeats = 3) {
    fn();
    std::vector<double> ms;
    for (int i = 0; i < repeats; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        fn();
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}

// One JSON object per method: name, task, parameters, rmse, mae, bias, r, psnr, ssim,
// p99_error, ms_per_field, plus the remaining scores.
inline io::Json to_json(const std::vector<MethodResult>& results) {
    io::Json rows = io::Json::array();
    for (const auto& m : results) {
        io::Json j = io::Json::object();
        j.set("name", m.name)
            .set("task", m.task)
            .set("parameters", static_cast<long long>(m.parameters))
            .set("rmse", m.report.rmse)
            .set("mae", m.report.mae)
            .set("bias", m.report.bias)
            .set("r", m.report.pearson_r)
            .set("psnr", m.report.psnr)
            .set("ssim", m.report.ssim)
            .set("p99_error", m.report.p99_error)
            .set("ms_per_field", m.ms_per_field);
        for (const auto& [key, value] : m.report.fields())
            if (!j.contains(key)) j.set(key, value);
        rows.push_back(j);
    }
    return rows;
}

// A fixed-width table, one row per method.
inline std::string format_table(const std::vector<MethodResult>& results) {
    std::string out;
    char line[256];
    std::snprintf(line, sizeof line, "%-26s %10s %8s %8s %8s %7s %7s %7s %9s %9s\n", "method", "params", "RMSE", "MAE",
                  "bias", "r", "PSNR", "SSIM", "p99 err", "ms/field");
    out += line;
    out += std::string(std::string(line).size() - 1, '-') + "\n";
    for (const auto& m : results) {
        std::snprintf(line, sizeof line, "%-26s %10lld %8.4f %8.4f %8.4f %7.4f %7.2f %7.4f %9.4f %9.2f\n",
                      m.name.c_str(), static_cast<long long>(m.parameters), m.report.rmse, m.report.mae, m.report.bias,
                      m.report.pearson_r, m.report.psnr, m.report.ssim, m.report.p99_error, m.ms_per_field);
        out += line;
    }
    return out;
}

}  // namespace maunet::pipeline
