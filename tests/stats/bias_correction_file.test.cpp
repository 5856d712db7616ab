#include <catch2/catch.hpp>

#include <cstring>

#include "maunet/stats/bias_correction_file.hpp"
#include "bias_correction_test_data.hpp"
#include "support/scratch_dir.hpp"

using namespace maunet;
using namespace maunet::stats;
using namespace maunet::testing;

namespace {

// A 2 x 3 grid with a missing value, a never-wet cell and 10 years of days.
struct Data {
    Tensor<float> obs = series<float>(3650, 2, 3, 11, precipitation(0.5));
    Tensor<float> sim = series<float>(3650, 2, 3, 12, precipitation(0.3, 0.9, 7.0));
    Tensor<float> fut = series<float>(730, 2, 3, 13, precipitation(0.25, 0.9, 8.0));
    Data() {
        obs(5, 0, 1) = std::numeric_limits<float>::quiet_NaN();
        for (Index t = 0; t < sim.dim(0); ++t) sim(t, 1, 2) = 0.0f;
    }
};

template <class Method>
void check_round_trip(Method fitted, const Data& d, const std::string& path, bool windows) {
    std::vector<int> obs_doy, sim_doy, fut_doy;
    for (Index t = 0; t < d.obs.dim(0); ++t) obs_doy.push_back(static_cast<int>(t % 365) + 1);
    sim_doy = obs_doy;
    for (Index t = 0; t < d.fut.dim(0); ++t) fut_doy.push_back(static_cast<int>(t % 365) + 1);
    if (windows) fitted.fit(d.obs, obs_doy, d.sim, sim_doy, 365);
    else fitted.fit(d.obs, d.sim);
    save_bias_correction(path, fitted);
    const AnyBiasCorrection<float> loaded = load_bias_correction<float>(path);
    REQUIRE(std::holds_alternative<Method>(loaded));
    const Method& m = std::get<Method>(loaded);
    CHECK(m.fitted());
    CHECK(m.kind() == fitted.kind());
    CHECK(m.config().seed == fitted.config().seed);
    CHECK(m.config().window_half_width_days == fitted.config().window_half_width_days);
    const Tensor<float> a = windows ? fitted.apply(d.fut, fut_doy, 365) : fitted.apply(d.fut);
    const Tensor<float> b = windows ? m.apply(d.fut, fut_doy, 365) : m.apply(d.fut);
    REQUIRE(a.shape() == b.shape());
    for (Index k = 0; k < a.numel(); ++k) {
        if (std::isnan(a[k])) REQUIRE(std::isnan(b[k]));
        else REQUIRE(a[k] == b[k]);  // bit-identical: the samples are stored exactly
    }
}

}  // namespace

TEST_CASE("bias-correction fits round-trip through the fit file", "[stats][bias][file]") {
    ScratchDir dir("bc_file");
    const Data d;
    BiasCorrectionConfig cfg;
    cfg.seed = 0xfedcba9876543210ULL;  // above 2^53: must survive the JSON header exactly
    cfg.max_ratio = 4;
    check_round_trip(LinearScaling<float>(Kind::multiplicative, cfg), d, dir.file("ls.bc"), false);
    check_round_trip(LinearScaling<float>(Kind::additive, cfg), d, dir.file("ls_add.bc"), false);
    check_round_trip(QuantileMapping<float>(Kind::multiplicative, cfg, 50), d, dir.file("qm.bc"), false);
    BiasCorrectionConfig keep = cfg;
    keep.adapt_wet_day_frequency = false;
    check_round_trip(QuantileMapping<float>(Kind::multiplicative, keep, 20), d, dir.file("qm_keep.bc"), false);
    check_round_trip(QuantileDeltaMapping<float>(Kind::multiplicative, cfg, 100), d, dir.file("qdm.bc"), false);
    BiasCorrectionConfig windowed = cfg;
    windowed.window_half_width_days = 15;
    check_round_trip(QuantileDeltaMapping<float>(Kind::multiplicative, windowed, 30), d, dir.file("qdm_w.bc"), true);
    check_round_trip(LinearScaling<float>(Kind::additive, windowed), d, dir.file("ls_w.bc"), true);
    CHECK(dir.listing() == std::vector<std::string>{"ls.bc", "ls_add.bc", "ls_w.bc", "qdm.bc", "qdm_w.bc", "qm.bc",
                                                    "qm_keep.bc"});  // no temporaries left
}

TEST_CASE("a float64 fit file loads into a float method and keeps the n_quantiles", "[stats][bias][file]") {
    ScratchDir dir("bc_file64");
    const auto obs = series<double>(400, 1, 2, 21, precipitation(0.4));
    const auto sim = series<double>(400, 1, 2, 22, precipitation(0.2));
    QuantileMapping<double> qm(Kind::multiplicative, {}, 37);
    qm.fit(obs, sim);
    save_bias_correction(dir.file("qm.bc"), qm);
    const auto loaded = load_bias_correction<float>(dir.file("qm.bc"));
    REQUIRE(std::holds_alternative<QuantileMapping<float>>(loaded));
    CHECK(std::get<QuantileMapping<float>>(loaded).n_quantiles() == 37);
    const Tensor<double> a = qm.apply(sim);
    Tensor<float> sim_f(sim.shape());
    for (Index k = 0; k < sim.numel(); ++k) sim_f[k] = static_cast<float>(sim[k]);
    const Tensor<float> b = std::get<QuantileMapping<float>>(loaded).apply(sim_f);
    for (Index k = 0; k < a.numel(); ++k) REQUIRE(b[k] == Approx(a[k]).epsilon(1e-5).margin(1e-5));
}

TEST_CASE("bad fit files are rejected with the path, the offset and what was wrong", "[stats][bias][file][errors]") {
    ScratchDir dir("bc_file_bad");
    const auto obs = series<float>(200, 2, 2, 31, precipitation(0.4));
    const auto sim = series<float>(200, 2, 2, 32, precipitation(0.2));
    QuantileDeltaMapping<float> qdm(Kind::multiplicative, {}, 10);
    const std::string good = dir.file("good.bc");
    CHECK_THROWS_WITH(save_bias_correction(good, qdm), Catch::Contains("QuantileDeltaMapping: save to") &&
                                                           Catch::Contains("before fit()"));
    qdm.fit(obs, sim);
    save_bias_correction(good, qdm);
    const std::string bytes = read_bytes(good);
    const std::string bad = dir.file("bad.bc");

    SECTION("every truncation") {
        for (std::size_t n = 0; n < bytes.size(); n += (n < 64 ? 1 : 97)) {
            write_bytes(bad, bytes.substr(0, n));
            REQUIRE_THROWS_AS(load_bias_correction<float>(bad), FormatError);
        }
        write_bytes(bad, bytes.substr(0, bytes.size() - 1));
        CHECK_THROWS_WITH(load_bias_correction<float>(bad), Catch::Contains(bad) && Catch::Contains("truncated"));
        write_bytes(bad, bytes + "x");
        CHECK_THROWS_WITH(load_bias_correction<float>(bad), Catch::Contains("1 more bytes"));
    }
    SECTION("any flipped byte") {
        for (std::size_t i = 0; i < bytes.size(); i += 41) {
            std::string b = bytes;
            b[i] = static_cast<char>(b[i] ^ 0x20);
            write_bytes(bad, b);
            REQUIRE_THROWS_AS(load_bias_correction<float>(bad), FormatError);
        }
    }
    SECTION("another file type, another version") {
        std::string b = bytes;
        std::memcpy(&b[0], "MAUNETCK", 8);
        write_bytes(bad, b);
        CHECK_THROWS_WITH(load_bias_correction<float>(bad), Catch::Contains("at offset 8") &&
                                                                Catch::Contains("expected the magic 'MAUNETBC'"));
        b = bytes;
        b[8] = 3;
        write_bytes(bad, b);
        CHECK_THROWS_WITH(load_bias_correction<float>(bad), Catch::Contains("expected format version 1 or 2, found 3"));
    }
    SECTION("a consistent file (valid CRC) with unsorted samples or a bad setting") {
        // Rewrite the content and recompute the checksums (of the header, of the one tile), so
        // the reader's own checks are reached.
        const auto with_crc = [](std::string b) {
            std::uint64_t json_len = 0;
            std::memcpy(&json_len, &b[16], 8);
            const std::size_t header_end = 24 + static_cast<std::size_t>(json_len);
            const std::uint32_t h = io::crc32(b.data(), header_end);
            std::memcpy(&b[header_end], &h, 4);
            const std::uint32_t t = io::crc32(b.data() + header_end + 4, b.size() - header_end - 8);
            std::memcpy(&b[b.size() - 4], &t, 4);
            return b;
        };
        std::string b = bytes;
        const float big = 1e6f;
        const float small = -1.0f;
        std::memcpy(&b[b.size() - 12], &big, 4);   // the last two sim values of the last cell,
        std::memcpy(&b[b.size() - 8], &small, 4);  // now in descending order
        write_bytes(bad, with_crc(b));
        CHECK_THROWS_WITH(load_bias_correction<float>(bad), Catch::Contains("sim samples of cell 3, bucket 0") &&
                                                                Catch::Contains("ascending order") &&
                                                                Catch::Contains("tile 0"));
        b = bytes;
        const auto pos = b.find("\"max_ratio\": 10");
        REQUIRE(pos != std::string::npos);
        b[pos + 13] = 'x';  // max_ratio x0 is not valid JSON
        write_bytes(bad, with_crc(b));
        CHECK_THROWS_WITH(load_bias_correction<float>(bad), Catch::Contains("header at offset 24"));
        b = bytes;
        b.replace(b.find("\"height\": 2"), 11, "\"height\": 9");  // same length: tile_rows 2 now 5 tiles, the file ends
        write_bytes(bad, with_crc(b));
        CHECK_THROWS_WITH(load_bias_correction<float>(bad), Catch::Contains("truncated"));
        b = bytes;
        b.replace(b.find("\"width\": 2"), 10, "\"width\": 0");
        write_bytes(bad, with_crc(b));
        CHECK_THROWS_WITH(load_bias_correction<float>(bad), Catch::Contains("'width' must be an integer in [1, "));
        b = bytes;
        b.replace(b.find("\"qdm\""), 5, "\"abc\"");
        write_bytes(bad, with_crc(b));
        CHECK_THROWS_WITH(load_bias_correction<float>(bad), Catch::Contains("method 'abc' is not one of linear, qm, qdm"));
        b = bytes;
        b.replace(b.find("\"tile_rows\": 2"), 14, "\"tile_rows\": 0");
        write_bytes(bad, with_crc(b));
        CHECK_THROWS_WITH(load_bias_correction<float>(bad), Catch::Contains("'tile_rows' must be an integer in [1, 2]"));
    }
    SECTION("a flipped byte in the header or in a tile names the checksum") {
        std::string b = bytes;
        b[30] = static_cast<char>(b[30] ^ 1);
        write_bytes(bad, b);
        CHECK_THROWS_WITH(load_bias_correction<float>(bad), Catch::Contains("header checksum mismatch"));
        b = bytes;
        b[b.size() - 20] = static_cast<char>(b[b.size() - 20] ^ 1);
        write_bytes(bad, b);
        CHECK_THROWS_WITH(load_bias_correction<float>(bad), Catch::Contains("checksum mismatch of tile 0"));
    }
    SECTION("a missing file") {
        CHECK_THROWS_AS(load_bias_correction<float>(dir.file("none.bc")), IOError);
    }
}

namespace {

// Rows [r0, r0 + rows) of a [time, H, W] series.
Tensor<float> rows_of(const Tensor<float>& x, Index r0, Index rows) {
    Tensor<float> out(Shape{x.dim(0), rows, x.dim(2)});
    for (Index t = 0; t < x.dim(0); ++t)
        for (Index r = 0; r < rows; ++r)
            for (Index c = 0; c < x.dim(2); ++c) out(t, r, c) = x(t, r0 + r, c);
    return out;
}

void require_same_bits(const Tensor<float>& a, const Tensor<float>& b) {
    REQUIRE(a.shape() == b.shape());
    for (Index k = 0; k < a.numel(); ++k) {
        if (std::isnan(a[k])) REQUIRE(std::isnan(b[k]));
        else REQUIRE(a[k] == b[k]);
    }
}

// Fits `proto` on tiles of `tile_rows` rows, writes them to `path`, applies the file tile by tile
// and checks the result against the untiled fit, bit for bit; and load_bias_correction joins the tiles.
template <class Method>
void check_tiles(Method proto, const Data& d, const std::string& path, Index tile_rows) {
    Method whole = proto;
    whole.fit(d.obs, d.sim);
    const Tensor<float> expected = whole.apply(d.fut);
    const Index H = d.obs.dim(1), W = d.obs.dim(2);
    BiasCorrectionGrid grid;
    grid.units = "mm day-1";
    grid.variable = "pr";
    grid.y = {1.0, 2.0};
    grid.x = {10.0, 11.0, 12.0};
    grid.y_name = "lat";
    grid.x_name = "lon";
    grid.x_angular = true;
    BiasCorrectionFileWriter<float> w(path, H, W, tile_rows, grid);
    for (Index k = 0; k < w.num_tiles(); ++k) {
        const Index r0 = k * tile_rows, rows = std::min(tile_rows, H - r0);
        Method m = proto;
        m.fit(rows_of(d.obs, r0, rows), rows_of(d.sim, r0, rows));
        m.set_first_cell(r0 * W);
        w.add_tile(m);
    }
    w.close();
    const BiasCorrectionFileReader<float> r(path);
    CHECK(r.version() == 2);
    CHECK(r.num_tiles() == (H + tile_rows - 1) / tile_rows);
    CHECK(r.grid().units == "mm day-1");
    CHECK(r.grid().y == grid.y);
    CHECK(r.grid().x == grid.x);
    CHECK(r.grid().x_angular);
    Tensor<float> tiled(d.fut.shape());
    for (Index k = 0; k < r.num_tiles(); ++k) {
        const Tensor<float> part = std::get<Method>(r.tile(k)).apply(rows_of(d.fut, r.tile_first_row(k), r.tile_rows(k)));
        for (Index t = 0; t < part.dim(0); ++t)
            for (Index y = 0; y < part.dim(1); ++y)
                for (Index x = 0; x < W; ++x) tiled(t, r.tile_first_row(k) + y, x) = part(t, y, x);
    }
    require_same_bits(tiled, expected);
    require_same_bits(std::get<Method>(load_bias_correction<float>(path)).apply(d.fut), expected);
}

}  // namespace

TEST_CASE("a fit written tile by tile applies bit-identically to the untiled fit", "[stats][bias][file][tiles]") {
    ScratchDir dir("bc_file_tiles");
    const Data d;
    for (Index rows : {1, 2}) {
        check_tiles(QuantileDeltaMapping<float>(Kind::multiplicative, {}, 30), d, dir.file("qdm.bc"), rows);
        check_tiles(QuantileMapping<float>(Kind::multiplicative, {}, 20), d, dir.file("qm.bc"), rows);
        check_tiles(LinearScaling<float>(Kind::additive, {}), d, dir.file("ls.bc"), rows);
    }
}

TEST_CASE("the tile writer refuses tiles out of order, of the wrong size or settings, and an early close",
          "[stats][bias][file][tiles][errors]") {
    ScratchDir dir("bc_file_tiles_bad");
    const Data d;
    QuantileMapping<float> m(Kind::multiplicative, {}, 10);
    m.fit(rows_of(d.obs, 0, 1), rows_of(d.sim, 0, 1));
    {
        BiasCorrectionFileWriter<float> w(dir.file("a.bc"), 2, 3, 1);
        CHECK_THROWS_WITH(w.close(), Catch::Contains("closed after 0 of 2 tiles"));
        w.add_tile(m);
        CHECK_THROWS_WITH(w.add_tile(m), Catch::Contains("tile 1 starts at cell 3 but the method's first cell is 0"));
        QuantileMapping<float> other(Kind::multiplicative, {}, 11);
        other.fit(rows_of(d.obs, 1, 1), rows_of(d.sim, 1, 1));
        other.set_first_cell(3);
        CHECK_THROWS_WITH(w.add_tile(other), Catch::Contains("tile 1 holds other settings than tile 0"));
    }
    {
        BiasCorrectionFileWriter<float> w(dir.file("b.bc"), 2, 3, 2);
        CHECK_THROWS_WITH(w.add_tile(m), Catch::Contains("tile 0 must be 2 x 3, the method was fitted on 1 x 3"));
    }
    CHECK(dir.listing().empty());  // nothing appears without close()
}

TEST_CASE("version 1 fit files are still read", "[stats][bias][file]") {
    ScratchDir dir("bc_file_v1");
    const Data d;
    QuantileDeltaMapping<float> qdm(Kind::multiplicative, {}, 25);
    qdm.fit(d.obs, d.sim);
    write_bytes(dir.file("v1.bc"), stats::detail::encode_v1(qdm));
    const BiasCorrectionFileReader<float> r(dir.file("v1.bc"));
    CHECK(r.version() == 1);
    CHECK(r.num_tiles() == 1);
    CHECK(r.grid().units.empty());
    require_same_bits(std::get<QuantileDeltaMapping<float>>(load_bias_correction<float>(dir.file("v1.bc"))).apply(d.fut),
                      qdm.apply(d.fut));
    std::string b = stats::detail::encode_v1(qdm);
    b[b.size() - 10] = static_cast<char>(b[b.size() - 10] ^ 1);
    write_bytes(dir.file("v1bad.bc"), b);
    CHECK_THROWS_WITH(load_bias_correction<float>(dir.file("v1bad.bc")), Catch::Contains("checksum mismatch"));
}
