// maunet/pipeline/precip_field.hpp: precipitation fields brought to mm/day, and target masks
// (needs netCDF: link maunet::netcdf).
//
// precip_factor(f, path, units)   the factor to mm/day of field f read from `path`
//                                 (io/units.hpp): its `units` attribute, or `units` when not
//                                 empty (the --units override); an amount per time step uses
//                                 the regular spacing of f's time axis as its period. No units
//                                 and no override: ArgumentError naming the file and variable.
// precip_factor_to(f, path, units, target, target_what)
//                                 the factor from f's units (as above) to `target`, a rate such
//                                 as a model's units: (to mm/day) / (target to mm/day). Units
//                                 that are not precipitation, or a target that is not a rate,
//                                 are refused naming both (the file and `target_what`).
// to_mm_per_day(f, path, units)   multiplies the data by that factor and relabels f in mm/day
// is_other_quantity(f)            f is not precipitation (elevation: standard_name
//                                 surface_altitude; or units such as m2 or s that are not a
//                                 precipitation kind)
// label_precip_rate(f, units)     relabels f as a rate in `units`; label_mm_per_day(f) in
//                                 "mm day-1". A precipitation
//                                 standard_name (precipitation_flux, precipitation_amount,
//                                 lwe_thickness_of_precipitation_amount, ...) becomes
//                                 lwe_precipitation_rate, whose canonical units mm/day are
//                                 commensurable with; cell_methods "time: sum" -> "time: mean"
//                                 (a total per step is now a mean rate over it).
// target_mask(mask, path, grid, grid_path)
//                                 a land-sea mask on `grid` (aligned to it by grid_match.hpp;
//                                 its first time step): 1 where the mask is finite and non-zero
//                                 (land, or any land fraction), NaN elsewhere, [ny, nx].
// apply_mask(data, mask)          data [n, ny, nx] set to NaN where mask is NaN.
#pragma once

#include <cmath>
#include <limits>
#include <string>

#include "maunet/io/netcdf.hpp"
#include "maunet/io/units.hpp"
#include "maunet/pipeline/grid_match.hpp"
#include "maunet/pipeline/time_match.hpp"

namespace maunet::pipeline {

// `flag` names the option that gives the units, for the message.
template <class T>
double precip_factor(const io::GridField<T>& f, const std::string& path, const std::string& units_override,
                     const std::string& flag = "--units") {
    const std::string where = "'" + path + "' variable '" + f.variable + "'";
    const std::string units = units_override.empty() ? f.units : units_override;
    require(!io::detail::trimmed(units).empty(), where, " has no units attribute; give its units with ", flag,
            " (e.g. 'kg m-2 s-1' or 'mm/day')");
    return io::mm_per_day_factor(units, f.cell_methods, regular_step_seconds(f.time, f.time_units), where);
}

template <class T>
double precip_factor_to(const io::GridField<T>& f, const std::string& path, const std::string& units_override,
                        const std::string& target, const std::string& target_what, const std::string& flag = "--units") {
    io::PrecipUnit t;
    try {
        t = io::precip_unit(target, target_what);
    } catch (const ArgumentError& e) {
        throw ArgumentError(maunet::detail::cat(e.what(), "; cannot convert '", path, "' to them"));
    }
    require(!t.is_amount(), target_what, ": units '", io::detail::clipped(target),
            "' are an amount per time step, not a rate; cannot convert '", path, "' to them");
    double to_mm_per_day = 0;
    try {
        to_mm_per_day = precip_factor(f, path, units_override, flag);
    } catch (const ArgumentError& e) {
        throw ArgumentError(maunet::detail::cat(e.what(), "; cannot convert to ", target_what, " units '",
                                                io::detail::clipped(target), "'"));
    }
    return to_mm_per_day / io::mm_per_day_factor(t, std::numeric_limits<double>::quiet_NaN(), target_what);
}

inline bool is_precipitation_name(const std::string& standard_name) {
    static const char* precip_names[] = {"precipitation_flux", "precipitation_amount",
                                         "lwe_thickness_of_precipitation_amount", "lwe_precipitation_rate",
                                         "thickness_of_rainfall_amount", "rainfall_flux", "rainfall_rate",
                                         "rainfall_amount", "lwe_precipitation_flux"};
    for (const char* n : precip_names)
        if (standard_name == n) return true;
    return false;
}

// Whether f holds some other quantity (a static predictor such as elevation): a standard_name
// that is not precipitation's, or units that are units but no precipitation's. Metres alone do
// not tell (ERA5 gives precipitation in m), hence the name first; units that cannot be read
// say nothing (the caller's conversion then reports them).
template <class T>
bool is_other_quantity(const io::GridField<T>& f) {
    if (!f.standard_name.empty() && !is_precipitation_name(f.standard_name)) return true;
    try {
        (void)io::parse_unit(f.units);
    } catch (const Error&) {
        return false;
    }
    try {
        (void)io::precip_unit(f.units);
        return false;
    } catch (const ArgumentError&) {
        return true;
    }
}

template <class T>
void label_precip_rate(io::GridField<T>& f, const std::string& units) {
    if (is_precipitation_name(f.standard_name)) f.standard_name = "lwe_precipitation_rate";
    const auto sum = f.cell_methods.find("time: sum");
    if (sum != std::string::npos) f.cell_methods.replace(sum, 9, "time: mean");
    f.units = units;
}

template <class T>
void label_mm_per_day(io::GridField<T>& f) {
    label_precip_rate(f, io::kMillimetresPerDay);
}

template <class T>
double to_mm_per_day(io::GridField<T>& f, const std::string& path, const std::string& units_override,
                     const std::string& flag = "--units") {
    const double factor = precip_factor(f, path, units_override, flag);
    if (factor != 1.0)
        for (T& v : f.data) v = static_cast<T>(v * factor);
    label_mm_per_day(f);
    return factor;
}

template <class T>
Tensor<T> target_mask(io::GridField<T> mask, const std::string& mask_path, const io::GridField<T>& grid,
                      const std::string& grid_path) {
    require_shape(mask.num_times() >= 1, "the mask '", mask_path, "' (variable '", mask.variable, "') has no data");
    mask.data = Tensor<T>(Shape{1, mask.ny(), mask.nx()},
                          std::vector<T>(mask.data.begin(), mask.data.begin() + mask.ny() * mask.nx()));
    align_to_grid(mask, mask_path, grid, grid_path);
    Tensor<T> out(Shape{mask.ny(), mask.nx()});
    for (Index i = 0; i < out.numel(); ++i)
        out[i] = std::isfinite(mask.data[i]) && mask.data[i] != T(0) ? T(1) : std::numeric_limits<T>::quiet_NaN();
    return out;
}

template <class T>
void apply_mask(Tensor<T>& data, const Tensor<T>& mask) {
    if (mask.numel() == 0) return;
    const Index plane = mask.numel();
    require_shape(data.numel() % plane == 0 && data.dim(-1) * data.dim(-2) == plane, "apply_mask: data ",
                  data.shape(), " is not on the mask's grid ", mask.shape());
    for (Index i = 0; i < data.numel(); ++i)
        if (std::isnan(mask[i % plane])) data[i] = std::numeric_limits<T>::quiet_NaN();
}

}  // namespace maunet::pipeline
