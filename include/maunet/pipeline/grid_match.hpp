// maunet/pipeline/grid_match.hpp: two files' grids compared, never assumed (needs netCDF:
// link maunet::netcdf). Used by every command that pairs files (eval, bc, train --biased,
// plot --compare, --mask, --crop).
//
// align_to_grid(f, path, ref, ref_path) makes field f lie on ref's grid, or throws ShapeError
// naming both files:
//   1. 1-D coordinates on both sides (lat/lon, projected x/y, rotated rlat/rlon):
//      - an angular x (longitude or grid_longitude) is wrapped into ref's convention, [-180, 180)
//        when ref has a negative longitude, [0, 360) when it has one above 180, and the columns
//        are rolled so that it is monotonic again (0..360 against -180..180);
//      - rows (columns) are reversed when f's y (x) runs the other way from ref's
//        (north-to-south against south-to-north);
//      - then every coordinate must equal ref's within tolerance * (the smallest spacing of
//        ref's axis); angular ones compared modulo 360.
//   2. 2-D latitude/longitude only (curvilinear): the four orientations (as is, rows reversed,
//      columns reversed, both) are tried; one must match within tolerance (of the smallest
//      distance between neighbouring cell centres), longitudes modulo 360.
//   3. A side without coordinates (.npy): only the shapes are compared (nothing else is known).
// The 2-D coordinates, if any, travel with flips and rolls.
//
// crop_to_grid(big, path, small, small_path) is the same for a larger grid that contains the
// smaller one: after orienting big like small, it finds the rows and columns of big whose 1-D
// coordinates equal small's and keeps those (by coordinates, not by index). Without 1-D
// coordinates on both sides it keeps big's first rows and columns (there is nothing to match).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "maunet/io/netcdf.hpp"
#include "maunet/pipeline/field_stream.hpp"

namespace maunet::pipeline {

inline constexpr double kGridTolerance = 0.01;  // a hundredth of a cell

namespace detail {

inline std::string attribute_text(const std::vector<io::Attribute>& atts, const char* name) {
    const io::Attribute* a = io::detail::find_attribute(atts, name);
    return a && a->is_text() ? io::detail::lower_case(a->text) : std::string();
}

// x is an angle in degrees that wraps at 360 (longitude, or the rotated grid_longitude).
template <class T>
bool angular_x(const io::GridField<T>& f) {
    const std::string sn = attribute_text(f.x_attributes, "standard_name");
    const std::string units = attribute_text(f.x_attributes, "units");
    if (sn == "longitude" || sn == "grid_longitude") return true;
    if (units.rfind("degree", 0) == 0) return true;
    if (!sn.empty() || !units.empty()) return false;
    const std::string name = io::detail::lower_case(f.x_name);
    return name == "lon" || name == "longitude" || name == "rlon";
}

template <class T>
void reverse_axis(io::GridField<T>& f, bool rows) {
    const Index planes = f.num_times(), H = f.ny(), W = f.nx();
    const auto flip = [&](auto* base, Index n) {
        for (Index p = 0; p < n; ++p) {
            auto* plane = base + p * H * W;
            if (rows) {
                for (Index r = 0; r < H / 2; ++r)
                    std::swap_ranges(plane + r * W, plane + (r + 1) * W, plane + (H - 1 - r) * W);
            } else {
                for (Index r = 0; r < H; ++r) std::reverse(plane + r * W, plane + (r + 1) * W);
            }
        }
    };
    flip(f.data.data(), planes);
    if (f.lat2d.numel() == H * W && H * W > 0) flip(f.lat2d.data(), 1);
    if (f.lon2d.numel() == H * W && H * W > 0) flip(f.lon2d.data(), 1);
    std::vector<double>& c = rows ? f.y : f.x;
    std::reverse(c.begin(), c.end());
}

// Column j moves to column (j + shift) mod W.
template <class T>
void roll_columns(io::GridField<T>& f, Index shift) {
    const Index H = f.ny(), W = f.nx();
    shift = ((shift % W) + W) % W;
    if (shift == 0) return;
    const auto roll = [&](auto* base, Index planes) {
        for (Index p = 0; p < planes * H; ++p) std::rotate(base + p * W, base + p * W + (W - shift), base + (p + 1) * W);
    };
    roll(f.data.data(), f.num_times());
    if (f.lat2d.numel() == H * W) roll(f.lat2d.data(), 1);
    if (f.lon2d.numel() == H * W) roll(f.lon2d.data(), 1);
    std::rotate(f.x.begin(), f.x.begin() + (W - shift), f.x.end());
}

inline bool ascending(const std::vector<double>& c) { return c.size() < 2 || c.back() > c.front(); }

inline double smallest_spacing(const std::vector<double>& c) {
    double s = std::numeric_limits<double>::infinity();
    for (std::size_t i = 1; i < c.size(); ++i) s = std::min(s, std::fabs(c[i] - c[i - 1]));
    return std::isfinite(s) && s > 0 ? s : 1.0;
}

inline double angle_difference(double a, double b) {
    const double d = std::fmod(std::fabs(a - b), 360.0);
    return std::min(d, 360.0 - d);
}

// Orients f's 1-D axes like ref's: longitudes wrapped and rolled, then reversed if needed.
template <class T>
void orient_like(io::GridField<T>& f, const io::GridField<T>& ref) {
    if (f.x.size() >= 2 && !ref.x.empty() && angular_x(f) && angular_x(ref)) {
        // ref's convention: -180..180 if it has a negative longitude, 0..360 if one above 180,
        // else (0..180, where both agree) none is imposed.
        const double ref_min = *std::min_element(ref.x.begin(), ref.x.end());
        const double ref_max = *std::max_element(ref.x.begin(), ref.x.end());
        const double lo = ref_min < 0 ? -180.0 : ref_max > 180 ? 0.0 : std::numeric_limits<double>::quiet_NaN();
        if (!std::isnan(lo))
            for (double& v : f.x) v = lo + std::fmod(std::fmod(v - lo, 360.0) + 360.0, 360.0);
        // After wrapping, an increasing (decreasing) axis has at most one drop (rise): roll it away.
        const bool up = f.x[1] > f.x[0] || (f.x.size() > 2 && f.x[2] > f.x[1]);
        for (std::size_t j = 1; j < f.x.size(); ++j)
            if ((f.x[j] < f.x[j - 1]) == up) {
                roll_columns(f, static_cast<Index>(f.x.size() - j));
                break;
            }
    }
    if (f.y.size() >= 2 && ref.y.size() >= 2 && ascending(f.y) != ascending(ref.y)) reverse_axis(f, true);
    if (f.x.size() >= 2 && ref.x.size() >= 2 && ascending(f.x) != ascending(ref.x)) reverse_axis(f, false);
}

// The first index where coordinates a and b (same length) differ by more than tol, or -1.
inline Index first_difference(const std::vector<double>& a, const std::vector<double>& b, double tol, bool angular,
                              std::size_t offset = 0) {
    for (std::size_t i = 0; i < b.size(); ++i) {
        const double d = angular ? angle_difference(a[i + offset], b[i]) : std::fabs(a[i + offset] - b[i]);
        if (!(d <= tol)) return static_cast<Index>(i);
    }
    return -1;
}

// The smallest distance, in degrees of (lat, lon), between neighbouring cell centres of a
// curvilinear grid: its cell size. Not the smallest change of latitude or of longitude alone,
// which on a rotated grid (Stage IV) is a tiny fraction of a cell and would make any
// tolerance vanish.
template <class T>
double cell_size_2d(const io::GridField<T>& f) {
    const Index H = f.ny(), W = f.nx();
    double s = std::numeric_limits<double>::infinity();
    const auto distance = [&](Index i, Index j) {
        return std::hypot(f.lat2d[i] - f.lat2d[j], angle_difference(f.lon2d[i], f.lon2d[j]));
    };
    for (Index r = 0; r < H; ++r)
        for (Index k = 0; k < W; ++k) {
            const Index i = r * W + k;
            if (k + 1 < W && distance(i, i + 1) > 0) s = std::min(s, distance(i, i + 1));
            if (r + 1 < H && distance(i, i + W) > 0) s = std::min(s, distance(i, i + W));
        }
    return std::isfinite(s) ? s : 1.0;
}

template <class T>
bool same_2d(const io::GridField<T>& f, const io::GridField<T>& ref, double tolerance) {
    const double tol = tolerance * cell_size_2d(ref);
    for (Index i = 0; i < ref.lat2d.numel(); ++i)
        if (!(std::fabs(f.lat2d[i] - ref.lat2d[i]) <= tol) || !(angle_difference(f.lon2d[i], ref.lon2d[i]) <= tol))
            return false;
    return true;
}

// 2-D lat/lon from 1-D latitude y and longitude x (for comparing a regular grid with a curvilinear one).
template <class T>
void fill_2d_from_1d(io::GridField<T>& f) {
    f.lat2d = Tensor<double>(Shape{f.ny(), f.nx()});
    f.lon2d = Tensor<double>(Shape{f.ny(), f.nx()});
    for (Index r = 0; r < f.ny(); ++r)
        for (Index c = 0; c < f.nx(); ++c) {
            f.lat2d[r * f.nx() + c] = f.y[static_cast<std::size_t>(r)];
            f.lon2d[r * f.nx() + c] = f.x[static_cast<std::size_t>(c)];
        }
}

template <class T>
std::string grid_summary(const io::GridField<T>& f) {
    const auto axis = [](const std::vector<double>& c, const std::string& name) {
        if (c.empty()) return std::string();
        return maunet::detail::cat(" ", name.empty() ? "axis" : name, " ", c.front(), "..", c.back());
    };
    return maunet::detail::cat(f.ny(), " x ", f.nx(), axis(f.y, f.y_name), axis(f.x, f.x_name));
}

}  // namespace detail

// Makes `f` (read from `path`) lie on the grid of `ref` (read from `ref_path`); see the top of
// the file. Returns a note of what was changed ("" when nothing), for the user.
template <class T>
std::string align_to_grid(io::GridField<T>& f, const std::string& path, const io::GridField<T>& ref,
                          const std::string& ref_path, double tolerance = kGridTolerance) {
    const auto refuse = [&](const std::string& why) {
        return ShapeError(maunet::detail::cat("grids differ: '", path, "' (", f.variable, ", ",
                                              detail::grid_summary(f), ") and '", ref_path, "' (", ref.variable, ", ",
                                              detail::grid_summary(ref), "): ", why));
    };
    if (f.ny() != ref.ny() || f.nx() != ref.nx()) throw refuse("different shapes");
    const bool f1 = !f.y.empty() && !f.x.empty(), r1 = !ref.y.empty() && !ref.x.empty();
    const bool f2 = f.curvilinear(), r2 = ref.curvilinear();
    std::string note;
    if (f1 && r1) {
        const std::vector<double> y0 = f.y, x0 = f.x;
        detail::orient_like(f, ref);
        const bool angular = detail::angular_x(f) && detail::angular_x(ref);
        const Index dy = detail::first_difference(f.y, ref.y, tolerance * detail::smallest_spacing(ref.y), false);
        if (dy >= 0)
            throw refuse(maunet::detail::cat(f.y_name, "[", dy, "] = ", f.y[static_cast<std::size_t>(dy)], " but ",
                                             ref.y_name, "[", dy, "] = ", ref.y[static_cast<std::size_t>(dy)]));
        const Index dx = detail::first_difference(f.x, ref.x, tolerance * detail::smallest_spacing(ref.x), angular);
        if (dx >= 0)
            throw refuse(maunet::detail::cat(f.x_name, "[", dx, "] = ", f.x[static_cast<std::size_t>(dx)], " but ",
                                             ref.x_name, "[", dx, "] = ", ref.x[static_cast<std::size_t>(dx)]));
        if (f.y != y0) note += " rows reordered to match;";  // a reversal: the values move
        // Columns move when rolled or reversed; wrapping alone (0..360 against -180..180) only
        // relabels them, and may change the last bit of a longitude: no note for that.
        if (detail::first_difference(f.x, x0, tolerance * detail::smallest_spacing(ref.x), angular) >= 0)
            note += " columns reordered to match;";
        f.y = ref.y;  // identical within tolerance: one grid from now on
        f.x = ref.x;
        return note;
    }
    if ((f1 || f2) && (r1 || r2)) {
        io::GridField<T> r = ref;
        if (!f2 && detail::angular_x(f)) detail::fill_2d_from_1d(f);
        if (!r2 && detail::angular_x(r)) detail::fill_2d_from_1d(r);
        if (!f.curvilinear() || !r.curvilinear())
            throw refuse("one grid has only projected coordinates and the other only latitude/longitude");
        for (int k = 0; k < 4; ++k) {
            if (detail::same_2d(f, r, tolerance)) {
                if (!f2) f.lat2d = Tensor<double>(), f.lon2d = Tensor<double>();
                return k == 0 ? note : " rows and/or columns reordered to match;";
            }
            detail::reverse_axis(f, k % 2 == 0);  // rows, columns, rows: all four orientations
        }
        throw refuse("the 2-D latitude/longitude differ in every orientation");
    }
    return note;  // a side without coordinates: the shapes agree, nothing more can be checked
}

// Keeps the rows and columns of `big` that lie on the grid of `small` (see the top of the file).
template <class T>
std::string crop_to_grid(io::GridField<T>& big, const std::string& path, const io::GridField<T>& small,
                         const std::string& small_path, double tolerance = kGridTolerance) {
    if (big.ny() == small.ny() && big.nx() == small.nx()) return align_to_grid(big, path, small, small_path, tolerance);
    require_shape(big.ny() >= small.ny() && big.nx() >= small.nx(), "cannot crop '", path, "' (",
                  detail::grid_summary(big), ") to the larger grid of '", small_path, "' (",
                  detail::grid_summary(small), ")");
    if (big.y.empty() || big.x.empty() || small.y.empty() || small.x.empty()) {
        io::GridField<T> cropped = cropped_grid(big, small.ny(), small.nx());
        cropped.data = crop_rows_cols(big.data, small.ny(), small.nx());
        cropped.time = big.time;
        big = std::move(cropped);
        return " first rows and columns kept (no 1-D coordinates to match);";
    }
    detail::orient_like(big, small);
    const bool angular = detail::angular_x(big) && detail::angular_x(small);
    const auto offset = [&](const std::vector<double>& b, const std::vector<double>& s, bool ang, const char* axis) {
        const double tol = tolerance * detail::smallest_spacing(s);
        for (std::size_t o = 0; o + s.size() <= b.size(); ++o)
            if (detail::first_difference(b, s, tol, ang, o) < 0) return static_cast<Index>(o);
        throw ShapeError(maunet::detail::cat("grids differ: the ", axis, " coordinates of '", small_path, "' (",
                                             detail::grid_summary(small), ") are not a run of those of '", path,
                                             "' (", detail::grid_summary(big), ")"));
    };
    const Index r0 = offset(big.y, small.y, false, "y"), c0 = offset(big.x, small.x, angular, "x");
    const Index H = small.ny(), W = small.nx(), T0 = big.num_times();
    Tensor<T> data(Shape{T0, H, W});
    for (Index t = 0; t < T0; ++t)
        for (Index r = 0; r < H; ++r) {
            const T* src = big.data.data() + (t * big.ny() + r0 + r) * big.nx() + c0;
            std::copy(src, src + W, data.data() + (t * H + r) * W);
        }
    const bool curvilinear = big.curvilinear();
    Tensor<double> lat, lon;
    if (curvilinear) {
        lat = Tensor<double>(Shape{H, W});
        lon = Tensor<double>(Shape{H, W});
        for (Index r = 0; r < H; ++r)
            for (Index c = 0; c < W; ++c) {
                lat[r * W + c] = big.lat2d[(r0 + r) * big.nx() + c0 + c];
                lon[r * W + c] = big.lon2d[(r0 + r) * big.nx() + c0 + c];
            }
    }
    big.data = std::move(data);
    big.y = small.y;
    big.x = small.x;
    big.lat2d = std::move(lat);
    big.lon2d = std::move(lon);
    return maunet::detail::cat(" rows ", r0, "..", r0 + H - 1, " and columns ", c0, "..", c0 + W - 1,
                               " kept (matched by coordinates);");
}

}  // namespace maunet::pipeline
