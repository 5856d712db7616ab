#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include "maunet/io/png.hpp"
#include "support/scratch_dir.hpp"

// The decoder, for the tests only: read our PNGs back to check pixels.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#define STBI_NO_STDIO
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

using namespace maunet;
using namespace maunet::io;
using maunet::testing::ScratchDir;
using maunet::testing::read_bytes;
namespace fs = std::filesystem;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::uint32_t be32(const std::string& b, std::size_t at) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
    return v;
}

// A decoded PNG (always converted to RGB).
struct Decoded {
    int width = 0, height = 0;
    std::vector<std::uint8_t> rgb;
    Rgb at(int x, int y) const {
        const std::size_t i = (static_cast<std::size_t>(y) * width + x) * 3;
        return {rgb[i], rgb[i + 1], rgb[i + 2]};
    }
};

Decoded decode(const std::string& png) {
    int w = 0, h = 0, n = 0;
    std::unique_ptr<unsigned char, void (*)(void*)> pixels(
        stbi_load_from_memory(reinterpret_cast<const unsigned char*>(png.data()), static_cast<int>(png.size()), &w,
                              &h, &n, 3),
        stbi_image_free);
    REQUIRE(pixels);
    Decoded d;
    d.width = w;
    d.height = h;
    d.rgb.assign(pixels.get(), pixels.get() + static_cast<std::size_t>(w) * h * 3);
    return d;
}

double luminance(Rgb c) { return 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b; }

// The layout write_quicklook_png uses for this field and these options.
QuicklookLayout layout_of(const Tensor<float>& f, const QuicklookOptions& opt, double vmin, double vmax,
                          int panels = 1, const std::vector<std::string>& titles = {}) {
    std::vector<std::string> labels = {png_detail::format_tick(vmin), png_detail::format_tick(0.5 * (vmin + vmax)),
                                       png_detail::format_tick(vmax) + (opt.units.empty() ? "" : " " + opt.units)};
    return quicklook_layout(f.dim(0), f.dim(1), panels, opt, !titles.empty(), labels, titles);
}

// The centre pixel of cell (r, c) of panel p, as drawn (north_up flips the rows).
Rgb cell_pixel(const Decoded& d, const QuicklookLayout& L, const QuicklookOptions& opt, Index rows, Index r, Index c,
               int panel = 0) {
    const Index screen_row = opt.north_up ? rows - 1 - r : r;
    return d.at(L.map_x[static_cast<std::size_t>(panel)] + static_cast<int>(c) * opt.scale + opt.scale / 2,
                L.map_y + static_cast<int>(screen_row) * opt.scale + opt.scale / 2);
}

// A 12 x 20 field: 0 in row 0 (dry), NaN in the corner (11, 19), 1..10 elsewhere by column.
Tensor<float> test_field() {
    Tensor<float> f(Shape{12, 20});
    for (Index r = 0; r < 12; ++r)
        for (Index c = 0; c < 20; ++c) f(r, c) = r == 0 ? 0.0f : static_cast<float>(1 + c / 2);
    f(11, 19) = std::numeric_limits<float>::quiet_NaN();
    return f;
}

}  // namespace

TEST_CASE("colour map: cmocean rain table ends, light to dark, special colours", "[io][png][colormap]") {
    CHECK(rain_colour(0.0) == Rgb{238, 237, 243});
    CHECK(rain_colour(1.0) == Rgb{34, 27, 56});
    CHECK(rain_colour(-3.0) == rain_colour(0.0));  // clamped
    CHECK(rain_colour(7.0) == rain_colour(1.0));
    CHECK(rain_colour(128.0 / 255.0) == Rgb{61, 142, 109});  // table entry 128 exactly
    CHECK(rain_colour(kNaN) == kMissingColour);
    double previous = 1e9;
    for (int k = 0; k <= 100; ++k) {
        const double y = luminance(rain_colour(k / 100.0));
        CHECK(y < previous);  // strictly darker as the rain gets heavier
        previous = y;
    }
    CHECK(precipitation_colour(0.0, 0, 10) == kDryColour);
    CHECK(precipitation_colour(kNaN, 0, 10) == kMissingColour);
    CHECK(precipitation_colour(5.0, 0, 10) == rain_colour(0.5));
    CHECK(precipitation_colour(50.0, 0, 10) == rain_colour(1.0));
}

TEST_CASE("bitmap font covers printable ASCII", "[io][png][font]") {
    for (int c = 33; c <= 126; ++c) {
        int set = 0;
        for (int y = 0; y < 7; ++y)
            for (int x = 0; x < 5; ++x) set += font_pixel(static_cast<char>(c), x, y);
        CHECK(set > 0);
        for (int y = 0; y < 7; ++y) CHECK((font_glyph(static_cast<char>(c))[y] & ~0x1F) == 0);  // 5 columns only
    }
    for (int y = 0; y < 7; ++y) CHECK(font_glyph(' ')[y] == 0);
    CHECK(font_glyph('\x7f') == font_glyph('?'));
    CHECK(font_glyph('\n') == font_glyph('?'));
    CHECK(font_pixel('I', 2, 3));
    CHECK_FALSE(font_pixel('I', 0, 3));
    CHECK_FALSE(font_pixel('I', 5, 3));
    CHECK(text_width("") == 0);
    CHECK(text_width("ab") == 11);
    CHECK(text_width("ab", 2) == 22);
}

TEST_CASE("quicklook PNG: signature, IHDR size, atomic write", "[io][png]") {
    ScratchDir dir("png_basic");
    const auto field = test_field();
    QuicklookOptions opt;
    opt.title = "precip 2018-09-14";
    opt.units = "mm/day";
    opt.vmax = 10;
    write_quicklook_png(dir.file("q.png"), field, opt);
    CHECK(dir.listing() == std::vector<std::string>{"q.png"});  // no temporary left behind
    const std::string bytes = read_bytes(dir.file("q.png"));
    REQUIRE(bytes.size() > 33);
    CHECK(bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
    CHECK(be32(bytes, 8) == 13);               // IHDR length
    CHECK(bytes.compare(12, 4, "IHDR") == 0);
    const auto L = layout_of(field, opt, 0, 10);
    CHECK(static_cast<int>(be32(bytes, 16)) == L.width);
    CHECK(static_cast<int>(be32(bytes, 20)) == L.height);
    CHECK(bytes[24] == 8);  // bit depth
    CHECK(bytes[25] == 2);  // colour type RGB
    // The picture holds the map, the colour bar and its labels.
    CHECK(L.width >= 20 * 4 + 14 + text_width("10 mm/day"));
    CHECK(L.height >= 96 + 9);
    CHECK(bytes == quicklook_png(field, opt));  // deterministic
    // Overwriting an existing file works and still leaves no temporary.
    write_quicklook_png(dir.file("q.png"), field, opt);
    CHECK(dir.listing() == std::vector<std::string>{"q.png"});
}

TEST_CASE("quicklook PNG pixels: dry white, missing grey, colours, north up", "[io][png]") {
    const auto field = test_field();
    for (bool north_up : {true, false}) {
        QuicklookOptions opt;
        opt.title = "test";
        opt.vmax = 10;
        opt.north_up = north_up;
        const auto img = decode(quicklook_png(field, opt));
        const auto L = layout_of(field, opt, 0, 10);
        REQUIRE(img.width == L.width);
        REQUIRE(img.height == L.height);
        CHECK(cell_pixel(img, L, opt, 12, 11, 19) == Rgb{128, 128, 128});  // NaN: mid grey
        CHECK(cell_pixel(img, L, opt, 12, 0, 5) == kDryColour);
        CHECK(cell_pixel(img, L, opt, 12, 5, 0) == rain_colour(0.1));   // value 1
        CHECK(cell_pixel(img, L, opt, 12, 5, 9) == rain_colour(0.5));   // value 5
        CHECK(cell_pixel(img, L, opt, 12, 5, 19) == rain_colour(1.0));  // value 10
        // North up: row 0 (dry) is drawn at the bottom; otherwise at the top.
        const Rgb bottom_left = img.at(L.map_x[0] + 1, L.map_y + L.map_height - 2);
        const Rgb top_left = img.at(L.map_x[0] + 1, L.map_y + 1);
        CHECK((north_up ? bottom_left : top_left) == kDryColour);
        CHECK((north_up ? top_left : bottom_left) == rain_colour(0.1));
        // The map is framed.
        CHECK(img.at(L.map_x[0] - 1, L.map_y + 3) == png_detail::kFrame);
    }
}

TEST_CASE("quicklook PNG of a field that is not precipitation: 0 is on the colour scale", "[io][png]") {
    const auto field = test_field();
    QuicklookOptions opt;
    opt.vmin = -10;
    opt.vmax = 10;
    opt.dry_white = false;
    const auto img = decode(quicklook_png(field, opt));
    const auto L = layout_of(field, opt, -10, 10);
    CHECK(cell_pixel(img, L, opt, 12, 0, 5) == rain_colour(0.5));    // value 0: mid scale, not white
    CHECK(cell_pixel(img, L, opt, 12, 5, 9) == rain_colour(0.75));   // value 5
    CHECK(cell_pixel(img, L, opt, 12, 11, 19) == kMissingColour);    // NaN is still missing
}

TEST_CASE("quicklook PNG colour bar and title are drawn", "[io][png]") {
    const auto field = test_field();
    QuicklookOptions opt;
    opt.title = "precip";
    opt.units = "mm/h";
    opt.vmin = 0;
    opt.vmax = 10;
    const auto img = decode(quicklook_png(field, opt));
    const auto L = layout_of(field, opt, 0, 10);
    const int cx = L.bar_x + L.bar_width / 2;
    // Top of the bar is the heaviest colour, bottom the lightest, darker going up.
    CHECK(img.at(cx, L.bar_y) == rain_colour(1.0 - 0.5 / L.bar_height));
    CHECK(img.at(cx, L.bar_y + L.bar_height - 1) == rain_colour(0.5 / L.bar_height));
    for (int row = 1; row < L.bar_height; row += 7)
        CHECK(luminance(img.at(cx, L.bar_y + row)) >= luminance(img.at(cx, L.bar_y + row - 1)));  // lighter below
    CHECK(img.at(L.bar_x - 1, L.bar_y + 5) == png_detail::kFrame);
    // Tick marks at the top, middle and bottom.
    const int tick_x = L.bar_x + L.bar_width + 2;
    CHECK(img.at(tick_x, L.bar_y) == png_detail::kFrame);
    CHECK(img.at(tick_x, L.bar_y + (L.bar_height - 1) / 2) == png_detail::kFrame);
    CHECK(img.at(tick_x, L.bar_y + L.bar_height - 1) == png_detail::kFrame);
    // Ink in the label column and in the title line, white elsewhere in the title line.
    auto ink_in = [&](int x0, int y0, int w, int h) {
        int n = 0;
        for (int y = y0; y < y0 + h; ++y)
            for (int x = x0; x < x0 + w; ++x) n += img.at(x, y) == png_detail::kInk;
        return n;
    };
    const int s = L.text_scale;
    CHECK(ink_in(tick_x + 6, L.bar_y - 4 * s, text_width("10 mm/h", s), 7 * s) > 10);
    CHECK(ink_in(8, L.title_y, text_width("precip [mm/h]", s), 7 * s) > 20);
    CHECK(ink_in(8 + text_width("precip [mm/h]", s) + 2, L.title_y, 20, 7 * s) == 0);
}

TEST_CASE("quicklook automatic vmax is the 99th percentile", "[io][png]") {
    // 1..100 in a 10 x 10 field: numpy.nanpercentile(..., 99) = 99.01.
    Tensor<float> f(Shape{10, 10});
    for (Index i = 0; i < 100; ++i) f[i] = static_cast<float>(i + 1);
    f[0] = std::numeric_limits<float>::quiet_NaN();  // ignored: 2..100 -> 99th percentile 99.02
    QuicklookOptions opt;
    opt.north_up = false;
    const auto img = decode(quicklook_png(f, opt));
    const double vmax = 2 + 0.99 * 98;  // 99.02
    const auto L = layout_of(f, opt, 0, vmax);
    REQUIRE(img.width == L.width);
    CHECK(cell_pixel(img, L, opt, 10, 4, 9) == rain_colour(50.0 / vmax));
    CHECK(cell_pixel(img, L, opt, 10, 9, 9) == rain_colour(1.0));  // 100 > vmax: clamped
    CHECK(cell_pixel(img, L, opt, 10, 0, 0) == kMissingColour);
    // All dry: the range falls back to [vmin, vmin + 1] and the picture is still drawn.
    const auto dry = decode(quicklook_png(Tensor<float>(Shape{4, 4}, 0.0f)));
    CHECK(dry.width > 0);
    // All missing too.
    const auto missing = decode(quicklook_png(Tensor<float>(Shape{4, 4}, std::numeric_limits<float>::quiet_NaN())));
    CHECK(missing.width > 0);
}

TEST_CASE("side-by-side PNG shares one colour scale", "[io][png]") {
    ScratchDir dir("png_side");
    Tensor<float> obs(Shape{8, 8}, 2.0f), model(Shape{8, 8}, 2.0f), bicubic(Shape{8, 8}, 2.0f);
    obs(3, 3) = 8.0f;  // the largest value sets the shared automatic scale
    QuicklookOptions opt;
    opt.title = "2018-09-14";
    opt.units = "mm/day";
    opt.vmax = 8;
    const std::vector<std::string> titles = {"obs", "bicubic", "MAUNet"};
    write_side_by_side_png(dir.file("s.png"), std::vector<Tensor<float>>{obs, bicubic, model}, titles, opt);
    CHECK(dir.listing() == std::vector<std::string>{"s.png"});
    const auto img = decode(read_bytes(dir.file("s.png")));
    const auto L = layout_of(obs, opt, 0, 8, 3, titles);
    REQUIRE(img.width == L.width);
    REQUIRE(img.height == L.height);
    REQUIRE(L.map_x.size() == 3);
    for (int p = 0; p < 3; ++p) CHECK(cell_pixel(img, L, opt, 8, 1, 1, p) == rain_colour(0.25));
    CHECK(cell_pixel(img, L, opt, 8, 3, 3, 0) == rain_colour(1.0));
    // Panels do not overlap and the bar is right of the last one.
    CHECK(L.map_x[1] > L.map_x[0] + L.map_width);
    CHECK(L.bar_x > L.map_x[2] + L.map_width);
    // Automatic range: shared, from all panels.
    QuicklookOptions automatic;
    const auto a = decode(side_by_side_png(std::vector<Tensor<float>>{obs, model}, {"obs", "model"}, automatic));
    std::vector<double> all(128, 2.0);
    all[0] = 8.0;
    const double vmax = png_detail::percentile99(all);
    const auto La = layout_of(obs, automatic, 0, vmax, 2, {"obs", "model"});
    CHECK(cell_pixel(a, La, automatic, 8, 1, 1, 0) == cell_pixel(a, La, automatic, 8, 1, 1, 1));
    CHECK(cell_pixel(a, La, automatic, 8, 1, 1, 1) == rain_colour(2.0 / vmax));
}

TEST_CASE("quicklook errors", "[io][png][errors]") {
    const Tensor<float> good(Shape{4, 5}, 1.0f);
    QuicklookOptions opt;
    CHECK_THROWS_AS(quicklook_png(Tensor<float>(Shape{2, 3, 4}), opt), ShapeError);
    CHECK_THROWS_WITH(quicklook_png(Tensor<float>(Shape{2, 3, 4}), opt),
                      Catch::Contains("write_quicklook_png: expected a 2-D field [H, W], found shape [2, 3, 4]"));
    CHECK_THROWS_WITH(quicklook_png(Tensor<float>(Shape{5}), opt), Catch::Contains("found shape [5]"));
    CHECK_THROWS_WITH(quicklook_png(Tensor<float>(Shape{0, 5}), opt),
                      Catch::Contains("expected a non-empty field, found shape [0, 5]"));

    QuicklookOptions bad = opt;
    bad.vmin = kNaN;
    CHECK_THROWS_AS(quicklook_png(good, bad), ArgumentError);
    CHECK_THROWS_WITH(quicklook_png(good, bad), Catch::Contains("expected a finite vmin, found nan"));
    bad = opt;
    bad.vmax = std::numeric_limits<double>::infinity();
    CHECK_THROWS_WITH(quicklook_png(good, bad), Catch::Contains("expected a finite vmax (or NaN for automatic), found inf"));
    bad = opt;
    bad.vmin = 5;
    bad.vmax = 5;
    CHECK_THROWS_WITH(quicklook_png(good, bad),
                      Catch::Contains("empty colour range: expected vmax > vmin, found vmin 5 and vmax 5"));
    bad.vmax = 1;
    CHECK_THROWS_AS(quicklook_png(good, bad), ArgumentError);
    bad = opt;
    bad.scale = 0;
    CHECK_THROWS_WITH(quicklook_png(good, bad), Catch::Contains("expected scale (pixels per cell) in 1..64, found 0"));
    bad.scale = 64;
    CHECK_THROWS_WITH(quicklook_png(Tensor<float>(Shape{300, 300}), bad), Catch::Contains("exceed 2^28 pixels"));

    CHECK_THROWS_WITH(side_by_side_png(std::vector<Tensor<float>>{good, good}, {"one"}, opt),
                      Catch::Contains("expected one title per field, found 2 fields and 1 titles"));
    CHECK_THROWS_AS(side_by_side_png(std::vector<Tensor<float>>{good, Tensor<float>(Shape{4, 6})}, {"a", "b"}, opt),
                    ShapeError);
    CHECK_THROWS_WITH(side_by_side_png(std::vector<Tensor<float>>{good, Tensor<float>(Shape{4, 6})}, {"a", "b"}, opt),
                      Catch::Contains("all fields must have the same shape, found [4, 5] and [4, 6]"));
    CHECK_THROWS_WITH(side_by_side_png(std::vector<Tensor<float>>{}, {}, opt),
                      Catch::Contains("expected at least one field, found none"));

    ScratchDir dir("png_errors");
    CHECK_THROWS_AS(write_quicklook_png(dir.file("no/such/dir/q.png"), good, opt), IOError);
    CHECK(dir.listing().empty());
}

TEST_CASE("quicklook: a difference panel per later field, on a diverging scale of its own", "[io][png]") {
    Tensor<float> obs(Shape{8, 8}, 2.0f), model(Shape{8, 8}, 3.0f);
    model(0, 0) = 1.0f;                                      // drier than obs by 1
    model(1, 1) = std::numeric_limits<float>::quiet_NaN();   // missing: grey in the difference too
    QuicklookOptions opt;
    opt.vmax = 8;
    const std::vector<std::string> titles = {"obs", "model"};
    const std::vector<Tensor<float>> fields{obs, model};
    const auto plain = decode(side_by_side_png(fields, titles, opt));
    opt.differences = true;
    const auto img = decode(side_by_side_png(fields, titles, opt));
    CHECK(img.width > plain.width);  // one more panel and one more colour bar
    std::vector<std::string> labels = {"0", "4", "8"};
    // Differences: +1 in 62 cells, -1 in one, NaN in one: the 99th percentile of |d| is 1.
    const auto L = quicklook_layout(8, 8, 2, opt, true, labels, {"obs", "model", "model - obs"}, 1,
                                    png_detail::tick_labels(-1, 1, ""));
    REQUIRE(img.width == L.width);
    REQUIRE(L.map_x.size() == 3);
    CHECK(L.diff_bar_x > L.map_x[2] + L.map_width);
    CHECK(L.map_x[2] > L.bar_x + L.bar_width);
    CHECK(cell_pixel(img, L, opt, 8, 4, 4, 2) == difference_colour(1.0, 1.0));
    CHECK(cell_pixel(img, L, opt, 8, 0, 0, 2) == difference_colour(-1.0, 1.0));
    CHECK(cell_pixel(img, L, opt, 8, 1, 1, 2) == kMissingColour);
    // The colours: brown below 0, the near-white centre at 0, blue-green above.
    CHECK(difference_colour(0.0, 1.0) == Rgb{245, 245, 245});
    CHECK(difference_colour(-1.0, 1.0).r > difference_colour(-1.0, 1.0).b);
    CHECK(difference_colour(1.0, 1.0).b > difference_colour(1.0, 1.0).r);
    CHECK(difference_colour(-5.0, 1.0) == difference_colour(-1.0, 1.0));
    // The bar's top is +1, bottom -1.
    CHECK(img.at(L.diff_bar_x + L.bar_width / 2, L.bar_y) == difference_colour(1.0 - 1.0 / L.bar_height, 1.0));
    CHECK_THROWS_WITH(side_by_side_png(std::vector<Tensor<float>>{obs}, {"obs"}, opt),
                      Catch::Contains("differences need at least two fields, found 1"));
}

TEST_CASE("quicklook: lon/lat ticks and labels around every panel, coastline pixels on the map", "[io][png]") {
    // 15 x 40 cells of 0.25 degrees: 80W..70.25W, 30N..33.5N (south first), 8 pixels each.
    Tensor<float> f(Shape{15, 40}, 1.0f);
    QuicklookOptions opt;
    opt.vmax = 2;
    opt.scale = 8;
    for (int c = 0; c < 40; ++c) opt.axes.bottom.push_back(-80.0 + 0.25 * c);
    for (int r = 0; r < 15; ++r) opt.axes.left.push_back(30.0 + 0.25 * r);
    opt.axes.degrees = true;
    opt.axes.lines.push_back({{0.0, 39.0}, {10.0, 10.0}});  // a line along row 10
    const auto without = decode(quicklook_png(f, QuicklookOptions{[&] {
        QuicklookOptions o = opt;
        o.axes = {};
        return o;
    }()}));
    const auto img = decode(quicklook_png(f, opt));
    const auto L = layout_of(f, opt, 0, 2);
    REQUIRE(img.width == L.width);
    REQUIRE(img.height == L.height);
    CHECK(img.width > without.width);    // labels left of the panel
    CHECK(img.height > without.height);  // labels below it
    // Ticks every 2 degrees: 80W at column 0, 76W at column 16, ...; 30N at row 0, ...
    REQUIRE(L.bottom_ticks.size() >= 2);
    CHECK(L.bottom_ticks.front().label == "80W");
    CHECK(L.bottom_ticks.front().cell == Approx(0.0));
    bool has76 = false;
    for (const auto& t : L.bottom_ticks)
        if (t.label == "76W") has76 = t.cell == Approx(16.0);
    CHECK(has76);
    REQUIRE(L.left_ticks.size() == 4);  // 30N, 31N, 32N, 33N
    CHECK(L.left_ticks.front().label == "30N");
    CHECK(L.left_ticks.back().cell == Approx(12.0));
    // The tick mark under column 16 and the overlay line through row 10 (drawn north up).
    const int tick_x = L.map_x[0] + 16 * opt.scale + opt.scale / 2;
    CHECK(img.at(tick_x, L.map_y + L.map_height + 2) == png_detail::kFrame);
    const int line_y = L.map_y + (14 - 10) * opt.scale + opt.scale / 2;
    CHECK(img.at(L.map_x[0] + 50, line_y) == png_detail::kLine);
    CHECK(img.at(L.map_x[0] + 50, line_y + 2) == precipitation_colour(1.0, 0, 2));
    // Axes that do not match the grid are refused.
    QuicklookOptions bad = opt;
    bad.axes.left.pop_back();
    CHECK_THROWS_WITH(quicklook_png(f, bad), Catch::Contains("expected axis coordinates for 40 columns and 15 rows"));
}

TEST_CASE("quicklook: enlarging repeats cells (nearest), it never interpolates between them", "[io][png]") {
    // A checkerboard of dry (0), wet (10) and missing cells at 8 pixels per cell: every pixel
    // of the map is exactly the colour of the cell it lies in - no blended or white pixel
    // appears between a wet and a missing cell.
    Tensor<float> f(Shape{4, 5});
    for (Index r = 0; r < 4; ++r)
        for (Index c = 0; c < 5; ++c)
            f(r, c) = (r + c) % 3 == 0 ? 0.0f : (r + c) % 3 == 1 ? 10.0f : std::numeric_limits<float>::quiet_NaN();
    QuicklookOptions opt;
    opt.vmax = 10;
    opt.scale = 8;
    const auto img = decode(quicklook_png(f, opt));
    const auto L = layout_of(f, opt, 0, 10);
    for (int y = 0; y < L.map_height; ++y)
        for (int x = 0; x < L.map_width; ++x) {
            const Index r = 3 - y / opt.scale, c = x / opt.scale;  // north up: row 0 at the bottom
            REQUIRE(img.at(L.map_x[0] + x, L.map_y + y) == precipitation_colour(f(r, c), 0, 10));
        }
}
