// examples/cli/limits.hpp: the limits on sizes given on the command line, checked while the
// command line is parsed (a value outside them is a usage error, exit status 2). The values
// are documented in docs/cli.md and docs/security.md.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>

#include <maunet/pipeline/precip_model.hpp>

namespace maunet::cli {

inline constexpr int kMaxThreads = 256;          // --threads
inline constexpr Index kMaxQuantiles = 10000;    // bc --quantiles
inline constexpr std::size_t kMaxPlotText = 120; // characters of a title or units drawn by plot
using pipeline::kMaxFactor;                      // --factor (64)

// The number of hardware threads (at least 1, at most kMaxThreads).
inline int hardware_threads() {
    const unsigned n = std::thread::hardware_concurrency();
    return std::clamp(static_cast<int>(n), 1, kMaxThreads);
}

// --threads N, 1..kMaxThreads. Left at 0 when not given: the library's default then applies
// (the hardware count; see core/threading.hpp).
inline CLI::Option* add_threads_option(CLI::App* cmd, int& threads) {
    return cmd->add_option("--threads", threads,
                           "threads, 1 to " + std::to_string(kMaxThreads) + " (default: all " +
                               std::to_string(hardware_threads()) + " hardware threads)")
        ->check(CLI::Range(1, kMaxThreads));
}

// A number that is finite and in [lo, hi] (CLI::Range lets NaN through).
inline CLI::Validator finite_in(double lo, double hi) {
    return CLI::Validator(
        [lo, hi](std::string& text) -> std::string {
            double x = 0;
            if (!CLI::detail::lexical_cast(text, x) || !std::isfinite(x) || x < lo || x > hi)
                return "Value " + text + " not a finite number in [" + CLI::detail::to_string(lo) + " - " +
                       CLI::detail::to_string(hi) + "]";
            return {};
        },
        "FLOAT in [" + CLI::detail::to_string(lo) + " - " + CLI::detail::to_string(hi) + "]");
}

// `text` cut to kMaxPlotText characters (an attribute of a file can be megabytes long).
inline std::string clip_text(const std::string& text) {
    return text.size() <= kMaxPlotText ? text : text.substr(0, kMaxPlotText - 3) + "...";
}

}  // namespace maunet::cli
