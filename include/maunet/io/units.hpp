// maunet/io/units.hpp: precipitation units as written in CF files, converted to mm/day.
//
// Precipitation comes as a mass flux (CMIP, CORDEX: kg m-2 s-1), a depth rate (obs: mm/day,
// mm/h, m s-1) or an amount per time step (accumulations: mm, kg m-2, or m for reanalysis
// totals such as ERA5's tp). maunet works in mm/day: thresholds and caps are given in mm/day
// and every field is converted on reading.
//
// Parsing (a UDUNITS-2 subset, enough for precipitation): terms separated by spaces, '*' or
// '.', each a unit name with an optional integer exponent ("m-2", "m^-2", "m**-2", "m2"); a
// '/' inverts the term after it ("kg/m2/s"); a plain number multiplies ("0.001 m"). Names: kg,
// g; m, cm, mm; s, sec, second(s), min, minute(s), h, hr, hour(s), d, day(s), month(s)/mon
// (UDUNITS' 30.436850 days; "mm/m" is millimetres per metre, not a month). A trailing
// "of water equivalent" (ERA5) is ignored. The unit reduces to scale * kg^a m^b s^c.
//
// Conversion to mm/day (1 kg m-2 of water is 1 mm deep, at 1000 kg m-3):
//   kg m-2 s-1  (a, b, c) = (1, -2, -1)  x scale * 86400
//   m s-1       (0,  1, -1)             x scale * 1000 * 86400
//   kg m-2      (1, -2,  0)  amount     x scale * 86400 / step
//   m           (0,  1,  0)  amount     x scale * 1000 * 86400 / step
// where step is the accumulation period in seconds (the spacing of the time axis). An amount
// whose cell_methods say "time: point" has no period and is refused; any other (typically
// "time: sum", or none) is taken as the total over one time step.
//
// Why not libudunits2: it refuses exactly the conversions that matter here (kg m-2 s-1 to
// mm/day and kg m-2 to mm are not commensurable without the density of water, and amounts
// need the time step), so a table of four kinds with a small parser is complete and adds no
// dependency; see docs/data-handling.md.
#pragma once

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>

#include "maunet/core/errors.hpp"

namespace maunet::io {

// scale * kg^kg * m^m * s^s
struct ParsedUnit {
    double scale = 1.0;
    int kg = 0, m = 0, s = 0;
};

enum class PrecipKind { mass_flux, depth_rate, mass_amount, depth_amount };

struct PrecipUnit {
    PrecipKind kind = PrecipKind::depth_rate;
    double scale = 1.0;  // of the parsed unit (kg or m, s)
    bool is_amount() const { return kind == PrecipKind::mass_amount || kind == PrecipKind::depth_amount; }
};

// The CF spelling of maunet's working unit.
inline constexpr const char* kMillimetresPerDay = "mm day-1";

namespace detail {

inline bool unit_name(const std::string& name, ParsedUnit& u) {
    if (name == "kg") return u.kg = 1, true;
    if (name == "g") return u.kg = 1, u.scale = 1e-3, true;
    if (name == "m") return u.m = 1, true;
    if (name == "cm") return u.m = 1, u.scale = 1e-2, true;
    if (name == "mm") return u.m = 1, u.scale = 1e-3, true;
    if (name == "s" || name == "sec" || name == "second" || name == "seconds") return u.s = 1, true;
    if (name == "min" || name == "minute" || name == "minutes") return u.s = 1, u.scale = 60, true;
    if (name == "h" || name == "hr" || name == "hour" || name == "hours") return u.s = 1, u.scale = 3600, true;
    if (name == "d" || name == "day" || name == "days") return u.s = 1, u.scale = 86400, true;
    // UDUNITS' month: a twelfth of the tropical year, 30.436850 days (monthly totals as mean rates).
    if (name == "month" || name == "months" || name == "mon") return u.s = 1, u.scale = 2629743.8304, true;
    return false;
}

// An attribute as quoted in a message: at most 64 characters (a file's attribute may be megabytes).
inline std::string clipped(const std::string& text) {
    constexpr std::size_t kMax = 64;
    return text.size() <= kMax ? text : text.substr(0, kMax) + "... (" + std::to_string(text.size()) + " characters)";
}

}  // namespace detail

// Parses a unit string; throws ArgumentError naming `where` (file and variable) and the term.
inline ParsedUnit parse_unit(const std::string& text, const std::string& where = "") {
    const std::string at = where.empty() ? std::string() : " (" + where + ")";
    const std::string shown = detail::clipped(text);
    std::string s = text;
    for (const char* suffix : {" of water equivalent", " water equivalent"}) {
        const auto p = s.find(suffix);
        if (p != std::string::npos) s.erase(p);
    }
    ParsedUnit out;
    bool any = false, invert_next = false;
    std::size_t i = 0;
    while (i < s.size()) {
        const char c = s[i];
        if (c == ' ' || c == '*' || c == '.' || c == '\t') {
            if (c == '*' && i + 1 < s.size() && s[i + 1] == '*')
                throw ArgumentError(
                    maunet::detail::cat("units '", shown, "'", at, ": an exponent '**' needs a unit before it"));
            ++i;
            continue;
        }
        if (c == '/') {
            invert_next = true;
            ++i;
            continue;
        }
        const std::size_t start = i;
        if (std::isdigit(static_cast<unsigned char>(c))) {  // a number: a scale factor
            char* end = nullptr;
            const double v = std::strtod(s.c_str() + i, &end);
            i = static_cast<std::size_t>(end - s.c_str());
            require(std::isfinite(v) && v > 0, "units '", shown, "'", at, ": the factor '", s.substr(start, i - start),
                    "' must be a positive number");
            out.scale *= invert_next ? 1.0 / v : v;
            invert_next = false;
            any = true;
            continue;
        }
        while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
        const std::string name = s.substr(start, i - start);
        ParsedUnit u;
        if (name.empty() || !detail::unit_name(name, u))
            throw ArgumentError(maunet::detail::cat("units '", shown, "'", at, ": '",
                                                    name.empty() ? s.substr(start, 1) : detail::clipped(name),
                                                    "' is not a unit maunet knows for precipitation (kg, g, m, cm, mm, "
                                                    "s, min, h, d, month and their exponents)"));
        int exponent = 1;
        std::size_t j = i;
        if (j < s.size() && s[j] == '^') ++j;
        else if (j + 1 < s.size() && s[j] == '*' && s[j + 1] == '*') j += 2;
        if (j < s.size() && (s[j] == '-' || s[j] == '+' || std::isdigit(static_cast<unsigned char>(s[j])))) {
            char* end = nullptr;
            const long e = std::strtol(s.c_str() + j, &end, 10);
            const std::size_t k = static_cast<std::size_t>(end - s.c_str());
            require(k > j && (s[k - 1] != '-' && s[k - 1] != '+'), "units '", shown, "'", at,
                    ": bad exponent after '", detail::clipped(name), "'");
            exponent = static_cast<int>(e);
            i = k;
        } else if (j != i) {
            throw ArgumentError(
                maunet::detail::cat("units '", shown, "'", at, ": bad exponent after '", detail::clipped(name), "'"));
        }
        if (invert_next) exponent = -exponent;
        invert_next = false;
        out.scale *= std::pow(u.scale, exponent);
        out.kg += u.kg * exponent;
        out.m += u.m * exponent;
        out.s += u.s * exponent;
        any = true;
    }
    require(any, "units '", shown, "'", at, ": empty; expected a precipitation unit such as 'kg m-2 s-1' or 'mm/day'");
    require(!invert_next, "units '", shown, "'", at, ": '/' at the end");
    return out;
}

// Classifies a unit as one of the four precipitation kinds (see the top of the file).
inline PrecipUnit precip_unit(const std::string& text, const std::string& where = "") {
    const ParsedUnit u = parse_unit(text, where);
    PrecipUnit p;
    p.scale = u.scale;
    if (u.kg == 1 && u.m == -2 && u.s == -1) p.kind = PrecipKind::mass_flux;
    else if (u.kg == 0 && u.m == 1 && u.s == -1) p.kind = PrecipKind::depth_rate;
    else if (u.kg == 1 && u.m == -2 && u.s == 0) p.kind = PrecipKind::mass_amount;
    else if (u.kg == 0 && u.m == 1 && u.s == 0) p.kind = PrecipKind::depth_amount;
    else
        throw ArgumentError(maunet::detail::cat(
            "units '", detail::clipped(text), "'", where.empty() ? std::string() : " (" + where + ")",
            ": not a precipitation unit; expected a mass flux (kg m-2 s-1), a depth rate (mm/day, mm/h, m s-1) or "
            "an amount per time step (mm, m, kg m-2)"));
    return p;
}

// The factor f with value_in_mm_per_day = f * value. step_seconds is the accumulation period
// of amounts (ignored for fluxes and rates; NaN or <= 0 when unknown: amounts then throw).
inline double mm_per_day_factor(const PrecipUnit& p, double step_seconds, const std::string& where = "") {
    const double density = p.kind == PrecipKind::depth_rate || p.kind == PrecipKind::depth_amount ? 1000.0 : 1.0;
    if (!p.is_amount()) return p.scale * density * 86400.0;
    require(std::isfinite(step_seconds) && step_seconds > 0, where.empty() ? std::string("an amount") : where,
            ": the units are an amount per time step, but the accumulation period is unknown (no regular time "
            "axis); give the units as a rate, e.g. --units 'mm/day'");
    return p.scale * density * 86400.0 / step_seconds;
}

// The same from the attribute strings. cell_methods "time: point" on an amount is refused.
inline double mm_per_day_factor(const std::string& units, const std::string& cell_methods, double step_seconds,
                                const std::string& where = "") {
    const PrecipUnit p = precip_unit(units, where);
    if (p.is_amount()) {
        // The method that follows "time:" (CF: "name: method [name: method ...]").
        const auto t = cell_methods.find("time:");
        const auto m = t == std::string::npos ? t : cell_methods.find_first_not_of(' ', t + 5);
        const bool point = m != std::string::npos && cell_methods.compare(m, 5, "point") == 0;
        require(!point, where, ": units '", detail::clipped(units), "' are an amount but cell_methods '",
                detail::clipped(cell_methods),
                "' say 'time: point' (no accumulation period); give the units as a rate with --units");
    }
    return mm_per_day_factor(p, step_seconds, where);
}

}  // namespace maunet::io
