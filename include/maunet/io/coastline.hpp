// maunet/io/coastline.hpp: coastlines from GMT's binned GSHHG files (optional: netCDF-C).
//
//   auto lines = read_coastlines("/usr/share/gmt-gshhg/binned_GSHHS_l.nc", {-80, -70, 30, 40});
//
// Debian's gmt-gshhg-low (and -high) install the Global Self-consistent, Hierarchical,
// High-resolution Geography database (Wessel and Smith 1996; LGPL) in GMT's "binned" netCDF
// form, binned_GSHHS_{c,l,i,h,f}.nc (crude, low, intermediate, high, full). The layout, as
// GMT's gmt_shore.c reads it:
//   - the globe is cut into square bins of Bin_size_in_minutes; N_bins_in_360_longitude_range
//     bins per row; bin b has its south-west corner at longitude (b % nx) * size and latitude
//     90 - (b / nx + 1) * size (row 0 is the northernmost);
//   - bin b holds N_segments_in_a_bin[b] segments from Id_of_first_segment_in_a_bin[b] on;
//   - segment s: Embedded_npts_levels_exit_entry_for_a_segment[s] packs the number of points
//     (bits 9 and up), the level (bits 6-8: 1 land, 2 lake, 3 island in a lake, 4 pond in
//     such an island; 6 marks the Antarctic grounding line, an alternative to level 1), the
//     entry and exit sides (bits 3-5 and 0-2); its points start at
//     Id_of_first_point_in_a_segment[s];
//   - point p: Relative_{longitude,latitude}_from_SW_corner_of_bin[p], 16-bit values read as
//     unsigned, in units of size / 65535 from the bin's south-west corner.
// A segment is the part of one shoreline polygon inside one bin, so drawing every segment as
// a line draws the shorelines. read_coastlines returns the segments of levels 1 and 2 (sea
// and lake shores) inside a lon/lat box, clipped to it, with longitudes in the box's own
// convention (a box of 280..290 gets 280..290, one of -80..-70 gets -80..-70).
#pragma once

#ifndef MAUNET_HAVE_NETCDF
#error "maunet/io/coastline.hpp needs netCDF-C: link maunet::netcdf (target_link_libraries(<t> PRIVATE maunet::netcdf))"
#endif

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <netcdf.h>

#include "maunet/core/errors.hpp"
#include "maunet/io/map_axes.hpp"
#include "maunet/io/netcdf.hpp"

namespace maunet::io {

// Where Debian's gmt-gshhg packages install the binned files.
inline const char* default_gshhg_directory() { return "/usr/share/gmt-gshhg"; }

// The binned shoreline file suited to a map of `box`: crude (c) for boxes wider or taller than
// 60 degrees, intermediate (i) below 8 degrees when installed, else low (l); the first of
// these that exists in `directory` (falling back to the others), or "" when none does.
inline std::string coastline_file_for(const LonLatBox& box, const std::string& directory = default_gshhg_directory()) {
    const double extent = std::max(box.east - box.west, box.north - box.south);
    const std::string order = extent > 60 ? "cli" : extent < 8 ? "ilc" : "lic";
    for (char resolution : order) {
        const std::string path = directory + "/binned_GSHHS_" + resolution + ".nc";
        std::error_code ec;
        if (std::filesystem::is_regular_file(path, ec)) return path;
    }
    return {};
}

namespace coastline_detail {

// Clips the segment a-b to the box (Liang-Barsky); false when nothing of it is inside.
inline bool clip(double& ax, double& ay, double& bx, double& by, const LonLatBox& box) {
    double t0 = 0, t1 = 1;
    const double dx = bx - ax, dy = by - ay;
    const double p[4] = {-dx, dx, -dy, dy};
    const double q[4] = {ax - box.west, box.east - ax, ay - box.south, box.north - ay};
    for (int k = 0; k < 4; ++k) {
        if (p[k] == 0) {
            if (q[k] < 0) return false;
            continue;
        }
        const double t = q[k] / p[k];
        if (p[k] < 0) t0 = std::max(t0, t);
        else t1 = std::min(t1, t);
        if (t0 > t1) return false;
    }
    const double x0 = ax + t0 * dx, y0 = ay + t0 * dy;
    bx = ax + t1 * dx;
    by = ay + t1 * dy;
    ax = x0;
    ay = y0;
    return true;
}

// Appends the parts of the line (x, y) inside the box to `out`.
inline void clip_line(const std::vector<double>& x, const std::vector<double>& y, const LonLatBox& box,
                      std::vector<Polyline>& out) {
    Polyline piece;
    auto flush = [&] {
        if (piece.x.size() >= 2) out.push_back(piece);
        piece = {};
    };
    for (std::size_t i = 0; i + 1 < x.size(); ++i) {
        double ax = x[i], ay = y[i], bx = x[i + 1], by = y[i + 1];
        if (!clip(ax, ay, bx, by, box)) {
            flush();
            continue;
        }
        const bool joins = !piece.x.empty() && piece.x.back() == ax && piece.y.back() == ay;
        if (!joins) {
            flush();
            piece.x.push_back(ax);
            piece.y.push_back(ay);
        }
        piece.x.push_back(bx);
        piece.y.push_back(by);
        if (bx != x[i + 1] || by != y[i + 1]) flush();  // left the box
    }
    flush();
}

}  // namespace coastline_detail

// The sea and lake shores (levels 1 and 2) inside `box`, clipped to it. FormatError naming
// the file and variable when it is not a binned GSHHG file or its indices are inconsistent;
// IOError when it cannot be opened.
inline std::vector<Polyline> read_coastlines(const std::string& path, const LonLatBox& box) {
    const char* op = "read_coastlines";
    require(box.west < box.east && box.south < box.north && box.east - box.west <= 720, op,
            ": expected a box with west < east and south < north, found west ", box.west, ", east ", box.east,
            ", south ", box.south, ", north ", box.north);
    int id = -1;
    detail::nc_check(nc_open(path.c_str(), NC_NOWRITE, &id), "read_coastlines: cannot open", path, "", false);
    const detail::NcHandle file(id);
    auto var = [&](const char* name) {
        const int v = detail::nc_find_var(id, name);
        if (v < 0)
            throw FormatError(maunet::detail::cat(op, ": '", path, "' is not a binned GSHHG file: no variable '", name,
                                                  "'"));
        return v;
    };
    auto length = [&](const char* name) {
        const std::vector<int> dims = detail::nc_var_dims(id, var(name));
        std::size_t n = 0;
        if (dims.size() != 1 || nc_inq_dimlen(id, dims[0], &n) != NC_NOERR)
            throw FormatError(maunet::detail::cat(op, ": '", path, "' variable '", name, "': expected one dimension"));
        return n;
    };
    auto read_ints = [&](const char* name, std::size_t start, std::size_t count) {
        std::vector<int> values(count);
        if (count > 0)
            detail::nc_check(nc_get_vara_int(id, var(name), &start, &count, values.data()), "read_coastlines: reading",
                             path, name, false);
        return values;
    };
    auto read_shorts = [&](const char* name, std::size_t start, std::size_t count) {
        std::vector<short> values(count);
        if (count > 0)
            detail::nc_check(nc_get_vara_short(id, var(name), &start, &count, values.data()),
                             "read_coastlines: reading", path, name, false);
        return values;
    };
    const int minutes = read_ints("Bin_size_in_minutes", 0, 1)[0];
    const int nx = read_ints("N_bins_in_360_longitude_range", 0, 1)[0];
    const int ny = read_ints("N_bins_in_180_degree_latitude_range", 0, 1)[0];
    if (minutes <= 0 || nx <= 0 || ny <= 0 || static_cast<long>(nx) * minutes != 360L * 60 ||
        static_cast<long>(ny) * minutes != 180L * 60)
        throw FormatError(maunet::detail::cat(op, ": '", path, "': expected bins tiling the globe, found ", nx, " x ",
                                              ny, " bins of ", minutes, " minutes"));
    const std::size_t bins = length("N_segments_in_a_bin"), segments = length("Id_of_first_point_in_a_segment");
    const std::size_t points = length("Relative_longitude_from_SW_corner_of_bin");
    if (bins != static_cast<std::size_t>(nx) * static_cast<std::size_t>(ny) ||
        length("Id_of_first_segment_in_a_bin") != bins || length("Embedded_npts_levels_exit_entry_for_a_segment") != segments ||
        length("Relative_latitude_from_SW_corner_of_bin") != points)
        throw FormatError(maunet::detail::cat(op, ": '", path, "': inconsistent array lengths (", bins, " bins for ",
                                              nx, " x ", ny, ")"));
    const std::vector<int> first_segment = read_ints("Id_of_first_segment_in_a_bin", 0, bins);
    const std::vector<short> segment_count = read_shorts("N_segments_in_a_bin", 0, bins);

    const double size = minutes / 60.0, unit = size / 65535.0;
    std::vector<Polyline> out;
    for (int row = 0; row < ny; ++row) {
        const double south = 90.0 - (row + 1) * size;
        if (south >= box.north || south + size <= box.south) continue;
        for (int col = 0; col < nx; ++col) {
            const std::size_t b = static_cast<std::size_t>(row) * static_cast<std::size_t>(nx) + static_cast<std::size_t>(col);
            const int count = segment_count[b], first = first_segment[b];
            if (count <= 0) continue;
            if (first < 0 || static_cast<std::size_t>(first) + static_cast<std::size_t>(count) > segments)
                throw FormatError(maunet::detail::cat(op, ": '", path, "' variable 'Id_of_first_segment_in_a_bin': bin ",
                                                      b, " has segments ", first, "..", first + count - 1, " of ",
                                                      segments));
            // The bin's longitudes in the box's convention: shifted by a multiple of 360.
            for (double shift = std::floor((box.west - col * size - size) / 360.0) * 360.0 + 360.0;
                 col * size + shift < box.east; shift += 360.0) {
                const double west = col * size + shift;
                if (west + size <= box.west) continue;
                const std::vector<int> info = read_ints("Embedded_npts_levels_exit_entry_for_a_segment",
                                                        static_cast<std::size_t>(first), static_cast<std::size_t>(count));
                const std::vector<int> start = read_ints("Id_of_first_point_in_a_segment", static_cast<std::size_t>(first),
                                                         static_cast<std::size_t>(count));
                for (int s = 0; s < count; ++s) {
                    const int level = (info[static_cast<std::size_t>(s)] >> 6) & 7;
                    const long n = static_cast<long>(static_cast<unsigned>(info[static_cast<std::size_t>(s)]) >> 9);
                    const long p0 = start[static_cast<std::size_t>(s)];
                    if (n < 0 || p0 < 0 || static_cast<std::size_t>(p0 + n) > points)
                        throw FormatError(maunet::detail::cat(op, ": '", path,
                                                              "' variable 'Id_of_first_point_in_a_segment': segment ",
                                                              first + s, " has points ", p0, "..", p0 + n - 1, " of ",
                                                              points));
                    if (level < 1 || level > 2 || n < 2) continue;
                    const auto dx = read_shorts("Relative_longitude_from_SW_corner_of_bin", static_cast<std::size_t>(p0),
                                                static_cast<std::size_t>(n));
                    const auto dy = read_shorts("Relative_latitude_from_SW_corner_of_bin", static_cast<std::size_t>(p0),
                                                static_cast<std::size_t>(n));
                    std::vector<double> x(dx.size()), y(dy.size());
                    for (std::size_t i = 0; i < dx.size(); ++i) {
                        x[i] = west + static_cast<unsigned short>(dx[i]) * unit;
                        y[i] = south + static_cast<unsigned short>(dy[i]) * unit;
                    }
                    coastline_detail::clip_line(x, y, box, out);
                }
            }
        }
    }
    return out;
}

}  // namespace maunet::io
