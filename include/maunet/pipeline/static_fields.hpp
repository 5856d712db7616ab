// maunet/pipeline/static_fields.hpp: a static predictor (elevation, land fraction, a
// climatology: a field that does not change with time) brought onto a model's grid.
//
//   sample_on_grid(source, source_path, target, target_path) -> [ny, nx] on target's grid
//
// The source lies on a regular latitude-longitude grid: 1-D latitude and longitude
// coordinates, ascending or descending, longitudes in any 360-degree convention. The target
// is any grid whose cells have a latitude and a longitude: 1-D lat/lon axes, or the 2-D
// lat(y, x) / lon(y, x) of a projected or rotated grid (a projected grid without them is
// refused: its cells cannot be placed). Each target cell gets the source at its centre by
// bilinear interpolation between the four source cells around it,
//
//   v = sum_k w_k v_k / sum_k w_k  over the valid (non-NaN) corners k, w_k the bilinear weights,
//
// so a missing corner (a coast in a land-only field) is left out rather than spreading NaN;
// four missing corners give NaN. A target centre more than half a source cell outside the
// source's extent is an error naming both extents. Bilinear sampling keeps what the source
// resolves at the target's scale when the target's cells are at most about twice the
// source's (4 km elevation on a 4 to 12 km grid); average a much finer source first.
#pragma once

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "maunet/io/netcdf.hpp"
#include "maunet/pipeline/grid_match.hpp"

namespace maunet::pipeline {

namespace detail {

// An axis as ascending values with, for each, its index in the field.
struct SortedAxis {
    std::vector<double> values;
    std::vector<Index> index;
    // The fractional position of v (in [0, n-1]) or NaN when v is more than half a cell outside.
    double position(double v) const {
        const Index n = static_cast<Index>(values.size());
        if (n == 1) return std::abs(v - values[0]) <= 0.5 ? 0.0 : std::numeric_limits<double>::quiet_NaN();
        const double half_first = 0.5 * (values[1] - values[0]), half_last = 0.5 * (values[n - 1] - values[n - 2]);
        if (v < values[0] - half_first || v > values[n - 1] + half_last) return std::numeric_limits<double>::quiet_NaN();
        if (v <= values[0]) return 0.0;
        if (v >= values[n - 1]) return static_cast<double>(n - 1);
        const auto it = std::upper_bound(values.begin(), values.end(), v);
        const Index i = static_cast<Index>(it - values.begin()) - 1;
        return static_cast<double>(i) + (v - values[i]) / (values[i + 1] - values[i]);
    }
};

inline SortedAxis sorted_axis(const std::vector<double>& c, const std::string& path, const char* what) {
    SortedAxis a;
    const Index n = static_cast<Index>(c.size());
    require(n >= 1, "'", path, "': the ", what, " axis is empty");
    const bool descending = n > 1 && c[1] < c[0];
    for (Index k = 0; k < n; ++k) {
        const Index i = descending ? n - 1 - k : k;
        require(std::isfinite(c[i]), "'", path, "': the ", what, " coordinate holds a non-finite value");
        if (k > 0) require(c[i] > a.values.back(), "'", path, "': the ", what, " coordinate is not monotonic");
        a.values.push_back(c[i]);
        a.index.push_back(i);
    }
    return a;
}

// True when a 1-D axis is geographic latitude (or longitude): by its standard_name when it has
// one, else by its units, else by its name. A rotated pole's grid_latitude is not: such cells
// are placed by their 2-D lat/lon.
inline bool geographic_axis(const std::vector<io::Attribute>& attributes, const std::string& axis_name,
                            const char* standard_name, std::initializer_list<const char*> units_spellings,
                            std::initializer_list<const char*> names) {
    const std::string sn = attribute_text(attributes, "standard_name");
    if (!sn.empty()) return sn == standard_name;
    const std::string units = attribute_text(attributes, "units");
    if (!units.empty()) return std::find(units_spellings.begin(), units_spellings.end(), units) != units_spellings.end();
    const std::string name = io::detail::lower_case(axis_name);
    return std::find(names.begin(), names.end(), name) != names.end();
}
template <class T>
bool latitude_y(const io::GridField<T>& f) {
    return geographic_axis(f.y_attributes, f.y_name, "latitude",
                           {"degrees_north", "degree_north", "degrees_N", "degree_N"}, {"lat", "latitude"});
}
template <class T>
bool longitude_x(const io::GridField<T>& f) {
    return geographic_axis(f.x_attributes, f.x_name, "longitude", {"degrees_east", "degree_east", "degrees_E", "degree_E"},
                           {"lon", "longitude"});
}

}  // namespace detail

template <class T>
Tensor<T> sample_on_grid(const io::GridField<T>& source, const std::string& source_path, const io::GridField<T>& target,
                         const std::string& target_path) {
    require_shape(source.data.rank() == 3 && source.data.dim(0) >= 1 && source.data.numel() > 0,
                  "sample_on_grid: '", source_path, "' holds no field");
    require(!source.curvilinear() && !source.y.empty() && !source.x.empty() && detail::latitude_y(source) &&
                detail::longitude_x(source),
            "'", source_path, "': a static field must lie on a regular latitude-longitude grid (1-D latitude and "
            "longitude coordinates); this one's axes are '", source.y_name, "' and '", source.x_name, "'");
    const Index ny = target.ny(), nx = target.nx();
    const bool target_2d = target.curvilinear();
    require(target_2d || (!target.y.empty() && !target.x.empty() && detail::latitude_y(target) && detail::longitude_x(target)),
            "'", target_path, "': its cells have no latitude and longitude (axes '", target.y_name, "' and '",
            target.x_name, "', no 2-D lat/lon), so a static field cannot be placed on them");
    const detail::SortedAxis lat = detail::sorted_axis(source.y, source_path, "latitude");
    const detail::SortedAxis lon = detail::sorted_axis(source.x, source_path, "longitude");
    const Index sy = static_cast<Index>(source.y.size()), sx = static_cast<Index>(source.x.size());
    const T* v = source.data.data();  // the first time step
    Tensor<T> out(Shape{ny, nx});
    for (Index i = 0; i < ny; ++i)
        for (Index j = 0; j < nx; ++j) {
            const double la = target_2d ? target.lat2d[i * nx + j] : target.y[static_cast<std::size_t>(i)];
            double lo = target_2d ? target.lon2d[i * nx + j] : target.x[static_cast<std::size_t>(j)];
            // Into the source's longitude convention: the turn of 360 degrees nearest its middle.
            const double middle = 0.5 * (lon.values.front() + lon.values.back());
            lo -= 360.0 * std::round((lo - middle) / 360.0);
            const double p = lat.position(la), q = lon.position(lo);
            require(std::isfinite(p) && std::isfinite(q), "'", source_path, "' (latitude ", lat.values.front(), " .. ",
                    lat.values.back(), ", longitude ", lon.values.front(), " .. ", lon.values.back(),
                    ") does not cover the cell at latitude ", la, ", longitude ", lo, " of '", target_path, "'");
            const Index i0 = std::min(static_cast<Index>(p), sy - 1), j0 = std::min(static_cast<Index>(q), sx - 1);
            const Index i1 = std::min(i0 + 1, sy - 1), j1 = std::min(j0 + 1, sx - 1);
            const double fy = p - static_cast<double>(i0), fx = q - static_cast<double>(j0);
            double sum = 0, weight = 0;
            const Index rows[2] = {i0, i1}, cols[2] = {j0, j1};
            const double wy[2] = {1 - fy, fy}, wx[2] = {1 - fx, fx};
            for (int a = 0; a < 2; ++a)
                for (int b = 0; b < 2; ++b) {
                    const T value = v[lat.index[static_cast<std::size_t>(rows[a])] * sx +
                                      lon.index[static_cast<std::size_t>(cols[b])]];
                    const double w = wy[a] * wx[b];
                    if (w > 0 && std::isfinite(value)) sum += w * value, weight += w;
                }
            out[i * nx + j] = weight > 0 ? static_cast<T>(sum / weight) : std::numeric_limits<T>::quiet_NaN();
        }
    return out;
}

}  // namespace maunet::pipeline
