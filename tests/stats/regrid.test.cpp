#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "maunet/stats/regrid.hpp"
#include "support/gradcheck.hpp"

using namespace maunet;
using namespace maunet::stats;

namespace {
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// field(h, w) = f(h, w) on an H x W plane, repeated over `planes` leading planes (plane p adds 10 p).
template <class F>
Tensor<double> field(Index planes, Index h, Index w, F f) {
    Tensor<double> t(Shape{planes, h, w});
    for (Index p = 0; p < planes; ++p)
        for (Index i = 0; i < h; ++i)
            for (Index j = 0; j < w; ++j) t(p, i, j) = f(static_cast<double>(i), static_cast<double>(j)) + 10.0 * p;
    return t;
}
// Source coordinate of target index o along an axis (cell-centre convention).
double src_coord(Index o, Index in, Index out) { return (o + 0.5) * static_cast<double>(in) / out - 0.5; }
}  // namespace

TEST_CASE("regrid: constants are reproduced by every method", "[stats][regrid]") {
    const auto c = Tensor<double>::full(Shape{2, 3, 5, 7}, 3.25);
    for (auto [h, w] : {std::pair<Index, Index>{10, 14}, {2, 3}, {5, 7}, {11, 4}}) {
        for (const auto& out : {regrid_nearest(c, h, w), regrid_bilinear(c, h, w), regrid_bicubic(c, h, w),
                                regrid_bicubic(c, h, w, false, -0.5)}) {
            REQUIRE(out.shape() == Shape({2, 3, h, w}));
            for (double v : out) REQUIRE(v == Approx(3.25).margin(1e-13));
        }
    }
    const auto bm = block_mean(c, 1);
    for (Index k = 0; k < c.numel(); ++k) REQUIRE(bm[k] == c[k]);
}

TEST_CASE("regrid: 2x2 -> 4x4 matches PyTorch's F.interpolate values", "[stats][regrid]") {
    Tensor<double> x(Shape{1, 1, 2, 2}, {1, 2, 3, 4});
    // Bilinear, align_corners=False: 1-D coordinates 0, 0.25, 0.75, 1 (clamped at the borders).
    const double bl[4][4] = {{1, 1.25, 1.75, 2}, {1.5, 1.75, 2.25, 2.5}, {2.5, 2.75, 3.25, 3.5}, {3, 3.25, 3.75, 4}};
    // Bicubic a = -0.75: per-axis weight on the second source cell is -0.10546875, 0.2265625,
    // 0.7734375, 1.10546875 (Keys weights 0.03515625, 0.26171875, 0.87890625, 0.10546875 with
    // clamped taps), so out(i, j) = 1 + 2 c_i + c_j for this linear input.
    const double c[4] = {-0.10546875, 0.2265625, 0.7734375, 1.10546875};
    const auto b = regrid_bilinear(x, 4, 4);
    const auto q = regrid_bicubic(x, 4, 4);
    for (Index i = 0; i < 4; ++i)
        for (Index j = 0; j < 4; ++j) {
            CHECK(b(0, 0, i, j) == Approx(bl[i][j]).epsilon(1e-14));
            CHECK(q(0, 0, i, j) == Approx(1 + 2 * c[i] + c[j]).epsilon(1e-14));
        }
    CHECK(q(0, 0, 0, 0) == Approx(0.68359375));   // PyTorch prints 0.6836
    CHECK(q(0, 0, 0, 3) == Approx(1.89453125));   // PyTorch prints 1.8945
    const auto n = regrid_nearest(x, 4, 4);
    const double nn[4][4] = {{1, 1, 2, 2}, {1, 1, 2, 2}, {3, 3, 4, 4}, {3, 3, 4, 4}};
    for (Index i = 0; i < 4; ++i)
        for (Index j = 0; j < 4; ++j) CHECK(n(0, 0, i, j) == nn[i][j]);
}

TEST_CASE("regrid: bilinear reproduces linear fields inside, holds them constant at the border", "[stats][regrid]") {
    auto lin = [](double i, double j) { return 2.0 + 0.5 * i - 1.25 * j; };
    const auto x = field(2, 6, 9, lin);
    for (auto [h, w] : {std::pair<Index, Index>{12, 18}, {4, 5}, {13, 7}}) {
        const auto out = regrid_bilinear(x, h, w);
        for (Index p = 0; p < 2; ++p)
            for (Index i = 0; i < h; ++i)
                for (Index j = 0; j < w; ++j) {
                    // Inside [0, in - 1] the linear field; outside it the value at the clamped coordinate.
                    const double si = std::clamp(src_coord(i, 6, h), 0.0, 5.0);
                    const double sj = std::clamp(src_coord(j, 9, w), 0.0, 8.0);
                    REQUIRE(out(p, i, j) == Approx(lin(si, sj) + 10.0 * p).margin(1e-12));
                }
    }
}

TEST_CASE("regrid: bicubic a=-0.5 reproduces linear and quadratic fields away from edges; a=-0.75 does not",
          "[stats][regrid]") {
    auto lin = [](double i, double j) { return 1.0 - 0.75 * i + 0.4 * j; };
    auto quad = [](double i, double j) { return 0.3 * i * i - 0.2 * i * j + 0.1 * j * j + i - 2.0; };
    const Index H = 9, W = 11, oh = 25, ow = 30;
    const auto xl = field(1, H, W, lin), xq = field(1, H, W, quad);
    const auto ol = regrid_bicubic(xl, oh, ow, false, -0.5);
    const auto oq = regrid_bicubic(xq, oh, ow, false, -0.5);
    const auto ol75 = regrid_bicubic(xl, oh, ow);
    double worst_l75 = 0;
    Index checked = 0;
    for (Index i = 0; i < oh; ++i)
        for (Index j = 0; j < ow; ++j) {
            const double si = src_coord(i, H, oh), sj = src_coord(j, W, ow);
            // All four taps inside: floor(s) - 1 >= 0 and floor(s) + 2 <= in - 1.
            if (std::floor(si) < 1 || std::floor(si) + 2 > H - 1 || std::floor(sj) < 1 || std::floor(sj) + 2 > W - 1)
                continue;
            ++checked;
            REQUIRE(ol(0, i, j) == Approx(lin(si, sj)).margin(1e-12));
            REQUIRE(oq(0, i, j) == Approx(quad(si, sj)).margin(1e-12));
            worst_l75 = maunet::testing::max_or_nan(worst_l75, std::abs(ol75(0, i, j) - lin(si, sj)));
        }
    CHECK(checked > 200);
    CHECK(worst_l75 > 1e-3);  // a = -0.75 is NOT exact for linear fields (stated in the header)
    // Hand-computed a = -0.75 weights at t = 1/4 (taps -1, 0, 1, 2): a 1-D ramp 0, 1, 2, ...
    // upsampled 4 -> 8 at target 3 (src = 1.25) gives 0.296875 + 1 instead of 1.25.
    Tensor<double> ramp(Shape{1, 4}, {0, 1, 2, 3});
    CHECK(regrid_bicubic(ramp, 1, 8)(0, 3) == Approx(1.296875).epsilon(1e-14));
    CHECK(regrid_bicubic(ramp, 1, 8, false, -0.5)(0, 3) == Approx(1.25).epsilon(1e-14));
}

TEST_CASE("regrid: NaN neighbours are dropped and weights renormalised", "[stats][regrid]") {
    Tensor<double> x(Shape{2, 2}, {1, kNaN, 3, 4});
    const auto b = regrid_bilinear(x, 4, 4);
    // (1, 1): src (0.25, 0.25), weights .5625 (1), .1875 (NaN), .1875 (3), .0625 (4).
    CHECK(b(1, 1) == Approx((0.5625 * 1 + 0.1875 * 3 + 0.0625 * 4) / (0.5625 + 0.1875 + 0.0625)));
    // (0, 3): src (0 clamped, 1 clamped) -> only the NaN cell has weight -> NaN.
    CHECK(std::isnan(b(0, 3)));
    CHECK(std::isnan(regrid_nearest(x, 4, 4)(0, 2)));
    CHECK(regrid_nearest(x, 4, 4)(0, 1) == 1.0);
    const auto q = regrid_bicubic(x, 4, 4);
    for (Index i = 0; i < 4; ++i)
        for (Index j = 0; j < 4; ++j)
            if (!(i <= 1 && j >= 2)) CHECK(std::isfinite(q(i, j)));
    // All missing -> all missing; no exception.
    const auto all_nan = Tensor<double>::full(Shape{3, 3}, kNaN);
    for (double v : regrid_bicubic(all_nan, 5, 5)) CHECK(std::isnan(v));
    for (double v : regrid_bilinear(all_nan, 2, 2)) CHECK(std::isnan(v));
}

TEST_CASE("regrid: bicubic overshoots next to a peak and clamp_negative removes it", "[stats][regrid]") {
    Tensor<float> x(Shape{1, 5}, {0, 0, 10, 0, 0});
    const auto raw = regrid_bicubic(x, 1, 20);
    const auto clamped = regrid_bicubic(x, 1, 20, true);
    float lowest = 0;
    for (float v : raw) lowest = std::min(lowest, v);
    CHECK(lowest < 0.0f);
    for (Index j = 0; j < 20; ++j) {
        CHECK(clamped[j] >= 0.0f);
        CHECK(clamped[j] == std::max(raw[j], 0.0f));
    }
}

TEST_CASE("regrid: block_mean conserves sums, handles NaN and the valid fraction", "[stats][regrid]") {
    Rng rng(7);
    auto x = Tensor<double>::uniform(Shape{3, 2, 8, 12}, rng, 0, 5);
    const auto m = block_mean(x, 4);
    REQUIRE(m.shape() == Shape({3, 2, 2, 3}));
    double fine = 0, coarse = 0;
    for (double v : x) fine += v;
    for (double v : m) coarse += v;
    CHECK(coarse * 16 == Approx(fine).epsilon(1e-13));
    CHECK(m(1, 1, 1, 2) ==
          Approx((x(1, 1, 4, 8) + x(1, 1, 4, 9) + x(1, 1, 7, 11) + x(1, 1, 5, 10) + x(1, 1, 6, 8) + x(1, 1, 4, 10) +
                  x(1, 1, 4, 11) + x(1, 1, 5, 8) + x(1, 1, 5, 9) + x(1, 1, 5, 11) + x(1, 1, 6, 9) +
                  x(1, 1, 6, 10) + x(1, 1, 6, 11) + x(1, 1, 7, 8) + x(1, 1, 7, 9) + x(1, 1, 7, 10)) /
                 16));

    Tensor<double> y(Shape{2, 4}, {1, kNaN, kNaN, kNaN, 3, 5, kNaN, kNaN});
    const auto half = block_mean(y, 2);       // block 0: 3 valid of 4; block 1: all NaN
    CHECK(half(0, 0) == Approx(3.0));
    CHECK(std::isnan(half(0, 1)));
    Tensor<double> z(Shape{2, 2}, {1, kNaN, kNaN, kNaN});
    CHECK(std::isnan(block_mean(z, 2)(0, 0)));            // 1 of 4 < 0.5
    CHECK(block_mean(z, 2, 0.25)(0, 0) == 1.0);           // 1 of 4 >= 0.25
    CHECK(std::isnan(block_mean(Tensor<double>::full(Shape{2, 2}, kNaN), 2, 0.0)(0, 0)));  // none valid
    // Sum over valid cells with NaNs present: preserved for fully valid blocks.
    x(0, 0, 0, 0) = kNaN;  // block (0, 0, 0, 0) now has 15 valid cells
    const auto m2 = block_mean(x, 4);
    CHECK(m2(0, 0, 0, 1) == m(0, 0, 0, 1));
}

TEST_CASE("regrid: block_upsample replicates and inverts block_mean", "[stats][regrid]") {
    Tensor<float> x(Shape{2, 3}, {1, 2, std::numeric_limits<float>::quiet_NaN(), 4, 5, 6});
    const auto u = block_upsample(x, 3);
    REQUIRE(u.shape() == Shape({6, 9}));
    CHECK(u(0, 0) == 1.0f);
    CHECK(u(2, 5) == 2.0f);
    CHECK(std::isnan(u(1, 7)));
    CHECK(u(5, 8) == 6.0f);
    const auto back = block_mean(u, 3);
    for (Index i = 0; i < 6; ++i) CHECK((back[i] == x[i] || (std::isnan(back[i]) && std::isnan(x[i]))));
    CHECK(block_upsample(x, 1).shape() == x.shape());
}

TEST_CASE("regrid: rectilinear bilinear and nearest with increasing or decreasing coordinates",
          "[stats][regrid]") {
    // Field = 2 lat + 3 lon on lat 30..36 (stored north to south), lon 0..8 step 2.
    const std::vector<double> lat = {36, 34, 32, 30}, lon = {0, 2, 4, 6, 8};
    Tensor<double> x(Shape{2, 4, 5});
    for (Index p = 0; p < 2; ++p)
        for (Index i = 0; i < 4; ++i)
            for (Index j = 0; j < 5; ++j) x(p, i, j) = 2 * lat[i] + 3 * lon[j] + p;
    const std::vector<double> ty = {30, 31.5, 35.9, 36.5, 29.9}, tx = {8, 0, 3.3, 8.1};
    const auto out = regrid_bilinear(x, lat, lon, ty, tx);
    REQUIRE(out.shape() == Shape({2, 5, 4}));
    for (Index p = 0; p < 2; ++p)
        for (Index i = 0; i < 5; ++i)
            for (Index j = 0; j < 4; ++j) {
                const bool inside = ty[i] >= 30 && ty[i] <= 36 && tx[j] >= 0 && tx[j] <= 8;
                if (inside) CHECK(out(p, i, j) == Approx(2 * ty[i] + 3 * tx[j] + p).epsilon(1e-13));
                else CHECK(std::isnan(out(p, i, j)));
            }
    // Reversing the source axis (south to north) gives the same answer.
    const std::vector<double> lat_sn = {30, 32, 34, 36};
    Tensor<double> x_sn(Shape{2, 4, 5});
    for (Index p = 0; p < 2; ++p)
        for (Index i = 0; i < 4; ++i)
            for (Index j = 0; j < 5; ++j) x_sn(p, i, j) = x(p, 3 - i, j);
    const auto out_sn = regrid_bilinear(x_sn, lat_sn, lon, ty, tx);
    for (Index k = 0; k < out.numel(); ++k)
        CHECK((out_sn[k] == Approx(out[k]) || (std::isnan(out[k]) && std::isnan(out_sn[k]))));

    const auto near = regrid_nearest(x, lat, lon, {33, 31.2, 37}, {1, 4.9});
    CHECK(near(0, 0, 0) == x(0, 1, 0));   // 33 is a tie between 34 (index 1) and 32 (index 2): lower index
    CHECK(near(0, 0, 1) == x(0, 1, 2));   // 4.9 -> 4
    CHECK(near(1, 1, 1) == x(1, 2, 2));   // 31.2 -> 32
    CHECK(std::isnan(near(0, 2, 0)));     // 37 outside
    // NaN source cells propagate through nearest and are dropped by bilinear.
    x(0, 0, 0) = kNaN;
    CHECK(regrid_bilinear(x, lat, lon, {36}, {1})(0, 0, 0) == Approx(2 * 36 + 3 * 2));
    CHECK(std::isnan(regrid_nearest(x, lat, lon, {36}, {0.5})(0, 0, 0)));
}

TEST_CASE("regrid: bad arguments throw with clear messages", "[stats][regrid][errors]") {
    Tensor<double> x(Shape{2, 6, 6});
    CHECK_THROWS_WITH(regrid_bilinear(Tensor<double>(Shape{5}), 2, 2),
                      Catch::Contains("regrid_bilinear: expected a tensor whose last two axes are (H, W)"));
    CHECK_THROWS_AS(regrid_nearest(Tensor<double>(Shape{5}), 2, 2), ShapeError);
    CHECK_THROWS_WITH(regrid_nearest(x, 0, 3), Catch::Contains("output size of at least 1 x 1, got 0 x 3"));
    CHECK_THROWS_WITH(regrid_bicubic(x, 3, 3, false, 0.5), Catch::Contains("negative, finite kernel parameter"));
    CHECK_THROWS_AS(regrid_bicubic(x, 3, 3, false, 0.5), ArgumentError);
    CHECK_THROWS_WITH(block_mean(Tensor<double>(Shape{2, 5, 6}), 2),
                      Catch::Contains("height 5 and width 6 of shape [2, 5, 6] must both be multiples of the factor 2"));
    CHECK_THROWS_AS(block_mean(Tensor<double>(Shape{2, 5, 6}), 2), ShapeError);
    CHECK_THROWS_WITH(block_mean(x, 0), Catch::Contains("factor >= 1, got 0"));
    CHECK_THROWS_WITH(block_mean(x, 2, 1.5), Catch::Contains("min_valid_fraction in [0, 1], got 1.5"));
    CHECK_THROWS_WITH(block_upsample(x, -1), Catch::Contains("factor >= 1, got -1"));
    const std::vector<double> c6 = {0, 1, 2, 3, 4, 5};
    CHECK_THROWS_WITH(regrid_bilinear(x, {0, 1, 2}, c6, {1}, {1}),
                      Catch::Contains("src_y has 3 coordinates but the field has 6"));
    CHECK_THROWS_WITH(regrid_nearest(x, c6, {0, 1, 2, 2, 3, 4}, {1}, {1}),
                      Catch::Contains("src_x must be strictly increasing or strictly decreasing"));
    CHECK_THROWS_WITH(regrid_bilinear(x, c6, c6, {}, {1}), Catch::Contains("dst_y must hold at least one"));
    CHECK_THROWS_WITH(regrid_bilinear(x, c6, c6, {kNaN}, {1}), Catch::Contains("target coordinates must be finite"));
    CHECK_THROWS_WITH(regrid_bilinear(x, {0, 1, kNaN, 3, 4, 5}, c6, {1}, {1}),
                      Catch::Contains("source coordinates must be finite"));
}

TEST_CASE("regrid: bicubic next to missing cells stays within the valid cells it draws from", "[stats][regrid]") {
    // A coast: heavy rain next to a missing (sea) column, the situation that gave 760 mm from a
    // coarse maximum of 233 when a tiny weight sum was renormalised.
    const double nan = kNaN;
    Tensor<double> x(Shape{4, 5}, {0, 40, 233, 180, nan,  //
                                   0, 60, 200, 150, nan,  //
                                   5, 90, 120, nan, nan,  //
                                   10, 30, 80, nan, nan});
    const auto out = regrid_bicubic(x, 16, 20, /*clamp_negative=*/true);
    for (Index i = 0; i < 16; ++i)
        for (Index j = 0; j < 20; ++j) {
            // The valid coarse cells the bicubic taps of (i, j) reach: rows/columns within 2 of the source position.
            const double sy = (i + 0.5) / 4 - 0.5, sx = (j + 0.5) / 4 - 0.5;
            double lo = 1e30, hi = -1e30;
            bool near_missing = false;
            for (Index r = 0; r < 4; ++r)
                for (Index c = 0; c < 5; ++c) {
                    if (std::abs(r - std::floor(sy)) > 2 || std::abs(c - std::floor(sx)) > 2) continue;
                    if (std::isnan(x(r, c))) near_missing = true;
                    else lo = std::min(lo, x(r, c)), hi = std::max(hi, x(r, c));
                }
            const double v = out(i, j);
            if (!near_missing || std::isnan(v)) continue;
            CHECK(v >= lo - 1e-9);
            CHECK(v <= hi + 1e-9);
        }
    // Never above the coarse maximum anywhere near the coast, and nothing finite comes from no valid cell.
    for (double v : out) CHECK((std::isnan(v) || v <= 233.0 + 1e-9));
}

TEST_CASE("regrid: bicubic with too little valid weight falls back to bilinear, then nearest", "[stats][regrid]") {
    // Target (0, 0) of a 2x refinement of 3x3: src (-0.25, -0.25). Only the corner cell (0, 0) is
    // valid among the inner taps' neighbourhood when the rest of the first 2 x 2 is missing.
    Tensor<double> x(Shape{3, 3}, {7, kNaN, 1, kNaN, kNaN, 1, 1, 1, 1});
    const auto out = regrid_bicubic(x, 6, 6);
    // (1, 1): src (0.25, 0.25): inner taps (0,0) 7, (0,1) NaN, (1,0) NaN, (1,1) NaN -> bilinear weight of
    // the valid tap 0.5625 >= 0.5 -> 7 (renormalised bilinear on one tap).
    CHECK(out(1, 1) == Approx(7.0));
    // (2, 2): src (0.75, 0.75): inner taps (0,0) 7 w .0625, (1,1) NaN w .5625 ...: bilinear weight .0625 < .5
    // -> the nearest valid inner tap, 7 (not a renormalised tiny sum).
    CHECK(out(2, 2) == Approx(7.0));
    // The old renormalisation could leave [1, 7]; the new rule never does.
    for (double v : out) CHECK((std::isnan(v) || (v >= 1.0 - 1e-12 && v <= 7.0 + 1e-12)));
    // Fully valid neighbourhoods are untouched: a linear ramp is still reproduced with a = -0.5.
    Tensor<double> ramp(Shape{1, 6}, {0, 1, 2, 3, 4, 5});
    CHECK(regrid_bicubic(ramp, 1, 12, false, -0.5)(0, 5) == Approx(2.25));
}

TEST_CASE("regrid: planes without missing values equal the target-by-target weighted sums", "[stats][regrid]") {
    // Plane 0 is all finite (computed rows-then-columns), plane 1 has a NaN (target by target):
    // away from the NaN both must give sum(wy wx x) / sum(wy wx) over the 2-D taps.
    const Index H = 7, W = 9, h = 17, w = 20;
    Tensor<double> x = field(2, H, W, [](double i, double j) { return std::sin(1.3 * i) * std::cos(0.7 * j) + 0.1 * i * j; });
    x(1, 0, 0) = kNaN;
    using stats::detail::AxisTaps;
    const auto reference = [&](const AxisTaps& ty, const AxisTaps& tx, Index p, Index oy, Index ox) {
        double acc = 0, sum = 0;
        for (Index ky = 0; ky < ty.per_target; ++ky)
            for (Index kx = 0; kx < tx.per_target; ++kx) {
                const Index iy = ty.index[static_cast<std::size_t>(oy * ty.per_target + ky)];
                const Index ix = tx.index[static_cast<std::size_t>(ox * tx.per_target + kx)];
                const double wgt = ty.weight[static_cast<std::size_t>(oy * ty.per_target + ky)] *
                                   tx.weight[static_cast<std::size_t>(ox * tx.per_target + kx)];
                if (iy < 0 || ix < 0 || wgt == 0.0) continue;
                acc += wgt * x(p, iy, ix);
                sum += wgt;
            }
        return acc / sum;
    };
    const std::vector<std::pair<Tensor<double>, std::pair<AxisTaps, AxisTaps>>> cases = {
        {regrid_bicubic(x, h, w), {stats::detail::bicubic_taps(H, h, -0.75), stats::detail::bicubic_taps(W, w, -0.75)}},
        {regrid_bilinear(x, h, w), {stats::detail::bilinear_taps(H, h), stats::detail::bilinear_taps(W, w)}},
        {regrid_nearest(x, h, w), {stats::detail::nearest_taps(H, h), stats::detail::nearest_taps(W, w)}},
    };
    for (const auto& [out, taps] : cases) {
        for (Index oy = 0; oy < h; ++oy)
            for (Index ox = 0; ox < w; ++ox) {
                CAPTURE(oy, ox);
                const double expected = reference(taps.first, taps.second, 0, oy, ox);
                CHECK(out(0, oy, ox) == Approx(expected).epsilon(1e-13).margin(1e-13));
                if (oy >= 6 && ox >= 6)  // taps far from the NaN at (0, 0) of plane 1
                    CHECK(out(1, oy, ox) == Approx(reference(taps.first, taps.second, 1, oy, ox)).epsilon(1e-13));
            }
    }
    // Coordinates: targets outside the source range stay NaN on a finite plane.
    const std::vector<double> lat{0, 1, 2, 3, 4, 5, 6}, lon{0, 1, 2, 3, 4, 5, 6, 7, 8};
    const auto outside = regrid_bilinear(x, lat, lon, {-1, 3}, {4, 9.5});
    CHECK(std::isnan(outside(0, 0, 0)));
    CHECK(std::isnan(outside(0, 1, 1)));
    CHECK(outside(0, 1, 0) == Approx(x(0, 3, 4)).epsilon(1e-14));
}
