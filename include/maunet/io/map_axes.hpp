// maunet/io/map_axes.hpp: the geography of a quicklook - axis ticks and overlay lines.
//
// A quicklook panel is drawn in grid cells; this header says where along its edges the
// coordinates take "nice" values, and where a lon/lat point (a coastline vertex) falls in the
// grid. Both work on regular grids (1-D coordinates, ascending or descending, 0..360 or
// -180..180 longitudes) and on curvilinear grids (2-D lat(y, x), lon(y, x)):
//
//   ticks: the values of the coordinate along the bottom edge (one per column) and the left
//   edge (one per row) are scanned for crossings of multiples of a step chosen from the
//   extent (0.25, 0.5, 1, 2, 5, 10, ... degrees; 1, 2, 5 x 10^k for other units); a crossing
//   between two cells is placed by linear interpolation. On a regular grid that is exactly
//   where the meridian or parallel lies; on a curvilinear grid it is where it meets the edge.
//
//   CellLocator: lon/lat -> fractional (column, row), cell centres at integers. Regular:
//   interpolation in the coordinate vectors. Curvilinear: the nearest cell centre (a walk from
//   the previous answer, with a full search when the walk is not started), then one Newton
//   step with the local Jacobian of (lon, lat) over (column, row).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "maunet/core/errors.hpp"

namespace maunet::io {

// A line through points (x[i], y[i]): lon/lat in degrees, or fractional cell coordinates.
struct Polyline {
    std::vector<double> x, y;
};

// A box in degrees; west < east (may run past 180 or below 0), south < north.
struct LonLatBox {
    double west = 0, east = 0, south = 0, north = 0;
};

// The axes drawn around every panel of a quicklook. Empty `bottom` and `left`: no axes.
struct MapAxes {
    std::vector<double> bottom;   // per column: the coordinate along the picture's bottom edge
    std::vector<double> left;     // per field row (row 0 first): the coordinate along the left edge
    bool degrees = false;         // bottom is longitude, left latitude: labels 75W, 35.5N
    std::string caption;          // drawn under the panels, e.g. "x, y [km]" for native axes
    std::vector<Polyline> lines;  // overlay in cell coordinates (x = column, y = field row)
    bool empty() const { return bottom.empty() || left.empty(); }
};

struct AxisTick {
    double cell = 0;  // fractional index along the edge (cell centres at integers)
    std::string label;
};

namespace axes_detail {
// Decimals needed to print multiples of `step` exactly (0..4).
inline int decimals_of(double step) {
    for (int d = 0; d < 4; ++d) {
        const double scaled = step * std::pow(10.0, d);
        if (std::abs(scaled - std::round(scaled)) < 1e-6 * std::max(1.0, scaled)) return d;
    }
    return 4;
}
}  // namespace axes_detail

// The label of coordinate value v: degrees with a hemisphere letter (longitudes folded into
// (-180, 180]: 75W, 170E, 180, 0; latitudes 35.5N, 12S, 0), or the plain number.
inline std::string axis_label(double v, double step, bool degrees, bool latitude) {
    const int d = axes_detail::decimals_of(step);
    const double tiny = 0.5 * std::pow(10.0, -d);
    char buf[48];
    if (!degrees) {
        if (std::abs(v) < tiny) v = 0;  // no "-0"
        std::snprintf(buf, sizeof buf, "%.*f", d, v);
        return buf;
    }
    if (!latitude) {
        v = std::remainder(v, 360.0);  // [-180, 180]
        if (std::abs(std::abs(v) - 180.0) < tiny) return "180";
    }
    if (std::abs(v) < tiny) return "0";
    const char hemisphere = latitude ? (v > 0 ? 'N' : 'S') : (v > 0 ? 'E' : 'W');
    std::snprintf(buf, sizeof buf, "%.*f%c", d, std::abs(v), hemisphere);
    return buf;
}

// The smallest nice step with at most max_ticks multiples in [lo, hi] (max_ticks >= 1).
inline double nice_step(double lo, double hi, int max_ticks, bool degrees) {
    const double extent = std::abs(hi - lo);
    if (!(extent > 0) || !std::isfinite(extent)) return 1.0;
    max_ticks = std::max(1, max_ticks);
    if (degrees) {
        static constexpr double kSteps[] = {0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1,  2,
                                            5,    10,   15,   20,  30,  45,   60,  90, 180};
        for (double s : kSteps)
            if (std::floor(hi / s) - std::ceil(lo / s) + 1 <= max_ticks) return s;
        return 180;
    }
    const double base = std::pow(10.0, std::floor(std::log10(extent / max_ticks)) - 1);
    for (int k = 0; k < 40; ++k) {
        const double s = base * std::pow(10.0, k / 3) * (k % 3 == 0 ? 1 : k % 3 == 1 ? 2 : 5);
        if (std::floor(std::max(lo, hi) / s) - std::ceil(std::min(lo, hi) / s) + 1 <= max_ticks) return s;
    }
    return extent;
}

// Ticks where the values v (one per cell along an edge) cross multiples of `step`; each
// multiple is labelled once (its first crossing). Pairs with a NaN or a jump of more than
// 180 (a longitude seam) are skipped.
inline std::vector<AxisTick> edge_ticks(const std::vector<double>& v, double step, bool degrees, bool latitude) {
    std::vector<AxisTick> ticks;
    std::vector<long long> seen;
    auto add = [&](double cell, long long k) {
        if (std::find(seen.begin(), seen.end(), k) != seen.end()) return;
        seen.push_back(k);
        ticks.push_back({cell, axis_label(static_cast<double>(k) * step, step, degrees, latitude)});
    };
    for (std::size_t i = 0; i < v.size(); ++i) {
        const double a = v[i] / step;
        if (!std::isfinite(a)) continue;
        if (std::abs(a - std::round(a)) < 1e-9) add(static_cast<double>(i), std::llround(a));
        if (i + 1 == v.size() || !std::isfinite(v[i + 1]) || (degrees && std::abs(v[i + 1] - v[i]) > 180)) continue;
        const double b = v[i + 1] / step;
        const double lo = std::min(a, b), hi = std::max(a, b);
        for (double k = std::floor(lo) + 1; k < hi; ++k)
            if (std::abs(k - a) > 1e-9 && std::abs(k - b) > 1e-9)
                add(static_cast<double>(i) + (k - a) / (b - a), static_cast<long long>(k));
    }
    std::sort(ticks.begin(), ticks.end(), [](const AxisTick& x, const AxisTick& y) { return x.cell < y.cell; });
    return ticks;
}

// Finds where lon/lat points fall in a grid of `rows` x `cols` cells.
class CellLocator {
public:
    // Regular grid: lon per column, lat per row (each monotone).
    CellLocator(std::vector<double> lon, std::vector<double> lat)
        : rows_(static_cast<long>(lat.size())), cols_(static_cast<long>(lon.size())), lon_(std::move(lon)),
          lat_(std::move(lat)) {
        require(rows_ >= 1 && cols_ >= 1, "CellLocator: expected non-empty coordinates");
    }
    // Curvilinear grid: lon2d and lat2d row-major [rows, cols].
    CellLocator(long rows, long cols, std::vector<double> lon2d, std::vector<double> lat2d)
        : rows_(rows), cols_(cols), lon_(std::move(lon2d)), lat_(std::move(lat2d)), curvilinear_(true) {
        require(rows >= 1 && cols >= 1 && lon_.size() == static_cast<std::size_t>(rows * cols) &&
                    lat_.size() == lon_.size(),
                "CellLocator: expected 2-D coordinates of ", rows, " x ", cols, " values, found ", lon_.size(),
                " and ", lat_.size());
    }

    // (column, row) of the point, cell centres at integers; nullopt outside the grid.
    std::optional<std::pair<double, double>> locate(double lon, double lat) {
        if (!curvilinear_) {
            const auto c = index_in(lon_, lon, true);
            const auto r = index_in(lat_, lat, false);
            if (!c || !r) return std::nullopt;
            return std::make_pair(*c, *r);
        }
        return locate_curvilinear(lon, lat);
    }
    // Forget the previous answer (start the next walk with a full search).
    void restart() { hint_ = -1; }

private:
    // The fractional index of `value` in monotone `axis`, within half a cell of its ends.
    static std::optional<double> index_in(const std::vector<double>& axis, double value, bool longitude) {
        const std::size_t n = axis.size();
        if (n == 1) return std::abs(value - axis[0]) < 1e-9 ? std::optional<double>(0.0) : std::nullopt;
        const bool up = axis[n - 1] > axis[0];
        const double lo = up ? axis[0] : axis[n - 1], hi = up ? axis[n - 1] : axis[0];
        const double half = 0.5 * (hi - lo) / static_cast<double>(n - 1);
        if (longitude)  // bring the longitude into the grid's convention (0..360 or -180..180)
            for (double shifted : {value, value + 360, value - 360})
                if (shifted >= lo - half && shifted <= hi + half) {
                    value = shifted;
                    break;
                }
        if (value < lo - half || value > hi + half) return std::nullopt;
        // First index whose value passes `value` in the axis direction.
        std::size_t k = 1;
        while (k < n - 1 && (up ? axis[k] < value : axis[k] > value)) ++k;
        const double a = axis[k - 1], b = axis[k];
        return static_cast<double>(k - 1) + (value - a) / (b - a);
    }

    double distance2(long i, double lon, double lat) const {
        const double dlat = lat_[static_cast<std::size_t>(i)] - lat;
        const double dlon = std::remainder(lon_[static_cast<std::size_t>(i)] - lon, 360.0) *
                            std::cos(lat * 3.14159265358979323846 / 180.0);
        const double d = dlat * dlat + dlon * dlon;
        return std::isfinite(d) ? d : std::numeric_limits<double>::infinity();
    }

    std::optional<std::pair<double, double>> locate_curvilinear(double lon, double lat) {
        long best = hint_;
        if (best < 0) {
            double d = std::numeric_limits<double>::infinity();
            for (long i = 0; i < rows_ * cols_; ++i)
                if (const double e = distance2(i, lon, lat); e < d) d = e, best = i;
            if (best < 0) return std::nullopt;
        } else {  // walk to the nearest neighbour while it gets closer
            for (bool moved = true; moved;) {
                moved = false;
                const long r = best / cols_, c = best % cols_;
                double d = distance2(best, lon, lat);
                for (long dr = -1; dr <= 1; ++dr)
                    for (long dc = -1; dc <= 1; ++dc) {
                        const long rr = r + dr, cc = c + dc;
                        if (rr < 0 || cc < 0 || rr >= rows_ || cc >= cols_) continue;
                        if (const double e = distance2(rr * cols_ + cc, lon, lat); e < d) d = e, best = rr * cols_ + cc, moved = true;
                    }
            }
        }
        hint_ = best;
        const long r = best / cols_, c = best % cols_;
        // Newton step: J [dc, dr] = [dlon, dlat], J from neighbouring centres (one-sided at edges).
        auto at = [&](const std::vector<double>& a, long rr, long cc) { return a[static_cast<std::size_t>(rr * cols_ + cc)]; };
        const long c0 = std::max(0L, c - 1), c1 = std::min(cols_ - 1, c + 1);
        const long r0 = std::max(0L, r - 1), r1 = std::min(rows_ - 1, r + 1);
        double dc = 0, dr = 0;
        if (c1 > c0 && r1 > r0) {
            const double jxc = std::remainder(at(lon_, r, c1) - at(lon_, r, c0), 360.0) / static_cast<double>(c1 - c0);
            const double jyc = (at(lat_, r, c1) - at(lat_, r, c0)) / static_cast<double>(c1 - c0);
            const double jxr = std::remainder(at(lon_, r1, c) - at(lon_, r0, c), 360.0) / static_cast<double>(r1 - r0);
            const double jyr = (at(lat_, r1, c) - at(lat_, r0, c)) / static_cast<double>(r1 - r0);
            const double det = jxc * jyr - jxr * jyc;
            const double ex = std::remainder(lon - at(lon_, r, c), 360.0), ey = lat - at(lat_, r, c);
            if (std::abs(det) > 0 && std::isfinite(det)) {
                dc = (ex * jyr - jxr * ey) / det;
                dr = (jxc * ey - ex * jyc) / det;
            }
        }
        const double col = static_cast<double>(c) + dc, row = static_cast<double>(r) + dr;
        if (!std::isfinite(col) || !std::isfinite(row) || col < -0.5 || row < -0.5 ||
            col > static_cast<double>(cols_) - 0.5 || row > static_cast<double>(rows_) - 0.5 ||
            std::abs(dc) > 1.5 || std::abs(dr) > 1.5)
            return std::nullopt;
        return std::make_pair(col, row);
    }

    long rows_, cols_;
    std::vector<double> lon_, lat_;
    bool curvilinear_ = false;
    long hint_ = -1;
};

// Lon/lat polylines as cell-coordinate polylines, split where a point falls outside the grid.
inline std::vector<Polyline> to_cells(const std::vector<Polyline>& lonlat, CellLocator& locator) {
    std::vector<Polyline> out;
    for (const Polyline& line : lonlat) {
        locator.restart();
        Polyline piece;
        auto flush = [&] {
            if (piece.x.size() >= 2) out.push_back(piece);
            piece = {};
        };
        for (std::size_t i = 0; i < line.x.size(); ++i) {
            const auto p = locator.locate(line.x[i], line.y[i]);
            if (!p) {
                flush();
                continue;
            }
            piece.x.push_back(p->first);
            piece.y.push_back(p->second);
        }
        flush();
    }
    return out;
}

}  // namespace maunet::io
