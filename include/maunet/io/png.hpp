// maunet/io/png.hpp: PNG quicklooks of precipitation fields (optional: needs libstb-dev).
//
//   write_quicklook_png(path, field [H, W], options)
//   write_side_by_side_png(path, {obs, bicubic, model}, {"obs", "bicubic", "MAUNet"}, options)
//
// One picture: the title on top, the field (each cell a scale x scale block of pixels,
// framed), a vertical colour bar on the right with ticks and labels at vmin, the middle and
// vmax (the top label carries the units). Colours (maunet/io/colormap.hpp): cmocean 'rain'
// from vmin (light) to vmax (dark), values outside clamped to the ends; dry cells (exactly 0)
// white; missing cells (NaN) mid grey. Text uses the 5x7 font of maunet/io/bitmap_font.hpp,
// doubled when the map is at least 160 pixels high. The side-by-side form draws several
// fields of the same shape with one shared colour scale and a title above each panel.
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
#include <vector>

#include "maunet/core/errors.hpp"
#include "maunet/core/tensor.hpp"
#include "maunet/io/atomic_file.hpp"
#include "maunet/io/bitmap_font.hpp"
#include "maunet/io/colormap.hpp"

namespace maunet::io {

struct QuicklookOptions {
    std::string title;   // variable and time, e.g. "precip 2018-09-14"; drawn on top
    std::string units;   // e.g. "mm/day"; shown after the title and on the top colour-bar label
    double vmin = 0;     // colour-scale bottom
    double vmax = std::numeric_limits<double>::quiet_NaN();  // NaN: 99th percentile of the data
    int scale = 4;       // pixels per grid cell, 1..64
    bool north_up = true;  // row 0 is the south: flip rows so north is up (see the top comment)
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

// The layout of a quicklook of `panels` fields of rows x cols cells each (panel titles are
// drawn when `panel_titles` is true). Validates the options: ArgumentError for a scale
// outside 1..64 or an image of more than 2^28 pixels.
inline QuicklookLayout quicklook_layout(Index rows, Index cols, int panels, const QuicklookOptions& opt,
                                        bool panel_titles, const std::vector<std::string>& labels,
                                        const std::vector<std::string>& titles = {}) {
    using namespace png_detail;
    require(opt.scale >= 1 && opt.scale <= 64, "quicklook: expected scale (pixels per cell) in 1..64, found ",
            opt.scale);
    require(rows >= 1 && cols >= 1 && panels >= 1, "quicklook: expected at least one cell and one panel");
    require(rows <= 16384 && cols <= 16384 && rows * cols * opt.scale * opt.scale * panels <= (Index(1) << 28),
            "quicklook: ", panels, " panel(s) of ", rows, "x", cols, " cells at scale ", opt.scale,
            " exceed 2^28 pixels; lower the scale");
    QuicklookLayout L;
    L.map_width = static_cast<int>(cols) * opt.scale;
    L.map_height = static_cast<int>(rows) * opt.scale;
    L.text_scale = L.map_height >= 160 ? 2 : 1;
    const int s = L.text_scale;
    const int line = BitmapFont::line_height * s;
    int y = kMargin;
    L.title_y = y;
    // Below the title: room for the top tick label, centred on the top edge of the bar.
    if (!full_title(opt).empty()) y += line + 4 + (BitmapFont::glyph_height * s) / 2;
    L.panel_title_y = y;
    if (panel_titles) y += line + 3;
    // Room above the map for the top tick label, which is centred on the map's top edge.
    L.map_y = std::max(y + 1, kMargin + (BitmapFont::glyph_height * s) / 2 + 1);
    int x = kMargin + 1;
    for (int p = 0; p < panels; ++p) {
        L.map_x.push_back(x);
        x += L.map_width + 2 + kPanelGap;
    }
    L.bar_x = x - kPanelGap + kBarGap;
    L.bar_y = L.map_y;
    L.bar_height = std::max(L.map_height, 96);
    int label_width = 0;
    for (const auto& lbl : labels) label_width = std::max(label_width, text_width(lbl, s));
    const int right = L.bar_x + L.bar_width + 1 + kTickLength + 3 + label_width + kMargin;
    int widest_title = text_width(full_title(opt), s) + 2 * kMargin;
    for (std::size_t p = 0; p < titles.size() && p < L.map_x.size(); ++p)
        widest_title = std::max(widest_title, L.map_x[p] + text_width(titles[p], s) + kMargin);
    L.width = std::max(right, widest_title);
    const int bottom = std::max(L.map_y + L.map_height, L.bar_y + L.bar_height) + 1;
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

template <class T>
void draw_panel(RgbImage& img, const Tensor<T>& field, int x0, int y0, double vmin, double vmax,
                const QuicklookOptions& opt) {
    const Index rows = field.dim(0), cols = field.dim(1);
    for (Index r = 0; r < rows; ++r) {
        const Index screen_row = opt.north_up ? rows - 1 - r : r;
        for (Index c = 0; c < cols; ++c) {
            const Rgb colour = precipitation_colour(static_cast<double>(field(r, c)), vmin, vmax);
            img.fill_rect(x0 + static_cast<int>(c) * opt.scale, y0 + static_cast<int>(screen_row) * opt.scale,
                          opt.scale, opt.scale, colour);
        }
    }
    img.frame(x0, y0, static_cast<int>(cols) * opt.scale, static_cast<int>(rows) * opt.scale, kFrame);
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
    const auto [vmin, vmax] = colour_range(op, fields, opt);
    const auto labels = tick_labels(vmin, vmax, opt.units);
    const QuicklookLayout L = quicklook_layout(fields[0]->dim(0), fields[0]->dim(1), static_cast<int>(fields.size()),
                                               opt, !titles.empty(), labels, titles);
    const int s = L.text_scale;
    RgbImage img(L.width, L.height);

    const std::string title = full_title(opt);
    if (!title.empty()) img.text(kMargin, L.title_y, title, s, kInk);
    for (std::size_t p = 0; p < fields.size(); ++p) {
        if (!titles.empty()) img.text(L.map_x[p], L.panel_title_y, titles[p], s, kInk);
        draw_panel(img, *fields[p], L.map_x[p], L.map_y, vmin, vmax, opt);
    }

    // Colour bar: bottom row = vmin, top row = vmax, each row the colour of its centre value.
    for (int row = 0; row < L.bar_height; ++row) {
        const double t = 1.0 - (row + 0.5) / L.bar_height;
        img.fill_rect(L.bar_x, L.bar_y + row, L.bar_width, 1, rain_colour(t));
    }
    img.frame(L.bar_x, L.bar_y, L.bar_width, L.bar_height, kFrame);
    // Ticks at vmin (bottom edge), middle, vmax (top edge); labels centred on them.
    const int tick_x = L.bar_x + L.bar_width + 1;
    const int ys[3] = {L.bar_y + L.bar_height - 1, L.bar_y + (L.bar_height - 1) / 2, L.bar_y};
    for (int k = 0; k < 3; ++k) {
        img.fill_rect(tick_x, ys[k], kTickLength, 1, kFrame);
        img.text(tick_x + kTickLength + 3, ys[k] - (BitmapFont::glyph_height * s) / 2, labels[static_cast<std::size_t>(k)],
                 s, kInk);
    }
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
