// maunet/io/grid_axes.hpp: the axes and the geography of a NetCDF grid, for quicklooks.
//
//   QuicklookOptions o;
//   o.axes = grid_axes(field, bottom_row);             // ticks: degrees or native units
//   GridGeography g = grid_geography(field);            // lon/lat box and a CellLocator
//   if (g.locator) o.axes.lines = to_cells(read_coastlines(file, g.box), *g.locator);
//
// What a grid's axes are labelled with (maunet/io/map_axes.hpp draws them):
//   - 1-D longitude and latitude (units degrees_east/degrees_north, or degrees with
//     standard_name longitude/latitude): degrees, 75W and 35N;
//   - 2-D lat(y, x) and lon(y, x) without 1-D coordinates (e.g. Stage IV): degrees where the
//     meridians and parallels cross the bottom and left edges;
//   - other 1-D coordinates (projected x/y in metres, rotated-pole rlon/rlat with
//     standard_name grid_longitude/grid_latitude): their own values, with a caption naming
//     them and their units; metres become km when the extent is at least 10 km. Never degrees.
//   - no coordinates: no axes.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "maunet/io/map_axes.hpp"
#include "maunet/io/netcdf.hpp"

namespace maunet::io {

namespace grid_axes_detail {
inline std::string text_attribute(const std::vector<Attribute>& atts, const char* name) {
    const Attribute* a = detail::find_attribute(atts, name);
    return a && a->is_text() ? a->text : std::string();
}
inline bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }
}  // namespace grid_axes_detail

// Whether the 1-D coordinates are true longitudes and latitudes (not rotated-pole or projected).
template <class T>
bool has_lonlat_axes(const GridField<T>& f) {
    using namespace grid_axes_detail;
    if (f.x.empty() || f.y.empty()) return false;
    const std::string xu = text_attribute(f.x_attributes, "units"), yu = text_attribute(f.y_attributes, "units");
    const std::string xs = text_attribute(f.x_attributes, "standard_name");
    const std::string ys = text_attribute(f.y_attributes, "standard_name");
    if (xs == "grid_longitude" || ys == "grid_latitude") return false;
    const bool east = xs == "longitude" || xu == "degrees_east" || xu == "degree_east" || xu == "degrees_E" ||
                      xu == "degreesE" || xu == "degree_E" || xu == "degreeE";
    const bool north = ys == "latitude" || yu == "degrees_north" || yu == "degree_north" || yu == "degrees_N" ||
                       yu == "degreesN" || yu == "degree_N" || yu == "degreeN";
    return starts_with(xu, "degree") && starts_with(yu, "degree") && east && north;
}

// The axes of a quicklook of `f` (see the top comment); `bottom_row` is the field row drawn
// at the bottom of the picture (0 when north is up and the rows run south to north).
template <class T>
MapAxes grid_axes(const GridField<T>& f, Index bottom_row) {
    MapAxes axes;
    const Index h = f.ny(), w = f.nx();
    const bool lonlat = has_lonlat_axes(f);
    if (lonlat || (f.curvilinear() && (f.x.empty() || f.y.empty()))) {
        axes.degrees = true;
        if (lonlat) {
            axes.bottom = f.x;
            axes.left = f.y;
        } else {
            for (Index c = 0; c < w; ++c) axes.bottom.push_back(f.lon2d[bottom_row * w + c]);
            for (Index r = 0; r < h; ++r) axes.left.push_back(f.lat2d[r * w]);
        }
        return axes;
    }
    if (f.x.empty() || f.y.empty()) return axes;
    axes.bottom = f.x;
    axes.left = f.y;
    std::string units = grid_axes_detail::text_attribute(f.x_attributes, "units");
    const double extent = std::abs(f.x.back() - f.x.front());
    if ((units == "m" || units == "metre" || units == "meter" || units == "metres" || units == "meters") &&
        extent >= 10000) {
        for (double& v : axes.bottom) v /= 1000;
        for (double& v : axes.left) v /= 1000;
        units = "km";
    }
    axes.caption = f.x_name + ", " + f.y_name + (units.empty() ? "" : " [" + units + "]");
    if (axes.caption.size() > 120) axes.caption.resize(120);  // names and units can be long
    return axes;
}

// The longitudes and latitudes of a grid: their box (a degree of margin; the coastline reader
// clips to it and the locator drops points off the grid) and a locator of points in the
// grid. No locator for grids without longitudes and latitudes, or across the longitude seam.
struct GridGeography {
    LonLatBox box;
    std::unique_ptr<CellLocator> locator;
};

template <class T>
GridGeography grid_geography(const GridField<T>& f) {
    GridGeography g;
    std::vector<double> lon, lat;
    if (has_lonlat_axes(f)) {
        lon = f.x;
        lat = f.y;
        g.locator = std::make_unique<CellLocator>(f.x, f.y);
    } else if (f.curvilinear()) {
        lon.assign(f.lon2d.begin(), f.lon2d.end());
        lat.assign(f.lat2d.begin(), f.lat2d.end());
        g.locator = std::make_unique<CellLocator>(static_cast<long>(f.ny()), static_cast<long>(f.nx()), lon, lat);
    } else {
        return g;
    }
    auto finite_range = [](const std::vector<double>& v, double& lo, double& hi) {
        lo = std::numeric_limits<double>::infinity();
        hi = -lo;
        for (double x : v)
            if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
    };
    finite_range(lon, g.box.west, g.box.east);
    finite_range(lat, g.box.south, g.box.north);
    const double margin = 1.0;
    g.box = {g.box.west - margin, g.box.east + margin, std::max(-90.0, g.box.south - margin),
             std::min(90.0, g.box.north + margin)};
    if (!(g.box.east - g.box.west < 360 + 2 * margin) || !(g.box.south < g.box.north)) g.locator.reset();
    return g;
}

}  // namespace maunet::io
