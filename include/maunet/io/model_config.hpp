// maunet/io/model_config.hpp: UNetConfig to and from JSON (checkpoints, `maunet info`).
//
// A configuration read from a file is untrusted: every field is range-checked (integers must
// be integers) against the limits below before a network is built, and the checkpoint reader
// compares the smallest parameter count the configuration implies with the file size (see
// docs/security.md).
#pragma once

#include <cmath>
#include <string>

#include "maunet/io/json.hpp"
#include "maunet/nn/models/unet.hpp"

namespace maunet::io {

inline PoolMode pool_mode_from_string(const std::string& s) {
    for (PoolMode m : {PoolMode::mean, PoolMode::concat, PoolMode::learned, PoolMode::max, PoolMode::avg})
        if (s == maunet::to_string(m)) return m;
    throw ArgumentError("pool mode '" + s + "' is not one of mean, concat, learned, max, avg");
}
inline nn::UpsampleMode upsample_mode_from_string(const std::string& s) {
    for (auto m : {nn::UpsampleMode::mean, nn::UpsampleMode::transposed, nn::UpsampleMode::resize_conv})
        if (s == nn::to_string(m)) return m;
    throw ArgumentError("upsample mode '" + s + "' is not one of mean, transposed, resize_conv");
}

// Limits on a configuration read from a file (docs/security.md).
inline constexpr int kMaxLevels = 8;
inline constexpr int kMaxBaseWidth = 1024;       // F
inline constexpr double kMaxWidthMultiplier = 16;
inline constexpr int kMaxChannels = 256;         // in_channels, out_channels
inline constexpr Index kMaxParameters = Index(1) << 30;

// Member `key` of `j` as an integer in [lo, hi]; FormatError naming the key otherwise (a
// fraction such as 2.5, 1e300 or a string is refused, never truncated or cast).
inline long long integer_field(const Json& j, const std::string& key, long long lo, long long hi) {
    const Json& v = j.at(key);
    const auto refuse = [&](const std::string& found) -> long long {
        throw FormatError(maunet::detail::cat("'", key, "': expected an integer in [", lo, ", ", hi, "], found ", found));
    };
    if (!v.is_number()) return refuse(v.dump());
    const double x = v.as_number();
    if (!(x >= static_cast<double>(lo) && x <= static_cast<double>(hi)) || x != std::floor(x)) return refuse(v.dump());
    return static_cast<long long>(x);
}
// Member `key` as a finite number in [lo, hi] (or [lo, hi) when `open_high`).
inline double number_field(const Json& j, const std::string& key, double lo, double hi, bool open_high = false) {
    const Json& v = j.at(key);
    const double x = v.is_number() ? v.as_number() : std::nan("");
    if (!(x >= lo && (open_high ? x < hi : x <= hi)))
        throw FormatError(maunet::detail::cat("'", key, "': expected a number in [", lo, ", ", hi, open_high ? ")" : "]",
                                              ", found ", v.dump()));
    return x;
}

// A lower bound on the number of parameters of the network `c` describes: the second 3x3
// convolution of every encoder block and of the bottleneck (width(l)^2 * 9 weights each).
// Saturates at kMaxParameters + 1 instead of overflowing.
inline Index minimal_parameter_count(const nn::UNetConfig& c) {
    Index total = 0;
    for (int l = 0; l <= c.levels; ++l) {
        const Index w = c.width(l);
        Index conv = 0;
        if (!checked_mul(w, w, conv, kMaxParameters) || !checked_mul(conv, 9, conv, kMaxParameters) ||
            total + conv > kMaxParameters)
            return kMaxParameters + 1;
        total += conv;
    }
    return total;
}

inline Json to_json(const nn::UNetConfig& c) {
    Json j = Json::object();
    j.set("architecture", c.architecture)
        .set("levels", c.levels)
        .set("base_width", c.base_width)
        .set("width_multiplier", c.width_multiplier)
        .set("in_channels", c.in_channels)
        .set("out_channels", c.out_channels)
        .set("dropout_rate", c.dropout_rate)
        .set("dropout_levels", c.dropout_levels)
        .set("dropout_bottleneck", c.dropout_bottleneck)
        .set("residual", c.residual)
        .set("residual_channel", c.residual_channel)
        .set("pool_mode", maunet::to_string(c.pool_mode))
        .set("upsample_mode", nn::to_string(c.upsample_mode))
        .set("batch_norm", c.batch_norm);
    return j;
}

// Reads every field (a missing field is an error: a checkpoint must say what it holds).
inline nn::UNetConfig unet_config_from_json(const Json& j) {
    nn::UNetConfig c;
    auto integer = [&](const char* key, int lo, int hi) { return static_cast<int>(integer_field(j, key, lo, hi)); };
    c.architecture = j.at("architecture").as_string();
    if (c.architecture.size() > 64)
        throw FormatError(maunet::detail::cat("'architecture': expected at most 64 characters, found ", c.architecture.size()));
    c.levels = integer("levels", 1, kMaxLevels);
    c.base_width = integer("base_width", 1, kMaxBaseWidth);
    c.width_multiplier = number_field(j, "width_multiplier", 1.0 / 1024, kMaxWidthMultiplier);
    if (c.first_width() < 1 || c.first_width() > kMaxBaseWidth)
        throw FormatError(maunet::detail::cat("'base_width' * 'width_multiplier' = ", c.base_width, " * ",
                                              c.width_multiplier, ": expected a first-level width in [1, ",
                                              kMaxBaseWidth, "]"));
    c.in_channels = integer("in_channels", 1, kMaxChannels);
    c.out_channels = integer("out_channels", 1, kMaxChannels);
    c.dropout_rate = number_field(j, "dropout_rate", 0, 1, true);
    c.dropout_levels = integer("dropout_levels", 0, c.levels);
    c.dropout_bottleneck = j.at("dropout_bottleneck").as_bool();
    c.residual = j.at("residual").as_bool();
    c.residual_channel = integer("residual_channel", 0, c.in_channels - 1);
    c.pool_mode = pool_mode_from_string(j.at("pool_mode").as_string());
    c.upsample_mode = upsample_mode_from_string(j.at("upsample_mode").as_string());
    c.batch_norm = j.at("batch_norm").as_bool();
    if (minimal_parameter_count(c) > kMaxParameters)
        throw FormatError(maunet::detail::cat("the network described has more than ", kMaxParameters,
                                              " parameters (the limit)"));
    c.validate();
    return c;
}

}  // namespace maunet::io
