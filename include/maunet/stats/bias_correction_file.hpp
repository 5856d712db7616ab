// maunet/stats/bias_correction_file.hpp: save a fitted LinearScaling, QuantileMapping or
// QuantileDeltaMapping and load it back, so a correction fitted once applies to many runs.
// A fit of a large grid is written and read one tile of rows at a time, so neither side
// needs the whole grid's samples in memory.
//
// Layout of version 2 (all integers little-endian; see docs/model-format.md):
//   offset 0   8 bytes   magic "MAUNETBC"
//          8   u32       format version (2)
//         12   u32       bytes per stored value: 4 (float32) or 8 (float64)
//         16   u64       length J of the header
//         24   J bytes   header, UTF-8 JSON: {"format", "maunet_version", "method", "kind",
//                        "n_quantiles", "config", "height", "width", "days_in_year", "buckets",
//                        "tile_rows", "grid": {"units", "variable", "y_name", "x_name", "y",
//                        "x", "x_angular"}}
//              u32       CRC-32 of the bytes before it (magic to header)
//   then ceil(height / tile_rows) tiles, tile k holding rows [k R, min((k + 1) R, height)):
//              u64       length L of the tile's samples
//              L bytes   the calibration samples of obs, then of sim, for the tile's cells
//                        (row-major): cells x buckets u64 counts (cell-major), then the
//                        values, sorted within each (cell, bucket)
//              u32       CRC-32 of the length and the samples
// Version 1 (still read): the same header without tile_rows and grid, no header CRC, the
// samples of the whole grid as one block, and one CRC-32 of every byte before it at the end.
// The samples are what fit() keeps (valid values, dry ones set to 0, per day-of-year bucket),
// so a loaded method applies bit-identically to the fitted one. "grid" records what the fit
// was made on (units of the values, coordinates) so that it is not applied to other data.
//
// Files are written atomically (BiasCorrectionFileWriter: the header, then tile after tile;
// the file appears at close()). Opening validates the header, its checksum and the file size
// against the tiles' lengths; each tile is checked (CRC, counts, sorted finite values) when it
// is read. Errors are FormatError naming the path, the byte offset, and what was expected
// versus found.
#pragma once

#include <cmath>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "maunet/io/checkpoint.hpp"
#include "maunet/stats/linear_scaling.hpp"
#include "maunet/stats/quantile_delta_mapping.hpp"
#include "maunet/stats/quantile_mapping.hpp"

namespace maunet::stats {

inline constexpr char kBiasCorrectionMagic[8] = {'M', 'A', 'U', 'N', 'E', 'T', 'B', 'C'};
inline constexpr std::uint32_t kBiasCorrectionVersion = 2;

// What a fit was made on; written in the header, compared before applying (empty: unknown).
struct BiasCorrectionGrid {
    std::string units;              // of the fitted values, e.g. "mm day-1"
    std::string variable;           // the observations' variable (for messages)
    std::string y_name, x_name;     // names of the 1-D coordinates
    std::vector<double> y, x;       // 1-D coordinates (empty: none, e.g. .npy or curvilinear)
    bool x_angular = false;         // x is a longitude (wraps at 360)
};

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
Method restored(Method m, Calibration<T> c) {
    m.restore(std::move(c));
    return m;
}

}  // namespace detail

namespace detail {

// The settings of a fit file: everything of the header but the grid.
struct FitSettings {
    std::string method;
    Kind kind = Kind::multiplicative;
    BiasCorrectionConfig cfg;
    Index n_quantiles = 0, height = 0, width = 0, tile_rows = 0;
    DayWindows windows;
};

template <class T, class Method>
io::Json settings_json(const BiasCorrectionMethod<T, Method>& method, Index height, Index width) {
    const Calibration<T>& c = method.calibration();
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
        .set("height", static_cast<long long>(height))
        .set("width", static_cast<long long>(width))
        .set("days_in_year", c.windows.days_in_year)
        .set("buckets", c.windows.buckets);
    return header;
}

inline io::Json grid_json(const BiasCorrectionGrid& g) {
    io::Json y = io::Json::array(), x = io::Json::array();
    for (double v : g.y) y.push_back(v);
    for (double v : g.x) x.push_back(v);
    io::Json j = io::Json::object();
    j.set("units", g.units).set("variable", g.variable).set("y_name", g.y_name).set("x_name", g.x_name);
    j.set("y", y).set("x", x).set("x_angular", g.x_angular);
    return j;
}

inline std::vector<double> json_numbers(const io::Json& a, const char* key, std::size_t expected) {
    std::vector<double> out;
    for (const io::Json& v : a.as_array()) {
        const double d = v.as_number();
        require(std::isfinite(d), "'", key, "' holds a value that is not finite");
        out.push_back(d);
    }
    require(out.empty() || out.size() == expected, "'", key, "' holds ", out.size(), " coordinates but the grid has ",
            expected);
    return out;
}

// Parses the header (v1 keys; v2 adds tile_rows and grid). Throws plain errors (the caller adds the file).
inline FitSettings parse_settings(const io::Json& h, std::uint32_t version, BiasCorrectionGrid* grid) {
    FitSettings s;
    require(h.at("format").as_string() == "maunet-bias-correction", "'format' is not 'maunet-bias-correction'");
    s.method = h.at("method").as_string();
    require(s.method == "linear" || s.method == "qm" || s.method == "qdm", "method '", s.method,
            "' is not one of linear, qm, qdm");
    const std::string k = h.at("kind").as_string();
    require(k == "additive" || k == "multiplicative", "kind '", k, "' is not one of additive, multiplicative");
    s.kind = k == "additive" ? Kind::additive : Kind::multiplicative;
    if (s.method != "linear") s.n_quantiles = header_integer(h, "n_quantiles", 2, 1 << 20);
    const io::Json& c = h.at("config");
    s.cfg.wet_day_threshold = c.at("wet_day_threshold").as_number();
    s.cfg.adapt_wet_day_frequency = c.at("adapt_wet_day_frequency").as_bool();
    s.cfg.max_ratio = c.at("max_ratio").as_number();
    require(c.at("extrapolation").as_string() == "constant", "extrapolation '", c.at("extrapolation").as_string(),
            "' is not 'constant'");
    s.cfg.window_half_width_days = static_cast<int>(header_integer(c, "window_half_width_days", 0, 366));
    s.cfg.seed = std::stoull(c.at("seed").as_string());
    s.height = header_integer(h, "height", 1, 1 << 24);
    s.width = header_integer(h, "width", 1, 1 << 24);
    const int days = static_cast<int>(header_integer(h, "days_in_year", 1, 366));
    check_days_in_year(days, "grid");
    s.windows = DayWindows(days, s.cfg.window_half_width_days);
    require(s.windows.buckets == header_integer(h, "buckets", 1, 366), "'buckets' is ", h.at("buckets").as_number(),
            " but the window of ", s.cfg.window_half_width_days, " days over ", days, " days gives ", s.windows.buckets);
    s.tile_rows = version >= 2 ? header_integer(h, "tile_rows", 1, s.height) : s.height;
    if (version >= 2 && grid) {
        const io::Json& g = h.at("grid");
        grid->units = g.at("units").as_string();
        grid->variable = g.at("variable").as_string();
        grid->y_name = g.at("y_name").as_string();
        grid->x_name = g.at("x_name").as_string();
        grid->y = json_numbers(g.at("y"), "y", static_cast<std::size_t>(s.height));
        grid->x = json_numbers(g.at("x"), "x", static_cast<std::size_t>(s.width));
        grid->x_angular = g.at("x_angular").as_bool();
    }
    return s;
}

template <class T>
AnyBiasCorrection<T> make_method(const FitSettings& s, Calibration<T> calib, const std::string& path) {
    try {
        if (s.method == "linear") return restored(LinearScaling<T>(s.kind, s.cfg), std::move(calib));
        if (s.method == "qm") return restored(QuantileMapping<T>(s.kind, s.cfg, s.n_quantiles), std::move(calib));
        return restored(QuantileDeltaMapping<T>(s.kind, s.cfg, s.n_quantiles), std::move(calib));
    } catch (const ArgumentError& e) {
        throw FormatError(maunet::detail::cat(path, ": invalid bias-correction settings: ", e.what()));
    }
}

template <class T>
const Calibration<T>& calibration_of(const AnyBiasCorrection<T>& m) {
    return std::visit([](const auto& x) -> const Calibration<T>& { return x.calibration(); }, m);
}

// Bytes of the samples of `s` as stored with `value_bytes` per value.
template <class T>
std::uint64_t samples_bytes(const CellSamples<T>& s, std::size_t value_bytes) {
    std::uint64_t n = 8ull * static_cast<std::uint64_t>(s.cells) * static_cast<std::uint64_t>(s.buckets);
    for (const auto& v : s.values) n += value_bytes * v.size();
    return n;
}

// Writes bytes to a stream and keeps their CRC-32.
class CrcStream {
public:
    explicit CrcStream(std::ostream& out) : out_(out) {}
    void put_bytes(const void* p, std::size_t n) {
        out_.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
        crc_ = io::crc32(p, n, crc_);
    }
    template <class U>
    void put(U v) {
        put_bytes(&v, sizeof v);
    }
    std::uint32_t crc() const { return crc_; }

private:
    std::ostream& out_;
    std::uint32_t crc_ = 0;
};

template <class T>
void stream_samples(CrcStream& w, const CellSamples<T>& s) {
    for (const auto& off : s.offsets)
        for (int b = 0; b < s.buckets; ++b)
            w.put(static_cast<std::uint64_t>(off[static_cast<std::size_t>(b) + 1] - off[static_cast<std::size_t>(b)]));
    for (const auto& v : s.values) w.put_bytes(v.data(), sizeof(T) * v.size());
}

// Version 1 as it was written (whole grid, one CRC at the end): kept for the tests of the
// v1 reader.
template <class T, class Method>
std::string encode_v1(const BiasCorrectionMethod<T, Method>& method) {
    const Calibration<T>& c = method.calibration();
    const std::string json = settings_json(method, c.height, c.width).dump(2);
    io::detail::ByteWriter w;
    w.put_bytes(kBiasCorrectionMagic, sizeof kBiasCorrectionMagic);
    w.put(std::uint32_t{1});
    w.put(static_cast<std::uint32_t>(sizeof(T)));
    w.put(static_cast<std::uint64_t>(json.size()));
    w.put_bytes(json.data(), json.size());
    put_samples(w, c.obs);
    put_samples(w, c.sim);
    w.put(io::crc32(w.bytes().data(), w.bytes().size()));
    return w.bytes();
}

}  // namespace detail

namespace detail {
// A tile's block in a fit file: its length, the samples of obs then sim, and their CRC-32.
template <class T>
void write_tile_block(std::ostream& out, const Calibration<T>& c) {
    CrcStream w(out);
    w.put(samples_bytes(c.obs, sizeof(T)) + samples_bytes(c.sim, sizeof(T)));
    stream_samples(w, c.obs);
    stream_samples(w, c.sim);
    const std::uint32_t crc = w.crc();
    out.write(reinterpret_cast<const char*>(&crc), 4);
}
}  // namespace detail

// One tile of a fit file as bytes, made where the tile was fitted (another rank under mpirun)
// and handed to BiasCorrectionFileWriter::add_tile in order: the method's settings and
// position and its checksummed block, exactly as add_tile(method) writes them.
struct EncodedFitTile {
    std::string settings;
    Index height = 0, width = 0, first_cell = 0;
    std::string block;
};
// `grid_height` x `grid_width`: the whole grid the tile belongs to.
template <class T, class Method>
EncodedFitTile encode_fit_tile(const BiasCorrectionMethod<T, Method>& method, Index grid_height, Index grid_width) {
    require(method.fitted(), Method::kName, ": encode_fit_tile before fit()");
    const detail::Calibration<T>& c = method.calibration();
    std::ostringstream out;
    detail::write_tile_block(out, c);
    return {detail::settings_json(method, grid_height, grid_width).dump(2), c.height, c.width, c.first_cell, out.str()};
}

// Writes a fit file one tile of rows at a time: add_tile() with a method fitted on rows
// [k R, k R + rows) of a height x width grid (R = tile_rows; its first_cell set to k R width),
// in order; close() checks that every tile came and makes the file appear. Destroyed without
// close(), it leaves nothing. Every tile must hold the same method and settings.
template <class T>
class BiasCorrectionFileWriter {
public:
    BiasCorrectionFileWriter(std::string path, Index height, Index width, Index tile_rows, BiasCorrectionGrid grid = {})
        : path_(std::move(path)), file_(path_), height_(height), width_(width), tile_rows_(tile_rows),
          grid_(std::move(grid)) {
        require(height >= 1 && width >= 1 && tile_rows >= 1 && tile_rows <= height, "BiasCorrectionFileWriter: '",
                path_, "': expected a grid of at least 1 x 1 and tile rows in [1, height], got ", height, " x ", width,
                " and ", tile_rows);
        require(grid_.y.empty() || static_cast<Index>(grid_.y.size()) == height, "BiasCorrectionFileWriter: ",
                grid_.y.size(), " y coordinates for ", height, " rows");
        require(grid_.x.empty() || static_cast<Index>(grid_.x.size()) == width, "BiasCorrectionFileWriter: ",
                grid_.x.size(), " x coordinates for ", width, " columns");
        out_.open(file_.temporary_path(), std::ios::binary | std::ios::trunc);
        if (!out_)
            throw IOError(maunet::detail::cat("cannot open '", file_.temporary_path(), "' for writing: ",
                                              std::strerror(errno)));
    }

    Index num_tiles() const { return (height_ + tile_rows_ - 1) / tile_rows_; }
    Index tiles_written() const { return next_; }

    void add_tile(const EncodedFitTile& tile) {
        begin_tile(tile.settings, tile.height, tile.width, tile.first_cell);
        out_.write(tile.block.data(), static_cast<std::streamsize>(tile.block.size()));
        end_tile();
    }

    template <class Method>
    void add_tile(const BiasCorrectionMethod<T, Method>& method) {
        require(method.fitted(), "BiasCorrectionFileWriter: '", path_, "': tile ", next_, " is not fitted");
        const detail::Calibration<T>& c = method.calibration();
        begin_tile(detail::settings_json(method, height_, width_).dump(2), c.height, c.width, c.first_cell);
        detail::write_tile_block(out_, c);
        end_tile();
    }

    void close() {
        require(next_ == num_tiles(), "BiasCorrectionFileWriter: '", path_, "': closed after ", next_, " of ",
                num_tiles(), " tiles");
        out_.flush();
        if (!out_) throw IOError(maunet::detail::cat("writing '", path_, "' failed (disk full?)"));
        out_.close();
        if (out_.fail()) throw IOError(maunet::detail::cat("closing '", path_, "' failed"));
        file_.commit();
    }

private:
    // Checks that the next tile is rows [k R, k R + rows) with the settings of tile 0; writes
    // the file's header before tile 0.
    void begin_tile(const std::string& settings, Index height, Index width, Index first_cell) {
        const std::string op = "BiasCorrectionFileWriter: '" + path_ + "'";
        require(next_ < num_tiles(), op, ": all ", num_tiles(), " tiles were written already");
        const Index r0 = next_ * tile_rows_, rows = std::min(tile_rows_, height_ - r0);
        require_shape(height == rows && width == width_, op, ": tile ", next_, " must be ", rows, " x ", width_,
                      ", the method was fitted on ", height, " x ", width);
        require(first_cell == r0 * width_, op, ": tile ", next_, " starts at cell ", r0 * width_,
                " but the method's first cell is ", first_cell, " (set_first_cell)");
        if (next_ == 0) {
            io::Json header = io::Json::parse(settings);
            header.set("tile_rows", static_cast<long long>(tile_rows_)).set("grid", detail::grid_json(grid_));
            const std::string json = header.dump(2);
            detail::CrcStream w(out_);
            w.put_bytes(kBiasCorrectionMagic, sizeof kBiasCorrectionMagic);
            w.put(kBiasCorrectionVersion);
            w.put(static_cast<std::uint32_t>(sizeof(T)));
            w.put(static_cast<std::uint64_t>(json.size()));
            w.put_bytes(json.data(), json.size());
            const std::uint32_t crc = w.crc();
            out_.write(reinterpret_cast<const char*>(&crc), 4);
            settings_ = settings;
        } else {
            require(settings == settings_, op, ": tile ", next_, " holds other settings than tile 0");
        }
    }
    void end_tile() {
        if (!out_) throw IOError(maunet::detail::cat("writing '", path_, "' failed (disk full?)"));
        ++next_;
    }
    std::string path_;
    io::AtomicFile file_;
    std::ofstream out_;
    Index height_, width_, tile_rows_;
    BiasCorrectionGrid grid_;
    Index next_ = 0;
    std::string settings_;
};

// Writes a fitted method to `path` atomically as one tile (float32 values for T = float,
// float64 for double); `grid` records what it was fitted on.
template <class T, class Method>
void save_bias_correction(const std::string& path, const BiasCorrectionMethod<T, Method>& method,
                          BiasCorrectionGrid grid = {}) {
    require(method.fitted(), Method::kName, ": save to '", path, "' before fit()");
    const detail::Calibration<T>& c = method.calibration();
    require(c.first_cell == 0, Method::kName, ": save to '", path, "': the method is a tile (first cell ",
            c.first_cell, "); write tiles with BiasCorrectionFileWriter");
    BiasCorrectionFileWriter<T> w(path, c.height, c.width, c.height, std::move(grid));
    w.add_tile(method);
    w.close();
}

// Opens a fit file (version 1 or 2), validates its header and size; tile(k) reads, checks and
// returns the method of tile k, fitted (values converted to T), its first_cell set.
template <class T>
class BiasCorrectionFileReader {
public:
    explicit BiasCorrectionFileReader(std::string path) : path_(std::move(path)) {
        std::ifstream in(path_, std::ios::binary | std::ios::ate);
        if (!in) throw IOError("cannot open '" + path_ + "' for reading");
        file_size_ = static_cast<std::uint64_t>(in.tellg());
        in.seekg(0);
        std::string fixed(24, '\0');
        in.read(fixed.data(), 24);
        fixed.resize(static_cast<std::size_t>(in.gcount()));
        io::detail::ByteReader r(path_, fixed);
        if (r.get_string(std::min<std::size_t>(8, fixed.size()), "the magic number") != std::string(kBiasCorrectionMagic, 8))
            r.fail("expected the magic 'MAUNETBC' of a maunet bias-correction fit, found other bytes");
        version_ = r.get<std::uint32_t>("the format version");
        if (version_ != 1 && version_ != 2)
            r.fail(maunet::detail::cat("expected format version 1 or 2, found ", version_,
                                       " (written by another maunet version)"));
        if (version_ == 1) {
            open_v1();
            return;
        }
        value_bytes_ = r.get<std::uint32_t>("the scalar size");
        if (value_bytes_ != 4 && value_bytes_ != 8)
            r.fail(maunet::detail::cat("expected 4 or 8 bytes per value, found ", value_bytes_));
        const auto json_len = r.get<std::uint64_t>("the header length");
        if (json_len + 28 > file_size_)
            r.fail(maunet::detail::cat("file is truncated: header length ", json_len, " exceeds the file size ",
                                       file_size_));
        std::string json(static_cast<std::size_t>(json_len), '\0');
        in.read(json.data(), static_cast<std::streamsize>(json_len));
        std::uint32_t stored = 0;
        in.read(reinterpret_cast<char*>(&stored), 4);
        if (!in) throw IOError(maunet::detail::cat("reading '", path_, "' failed"));
        const std::uint32_t actual = io::crc32(json.data(), json.size(), io::crc32(fixed.data(), fixed.size()));
        if (actual != stored)
            throw FormatError(maunet::detail::cat(path_, ": at offset ", 24 + json_len, ": header checksum mismatch ("
                                                  "stored ", stored, ", computed ", actual,
                                                  "): the file is corrupted"));
        parse_header(json, 24);
        // The tiles' lengths must add up to the file size exactly.
        std::uint64_t at = 28 + json_len;
        for (Index k = 0; k < num_tiles(); ++k) {
            if (file_size_ - at < 12)
                throw FormatError(maunet::detail::cat(path_, ": at offset ", at, ": file is truncated: expected tile ",
                                                      k, " of ", num_tiles(), ", found ", file_size_ - at, " bytes"));
            in.seekg(static_cast<std::streamoff>(at));
            std::uint64_t len = 0;
            in.read(reinterpret_cast<char*>(&len), 8);
            if (!in) throw IOError(maunet::detail::cat("reading '", path_, "' failed"));
            if (len > file_size_ - at - 12)
                throw FormatError(maunet::detail::cat(path_, ": at offset ", at, ": file is truncated: tile ", k,
                                                      " claims ", len, " bytes, ", file_size_ - at - 12, " remain"));
            tile_offsets_.push_back(at);
            at += 12 + len;
        }
        if (at != file_size_)
            throw FormatError(maunet::detail::cat(path_, ": at offset ", at, ": expected the end of the file after ",
                                                  num_tiles(), " tiles, found ", file_size_ - at, " more bytes"));
    }

    const std::string& path() const { return path_; }
    std::uint32_t version() const { return version_; }
    const std::string& method() const { return settings_.method; }
    Kind kind() const { return settings_.kind; }
    const BiasCorrectionConfig& config() const { return settings_.cfg; }
    int days_in_year() const { return settings_.windows.days_in_year; }
    bool whole_series() const { return settings_.windows.whole_series(); }
    Index height() const { return settings_.height; }
    Index width() const { return settings_.width; }
    const BiasCorrectionGrid& grid() const { return grid_; }
    Index num_tiles() const { return (settings_.height + settings_.tile_rows - 1) / settings_.tile_rows; }
    Index tile_first_row(Index k) const { return k * settings_.tile_rows; }
    Index tile_rows(Index k) const { return std::min(settings_.tile_rows, settings_.height - tile_first_row(k)); }

    AnyBiasCorrection<T> tile(Index k) const {
        require(k >= 0 && k < num_tiles(), "BiasCorrectionFileReader: '", path_, "' has ", num_tiles(),
                " tiles, tile ", k, " asked for");
        if (version_ == 1) return v1_.value();
        std::ifstream in(path_, std::ios::binary);
        if (!in) throw IOError("cannot open '" + path_ + "' for reading");
        const std::uint64_t at = tile_offsets_[static_cast<std::size_t>(k)];
        in.seekg(static_cast<std::streamoff>(at));
        std::uint64_t len = 0;
        in.read(reinterpret_cast<char*>(&len), 8);
        std::string bytes(static_cast<std::size_t>(len), '\0');
        in.read(bytes.data(), static_cast<std::streamsize>(len));
        std::uint32_t stored = 0;
        in.read(reinterpret_cast<char*>(&stored), 4);
        if (!in) throw IOError(maunet::detail::cat("reading '", path_, "' failed (tile ", k, " at offset ", at, ")"));
        const std::uint32_t actual = io::crc32(bytes.data(), bytes.size(), io::crc32(&len, 8));
        if (actual != stored)
            throw FormatError(maunet::detail::cat(path_, ": at offset ", at + 8 + len, ": checksum mismatch of tile ", k,
                                                  " (stored ", stored, ", computed ", actual,
                                                  "): the file is corrupted"));
        io::detail::ByteReader r(maunet::detail::cat(path_, " (tile ", k, ", samples from offset ", at + 8, ")"),
                                 std::move(bytes));
        detail::Calibration<T> calib;
        calib.height = tile_rows(k);
        calib.width = settings_.width;
        calib.first_cell = tile_first_row(k) * settings_.width;
        calib.windows = settings_.windows;
        const Index cells = calib.height * calib.width;
        calib.obs = detail::get_samples<T>(r, cells, settings_.windows.buckets, value_bytes_, "obs");
        calib.sim = detail::get_samples<T>(r, cells, settings_.windows.buckets, value_bytes_, "sim");
        calib.fitted = true;
        if (r.offset() != r.size())
            r.fail(maunet::detail::cat("expected the end of the tile here, found ", r.size() - r.offset(),
                                       " extra bytes"));
        AnyBiasCorrection<T> m = detail::make_method<T>(settings_, std::move(calib), path_);
        std::visit([&](auto& x) { x.set_first_cell(tile_first_row(k) * settings_.width); }, m);
        return m;
    }

private:
    void parse_header(const std::string& json, std::size_t header_offset) {
        try {
            const io::Json h = io::Json::parse(json);
            settings_ = detail::parse_settings(h, version_, &grid_);
        } catch (const std::exception& e) {  // Json errors, require() and std::stoull
            throw FormatError(maunet::detail::cat(path_, ": header at offset ", header_offset,
                                                  ": invalid bias-correction description: ", e.what()));
        }
    }

    // Version 1: one block with a CRC of the whole file at its end; read whole.
    void open_v1() {
        io::detail::ByteReader r(path_, io::detail::read_whole_file(path_));
        (void)r.get_string(12, "the magic number and version");
        if (r.size() < 28) r.fail("file is truncated: too short for a bias-correction fit");
        std::uint32_t stored_crc;
        std::memcpy(&stored_crc, r.bytes().data() + r.size() - 4, 4);
        value_bytes_ = r.get<std::uint32_t>("the scalar size");
        if (value_bytes_ != 4 && value_bytes_ != 8)
            r.fail(maunet::detail::cat("expected 4 or 8 bytes per value, found ", value_bytes_));
        const auto json_len = r.get<std::uint64_t>("the header length");
        const std::size_t crc_end = r.size() - 4;
        if (json_len > crc_end - r.offset())
            r.fail(maunet::detail::cat("file is truncated: header length ", json_len, " exceeds the file size ", r.size()));
        const std::uint32_t actual_crc = io::crc32(r.bytes().data(), crc_end);
        if (actual_crc != stored_crc)
            throw FormatError(maunet::detail::cat(path_, ": at offset ", crc_end, ": checksum mismatch (stored ",
                                                  stored_crc, ", computed ", actual_crc,
                                                  "): the file is corrupted or truncated"));
        const std::size_t header_offset = r.offset();
        parse_header(r.get_string(static_cast<std::size_t>(json_len), "the header"), header_offset);
        detail::Calibration<T> calib;
        calib.height = settings_.height;
        calib.width = settings_.width;
        calib.windows = settings_.windows;
        calib.obs = detail::get_samples<T>(r, calib.height * calib.width, calib.windows.buckets, value_bytes_, "obs");
        calib.sim = detail::get_samples<T>(r, calib.height * calib.width, calib.windows.buckets, value_bytes_, "sim");
        calib.fitted = true;
        if (r.offset() != crc_end)
            r.fail(maunet::detail::cat("expected the checksum here, found ", crc_end - r.offset(), " extra bytes"));
        v1_ = detail::make_method<T>(settings_, std::move(calib), path_);
    }

    std::string path_;
    std::uint64_t file_size_ = 0;
    std::uint32_t version_ = 0, value_bytes_ = 4;
    detail::FitSettings settings_;
    BiasCorrectionGrid grid_;
    std::vector<std::uint64_t> tile_offsets_;
    std::optional<AnyBiasCorrection<T>> v1_;
};

// Reads and validates a whole fit file (every tile, joined into one grid); the method it
// holds comes back fitted, values converted to T.
template <class T>
AnyBiasCorrection<T> load_bias_correction(const std::string& path) {
    const BiasCorrectionFileReader<T> reader(path);
    AnyBiasCorrection<T> whole = reader.tile(0);
    if (reader.num_tiles() == 1) return whole;
    detail::Calibration<T> joined = detail::calibration_of(whole);
    joined.height = reader.height();
    for (Index k = 1; k < reader.num_tiles(); ++k) {
        const AnyBiasCorrection<T> t = reader.tile(k);
        const detail::Calibration<T>& c = detail::calibration_of(t);
        for (auto [to, from] : {std::pair{&joined.obs, &c.obs}, std::pair{&joined.sim, &c.sim}}) {
            to->values.insert(to->values.end(), from->values.begin(), from->values.end());
            to->offsets.insert(to->offsets.end(), from->offsets.begin(), from->offsets.end());
            to->cells += from->cells;
        }
    }
    std::visit([&](auto& m) { m.restore(std::move(joined)); }, whole);
    return whole;
}

}  // namespace maunet::stats
