// maunet/io/png.hpp: PNG quicklooks of precipitation fields (optional: needs libstb-dev).
//
//   write_quicklook_png(path, field [H, W], options)
//   write_side_by_side_png(path, {obs, bicubic, model}, {"obs", "bicubic", "MAUNet"}, options)
//
// One picture: the title on top, the field (each cell a scale x scale block of pixels of its
// own colour - nearest neighbour, never interpolated, so no pixel shows a value no cell has -
// framed), a vertical colour bar on the right with ticks and labels at vmin, the middle and
// vmax (the top label carries the units). Colours (maunet/io/colormap.hpp): cmocean 'rain'
// from vmin (light) to vmax (dark), values outside clamped to the ends; dry cells (exactly 0)
// white (unless options.dry_white is false: a field that is not precipitation); missing cells
// (NaN) mid grey. Text uses the 5x7 font of maunet/io/bitmap_font.hpp,
// doubled when the map is at least 160 pixels high. The side-by-side form draws several
// fields of the same shape with one shared colour scale and a title above each panel.
//
// Axes (options.axes, maunet/io/map_axes.hpp): ticks below and left of every panel at nice
// values of the coordinates along its bottom and left edges, labelled in degrees (75W, 35N)
// or in native units (a caption under the panels names them), and overlay lines (coastlines)
// in cell coordinates, one dark pixel wide, clipped to each panel.
//
// Differences (options.differences, side by side only): after the fields and their colour
// bar come panels of each later field minus the first (NaN where either is NaN), on a
// diverging colour map symmetric about 0 (colormap.hpp) with a colour bar of their own: from
// -d to +d, d the 99th percentile of |difference| (its maximum if that is 0; 1 if all are 0).
//
// The range: vmin (default 0) and vmax; vmax = NaN (the default) means the 99th percentile
// of the finite values of all fields drawn (linear interpolation, as numpy.nanpercentile),
// or their maximum if that percentile is not above vmin, or vmin + 1 if no value is.
// An explicit range must be finite with vmax > vmin.
//
// Row order: with north_up = true (default), row 0 of the field is taken as the southernmost
// (latitude ascending along axis 0, the usual CF/NetCDF order) and drawn at the bottom, so
// north is up. With north_up = false, row 0 is drawn at the top (data stored north first).
//
// The PNG is encoded in memory with stb_image_write (its functions compiled static in each
// translation unit that includes this header, so there is no one-definition conflict and
// no .cpp file) and written atomically (maunet/io/atomic_file.hpp). Include this header
// before any other inclusion of stb_image_write.h in the same translation unit.
#pragma once

#if !__has_include(<stb/stb_image_write.h>)
#error "maunet/io/png.hpp needs stb_image_write.h: install Debian's libstb-dev (apt-get install libstb-dev)"
#endif

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#endif
#ifndef STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_STATIC
#endif
#ifndef STBI_WRITE_NO_STDIO
#define STBI_WRITE_NO_STDIO
#endif
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#undef STB_IMAGE_WRITE_IMPLEMENTATION
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "maunet/core/errors.hpp"
#include "maunet/core/tensor.hpp"
#include "maunet/io/atomic_file.hpp"
#include "maunet/io/bitmap_font.hpp"
#include "maunet/io/colormap.hpp"
#include "maunet/io/map_axes.hpp"

namespace maunet::io {

struct QuicklookOptions {
    std::string title;   // variable and time, e.g. "precip 2018-09-14"; drawn on top
    std::string units;   // e.g. "mm/day"; shown after the title and on the top colour-bar label
    double vmin = 0;     // colour-scale bottom
    bool dry_white = true;  // precipitation: exactly 0 is a dry cell, drawn white; false (a
                            // static field such as elevation): every finite value on the scale
    double vmax = std::numeric_limits<double>::quiet_NaN();  // NaN: 99th percentile of the data
    int scale = 4;       // pixels per grid cell, 1..64
    bool north_up = true;  // row 0 is the south: flip rows so north is up (see the top comment)
    MapAxes axes;          // ticks, labels and overlay lines around every panel (empty: none)
    bool differences = false;  // side by side: add panels of each later field minus the first
};

// An 8-bit RGB picture, row-major, 3 bytes per pixel, white when created.
class RgbImage {
public:
    RgbImage(int width, int height)
        : width_(width), height_(height), pixels_(static_cast<std::size_t>(width) * height * 3, 255) {}
    int width() const { return width_; }
    int height() const { return height_; }
    const std::uint8_t* data() const { return pixels_.data(); }

    Rgb pixel(int x, int y) const {
        const std::size_t i = index(x, y);
        return {pixels_[i], pixels_[i + 1], pixels_[i + 2]};
    }
    void set(int x, int y, Rgb c) {
        if (x < 0 || y < 0 || x >= width_ || y >= height_) return;  // clip
        const std::size_t i = index(x, y);
        pixels_[i] = c.r;
        pixels_[i + 1] = c.g;
        pixels_[i + 2] = c.b;
    }
    void fill_rect(int x, int y, int w, int h, Rgb c) {
        for (int yy = y; yy < y + h; ++yy)
            for (int xx = x; xx < x + w; ++xx) set(xx, yy, c);
    }
    // A one-pixel outline just outside the rectangle (x, y, w, h).
    void frame(int x, int y, int w, int h, Rgb c) {
        fill_rect(x - 1, y - 1, w + 2, 1, c);
        fill_rect(x - 1, y + h, w + 2, 1, c);
        fill_rect(x - 1, y, 1, h, c);
        fill_rect(x + w, y, 1, h, c);
    }
    // One line of text with its top-left corner at (x, y), each font pixel a scale x scale block.
    void text(int x, int y, const std::string& s, int scale, Rgb c) {
        for (std::size_t k = 0; k < s.size(); ++k) {
            const int x0 = x + static_cast<int>(k) * BitmapFont::advance * scale;
            for (int gy = 0; gy < BitmapFont::glyph_height; ++gy)
                for (int gx = 0; gx < BitmapFont::glyph_width; ++gx)
                    if (font_pixel(s[k], gx, gy))
                        fill_rect(x0 + gx * scale, y + (gy + font_descent(s[k])) * scale, scale, scale, c);
        }
    }

private:
    std::size_t index(int x, int y) const {
        return (static_cast<std::size_t>(y) * static_cast<std::size_t>(width_) + static_cast<std::size_t>(x)) * 3;
    }
    int width_, height_;
    std::vector<std::uint8_t> pixels_;
};

// The PNG file bytes of `image` (8-bit RGB). Throws IOError if stb fails to encode it.
inline std::string encode_png(const RgbImage& image) {
    std::string out;
    auto append = [](void* context, void* data, int size) {
        static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
    };
    const int ok = stbi_write_png_to_func(append, &out, image.width(), image.height(), 3, image.data(),
                                          image.width() * 3);
    if (!ok || out.empty())
        throw IOError(maunet::detail::cat("encode_png: stb_image_write failed to encode a ", image.width(), "x",
                                          image.height(), " image"));
    return out;
}

// Where everything goes in a quicklook; computed from the field size and the options only,
// so tests (and callers placing several images) can predict the picture exactly.
struct QuicklookLayout {
    int text_scale = 1;              // 1 or 2: pixels per font pixel
    int width = 0, height = 0;       // the whole image
    int map_width = 0, map_height = 0;  // one panel: cols * scale x rows * scale
    std::vector<int> map_x;          // left edge of each panel
    int map_y = 0;                   // top edge of the panels
    int bar_x = 0, bar_y = 0, bar_width = 14, bar_height = 0;  // the colour bar
    int title_y = 0;                 // top of the title line
    int panel_title_y = 0;           // top of the panel titles (side by side)
    int axis_left = 0, axis_bottom = 0;  // room for tick labels left of and below each panel
    int diff_bar_x = 0;              // the differences' colour bar (0: none); map_x holds their panels last
    std::vector<AxisTick> bottom_ticks, left_ticks;  // cell positions and labels (see map_axes.hpp)
};

namespace png_detail {

inline constexpr int kMargin = 8;
inline constexpr int kPanelGap = 12;
inline constexpr int kBarGap = 16;
inline constexpr int kTickLength = 4;
inline constexpr Rgb kInk{30, 30, 30};
inline constexpr Rgb kFrame{60, 60, 60};

// "12.5", "0", "1.23e+03": three significant digits, no trailing zeros.
inline std::string format_tick(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
}

inline std::string full_title(const QuicklookOptions& opt) {
    if (opt.units.empty()) return opt.title;
    if (opt.title.empty()) return "[" + opt.units + "]";
    return opt.title + " [" + opt.units + "]";
}

inline std::vector<std::string> tick_labels(double vmin, double vmax, const std::string& units) {
    std::string top = format_tick(vmax);
    if (!units.empty()) top += " " + units;
    return {format_tick(vmin), format_tick(0.5 * (vmin + vmax)), top};
}

// The 99th percentile of `values` (modified), linear interpolation between order statistics.
inline double percentile99(std::vector<double>& values) {
    const double pos = 0.99 * static_cast<double>(values.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, values.size() - 1);
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(lo), values.end());
    const double a = values[lo];
    double b = a;
    if (hi != lo) b = *std::min_element(values.begin() + static_cast<std::ptrdiff_t>(hi), values.end());
    return a + (pos - static_cast<double>(lo)) * (b - a);
}

}  // namespace png_detail

namespace png_detail {
inline int bar_label_width(const std::vector<std::string>& labels, int s) {
    int w = 0;
    for (const auto& lbl : labels) w = std::max(w, text_width(lbl, s));
    return w;
}
}  // namespace png_detail

// The layout of a quicklook of `panels` fields of rows x cols cells each (panel titles are
// drawn when `panel_titles` is true), followed by `diff_panels` difference panels with their
// own colour bar labelled `diff_labels`. Validates the options: ArgumentError for a scale
// outside 1..64, an image of more than 2^28 pixels, or axes that do not match the grid.
inline QuicklookLayout quicklook_layout(Index rows, Index cols, int panels, const QuicklookOptions& opt,
                                        bool panel_titles, const std::vector<std::string>& labels,
                                        const std::vector<std::string>& titles = {}, int diff_panels = 0,
                                        const std::vector<std::string>& diff_labels = {}) {
    using namespace png_detail;
    require(opt.scale >= 1 && opt.scale <= 64, "quicklook: expected scale (pixels per cell) in 1..64, found ",
            opt.scale);
    require(rows >= 1 && cols >= 1 && panels >= 1, "quicklook: expected at least one cell and one panel");
    require(rows <= 16384 && cols <= 16384 &&
                rows * cols * opt.scale * opt.scale * (panels + diff_panels) <= (Index(1) << 28),
            "quicklook: ", panels + diff_panels, " panel(s) of ", rows, "x", cols, " cells at scale ", opt.scale,
            " exceed 2^28 pixels; lower the scale");
    const bool axes = !opt.axes.empty();
    require(!axes || (static_cast<Index>(opt.axes.bottom.size()) == cols &&
                      static_cast<Index>(opt.axes.left.size()) == rows),
            "quicklook: expected axis coordinates for ", cols, " columns and ", rows, " rows, found ",
            opt.axes.bottom.size(), " and ", opt.axes.left.size());
    QuicklookLayout L;
    L.map_width = static_cast<int>(cols) * opt.scale;
    L.map_height = static_cast<int>(rows) * opt.scale;
    L.text_scale = L.map_height >= 160 ? 2 : 1;
    const int s = L.text_scale;
    const int line = BitmapFont::line_height * s;
    if (axes) {
        // As many ticks as fit: bottom labels about 6 characters wide, left labels a line apart.
        auto range = [](const std::vector<double>& v) {
            double lo = std::numeric_limits<double>::infinity(), hi = -lo;
            for (double x : v)
                if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
            return std::make_pair(lo, hi);
        };
        const auto [x0, x1] = range(opt.axes.bottom);
        const auto [y0, y1] = range(opt.axes.left);
        const int across = std::max(2, L.map_width / (text_width("000.0W", s) + 8));
        const int down = std::max(2, L.map_height / (3 * line));
        if (x1 >= x0)
            L.bottom_ticks = edge_ticks(opt.axes.bottom, nice_step(x0, x1, across, opt.axes.degrees),
                                        opt.axes.degrees, false);
        if (y1 >= y0)
            L.left_ticks = edge_ticks(opt.axes.left, nice_step(y0, y1, down, opt.axes.degrees), opt.axes.degrees, true);
        int widest = 0;
        for (const auto& t : L.left_ticks) widest = std::max(widest, text_width(t.label, s));
        L.axis_left = kTickLength + 3 + widest + 2;
        L.axis_bottom = kTickLength + 2 + line + (opt.axes.caption.empty() ? 0 : line);
    }
    int y = kMargin;
    L.title_y = y;
    // Below the title: room for the top tick label, centred on the top edge of the bar.
    if (!full_title(opt).empty()) y += line + 4 + (BitmapFont::glyph_height * s) / 2;
    L.panel_title_y = y;
    if (panel_titles) y += line + 3;
    // Room above the map for the top tick label, which is centred on the map's top edge.
    L.map_y = std::max(y + 1, kMargin + (BitmapFont::glyph_height * s) / 2 + 1);
    L.bar_y = L.map_y;
    L.bar_height = std::max(L.map_height, 96);
    // Panels left to right, each with its axis labels on the left; then the colour bar.
    int x = kMargin + 1;
    auto place_panels = [&](int count) {
        for (int p = 0; p < count; ++p) {
            x += L.axis_left;
            L.map_x.push_back(x);
            x += L.map_width + 2 + kPanelGap;
        }
        return x - kPanelGap + kBarGap;  // the bar's left edge
    };
    auto bar_right = [&](int bar_x, const std::vector<std::string>& bar_labels) {
        return bar_x + L.bar_width + 1 + kTickLength + 3 + bar_label_width(bar_labels, s);
    };
    L.bar_x = place_panels(panels);
    int right = bar_right(L.bar_x, labels);
    if (diff_panels > 0) {
        x = right + kPanelGap + 1;
        L.diff_bar_x = place_panels(diff_panels);
        right = bar_right(L.diff_bar_x, diff_labels);
    }
    right += kMargin;
    int widest_title = text_width(full_title(opt), s) + 2 * kMargin;
    for (std::size_t p = 0; p < titles.size() && p < L.map_x.size(); ++p)
        widest_title = std::max(widest_title, L.map_x[p] + text_width(titles[p], s) + kMargin);
    L.width = std::max(right, widest_title);
    int bottom = std::max(L.map_y + L.map_height, L.bar_y + L.bar_height) + 1;
    if (axes) bottom = std::max(bottom, L.map_y + L.map_height + 1 + L.axis_bottom);
    // Room below for the bottom tick label (centred on the bar's bottom edge, descenders too).
    L.height = bottom + std::max(kMargin, line - (BitmapFont::glyph_height * s) / 2 + 2);
    return L;
}

namespace png_detail {

// Validates the fields and the range; returns {vmin, vmax}.
template <class T>
std::pair<double, double> colour_range(const char* op, const std::vector<const Tensor<T>*>& fields,
                                       const QuicklookOptions& opt) {
    require(std::isfinite(opt.vmin), op, ": expected a finite vmin, found ", opt.vmin);
    if (!std::isnan(opt.vmax)) {
        require(std::isfinite(opt.vmax), op, ": expected a finite vmax (or NaN for automatic), found ", opt.vmax);
        require(opt.vmax > opt.vmin, op, ": empty colour range: expected vmax > vmin, found vmin ", opt.vmin,
                " and vmax ", opt.vmax);
        return {opt.vmin, opt.vmax};
    }
    std::vector<double> finite;
    for (const auto* f : fields)
        for (Index i = 0; i < f->numel(); ++i)
            if (std::isfinite((*f)[i])) finite.push_back(static_cast<double>((*f)[i]));
    double vmax = std::numeric_limits<double>::quiet_NaN();
    if (!finite.empty()) {
        const double top = *std::max_element(finite.begin(), finite.end());
        vmax = percentile99(finite);
        if (!(vmax > opt.vmin)) vmax = top;
    }
    if (!(vmax > opt.vmin)) vmax = opt.vmin + 1;
    return {opt.vmin, vmax};
}

// The cells of `field` at (x0, y0), each a scale x scale block of colour(value) (nearest
// neighbour: a cell's block is its value, no interpolation between cells), framed.
template <class T, class Colour>
void draw_panel(RgbImage& img, const Tensor<T>& field, int x0, int y0, const QuicklookOptions& opt, Colour colour) {
    const Index rows = field.dim(0), cols = field.dim(1);
    for (Index r = 0; r < rows; ++r) {
        const Index screen_row = opt.north_up ? rows - 1 - r : r;
        for (Index c = 0; c < cols; ++c)
            img.fill_rect(x0 + static_cast<int>(c) * opt.scale, y0 + static_cast<int>(screen_row) * opt.scale,
                          opt.scale, opt.scale, colour(static_cast<double>(field(r, c))));
    }
    img.frame(x0, y0, static_cast<int>(cols) * opt.scale, static_cast<int>(rows) * opt.scale, kFrame);
}

inline constexpr Rgb kLine{20, 20, 20};

// A one-pixel line from (xa, ya) to (xb, yb), drawn only inside the rectangle `clip`.
inline void draw_line(RgbImage& img, double xa, double ya, double xb, double yb, const int clip[4], Rgb colour) {
    const double steps = std::ceil(std::max(std::abs(xb - xa), std::abs(yb - ya)));
    if (!std::isfinite(steps) || steps > 1e5) return;
    const int n = std::max(1, static_cast<int>(steps));
    for (int k = 0; k <= n; ++k) {
        const double t = static_cast<double>(k) / n;
        const int x = static_cast<int>(std::floor(xa + t * (xb - xa))), y = static_cast<int>(std::floor(ya + t * (yb - ya)));
        if (x >= clip[0] && y >= clip[1] && x < clip[0] + clip[2] && y < clip[1] + clip[3]) img.set(x, y, colour);
    }
}

// Ticks, labels and overlay lines of the panel at (x0, y0).
inline void draw_axes(RgbImage& img, const QuicklookLayout& L, int x0, int y0, Index rows, const QuicklookOptions& opt) {
    const int s = L.text_scale;
    const double scale = opt.scale;
    auto screen_row = [&](double row) { return opt.north_up ? static_cast<double>(rows - 1) - row : row; };
    const int clip[4] = {x0, y0, L.map_width, L.map_height};
    for (const Polyline& line : opt.axes.lines)
        for (std::size_t i = 0; i + 1 < line.x.size(); ++i)
            draw_line(img, x0 + (line.x[i] + 0.5) * scale, y0 + (screen_row(line.y[i]) + 0.5) * scale,
                      x0 + (line.x[i + 1] + 0.5) * scale, y0 + (screen_row(line.y[i + 1]) + 0.5) * scale, clip, kLine);
    const int below = y0 + L.map_height + 1;
    int last_right = std::numeric_limits<int>::min();
    for (const AxisTick& t : L.bottom_ticks) {
        const int x = x0 + static_cast<int>(std::floor((t.cell + 0.5) * scale));
        img.fill_rect(x, below, 1, kTickLength, kFrame);
        const int w = text_width(t.label, s), left = x - w / 2;
        if (left < last_right + 3 * s) continue;  // no overlapping labels
        img.text(left, below + kTickLength + 2, t.label, s, kInk);
        last_right = left + w;
    }
    int last_top = std::numeric_limits<int>::max();
    for (const AxisTick& t : L.left_ticks) {
        const int y = y0 + static_cast<int>(std::floor((screen_row(t.cell) + 0.5) * scale));
        img.fill_rect(x0 - 1 - kTickLength, y, kTickLength, 1, kFrame);
        const int top = y - (BitmapFont::glyph_height * s) / 2;
        if (std::abs(top - last_top) < BitmapFont::line_height * s) continue;
        img.text(x0 - 1 - kTickLength - 2 - text_width(t.label, s), top, t.label, s, kInk);
        last_top = top;
    }
    if (!opt.axes.caption.empty())
        img.text(x0, below + kTickLength + 2 + BitmapFont::line_height * s, opt.axes.caption, s, kInk);
}

// A vertical colour bar at (x, L.bar_y): colour(t), t = 0 at the bottom to 1 at the top, with
// three ticks (bottom, middle, top) labelled labels[0..2].
template <class Colour>
void draw_colour_bar(RgbImage& img, const QuicklookLayout& L, int x, const std::vector<std::string>& labels,
                     Colour colour) {
    const int s = L.text_scale;
    for (int row = 0; row < L.bar_height; ++row)
        img.fill_rect(x, L.bar_y + row, L.bar_width, 1, colour(1.0 - (row + 0.5) / L.bar_height));
    img.frame(x, L.bar_y, L.bar_width, L.bar_height, kFrame);
    const int tick_x = x + L.bar_width + 1;
    const int ys[3] = {L.bar_y + L.bar_height - 1, L.bar_y + (L.bar_height - 1) / 2, L.bar_y};
    for (int k = 0; k < 3; ++k) {
        img.fill_rect(tick_x, ys[k], kTickLength, 1, kFrame);
        img.text(tick_x + kTickLength + 3, ys[k] - (BitmapFont::glyph_height * s) / 2,
                 labels[static_cast<std::size_t>(k)], s, kInk);
    }
}

// Each later field minus the first (NaN where either is NaN) and the symmetric range d.
template <class T>
std::pair<std::vector<Tensor<T>>, double> differences_of(const std::vector<const Tensor<T>*>& fields) {
    std::vector<Tensor<T>> out;
    std::vector<double> magnitudes;
    for (std::size_t p = 1; p < fields.size(); ++p) {
        Tensor<T> d(fields[0]->shape());
        for (Index i = 0; i < d.numel(); ++i) {
            d[i] = (*fields[p])[i] - (*fields[0])[i];
            if (std::isfinite(d[i])) magnitudes.push_back(std::abs(static_cast<double>(d[i])));
        }
        out.push_back(std::move(d));
    }
    double limit = 0;
    if (!magnitudes.empty()) {
        const double top = *std::max_element(magnitudes.begin(), magnitudes.end());
        limit = percentile99(magnitudes);
        if (!(limit > 0)) limit = top;
    }
    if (!(limit > 0)) limit = 1;
    return {std::move(out), limit};
}

template <class T>
std::string render(const char* op, const std::vector<const Tensor<T>*>& fields,
                   const std::vector<std::string>& titles, const QuicklookOptions& opt) {
    require(!fields.empty(), op, ": expected at least one field, found none");
    for (const auto* f : fields) {
        require_shape(f->rank() == 2, op, ": expected a 2-D field [H, W], found shape ", f->shape());
        require_shape(f->dim(0) > 0 && f->dim(1) > 0, op, ": expected a non-empty field, found shape ", f->shape());
        require_shape(f->shape() == fields[0]->shape(), op, ": all fields must have the same shape, found ",
                      fields[0]->shape(), " and ", f->shape());
    }
    require(!opt.differences || fields.size() >= 2, op, ": differences need at least two fields, found ",
            fields.size());
    const std::pair<double, double> range = colour_range(op, fields, opt);
    const double vmin = range.first, vmax = range.second;  // plain names: C++17 lambdas cannot capture bindings
    const auto labels = tick_labels(vmin, vmax, opt.units);
    std::vector<Tensor<T>> diffs;
    double limit = 1;
    std::vector<std::string> all_titles = titles;
    std::vector<std::string> diff_labels;
    if (opt.differences) {
        std::tie(diffs, limit) = differences_of(fields);
        diff_labels = tick_labels(-limit, limit, opt.units);
        diff_labels[1] = "0";
        if (!titles.empty())
            for (std::size_t p = 1; p < fields.size(); ++p) all_titles.push_back(titles[p] + " - " + titles[0]);
    }
    const QuicklookLayout L = quicklook_layout(fields[0]->dim(0), fields[0]->dim(1), static_cast<int>(fields.size()),
                                               opt, !titles.empty(), labels, all_titles,
                                               static_cast<int>(diffs.size()), diff_labels);
    const int s = L.text_scale;
    RgbImage img(L.width, L.height);

    const std::string title = full_title(opt);
    if (!title.empty()) img.text(kMargin, L.title_y, title, s, kInk);
    const Index rows = fields[0]->dim(0);
    for (std::size_t p = 0; p < fields.size() + diffs.size(); ++p) {
        if (!all_titles.empty()) img.text(L.map_x[p], L.panel_title_y, all_titles[p], s, kInk);
        if (p < fields.size())
            draw_panel(img, *fields[p], L.map_x[p], L.map_y, opt,
                       [&](double v) {
                           return opt.dry_white ? precipitation_colour(v, vmin, vmax)
                                                : rain_colour((v - vmin) / (vmax - vmin));
                       });
        else
            draw_panel(img, diffs[p - fields.size()], L.map_x[p], L.map_y, opt,
                       [&](double v) { return difference_colour(v, limit); });
        if (!opt.axes.empty()) draw_axes(img, L, L.map_x[p], L.map_y, rows, opt);
    }
    // Colour bars: bottom row = the scale's bottom, top row = its top, each row the colour of its centre.
    draw_colour_bar(img, L, L.bar_x, labels, [](double t) { return rain_colour(t); });
    if (!diffs.empty())
        draw_colour_bar(img, L, L.diff_bar_x, diff_labels, [&](double t) { return difference_colour(2 * t - 1, 1.0); });
    return encode_png(img);
}

inline void write_png_bytes(const std::string& path, const std::string& bytes) {
    write_stream_atomically(path, [&](std::ostream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
}

}  // namespace png_detail

// The PNG bytes of a quicklook of `field` [H, W]. ShapeError for a field that is not 2-D or
// is empty; ArgumentError for a non-finite or empty colour range or a bad scale.
template <class T>
std::string quicklook_png(const Tensor<T>& field, const QuicklookOptions& opt = {}) {
    return png_detail::render<T>("write_quicklook_png", {&field}, {}, opt);
}

// Writes a quicklook of `field` [H, W] to `path`, atomically.
template <class T>
void write_quicklook_png(const std::string& path, const Tensor<T>& field, const QuicklookOptions& opt = {}) {
    png_detail::write_png_bytes(path, quicklook_png(field, opt));
}

// The PNG bytes of several fields of one shape side by side with one shared colour scale;
// titles[i] is drawn above fields[i]. ArgumentError if the counts differ.
template <class T>
std::string side_by_side_png(const std::vector<Tensor<T>>& fields, const std::vector<std::string>& titles,
                             const QuicklookOptions& opt = {}) {
    require(fields.size() == titles.size(), "write_side_by_side_png: expected one title per field, found ",
            fields.size(), " fields and ", titles.size(), " titles");
    std::vector<const Tensor<T>*> pointers;
    for (const auto& f : fields) pointers.push_back(&f);
    return png_detail::render<T>("write_side_by_side_png", pointers, titles, opt);
}

// Writes the side-by-side comparison to `path`, atomically.
template <class T>
void write_side_by_side_png(const std::string& path, const std::vector<Tensor<T>>& fields,
                            const std::vector<std::string>& titles, const QuicklookOptions& opt = {}) {
    png_detail::write_png_bytes(path, side_by_side_png(fields, titles, opt));
}

}  // namespace maunet::io
