// maunet/pipeline/compare.hpp: score several methods on the same held-out fields and report
// them as a table and as JSON (the output of `maunet demo` and `maunet eval`).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "maunet/core/errors.hpp"
#include "maunet/io/json.hpp"
#include "maunet/metrics/report.hpp"

namespace maunet::pipeline {

struct MethodResult {
    std::string name;
    std::string task;
    Index parameters = 0;      // trainable parameters (0 for interpolation and raw input)
    double ms_per_field = 0;   // inference time per field (median over repeats)
    double ms_low = 0, ms_high = 0;  // fastest and slowest of those repeats (the spread)
    metrics::MetricReport report;
};

// Wall time of repeated runs of one call, in milliseconds.
struct Timing {
    double median = 0, low = 0, high = 0;
    int runs = 0;
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

// Median (the upper of the two middle ones for an even count), fastest and slowest of times
// measured in any order.
inline Timing timing_of(std::vector<double> ms) {
    require(!ms.empty(), "timing_of: expected at least one time");
    std::sort(ms.begin(), ms.end());
    return Timing{ms[ms.size() / 2], ms.front(), ms.back(), static_cast<int>(ms.size())};
}

// Milliseconds per call of fn(): median, fastest and slowest of `repeats` runs after one
// warm-up. One timing on a shared machine can be off by a factor of 2; the median of several is
// stable, and the spread shows how far to trust it.
template <class Fn>
Timing time_ms(Fn&& fn, int repeats = 9) {
    require(repeats >= 1, "time_ms: expected repeats >= 1, got ", repeats);
    fn();
    std::vector<double> ms;
    for (int i = 0; i < repeats; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        fn();
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    return timing_of(std::move(ms));
}

// The median alone.
template <class Fn>
double median_ms(Fn&& fn, int repeats = 3) {
    return time_ms(std::forward<Fn>(fn), repeats).median;
}

// Sets a result's timing columns.
inline void set_timing(MethodResult& r, const Timing& t) {
    r.ms_per_field = t.median;
    r.ms_low = t.low;
    r.ms_high = t.high;
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
            .set("ms_per_field", m.ms_per_field)
            .set("ms_per_field_low", m.ms_low)
            .set("ms_per_field_high", m.ms_high);
        for (const auto& [key, value] : m.report.fields())
            if (!j.contains(key)) j.set(key, value);
        rows.push_back(j);
    }
    return rows;
}

// How format_table() labels its numbers.
struct TableOptions {
    std::string units;       // of the fields, e.g. "mm/day" (empty: unknown)
    bool show_cost = true;   // the params and ms/field columns (meaningless for scored files)
    double data_range = 0;   // R of PSNR and SSIM, for the legend (0: not stated)
    // The score columns computed, by name (rmse, mae, bias, r, psnr, ssim, p99); the others
    // print "-". Empty: all of them.
    std::vector<std::string> columns;

    bool shows(const std::string& name) const {
        return columns.empty() || std::find(columns.begin(), columns.end(), name) != columns.end();
    }
};

// A fixed-width table, one row per method. ms/field is "median (fastest-slowest)".
inline std::string format_table(const std::vector<MethodResult>& results, const TableOptions& options = {}) {
    std::string out;
    char line[320];
    const auto header = [&] {
        std::snprintf(line, sizeof line, "%-26s %8s %8s %8s %7s %7s %7s %9s", "method", "RMSE", "MAE", "bias", "r",
                      "PSNR", "SSIM", "p99 err");
        std::string h = line;
        if (options.show_cost) {
            std::snprintf(line, sizeof line, " %10s %22s", "params", "ms/field (min-max)");
            h += line;
        }
        return h;
    };
    const std::string h = header();
    out += h + "\n" + std::string(h.size(), '-') + "\n";
    for (const auto& m : results) {
        std::snprintf(line, sizeof line, "%-26s", m.name.c_str());
        out += line;
        const auto cell = [&](const char* name, const char* format, int width, double value) {
            if (options.shows(name)) std::snprintf(line, sizeof line, format, width, value);
            else std::snprintf(line, sizeof line, " %*s", width, "-");
            out += line;
        };
        cell("rmse", " %*.4f", 8, m.report.rmse);
        cell("mae", " %*.4f", 8, m.report.mae);
        cell("bias", " %*.4f", 8, m.report.bias);
        cell("r", " %*.4f", 7, m.report.pearson_r);
        cell("psnr", " %*.2f", 7, m.report.psnr);
        cell("ssim", " %*.4f", 7, m.report.ssim);
        cell("p99", " %*.4f", 9, m.report.p99_signed_error);
        if (options.show_cost) {
            char timing[64];
            std::snprintf(timing, sizeof timing, "%.2f (%.2f-%.2f)", m.ms_per_field, m.ms_low, m.ms_high);
            std::snprintf(line, sizeof line, " %10lld %22s", static_cast<long long>(m.parameters), timing);
            out += line;
        }
        out += "\n";
    }
    return out;
}

// What the columns of format_table() mean, one line each (printed under the table).
inline std::string table_legend(const TableOptions& options = {}) {
    const std::string u = options.units.empty() ? std::string("the field's units") : options.units;
    std::string range = "R";
    if (options.data_range > 0) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "R = %.4g", options.data_range);
        range = buf;
        if (!options.units.empty()) range += " " + options.units;
    }
    std::string out;
    out += "  RMSE, MAE   root-mean-square and mean absolute error, in " + u + " (lower is better)\n";
    out += "  bias        mean of prediction - observation, in " + u + " (> 0: too wet, < 0: too dry)\n";
    out += "  r           Pearson correlation with the observations (1 is perfect)\n";
    out += "  PSNR        peak signal-to-noise ratio, 10 log10(R^2 / MSE) in dB with data range " + range +
           " (higher is better)\n";
    out += "  SSIM        structural similarity on 11 x 11 windows with the same R (1 is perfect; nan on smaller grids)\n";
    out += "  p99 err     99th percentile of the prediction minus that of the observations, in " + u +
           " (< 0: heavy rain too weak)\n";
    if (options.show_cost) {
        out += "  params      trainable parameters (0: no network)\n";
        out += "  ms/field    inference time for one field: median, fastest and slowest of repeated runs\n";
    }
    return out;
}

}  // namespace maunet::pipeline
