// maunet/io/netcdf.hpp: read and write gridded fields as CF-NetCDF (optional; link maunet::netcdf).
//
// GridField<T>   one plain struct: data [time, y, x] with NaN for missing cells, its names and
//                units, 1-D coordinates (y, x) or 2-D latitude/longitude (lat2d, lon2d), and
//                the time coordinate with its CF units and calendar.
// NetcdfReader<T> opens one variable of one file and reads any range of time steps, so a
//                decade of daily data never has to sit in memory at once.
// NetcdfWriter   creates a CF-1.8 netCDF-4 file and appends time steps as they come; close()
//                renames the finished file onto the target (io/atomic_file.hpp), and a writer
//                destroyed without close() removes its temporary. ParallelNetcdfWriter
//                (io/netcdf_parallel.hpp) writes the same file from every rank of an MPI job.
//
// Reading rules
// - The variable has dimensions (time, y, x) or (y, x); rank 2 is read as one time step.
//   Other ranks throw FormatError.
// - Any numeric stored type (byte, short, int, int64, unsigned, float, double) is read
//   through double and converted to T. A raw value becomes NaN when it is NaN, equals
//   _FillValue (or, without that attribute, netCDF's default fill of the type, except for
//   bytes), equals any value of missing_value, or lies outside valid_min/valid_max/
//   valid_range. Comparisons are made on the raw (packed) values, as CF prescribes; then
//   value = raw * scale_factor + add_offset.
// - 1-D coordinates: a 1-D variable named like the dimension (y and x; time). 2-D latitude/
//   longitude: a (y, x) variable listed in the variable's `coordinates` attribute whose
//   units start with degree(s)_north/_east or whose standard_name is latitude/longitude, or
//   else a (y, x) variable named lat/latitude/lon/longitude.
// - Orientation: the reader returns rows in the file's order, together with the coordinates.
//   Files store latitude north-to-south or south-to-north; make_south_to_north() reorders a
//   field with 1-D latitude so that row 0 is the southernmost (the order every maunet file
//   and model assumes when it matters).
// - The time coordinate is read whole at open (it is small); time_units empty and time empty
//   when the file has none.
// - Also read: cell_methods; the attributes of the 1-D y/x coordinate variables (except
//   _FillValue and bounds); the grid-mapping variable named by grid_mapping (its first name
//   in the extended "name: coords" form) and its attributes; the global attributes.
//
// Writing rules
// - Dimensions time (unlimited), y and x. A field with 1-D coordinates gets dims and
//   coordinate variables named lat/lon (or the field's y_name/x_name) with standard_name
//   latitude/longitude and units degrees_north/degrees_east; a curvilinear field gets dims
//   y/x, 2-D variables lat(y, x)/lon(y, x) and a `coordinates = "lat lon"` attribute.
// - The data variable is float, NaN written as _FillValue (1e20f by default), compressed
//   with shuffle + deflate level 1 (NetcdfWriterOptions), chunked one time step per chunk.
// - Companion variables (NetcdfWriterOptions::companions: an ensemble's spread and quantiles
//   beside its mean) share the data variable's dimensions, storage, coordinates, grid mapping
//   and units; append() then takes data [n, 1 + companions, y, x], the data variable first.
// - Kept metadata (GridField's cell_methods, grid_mapping and *_attributes, as the reader
//   fills them): the y/x coordinate variables get the file's own attributes (projected x/y in
//   m, rotated rlat/rlon) instead of the latitude/longitude defaults; the grid-mapping
//   variable is written back (a scalar int with its attributes) and named by the data
//   variable's grid_mapping; numeric attributes are written as double.
// - Global attributes: Conventions = "CF-1.8"; history = "<UTC timestamp>: <command>" followed,
//   on the next lines, by the input's history (newest first, as CDO and NCO append); the
//   input's other global attributes; source = "maunet <version>" unless the input has one;
//   then the caller's attributes (model, method, ...), which may override any of these.
//
// Errors: every netCDF call is checked. Failures while reading throw FormatError (IOError when
// the operating system reports the error, e.g. a missing file); failures while writing throw
// IOError. Messages name the file, the variable and nc_strerror's text. Bad arguments (time
// steps out of range, a chunk of the wrong shape) throw ArgumentError / ShapeError.
//
// netCDF-C is not thread-safe: use one reader or writer per thread only with a thread-safe
// build of the library, or serialise the calls.
#pragma once

#ifndef MAUNET_HAVE_NETCDF
#error "maunet/io/netcdf.hpp needs netCDF-C: link maunet::netcdf (target_link_libraries(<t> PRIVATE maunet::netcdf))"
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <ctime>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <netcdf.h>

#include "maunet/core/errors.hpp"
#include "maunet/core/shape.hpp"
#include "maunet/core/tensor.hpp"
#include "maunet/io/atomic_file.hpp"
#include "maunet/io/cf_time.hpp"
#include "maunet/version.hpp"

namespace maunet::io {

// Values a netCDF variable may declare per byte of its file (deflate compresses at most about
// 1032:1); see NetcdfReader.
inline constexpr Index kMaxNetcdfExpansion = 1100;

// One attribute as read from a file: text, or numbers (any numeric type, as double).
struct Attribute {
    std::string name, text;
    std::vector<double> numbers;  // empty for a text attribute
    bool is_text() const { return numbers.empty(); }
};

template <class T>
struct GridField {
    Tensor<T> data;  // [time, y, x]; NaN = missing
    std::string variable, units, long_name, standard_name;
    std::string cell_methods, grid_mapping;  // CF attributes of the variable ("" when absent)
    // Kept from the file and written back: the attributes of the 1-D y/x coordinate variables
    // (e.g. projection_x_coordinate in m, grid_latitude in degrees), those of the grid-mapping
    // variable named by grid_mapping, and the global attributes (history included).
    std::vector<Attribute> y_attributes, x_attributes, grid_mapping_attributes, global_attributes;
    std::string time_name = "time", y_name, x_name;  // y/x empty: writer picks lat/lon or y/x
    std::vector<double> y, x;                        // 1-D coordinates, or empty
    Tensor<double> lat2d, lon2d;                     // [y, x] when the grid is curvilinear, else empty
    std::vector<double> time;                        // one value per time step, or empty
    std::string time_units, calendar;                // CF attributes of the time coordinate

    Index num_times() const { return data.rank() == 3 ? data.dim(0) : 0; }
    Index ny() const { return data.rank() == 3 ? data.dim(1) : 0; }
    Index nx() const { return data.rank() == 3 ? data.dim(2) : 0; }
    bool curvilinear() const { return lat2d.numel() > 0; }
};

// The civil dates of a field's time coordinate (needs time_units; calendar defaults to standard).
template <class T>
std::vector<CivilTime> civil_times(const GridField<T>& field) {
    require(!field.time_units.empty() || field.time.empty(), "civil_times: field '", field.variable,
            "' has time values but no time units");
    std::vector<CivilTime> out;
    if (field.time.empty()) return out;
    const TimeUnits units = parse_time_units(field.time_units);
    const Calendar calendar = parse_calendar(field.calendar);
    out.reserve(field.time.size());
    for (double v : field.time) out.push_back(decode_time(v, units, calendar));
    return out;
}

// Reverses the rows of a field whose 1-D latitude (field.y) decreases, so that row 0 is the
// southernmost; 2-D coordinates, if present, are reversed with it. Returns whether it flipped.
// Throws ArgumentError if the field has no 1-D y coordinate or it is not monotonic.
template <class T>
bool make_south_to_north(GridField<T>& field) {
    require(!field.y.empty(), "make_south_to_north: field '", field.variable,
            "' has no 1-D latitude (y) coordinate; a curvilinear grid cannot be reordered by rows");
    require_shape(field.data.rank() == 3 && static_cast<Index>(field.y.size()) == field.ny(),
                  "make_south_to_north: data ", field.data.shape(), " does not match ", field.y.size(),
                  " latitudes");
    const std::size_t n = field.y.size();
    bool increasing = true, decreasing = true;
    for (std::size_t i = 1; i < n; ++i) {
        increasing = increasing && field.y[i] > field.y[i - 1];
        decreasing = decreasing && field.y[i] < field.y[i - 1];
    }
    require(increasing || decreasing, "make_south_to_north: latitude of field '", field.variable,
            "' is not strictly monotonic");
    if (increasing) return false;
    std::reverse(field.y.begin(), field.y.end());
    const auto reverse_rows = [](auto* base, Index planes, Index rows, Index cols) {
        for (Index p = 0; p < planes; ++p) {
            auto* plane = base + p * rows * cols;
            for (Index r = 0; r < rows / 2; ++r)
                std::swap_ranges(plane + r * cols, plane + (r + 1) * cols, plane + (rows - 1 - r) * cols);
        }
    };
    reverse_rows(field.data.data(), field.num_times(), field.ny(), field.nx());
    if (field.lat2d.numel() > 0) reverse_rows(field.lat2d.data(), 1, field.ny(), field.nx());
    if (field.lon2d.numel() > 0) reverse_rows(field.lon2d.data(), 1, field.ny(), field.nx());
    return true;
}

namespace detail {

// Throws FormatError or IOError unless status == NC_NOERR.
inline void nc_check(int status, const std::string& what, const std::string& path, const std::string& variable,
                     bool writing) {
    if (status == NC_NOERR) return;
    std::string msg = maunet::detail::cat(what, " '", path, "'");
    if (!variable.empty()) msg += maunet::detail::cat(" (variable '", variable, "')");
    msg += maunet::detail::cat(": ", nc_strerror(status));
    if (writing || status > 0) throw IOError(msg);  // positive status: an errno of the system
    throw FormatError(msg);
}

inline std::string nc_var_name(int ncid, int varid) {
    char name[NC_MAX_NAME + 1] = {0};
    if (nc_inq_varname(ncid, varid, name) != NC_NOERR) return "?";
    return name;
}

inline std::string nc_dim_name(int ncid, int dimid) {
    char name[NC_MAX_NAME + 1] = {0};
    if (nc_inq_dimname(ncid, dimid, name) != NC_NOERR) return "?";
    return name;
}

inline std::vector<int> nc_var_dims(int ncid, int varid) {
    int ndims = 0;
    if (nc_inq_varndims(ncid, varid, &ndims) != NC_NOERR) return {};
    std::vector<int> dims(static_cast<std::size_t>(ndims));
    if (ndims > 0 && nc_inq_vardimid(ncid, varid, dims.data()) != NC_NOERR) return {};
    return dims;
}

inline int nc_find_var(int ncid, const std::string& name) {
    int varid = -1;
    return nc_inq_varid(ncid, name.c_str(), &varid) == NC_NOERR ? varid : -1;
}

// A text attribute (NC_CHAR or NC_STRING), or "" when absent or of another type.
inline std::string nc_text_attribute(int ncid, int varid, const char* name) {
    nc_type type = NC_NAT;
    std::size_t len = 0;
    if (nc_inq_att(ncid, varid, name, &type, &len) != NC_NOERR) return {};
    if (type == NC_CHAR) {
        std::string s(len, '\0');
        if (len > 0 && nc_get_att_text(ncid, varid, name, s.data()) != NC_NOERR) return {};
        const auto end = s.find('\0');
        if (end != std::string::npos) s.resize(end);
        return s;
    }
    if (type == NC_STRING && len >= 1) {
        std::vector<char*> values(len, nullptr);
        if (nc_get_att_string(ncid, varid, name, values.data()) != NC_NOERR) return {};
        std::string s = values[0] ? values[0] : "";
        nc_free_string(len, values.data());
        return s;
    }
    return {};
}

// A numeric attribute converted to double (all its values), or empty when absent/not numeric.
inline std::vector<double> nc_numeric_attribute(int ncid, int varid, const char* name) {
    nc_type type = NC_NAT;
    std::size_t len = 0;
    if (nc_inq_att(ncid, varid, name, &type, &len) != NC_NOERR) return {};
    if (type == NC_CHAR || type == NC_STRING || len == 0) return {};
    std::vector<double> values(len);
    if (nc_get_att_double(ncid, varid, name, values.data()) != NC_NOERR) return {};
    return values;
}

// Every attribute of a variable (NC_GLOBAL for the file), except netCDF's own (_FillValue,
// _Netcdf4...) and `bounds` (the bounds variables are not copied).
inline std::vector<Attribute> nc_attributes(int ncid, int varid) {
    std::vector<Attribute> out;
    int natts = 0;
    if (nc_inq_varnatts(ncid, varid, &natts) != NC_NOERR) return out;
    for (int a = 0; a < natts; ++a) {
        char name[NC_MAX_NAME + 1] = {0};
        if (nc_inq_attname(ncid, varid, a, name) != NC_NOERR || name[0] == '_' || std::string(name) == "bounds")
            continue;
        Attribute att;
        att.name = name;
        nc_type type = NC_NAT;
        std::size_t len = 0;
        if (nc_inq_att(ncid, varid, name, &type, &len) != NC_NOERR) continue;
        if (type == NC_CHAR || type == NC_STRING) {
            att.text = nc_text_attribute(ncid, varid, name);
        } else {
            att.numbers.resize(len);
            if (len == 0 || nc_get_att_double(ncid, varid, name, att.numbers.data()) != NC_NOERR) continue;
        }
        out.push_back(std::move(att));
    }
    return out;
}

inline const Attribute* find_attribute(const std::vector<Attribute>& atts, const std::string& name) {
    for (const auto& a : atts)
        if (a.name == name) return &a;
    return nullptr;
}

// netCDF's default fill value of a type (used when _FillValue is absent); none for bytes.
inline bool nc_default_fill(nc_type type, double& fill) {
    switch (type) {
        case NC_SHORT: fill = NC_FILL_SHORT; return true;
        case NC_USHORT: fill = NC_FILL_USHORT; return true;
        case NC_INT: fill = NC_FILL_INT; return true;
        case NC_UINT: fill = NC_FILL_UINT; return true;
        case NC_INT64: fill = static_cast<double>(NC_FILL_INT64); return true;
        case NC_UINT64: fill = static_cast<double>(NC_FILL_UINT64); return true;
        case NC_FLOAT: fill = static_cast<double>(NC_FILL_FLOAT); return true;
        case NC_DOUBLE: fill = NC_FILL_DOUBLE; return true;
        default: return false;
    }
}

inline bool nc_is_numeric(nc_type type) {
    switch (type) {
        case NC_BYTE: case NC_UBYTE: case NC_SHORT: case NC_USHORT: case NC_INT: case NC_UINT:
        case NC_INT64: case NC_UINT64: case NC_FLOAT: case NC_DOUBLE: return true;
        default: return false;
    }
}

// Owns an open netCDF id; closes it in the destructor.
class NcHandle {
public:
    NcHandle() = default;
    explicit NcHandle(int id) : id_(id) {}
    NcHandle(const NcHandle&) = delete;
    NcHandle& operator=(const NcHandle&) = delete;
    NcHandle(NcHandle&& o) noexcept : id_(std::exchange(o.id_, -1)) {}
    NcHandle& operator=(NcHandle&& o) noexcept {
        if (this != &o) {
            close_quietly();
            id_ = std::exchange(o.id_, -1);
        }
        return *this;
    }
    ~NcHandle() { close_quietly(); }
    int get() const { return id_; }
    bool open() const { return id_ >= 0; }
    int release() { return std::exchange(id_, -1); }
    void close_quietly() noexcept {
        if (id_ >= 0) nc_close(id_);
        id_ = -1;
    }

private:
    int id_ = -1;
};

}  // namespace detail

template <class T>
class NetcdfReader {
public:
    // Opens `path` and finds `variable`; reads its coordinates and metadata (not its data).
    NetcdfReader(std::string path, std::string variable) : path_(std::move(path)), variable_(std::move(variable)) {
        int id = -1;
        detail::nc_check(nc_open(path_.c_str(), NC_NOWRITE, &id), "NetcdfReader: cannot open", path_, "", false);
        file_ = detail::NcHandle(id);
        const int ncid = file_.get();

        varid_ = detail::nc_find_var(ncid, variable_);
        if (varid_ < 0) {
            int nvars = 0;
            check(nc_inq_nvars(ncid, &nvars), "NetcdfReader: cannot list the variables of");
            std::string names;
            for (int v = 0; v < nvars; ++v) names += (v ? ", " : "") + detail::nc_var_name(ncid, v);
            throw FormatError(maunet::detail::cat("NetcdfReader: variable '", variable_, "' not found in '", path_,
                                          "'; it has: ", names.empty() ? "(no variables)" : names));
        }
        check(nc_inq_vartype(ncid, varid_, &stored_type_), "NetcdfReader: cannot read the type in");
        if (!detail::nc_is_numeric(stored_type_))
            throw FormatError(maunet::detail::cat("NetcdfReader: variable '", variable_, "' in '", path_,
                                          "' is not numeric (netCDF type ", stored_type_, ")"));

        const std::vector<int> dims = detail::nc_var_dims(ncid, varid_);
        if (dims.size() != 2 && dims.size() != 3) {
            std::string names;
            for (std::size_t i = 0; i < dims.size(); ++i) names += (i ? ", " : "") + detail::nc_dim_name(ncid, dims[i]);
            throw FormatError(maunet::detail::cat("NetcdfReader: variable '", variable_, "' in '", path_, "' has rank ",
                                          dims.size(), " with dimensions (", names,
                                          "); expected (time, y, x) or (y, x)"));
        }
        const bool has_time = dims.size() == 3;
        const int ydim = dims[dims.size() - 2], xdim = dims[dims.size() - 1];
        std::size_t len = 0;
        check(nc_inq_dimlen(ncid, ydim, &len), "NetcdfReader: cannot read a dimension in");
        ny_ = static_cast<Index>(len);
        check(nc_inq_dimlen(ncid, xdim, &len), "NetcdfReader: cannot read a dimension in");
        nx_ = static_cast<Index>(len);
        num_times_ = 1;
        if (has_time) {
            check(nc_inq_dimlen(ncid, dims[0], &len), "NetcdfReader: cannot read a dimension in");
            num_times_ = static_cast<Index>(len);
        }
        check_declared_size(dims, has_time);

        // Metadata and coordinates, shared by every chunk.
        meta_.variable = variable_;
        meta_.units = detail::nc_text_attribute(ncid, varid_, "units");
        meta_.long_name = detail::nc_text_attribute(ncid, varid_, "long_name");
        meta_.standard_name = detail::nc_text_attribute(ncid, varid_, "standard_name");
        meta_.y_name = detail::nc_dim_name(ncid, ydim);
        meta_.x_name = detail::nc_dim_name(ncid, xdim);
        meta_.time_name = has_time ? detail::nc_dim_name(ncid, dims[0]) : std::string{};
        meta_.y = read_coordinate_1d(meta_.y_name, ydim);
        meta_.x = read_coordinate_1d(meta_.x_name, xdim);
        meta_.cell_methods = detail::nc_text_attribute(ncid, varid_, "cell_methods");
        if (!meta_.y.empty()) meta_.y_attributes = detail::nc_attributes(ncid, detail::nc_find_var(ncid, meta_.y_name));
        if (!meta_.x.empty()) meta_.x_attributes = detail::nc_attributes(ncid, detail::nc_find_var(ncid, meta_.x_name));
        meta_.global_attributes = detail::nc_attributes(ncid, NC_GLOBAL);
        // grid_mapping: "name" (CF 1.6) or "name: coords ..." (CF 1.7 extended form: the first name).
        const std::string mapping = detail::nc_text_attribute(ncid, varid_, "grid_mapping");
        const auto first = mapping.find_first_not_of(' ');
        if (first != std::string::npos) {
            const std::string name = mapping.substr(first, mapping.find_first_of(" :", first) - first);
            const int mv = detail::nc_find_var(ncid, name);
            if (mv >= 0) {
                meta_.grid_mapping = name;
                meta_.grid_mapping_attributes = detail::nc_attributes(ncid, mv);
            }
        }
        if (has_time) {
            times_ = read_coordinate_1d(meta_.time_name, dims[0]);
            const int tv = detail::nc_find_var(ncid, meta_.time_name);
            if (tv >= 0 && !times_.empty()) {
                meta_.time_units = detail::nc_text_attribute(ncid, tv, "units");
                meta_.calendar = detail::nc_text_attribute(ncid, tv, "calendar");
                if (meta_.calendar.empty()) meta_.calendar = "standard";
                try {  // checked here, so that the error names this file
                    if (!meta_.time_units.empty()) parse_time_units(meta_.time_units);
                    parse_calendar(meta_.calendar);
                } catch (const ArgumentError& e) {
                    throw FormatError(maunet::detail::cat("'", path_, "' time variable '", meta_.time_name, "': ", e.what()));
                }
            }
        }
        find_2d_coordinates(ydim, xdim);

        // Missing values and packing.
        const auto fill = detail::nc_numeric_attribute(ncid, varid_, "_FillValue");
        double default_fill = 0;
        if (!fill.empty()) missing_values_.push_back(fill[0]);
        else if (detail::nc_default_fill(stored_type_, default_fill)) missing_values_.push_back(default_fill);
        for (double v : detail::nc_numeric_attribute(ncid, varid_, "missing_value")) missing_values_.push_back(v);
        const auto vmin = detail::nc_numeric_attribute(ncid, varid_, "valid_min");
        const auto vmax = detail::nc_numeric_attribute(ncid, varid_, "valid_max");
        const auto vrange = detail::nc_numeric_attribute(ncid, varid_, "valid_range");
        if (vrange.size() == 2) {
            valid_min_ = vrange[0];
            valid_max_ = vrange[1];
        }
        if (!vmin.empty()) valid_min_ = vmin[0];
        if (!vmax.empty()) valid_max_ = vmax[0];
        const auto scale = detail::nc_numeric_attribute(ncid, varid_, "scale_factor");
        const auto offset = detail::nc_numeric_attribute(ncid, varid_, "add_offset");
        if (!scale.empty()) scale_factor_ = scale[0];
        if (!offset.empty()) add_offset_ = offset[0];
    }

    NetcdfReader(const NetcdfReader&) = delete;
    NetcdfReader& operator=(const NetcdfReader&) = delete;
    NetcdfReader(NetcdfReader&&) = default;
    NetcdfReader& operator=(NetcdfReader&&) = default;

    const std::string& path() const { return path_; }
    const std::string& variable() const { return variable_; }
    Index num_times() const { return num_times_; }
    Index ny() const { return ny_; }
    Index nx() const { return nx_; }
    // The whole time coordinate (empty if the file has none) and its CF attributes.
    const std::vector<double>& times() const { return times_; }
    const std::string& time_units() const { return meta_.time_units; }
    const std::string& calendar() const { return meta_.calendar; }
    // Everything of a GridField except data and time (the grid, names, units).
    const GridField<T>& metadata() const { return meta_; }

    // Time steps [t0, t0 + count) as a field of shape [count, ny, nx].
    GridField<T> read(Index t0, Index count) const {
        require(count >= 1, "NetcdfReader::read: count must be >= 1, found ", count, " (file '", path_,
                "', variable '", variable_, "')");
        require(t0 >= 0 && t0 <= num_times_ - count, "NetcdfReader::read: time steps [", t0, ", ", t0 + count,
                ") are out of range; '", path_, "' variable '", variable_, "' has ", num_times_, " time steps");
        GridField<T> out = meta_;
        out.data = Tensor<T>(Shape{count, ny_, nx_});
        const std::size_t values = static_cast<std::size_t>(count * ny_ * nx_);
        const std::size_t start[3] = {static_cast<std::size_t>(t0), 0, 0};
        const std::size_t extent[3] = {static_cast<std::size_t>(count), static_cast<std::size_t>(ny_),
                                       static_cast<std::size_t>(nx_)};
        // Without a time axis the variable is [y, x]: skip the time entry of start and extent.
        const int skip = meta_.time_name.empty() ? 1 : 0;
        T* dst = out.data.data();
        const T nan = std::numeric_limits<T>::quiet_NaN();
        // v (the stored value, exact in double) -> missing, or v * scale_factor + add_offset.
        const auto unpack = [&](const auto* raw) {
            for (std::size_t i = 0; i < values; ++i) {
                const double v = raw[i];
                bool missing = std::isnan(v) || v < valid_min_ || v > valid_max_;
                for (double m : missing_values_) missing = missing || v == m;
                dst[i] = missing ? nan : static_cast<T>(v * scale_factor_ + add_offset_);
            }
        };
        bool done = values == 0;
        if constexpr (std::is_same_v<T, float>) {
            if (!done && stored_type_ == NC_FLOAT) {
                // float on disk into float: no double buffer, and the same values as through one.
                check(nc_get_vara_float(file_.get(), varid_, start + skip, extent + skip, dst),
                      "NetcdfReader: cannot read");
                unpack(dst);
                done = true;
            }
        }
        if (!done) {
            std::vector<double> raw(values);
            check(nc_get_vara_double(file_.get(), varid_, start + skip, extent + skip, raw.data()),
                  "NetcdfReader: cannot read");
            unpack(raw.data());
        }
        if (!times_.empty())
            out.time.assign(times_.begin() + t0, times_.begin() + t0 + count);
        return out;
    }

    // All time steps at once.
    GridField<T> read_all() const { return read(0, num_times_); }

private:
    void check(int status, const char* what) const {
        detail::nc_check(status, what, path_, variable_, false);
    }

    // Declared sizes against the file, before anything is allocated: the values of the
    // variable (time x y x x, overflow-checked) must fit in the file at deflate's best ratio
    // (about 1032:1, so kMaxNetcdfExpansion values per byte of file). A small file declaring
    // 10^9 time steps is refused here instead of failing to allocate gigabytes later. (A
    // netCDF-4 variable that is mostly unwritten fill values could in principle exceed this;
    // maunet does not read such files.)
    void check_declared_size(const std::vector<int>& dims, bool has_time) const {
        std::error_code ec;
        const auto file_bytes = std::filesystem::file_size(path_, ec);
        if (ec) return;  // not a plain file (e.g. a DAP URL): nothing to compare with
        const Index limit = static_cast<Index>(std::min<std::uintmax_t>(file_bytes, std::uintmax_t(1) << 40)) *
                                kMaxNetcdfExpansion + 1024;
        Index values = 1;
        const bool fits = checked_mul(values, ny_, values, limit) && checked_mul(values, nx_, values, limit) &&
                          checked_mul(values, num_times_, values, limit);
        if (!fits) {
            std::string shape;
            const int ncid = file_.get();
            for (std::size_t i = 0; i < dims.size(); ++i) {
                std::size_t len = 0;
                nc_inq_dimlen(ncid, dims[i], &len);
                shape += maunet::detail::cat(i ? " x " : "", detail::nc_dim_name(ncid, dims[i]), " ", len);
            }
            throw FormatError(maunet::detail::cat("'", path_, "' variable '", variable_, "': the declared size (",
                                                  shape, ") is more than a file of ", file_bytes,
                                                  " bytes can hold", has_time ? "" : " (no time axis)"));
        }
    }

    // The values of the 1-D variable `name` over dimension `dimid`, or empty if there is none.
    std::vector<double> read_coordinate_1d(const std::string& name, int dimid) const {
        const int ncid = file_.get();
        const int v = detail::nc_find_var(ncid, name);
        if (v < 0) return {};
        const std::vector<int> dims = detail::nc_var_dims(ncid, v);
        nc_type type = NC_NAT;
        check(nc_inq_vartype(ncid, v, &type), "NetcdfReader: cannot read a coordinate type in");
        if (dims.size() != 1 || dims[0] != dimid || !detail::nc_is_numeric(type)) return {};
        std::size_t len = 0;
        check(nc_inq_dimlen(ncid, dimid, &len), "NetcdfReader: cannot read a dimension in");
        std::vector<double> values(len);
        if (len > 0)
            detail::nc_check(nc_get_var_double(ncid, v, values.data()), "NetcdfReader: cannot read coordinate '" + name + "' of",
                             path_, variable_, false);
        return values;
    }

    Tensor<double> read_2d(int v, const std::string& name) const {
        Tensor<double> t(Shape{ny_, nx_});
        if (t.numel() > 0)
            detail::nc_check(nc_get_var_double(file_.get(), v, t.data()),
                             "NetcdfReader: cannot read coordinate '" + name + "' of", path_, variable_, false);
        return t;
    }

    void find_2d_coordinates(int ydim, int xdim) {
        const int ncid = file_.get();
        const auto is_yx = [&](int v) {
            nc_type type = NC_NAT;
            const auto d = detail::nc_var_dims(ncid, v);
            return d.size() == 2 && d[0] == ydim && d[1] == xdim && nc_inq_vartype(ncid, v, &type) == NC_NOERR &&
                   detail::nc_is_numeric(type);
        };
        const auto starts_with = [](const std::string& s, const char* p) { return s.rfind(p, 0) == 0; };
        int lat = -1, lon = -1;
        std::string lat_name, lon_name;
        // 1. The `coordinates` attribute, classified by units or standard_name.
        const std::string coords = detail::nc_text_attribute(ncid, varid_, "coordinates");
        std::size_t pos = 0;
        while (pos < coords.size()) {
            const auto start = coords.find_first_not_of(' ', pos);
            if (start == std::string::npos) break;
            auto end = coords.find(' ', start);
            if (end == std::string::npos) end = coords.size();
            const std::string name = coords.substr(start, end - start);
            pos = end;
            const int v = detail::nc_find_var(ncid, name);
            if (v < 0 || !is_yx(v)) continue;
            const std::string units = detail::lower_case(detail::nc_text_attribute(ncid, v, "units"));
            const std::string sn = detail::lower_case(detail::nc_text_attribute(ncid, v, "standard_name"));
            if (sn == "latitude" || starts_with(units, "degrees_n") || starts_with(units, "degree_n")) {
                lat = v;
                lat_name = name;
            } else if (sn == "longitude" || starts_with(units, "degrees_e") || starts_with(units, "degree_e")) {
                lon = v;
                lon_name = name;
            }
        }
        // 2. Conventional names.
        for (const char* name : {"lat", "latitude"})
            if (lat < 0) {
                const int v = detail::nc_find_var(ncid, name);
                if (v >= 0 && is_yx(v)) lat = v, lat_name = name;
            }
        for (const char* name : {"lon", "longitude"})
            if (lon < 0) {
                const int v = detail::nc_find_var(ncid, name);
                if (v >= 0 && is_yx(v)) lon = v, lon_name = name;
            }
        if (lat >= 0 && lon >= 0) {
            meta_.lat2d = read_2d(lat, lat_name);
            meta_.lon2d = read_2d(lon, lon_name);
        }
    }

    std::string path_, variable_;
    detail::NcHandle file_;
    int varid_ = -1;
    nc_type stored_type_ = NC_NAT;
    Index num_times_ = 0, ny_ = 0, nx_ = 0;
    GridField<T> meta_;
    std::vector<double> times_;
    std::vector<double> missing_values_;
    double valid_min_ = -std::numeric_limits<double>::infinity();
    double valid_max_ = std::numeric_limits<double>::infinity();
    double scale_factor_ = 1.0, add_offset_ = 0.0;
};

// A variable written beside a NetcdfWriter's data variable, on its grid and time axis.
struct NetcdfCompanion {
    std::string name;          // e.g. "pr_sd"
    std::string long_name;     // e.g. "standard deviation of 20 MC-dropout samples"
    std::string units;         // empty: the data variable's
    std::string cell_methods;  // empty: none
};

struct NetcdfWriterOptions {
    float fill_value = 1e20f;   // written where the data are NaN
    // 0 (none) .. 9. After the shuffle filter, level 1 writes precipitation about twice as
    // fast as level 4 for files about 2% larger (200 x 200 daily fields).
    int deflate_level = 1;
    bool shuffle = true;
    std::string command = "maunet";  // the history entry: "<UTC time>: <command>"
    // Global attributes written last (may override Conventions, history, source).
    std::vector<std::pair<std::string, std::string>> global_attributes;  // e.g. {"model", "MAUNet"}
    // Variables written beside the data variable (see the top of the file).
    std::vector<NetcdfCompanion> companions;
};

namespace detail {
// How a NetcdfWriter creates its file. By default this process alone writes it (nc_create).
// ParallelNetcdfWriter (io/netcdf_parallel.hpp) opens one file with every rank of an MPI job:
// rank 0 owns the temporary (renames or removes it), all ranks share its name and the
// history's timestamp, create is nc_create_par, and after_enddef makes every variable's
// access collective.
struct NetcdfCreation {
    std::string temporary;                    // empty: AtomicFile chooses one
    bool owner = true;                        // renames the finished file, removes a failed one
    std::string timestamp;                    // of the history line; empty: now
    std::function<int(const std::string& path, int* ncid)> create;  // empty: nc_create
    std::function<int(int ncid)> after_enddef;                        // may be empty
};
}  // namespace detail

class ParallelNetcdfWriter;

// Streams time steps of one variable into a new CF-1.8 file. See the top of this file.
class NetcdfWriter {
public:
    // Defines the file from `layout` (its grid, names, units, time units and calendar; its
    // data and time values are not written - append them). Creates the temporary file.
    template <class T>
    NetcdfWriter(std::string path, const GridField<T>& layout, NetcdfWriterOptions options = {})
        : NetcdfWriter(std::move(path), layout, std::move(options), detail::NetcdfCreation{}) {}
    NetcdfWriter(const NetcdfWriter&) = delete;
    NetcdfWriter& operator=(const NetcdfWriter&) = delete;
    NetcdfWriter(NetcdfWriter&&) = default;
    NetcdfWriter& operator=(NetcdfWriter&&) = delete;
    // Without close(): closes the netCDF id and removes the temporary (the target is untouched).
    ~NetcdfWriter() {
        nc_.close_quietly();
        if (file_) file_->discard();
    }

    const std::string& path() const { return target_; }
    const std::string& temporary_path() const { return temporary_; }
    Index num_times_written() const { return written_; }

    // The time of writing as the history line gives it, e.g. "2026-11-30T23:26:40Z".
    static std::string utc_timestamp() {
        const std::time_t now = std::time(nullptr);
        std::tm tm{};
        gmtime_r(&now, &tm);
        char buf[32];
        std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return buf;
    }

    // Appends chunk.data [n, ny, nx] (with companions: [n, 1 + companions, ny, nx]) and
    // chunk.time (n values) after the steps written so far.
    template <class T>
    void append(const GridField<T>& chunk) {
        written_ += put_steps(written_, chunk, false);
    }

    // Finishes the file and renames it onto the target path. Throws IOError on failure (the
    // temporary is then removed).
    void close() {
        if (!nc_.open()) throw IOError(maunet::detail::cat("NetcdfWriter::close: '", path(), "' is already closed"));
        const int id = nc_.release();
        const int status = nc_close(id);
        if (status != NC_NOERR) {
            if (file_) file_->discard();
            check(status, "cannot close");
        }
        if (file_) file_->commit();
    }

private:
    friend class ParallelNetcdfWriter;

    template <class T>
    NetcdfWriter(std::string path, const GridField<T>& layout, NetcdfWriterOptions options,
                 detail::NetcdfCreation creation)
        : target_(std::move(path)), options_(std::move(options)), creation_(std::move(creation)) {
        if (creation_.owner)
            file_.emplace(creation_.temporary.empty() ? AtomicFile(target_)
                                                      : AtomicFile(target_, creation_.temporary));
        temporary_ = file_ ? file_->temporary_path() : creation_.temporary;
        validate_layout(layout);
        ny_ = layout.ny();
        nx_ = layout.nx();
        y_ = layout.y;
        x_ = layout.x;
        curvilinear_ = layout.curvilinear();
        time_units_ = layout.time_units;
        calendar_ = layout.calendar.empty() ? "standard" : layout.calendar;
        variable_ = layout.variable;
        define(layout);
    }

    // Writes chunk.data [n, ny, nx] and chunk.time at time steps start .. start + n - 1 and
    // returns n. `collective`: the call is made even for n = 0 (every rank of a parallel file
    // takes part in every write).
    template <class T>
    Index put_steps(Index start, const GridField<T>& chunk, bool collective) {
        if (!nc_.open()) throw IOError(maunet::detail::cat("NetcdfWriter::append: '", path(), "' is already closed"));
        const Index layers = 1 + static_cast<Index>(companion_vars_.size());
        const Tensor<T>& d = chunk.data;
        require_shape(layers == 1 ? d.rank() == 3 && d.dim(1) == ny_ && d.dim(2) == nx_
                                  : d.rank() == 4 && d.dim(1) == layers && d.dim(2) == ny_ && d.dim(3) == nx_,
                      "NetcdfWriter::append: chunk of shape ", d.shape(), " does not fit the file's grid [time, ",
                      layers == 1 ? std::string() : maunet::detail::cat(layers, " variables, "), ny_, ", ", nx_,
                      "] ('", path(), "')");
        const Index n = d.dim(0);
        require_shape(static_cast<Index>(chunk.time.size()) == n, "NetcdfWriter::append: chunk has ", n,
                      " time steps but ", chunk.time.size(), " time values ('", path(), "')");
        require(chunk.time_units.empty() || chunk.time_units == time_units_, "NetcdfWriter::append: chunk time units '",
                chunk.time_units, "' differ from the file's '", time_units_, "'");
        require(chunk.y.empty() || chunk.y == y_, "NetcdfWriter::append: chunk y coordinate differs from the file's ('",
                path(), "')");
        require(chunk.x.empty() || chunk.x == x_, "NetcdfWriter::append: chunk x coordinate differs from the file's ('",
                path(), "')");
        for (double t : chunk.time)
            require(std::isfinite(t), "NetcdfWriter::append: time values must be finite, found ", t);
        require(start >= 0, "NetcdfWriter::append: negative start ", start);
        if (n == 0 && !collective) return 0;
        const Index plane = ny_ * nx_;
        std::vector<float> values(static_cast<std::size_t>(n * plane));
        const std::size_t first[3] = {static_cast<std::size_t>(n > 0 ? start : 0), 0, 0};
        const std::size_t count[3] = {static_cast<std::size_t>(n), static_cast<std::size_t>(ny_),
                                      static_cast<std::size_t>(nx_)};
        const double no_time = 0.0;  // a buffer that is not null, for a write of no steps
        for (Index layer = 0; layer < layers; ++layer) {
            for (Index t = 0; t < n; ++t) {
                const T* src = d.data() + (t * layers + layer) * plane;
                float* dst = values.data() + t * plane;
                for (Index j = 0; j < plane; ++j) dst[j] = std::isnan(src[j]) ? options_.fill_value : static_cast<float>(src[j]);
            }
            const int var = layer == 0 ? data_var_ : companion_vars_[static_cast<std::size_t>(layer - 1)];
            check(nc_put_vara_float(nc_.get(), var, first, count, n > 0 ? values.data() : &options_.fill_value),
                  "cannot write data to");
        }
        check(nc_put_vara_double(nc_.get(), time_var_, first, count, n > 0 ? chunk.time.data() : &no_time),
              "cannot write time to");
        return n;
    }

    template <class T>
    void validate_layout(const GridField<T>& f) const {
        require_shape(f.data.rank() == 3, "NetcdfWriter: layout data must have shape [time, y, x], found ",
                      f.data.shape(), " ('", path(), "')");
        const Index ny = f.data.dim(1), nx = f.data.dim(2);
        require(ny >= 1 && nx >= 1, "NetcdfWriter: the grid must have at least one cell, found ", ny, " x ", nx);
        require(!f.variable.empty(), "NetcdfWriter: the field has no variable name ('", path(), "')");
        require(f.y.empty() || static_cast<Index>(f.y.size()) == ny, "NetcdfWriter: ", f.y.size(),
                " y coordinates for ", ny, " rows");
        require(f.x.empty() || static_cast<Index>(f.x.size()) == nx, "NetcdfWriter: ", f.x.size(),
                " x coordinates for ", nx, " columns");
        if (f.curvilinear() || f.lon2d.numel() > 0)
            require_shape(f.lat2d.shape() == Shape{ny, nx} && f.lon2d.shape() == Shape{ny, nx},
                          "NetcdfWriter: lat2d ", f.lat2d.shape(), " and lon2d ", f.lon2d.shape(),
                          " must both be [", ny, ", ", nx, "]");
        require(!f.time_units.empty(), "NetcdfWriter: the field needs time_units such as 'days since 1850-01-01'");
        parse_time_units(f.time_units);
        parse_calendar(f.calendar);
        require(options_.deflate_level >= 0 && options_.deflate_level <= 9,
                "NetcdfWriter: deflate_level must be in 0..9, found ", options_.deflate_level);
        require(std::isfinite(options_.fill_value), "NetcdfWriter: fill_value must be finite, found ",
                options_.fill_value);
        std::vector<std::string> names = {f.variable, f.time_name.empty() ? "time" : f.time_name, f.y_name, f.x_name,
                                          f.grid_mapping, "lat", "lon"};
        for (const NetcdfCompanion& c : options_.companions) {
            require(!c.name.empty(), "NetcdfWriter: a companion variable has an empty name ('", path(), "')");
            require(std::find(names.begin(), names.end(), c.name) == names.end(), "NetcdfWriter: the companion variable '",
                    c.name, "' has the name of another variable or dimension of '", path(), "'");
            names.push_back(c.name);
        }
    }

    void check(int status, const std::string& what) const {
        detail::nc_check(status, "NetcdfWriter: " + what, path(), variable_, true);
    }
    void put_text(int varid, const char* name, const std::string& value) {
        check(nc_put_att_text(nc_.get(), varid, name, value.size(), value.c_str()),
              maunet::detail::cat("cannot write attribute '", name, "' to"));
    }

    void put_attribute(int varid, const Attribute& a) {
        if (a.is_text()) return put_text(varid, a.name.c_str(), a.text);
        check(nc_put_att_double(nc_.get(), varid, a.name.c_str(), NC_DOUBLE, a.numbers.size(), a.numbers.data()),
              maunet::detail::cat("cannot write attribute '", a.name, "' to"));
    }
    void put_attributes(int varid, const std::vector<Attribute>& atts) {
        for (const Attribute& a : atts) put_attribute(varid, a);
    }

    std::string history_timestamp() const {
        return creation_.timestamp.empty() ? utc_timestamp() : creation_.timestamp;
    }

    template <class T>
    void define(const GridField<T>& f) {
        int id = -1;
        if (creation_.create) check(creation_.create(temporary_, &id), "cannot create");
        else check(nc_create(temporary_.c_str(), NC_NETCDF4 | NC_CLOBBER, &id), "cannot create");
        nc_ = detail::NcHandle(id);
        const int ncid = nc_.get();
        const std::string time_name = f.time_name.empty() ? "time" : f.time_name;
        const std::string y_name = !f.y_name.empty() ? f.y_name : curvilinear_ ? "y" : "lat";
        const std::string x_name = !f.x_name.empty() ? f.x_name : curvilinear_ ? "x" : "lon";
        require(y_name != x_name && y_name != time_name && x_name != time_name,
                "NetcdfWriter: dimension names must differ, found '", time_name, "', '", y_name, "', '", x_name, "'");
        int dim_t = -1, dim_y = -1, dim_x = -1;
        check(nc_def_dim(ncid, time_name.c_str(), NC_UNLIMITED, &dim_t), "cannot define dimension time in");
        check(nc_def_dim(ncid, y_name.c_str(), static_cast<std::size_t>(ny_), &dim_y), "cannot define dimension y in");
        check(nc_def_dim(ncid, x_name.c_str(), static_cast<std::size_t>(nx_), &dim_x), "cannot define dimension x in");

        check(nc_def_var(ncid, time_name.c_str(), NC_DOUBLE, 1, &dim_t, &time_var_), "cannot define time in");
        put_text(time_var_, "standard_name", "time");
        put_text(time_var_, "long_name", "time");
        put_text(time_var_, "units", time_units_);
        put_text(time_var_, "calendar", calendar_);
        put_text(time_var_, "axis", "T");

        int y_var = -1, x_var = -1, lat_var = -1, lon_var = -1;
        if (!y_.empty()) {
            check(nc_def_var(ncid, y_name.c_str(), NC_DOUBLE, 1, &dim_y, &y_var), "cannot define y in");
            if (!f.y_attributes.empty()) {
                put_attributes(y_var, f.y_attributes);
            } else if (curvilinear_) {
                put_text(y_var, "long_name", "y coordinate of the projection");
            } else {
                put_text(y_var, "standard_name", "latitude");
                put_text(y_var, "long_name", "latitude");
                put_text(y_var, "units", "degrees_north");
            }
            put_text(y_var, "axis", "Y");
        }
        if (!x_.empty()) {
            check(nc_def_var(ncid, x_name.c_str(), NC_DOUBLE, 1, &dim_x, &x_var), "cannot define x in");
            if (!f.x_attributes.empty()) {
                put_attributes(x_var, f.x_attributes);
            } else if (curvilinear_) {
                put_text(x_var, "long_name", "x coordinate of the projection");
            } else {
                put_text(x_var, "standard_name", "longitude");
                put_text(x_var, "long_name", "longitude");
                put_text(x_var, "units", "degrees_east");
            }
            put_text(x_var, "axis", "X");
        }
        if (curvilinear_) {
            const int yx[2] = {dim_y, dim_x};
            require(y_name != "lat" && x_name != "lat" && y_name != "lon" && x_name != "lon",
                    "NetcdfWriter: a curvilinear grid uses 2-D variables lat/lon; its dimensions cannot be named so");
            check(nc_def_var(ncid, "lat", NC_DOUBLE, 2, yx, &lat_var), "cannot define lat in");
            put_text(lat_var, "standard_name", "latitude");
            put_text(lat_var, "long_name", "latitude");
            put_text(lat_var, "units", "degrees_north");
            check(nc_def_var(ncid, "lon", NC_DOUBLE, 2, yx, &lon_var), "cannot define lon in");
            put_text(lon_var, "standard_name", "longitude");
            put_text(lon_var, "long_name", "longitude");
            put_text(lon_var, "units", "degrees_east");
        }

        const int tyx[3] = {dim_t, dim_y, dim_x};
        // The data variable and each companion: float (time, y, x), one step per chunk.
        const auto define_field_variable = [&](const std::string& name, const std::string& units,
                                               const std::string& long_name, const std::string& cell_methods) {
            int var = -1;
            check(nc_def_var(ncid, name.c_str(), NC_FLOAT, 3, tyx, &var),
                  maunet::detail::cat("cannot define the variable '", name, "' in"));
            const std::size_t chunks[3] = {1, static_cast<std::size_t>(ny_), static_cast<std::size_t>(nx_)};
            check(nc_def_var_chunking(ncid, var, NC_CHUNKED, chunks), "cannot set chunking in");
            if (options_.deflate_level > 0 || options_.shuffle)
                check(nc_def_var_deflate(ncid, var, options_.shuffle ? 1 : 0, options_.deflate_level > 0 ? 1 : 0,
                                         options_.deflate_level),
                      "cannot set compression in");
            check(nc_def_var_fill(ncid, var, NC_FILL, &options_.fill_value), "cannot set _FillValue in");
            if (!units.empty()) put_text(var, "units", units);
            if (!long_name.empty()) put_text(var, "long_name", long_name);
            if (!cell_methods.empty()) put_text(var, "cell_methods", cell_methods);
            if (curvilinear_) put_text(var, "coordinates", "lat lon");
            if (!f.grid_mapping.empty()) put_text(var, "grid_mapping", f.grid_mapping);
            return var;
        };
        data_var_ = define_field_variable(variable_, f.units, f.long_name, f.cell_methods);
        if (!f.standard_name.empty()) put_text(data_var_, "standard_name", f.standard_name);
        for (const NetcdfCompanion& c : options_.companions)
            companion_vars_.push_back(
                define_field_variable(c.name, c.units.empty() ? f.units : c.units, c.long_name, c.cell_methods));
        if (!f.grid_mapping.empty()) {
            int mapping_var = -1;
            check(nc_def_var(ncid, f.grid_mapping.c_str(), NC_INT, 0, nullptr, &mapping_var),
                  "cannot define the grid mapping variable in");
            put_attributes(mapping_var, f.grid_mapping_attributes);
        }

        // The input's global attributes are kept; history gets the new line first, as CDO and NCO do.
        put_text(NC_GLOBAL, "Conventions", "CF-1.8");
        const Attribute* old_history = detail::find_attribute(f.global_attributes, "history");
        put_text(NC_GLOBAL, "history", history_timestamp() + ": " + options_.command +
                                           (old_history && !old_history->text.empty() ? "\n" + old_history->text : ""));
        if (!detail::find_attribute(f.global_attributes, "source"))
            put_text(NC_GLOBAL, "source", std::string("maunet ") + MAUNET_VERSION_STRING);
        for (const Attribute& a : f.global_attributes)
            if (a.name != "Conventions" && a.name != "history") put_attribute(NC_GLOBAL, a);
        for (const auto& [name, value] : options_.global_attributes) {
            require(!name.empty(), "NetcdfWriter: a global attribute has an empty name");
            put_text(NC_GLOBAL, name.c_str(), value);
        }
        check(nc_enddef(ncid), "cannot finish the definitions of");
        if (creation_.after_enddef) check(creation_.after_enddef(ncid), "cannot set the parallel access of");

        if (y_var >= 0) check(nc_put_var_double(ncid, y_var, y_.data()), "cannot write y to");
        if (x_var >= 0) check(nc_put_var_double(ncid, x_var, x_.data()), "cannot write x to");
        if (curvilinear_) {
            check(nc_put_var_double(ncid, lat_var, f.lat2d.data()), "cannot write lat to");
            check(nc_put_var_double(ncid, lon_var, f.lon2d.data()), "cannot write lon to");
        }
    }

    std::string target_, temporary_;
    std::optional<AtomicFile> file_;  // empty on the ranks that do not own a shared file
    NetcdfWriterOptions options_;
    detail::NetcdfCreation creation_;
    detail::NcHandle nc_;
    std::string variable_, time_units_, calendar_;
    std::vector<double> y_, x_;
    bool curvilinear_ = false;
    Index ny_ = 0, nx_ = 0, written_ = 0;
    int data_var_ = -1, time_var_ = -1;
    std::vector<int> companion_vars_;
};

// Writes a whole field to `path` in one go (NetcdfWriter, one append, close).
template <class T>
void write_netcdf(const std::string& path, const GridField<T>& field, NetcdfWriterOptions options = {}) {
    NetcdfWriter writer(path, field, std::move(options));
    writer.append(field);
    writer.close();
}

}  // namespace maunet::io
