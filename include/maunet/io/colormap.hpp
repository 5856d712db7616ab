// maunet/io/colormap.hpp: the colours of precipitation quicklooks.
//
// The sequential map is cmocean 'rain' (Thyng et al. 2016, "True colors of oceanography",
// Oceanography 29(3); cmocean, MIT licence): designed for precipitation, perceptually
// uniform, light (near white) for little rain through tan, green and blue to a dark
// blue-purple for heavy rain. The table below holds entries 0, 16, 32, ..., 240 and 255 of
// its 256-entry RGB table (cmocean/rgb/rain-rgb.txt in the cmocean repository), rounded to 4
// decimals; between table entries the colour is interpolated linearly in RGB. With 17
// samples of a smooth map the interpolation error is below one 8-bit step in most places
// and a few steps at the tan-to-green bend, which is invisible in a quicklook.
//
// Differences (a field minus a reference) use ColorBrewer's diverging 'BrBG' (Brewer,
// colorbrewer2.org, 11 classes): brown where the field is drier than the reference, near
// white at 0, blue-green where it is wetter, interpolated linearly in RGB between its 11
// colours over a range symmetric about 0.
//
// Two colours sit outside the map: dry cells (exactly 0) are white, so the rain area stands
// out; missing cells (NaN) are a mid grey, which no colour of the map resembles.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

namespace maunet::io {

struct Rgb {
    std::uint8_t r = 0, g = 0, b = 0;
    friend bool operator==(Rgb a, Rgb x) { return a.r == x.r && a.g == x.g && a.b == x.b; }
    friend bool operator!=(Rgb a, Rgb x) { return !(a == x); }
};

inline constexpr Rgb kDryColour{255, 255, 255};
inline constexpr Rgb kMissingColour{128, 128, 128};

namespace colormap_detail {
// cmocean 'rain' at table positions 0, 16, ..., 240, 255 (of 0..255), RGB in [0, 1].
inline constexpr std::array<std::array<double, 3>, 17> kRain = {{
    {0.9346, 0.9308, 0.9527},  //   0
    {0.8889, 0.8635, 0.8542},  //  16
    {0.8570, 0.7962, 0.7356},  //  32
    {0.8104, 0.7385, 0.6129},  //  48
    {0.7111, 0.7017, 0.5419},  //  64
    {0.6035, 0.6664, 0.5024},  //  80
    {0.4939, 0.6308, 0.4684},  //  96
    {0.3744, 0.5953, 0.4413},  // 112
    {0.2377, 0.5574, 0.4294},  // 128
    {0.1041, 0.5110, 0.4319},  // 144
    {0.0227, 0.4567, 0.4312},  // 160
    {0.0233, 0.3999, 0.4219},  // 176
    {0.0809, 0.3408, 0.4007},  // 192
    {0.1255, 0.2804, 0.3631},  // 208
    {0.1448, 0.2211, 0.3127},  // 224
    {0.1430, 0.1623, 0.2631},  // 240
    {0.1316, 0.1040, 0.2213},  // 255
}};
}  // namespace colormap_detail

// The cmocean 'rain' colour at t in [0, 1] (0 = light, 1 = dark); t is clamped, NaN gives
// the missing colour.
inline Rgb rain_colour(double t) {
    if (std::isnan(t)) return kMissingColour;
    t = std::clamp(t, 0.0, 1.0);
    const auto& table = colormap_detail::kRain;
    // Table positions in units of the 256-entry map: 16 k for k < 16, and 255 for the last.
    const double pos = t * 255.0;
    std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(pos / 16.0), 15);
    const double lo = 16.0 * static_cast<double>(k);
    const double hi = k == 15 ? 255.0 : lo + 16.0;
    const double w = (pos - lo) / (hi - lo);
    Rgb out;
    std::uint8_t* channels[3] = {&out.r, &out.g, &out.b};
    for (std::size_t c = 0; c < 3; ++c) {
        const double v = (1.0 - w) * table[k][c] + w * table[k + 1][c];
        *channels[c] = static_cast<std::uint8_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0));
    }
    return out;
}

// The colour of one precipitation value: NaN -> missing grey, exactly 0 -> dry white,
// otherwise the rain colour of (value - vmin) / (vmax - vmin), clamped to the map's ends.
// Requires vmax > vmin (checked by the callers).
inline Rgb precipitation_colour(double value, double vmin, double vmax) {
    if (std::isnan(value)) return kMissingColour;
    if (value == 0.0) return kDryColour;
    return rain_colour((value - vmin) / (vmax - vmin));
}

namespace colormap_detail {
// ColorBrewer BrBG, 11 classes, from -1 (dark brown) through 0 (#f5f5f5) to +1 (dark teal).
inline constexpr std::array<std::array<int, 3>, 11> kBrBG = {{
    {84, 48, 5}, {140, 81, 10}, {191, 129, 45}, {223, 194, 125}, {246, 232, 195}, {245, 245, 245},
    {199, 234, 229}, {128, 205, 193}, {53, 151, 143}, {1, 102, 94}, {0, 60, 48},
}};
}  // namespace colormap_detail

// The colour of a difference `value` on a scale from -limit to +limit (limit > 0, checked by
// the callers): NaN -> missing grey, 0 -> the map's near-white centre, clamped at the ends.
inline Rgb difference_colour(double value, double limit) {
    if (std::isnan(value)) return kMissingColour;
    const double pos = (std::clamp(value / limit, -1.0, 1.0) + 1.0) * 5.0;  // 0..10
    const std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(pos), 9);
    const double w = pos - static_cast<double>(k);
    const auto& table = colormap_detail::kBrBG;
    auto mix = [&](std::size_t c) {
        return static_cast<std::uint8_t>(std::lround((1.0 - w) * table[k][c] + w * table[k + 1][c]));
    };
    return {mix(0), mix(1), mix(2)};
}

}  // namespace maunet::io
