// maunet/stats/bias_correction_file.hpp: save a fitted LinearScaling, QuantileMapping or
// QuantileDeltaMapping and load it back, so a correction fitted once applies to many runs.
//
// Layout (all integers little-endian; see docs/model-format.md):
//   offset 0   8 bytes   magic "MAUNETBC"
//          8   u32       format version (1)
//         12   u32       bytes per stored value: 4 (float32) or 8 (float64)
//         16   u64       length J of the header
//         24   J bytes   header, UTF-8 JSON: {"format", "maunet_version", "method", "kind",
//                        "n_quantiles", "config", "height", "width", "days_in_year", "buckets"}
//              2 times   the calibration samples of obs, then of sim: cells x buckets u64
//                        counts (cell-major), then the values, sorted within each (cell, bucket)
//              u32       CRC-32 of every byte before it
// The samples are what fit() keeps (valid values, dry ones set to 0, per day-of-year bucket),
// so a loaded method applies bit-identically to the fitted one.
//
// Files are written atomically. Loading validates everything and throws FormatError naming
// the path, the byte offset, and what was expected versus found.
#pragma once

#include <cmath>
#include <string>
#include <variant>

#include "maunet/io/checkpoint.hpp"
#include "maunet/stats/linear_scaling.hpp"
#include "maunet/stats/quantile_delta_mapping.hpp"
#include "maunet/stats/quantile_mapping.hpp"

namespace maunet::stats {

inline constexpr char kBiasCorrectionMagic[8] = {'M', 'A', 'U', 'N', 'E', 'T', 'B', 'C'};
inline constexpr std::uint32_t kBiasCorrectionVersion = 1;

// Any of the three fitted methods, as load_bias_correction() returns it.
template <class T>
using AnyBiasCorrection = std::variant<LinearScaling<T>, QuantileMapping<T>, QuantileDeltaMapping<T>>;

namespace detail {

inline const char* to_string(Kind k) { return k == Kind::additive ? "additive" : "multiplicative"; }

template <class T>
void put_samples(io::detail::ByteWriter& w, const CellSamples<T>& s) {
    for (const auto& off : s.offsets)
        for (int b = 0; b < s.buckets; ++b)
            w.put(static_cast<std::uint64_t>(off[static_cast<std::size_t>(b) + 1] - off[static_cast<std::size_t>(b)]));
    for (const auto& v : s.values) w.put_bytes(v.data(), sizeof(T) * v.size());
}

template <class T>
CellSamples<T> get_samples(io::detail::ByteReader& r, Index cells, int buckets, std::uint32_t value_bytes,
                           const char* which) {
    CellSamples<T> s;
    s.cells = cells;
    s.buckets = buckets;
    const std::size_t n_counts = static_cast<std::size_t>(cells) * static_cast<std::size_t>(buckets);
    if (n_counts > (r.size() - r.offset()) / 8)
        r.fail(maunet::detail::cat("file is truncated: expected ", n_counts, " ", which, " sample counts"));
    std::vector<std::uint64_t> counts(n_counts);
    std::uint64_t total = 0;
    for (auto& c : counts) {
        c = r.get<std::uint64_t>("a sample count");
        total += c;
        if (total > r.size()) r.fail(maunet::detail::cat("the ", which, " sample counts add up to more values than the file holds"));
    }
    s.values.resize(static_cast<std::size_t>(cells));
    s.offsets.resize(static_cast<std::size_t>(cells));
    std::size_t k = 0;
    for (Index c = 0; c < cells; ++c) {
        auto& vals = s.values[static_cast<std::size_t>(c)];
        auto& off = s.offsets[static_cast<std::size_t>(c)];
        off.assign(1, 0);
        for (int b = 0; b < buckets; ++b, ++k) {
            const std::size_t at = r.offset();
            r.need(static_cast<std::size_t>(counts[k]) * value_bytes, which);
            for (std::uint64_t i = 0; i < counts[k]; ++i) {
                const double v = value_bytes == 4 ? double(r.get<float>("a value")) : r.get<double>("a value");
                if (!std::isfinite(v) || (i > 0 && v < double(vals.back())))
                    r.fail(maunet::detail::cat(which, " samples of cell ", c, ", bucket ", b, " (from offset ", at,
                                               "): expected finite values in ascending order, found ", v));
                vals.push_back(static_cast<T>(v));
            }
            off.push_back(static_cast<Index>(vals.size()));
        }
    }
    return s;
}

// A header number that must be an integer in [lo, hi], checked before any conversion.
inline long long header_integer(const io::Json& j, const char* key, long long lo, long long hi) {
    const double v = j.at(key).as_number();
    require(std::isfinite(v) && v == std::floor(v) && v >= double(lo) && v <= double(hi), "'", key,
            "' must be an integer in [", lo, ", ", hi, "], found ", v);
    return static_cast<long long>(v);
}

template <class T, class Method>
Method restored(Method m, const Calibration<T>& c) {
    m.restore(c);
    return m;
}

}  // namespace detail

// Writes a fitted method to `path` atomically (float32 values for T = float, float64 for double).
template <class T, class Method>
void save_bias_correction(const std::string& path, const BiasCorrectionMethod<T, Method>& method) {
    require(method.fitted(), Method::kName, ": save to '", path, "' before fit()");
    const detail::Calibration<T>& c = method.calibration();
    const BiasCorrectionConfig& cfg = method.config();
    io::Json config = io::Json::object();
    config.set("wet_day_threshold", cfg.wet_day_threshold)
        .set("adapt_wet_day_frequency", cfg.adapt_wet_day_frequency)
        .set("max_ratio", cfg.max_ratio)
        .set("extrapolation", "constant")
        .set("window_half_width_days", cfg.window_half_width_days)
        .set("seed", std::to_string(cfg.seed));  // a string: JSON numbers are doubles, seeds are 64-bit
    io::Json header = io::Json::object();
    header.set("format", "maunet-bias-correction")
        .set("maunet_version", MAUNET_VERSION_STRING)
        .set("method", Method::kMethod)
        .set("kind", detail::to_string(method.kind()));
    if constexpr (!std::is_same_v<Method, LinearScaling<T>>)
        header.set("n_quantiles", static_cast<long long>(static_cast<const Method&>(method).n_quantiles()));
    header.set("config", config)
        .set("height", static_cast<long long>(c.height))
        .set("width", static_cast<long long>(c.width))
        .set("days_in_year", c.windows.days_in_year)
        .set("buckets", c.windows.buckets);
    const std::string json = header.dump(2);

    io::detail::ByteWriter w;
    w.put_bytes(kBiasCorrectionMagic, sizeof kBiasCorrectionMagic);
    w.put(kBiasCorrectionVersion);
    w.put(static_cast<std::uint32_t>(sizeof(T)));
    w.put(static_cast<std::uint64_t>(json.size()));
    w.put_bytes(json.data(), json.size());
    detail::put_samples(w, c.obs);
    detail::put_samples(w, c.sim);
    w.put(io::crc32(w.bytes().data(), w.bytes().size()));
    io::write_stream_atomically(path, [&](std::ostream& out) {
        out.write(w.bytes().data(), static_cast<std::streamsize>(w.bytes().size()));
    });
}

// Reads and validates a fit file; the method it holds comes back fitted, values converted to T.
template <class T>
AnyBiasCorrection<T> load_bias_correction(const std::string& path) {
    io::detail::ByteReader r(path, io::detail::read_whole_file(path));
    if (r.get_string(8, "the magic number") != std::string(kBiasCorrectionMagic, 8))
        r.fail("expected the magic 'MAUNETBC' of a maunet bias-correction fit, found other bytes");
    if (r.size() < 28) r.fail("file is truncated: too short for a bias-correction fit");
    std::uint32_t stored_crc;
    std::memcpy(&stored_crc, r.bytes().data() + r.size() - 4, 4);
    const auto version = r.get<std::uint32_t>("the format version");
    if (version != kBiasCorrectionVersion)
        r.fail(maunet::detail::cat("expected format version ", kBiasCorrectionVersion, ", found ", version,
                                   " (written by another maunet version)"));
    const auto value_bytes = r.get<std::uint32_t>("the scalar size");
    if (value_bytes != 4 && value_bytes != 8) r.fail(maunet::detail::cat("expected 4 or 8 bytes per value, found ", value_bytes));
    const auto json_len = r.get<std::uint64_t>("the header length");
    const std::size_t crc_end = r.size() - 4;
    if (json_len > crc_end - r.offset())
        r.fail(maunet::detail::cat("file is truncated: header length ", json_len, " exceeds the file size ", r.size()));
    const std::uint32_t actual_crc = io::crc32(r.bytes().data(), crc_end);
    if (actual_crc != stored_crc)
        throw FormatError(maunet::detail::cat(path, ": at offset ", crc_end, ": checksum mismatch (stored ", stored_crc,
                                              ", computed ", actual_crc, "): the file is corrupted or truncated"));
    const std::size_t header_offset = r.offset();
    std::string method;
    Kind kind = Kind::multiplicative;
    BiasCorrectionConfig cfg;
    Index n_quantiles = 0, height = 0, width = 0;
    detail::DayWindows windows;
    try {
        const io::Json h = io::Json::parse(r.get_string(static_cast<std::size_t>(json_len), "the header"));
        require(h.at("format").as_string() == "maunet-bias-correction", "'format' is not 'maunet-bias-correction'");
        method = h.at("method").as_string();
        require(method == "linear" || method == "qm" || method == "qdm", "method '", method,
                "' is not one of linear, qm, qdm");
        const std::string k = h.at("kind").as_string();
        require(k == "additive" || k == "multiplicative", "kind '", k, "' is not one of additive, multiplicative");
        kind = k == "additive" ? Kind::additive : Kind::multiplicative;
        if (method != "linear") n_quantiles = detail::header_integer(h, "n_quantiles", 2, 1 << 20);
        const io::Json& c = h.at("config");
        cfg.wet_day_threshold = c.at("wet_day_threshold").as_number();
        cfg.adapt_wet_day_frequency = c.at("adapt_wet_day_frequency").as_bool();
        cfg.max_ratio = c.at("max_ratio").as_number();
        require(c.at("extrapolation").as_string() == "constant", "extrapolation '", c.at("extrapolation").as_string(),
                "' is not 'constant'");
        cfg.window_half_width_days = static_cast<int>(detail::header_integer(c, "window_half_width_days", 0, 366));
        cfg.seed = std::stoull(c.at("seed").as_string());
        height = detail::header_integer(h, "height", 1, 1 << 24);
        width = detail::header_integer(h, "width", 1, 1 << 24);
        const int days = static_cast<int>(detail::header_integer(h, "days_in_year", 1, 366));
        detail::check_days_in_year(days, "grid");
        windows = detail::DayWindows(days, cfg.window_half_width_days);
        require(windows.buckets == detail::header_integer(h, "buckets", 1, 366), "'buckets' is ",
                h.at("buckets").as_number(), " but the window of ", cfg.window_half_width_days, " days over ", days,
                " days gives ", windows.buckets);
    } catch (const std::exception& e) {  // Json errors, require() and std::stoull
        throw FormatError(maunet::detail::cat(path, ": header at offset ", header_offset,
                                              ": invalid bias-correction description: ", e.what()));
    }
    detail::Calibration<T> calib;
    calib.height = height;
    calib.width = width;
    calib.windows = windows;
    calib.obs = detail::get_samples<T>(r, height * width, windows.buckets, value_bytes, "obs");
    calib.sim = detail::get_samples<T>(r, height * width, windows.buckets, value_bytes, "sim");
    calib.fitted = true;
    if (r.offset() != crc_end)
        r.fail(maunet::detail::cat("expected the checksum here, found ", crc_end - r.offset(), " extra bytes"));
    try {
        if (method == "linear") return detail::restored(LinearScaling<T>(kind, cfg), calib);
        if (method == "qm") return detail::restored(QuantileMapping<T>(kind, cfg, n_quantiles), calib);
        return detail::restored(QuantileDeltaMapping<T>(kind, cfg, n_quantiles), calib);
    } catch (const ArgumentError& e) {
        throw FormatError(maunet::detail::cat(path, ": invalid bias-correction settings: ", e.what()));
    }
}

}  // namespace maunet::stats
