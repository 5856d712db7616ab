// maunet/train/synthetic.hpp: the built-in demo data, synthetic precipitation with a known
// truth, for both tasks (bias correction at the fine resolution, and downscaling from a
// coarse biased field).
//
// Everything is deterministic by SyntheticConfig::seed. On an H x W grid (normalised cell
// centres x = (j + 0.5) / W, y = (i + 0.5) / H):
//
//   terrain (metres, shared by all fields): a sum of num_hills Gaussian hills
//       z = sum_k h_k exp(-((x - x_k)^2 + (y - y_k)^2) / (2 s_k^2)),
//       h_k ~ U(0.3, 1) max_elevation, s_k ~ U(0.08, 0.25), centres ~ U(0.1, 0.9).
//   rain (per field): num_rain_cells elliptical Gaussian blobs with gamma-distributed peaks
//       r = sum_k P_k exp(-(u^2 / a_k^2 + v^2 / b_k^2) / 2),  P_k ~ Gamma(gamma_shape, gamma_scale),
//       (u, v) the offset from the centre rotated by a random angle, a_k ~ U(0.06, 0.2),
//       b_k = a_k ~U(0.4, 1); orographic enhancement r *= 1 + orographic_gain * z / 1000.
//   dry areas: with Q the dry_fraction quantile of r, the truth is
//       x = r - Q + dry_threshold where r > Q, and 0 elsewhere,
//       so a fraction dry_fraction of the cells is dry and wet cells start at the trace
//       threshold (0.1 mm/day): values below it never occur.
//   bias (a coarse model's errors): with a smooth multiplicative factor
//       a(x, y) = bias_factor (1 + bias_variation sin(2 pi (x + p1)) cos(2 pi (y + p2))),
//       biased = (a x^bias_exponent + drizzle max(0, 1 - x / light_rain)) * exp(s e - s^2/2),
//       e ~ N(0, 1) per cell, s = noise_sigma (multiplicative noise of mean 1). The exponent
//       < 1 damps heavy rain, the drizzle term wets dry and lightly raining cells.
//   coarse fields: NaN-aware block means by `factor` (a block is NaN only when all its cells
//       are); the coarse biased field is the block mean of the fine biased field.
//   sea (optional): the cells with x + y < sqrt(2 sea_fraction) (a corner triangle holding
//       about sea_fraction of the grid) have no observation: NaN in the truth, 0 in the mask.
//       The biased input exists everywhere, as a satellite or model field would.
//
// (A private block mean is used instead of maunet/stats/regrid.hpp: train sits below stats
// in the layer order.)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

#include "maunet/core/errors.hpp"
#include "maunet/core/random.hpp"
#include "maunet/core/tensor.hpp"
#include "maunet/train/dataset.hpp"
#include "maunet/train/sample.hpp"

namespace maunet::train {

struct SyntheticConfig {
    Index height = 64, width = 64;
    Index factor = 4;  // coarsening factor of the downscaling task; divides height and width
    int num_fields = 64;
    std::uint64_t seed = 42;
    double dry_fraction = 0.5;  // fraction of dry cells in each truth field, in [0, 1)
    double dry_threshold = 0.1;  // mm/day: the smallest wet value
    int num_hills = 4;
    double max_elevation = 1500.0;  // metres
    int num_rain_cells = 8;
    double gamma_shape = 0.8;   // rain-cell peak intensities ~ Gamma(shape, scale), mm/day
    double gamma_scale = 15.0;
    double orographic_gain = 0.5;  // relative enhancement per km of terrain height
    double bias_factor = 1.2;      // mean of the multiplicative bias a(x, y)
    double bias_variation = 0.3;   // relative amplitude of its spatial pattern, in [0, 1)
    double bias_exponent = 0.85;   // < 1 damps heavy rain
    double drizzle = 0.3;          // mm/day added where the truth is dry ...
    double light_rain = 1.0;       // ... tapering to 0 at this intensity
    double noise_sigma = 0.1;      // multiplicative log-normal noise
    double sea_fraction = 0.0;     // in [0, 0.5]: a corner without observations
};

template <class T>
struct SyntheticField {
    Tensor<T> truth;          // [1, H, W] observed fine field (mm/day), NaN over sea
    Tensor<T> biased;         // [1, H, W] the biased field at the fine resolution
    Tensor<T> coarse_biased;  // [1, H / factor, W / factor] block mean of `biased`
    Tensor<T> coarse_truth;   // [1, H / factor, W / factor] NaN-aware block mean of `truth`
};

template <class T>
struct SyntheticData {
    SyntheticConfig config;
    Tensor<T> terrain;      // [1, H, W] metres
    Tensor<T> bias_factor;  // [1, H, W] a(x, y)
    Tensor<T> land_mask;    // [1, H, W] 1 land (observed), 0 sea
    std::vector<SyntheticField<T>> fields;
};

// One draw from Gamma(shape, scale) (mean shape * scale) by Marsaglia & Tsang (2000): for
// shape >= 1, with d = shape - 1/3, c = 1 / sqrt(9 d), draw z ~ N(0, 1), v = (1 + c z)^3 and
// accept d v when v > 0 and log(u) < z^2 / 2 + d (1 - v + log v) (u ~ U(0, 1), with the cheap
// squeeze u < 1 - 0.0331 z^4 first). For shape < 1: Gamma(shape) = Gamma(shape + 1) u^(1/shape).
inline double sample_gamma(Rng& rng, double shape, double scale) {
    require(std::isfinite(shape) && shape > 0.0, "sample_gamma: expected shape > 0, got ", shape);
    require(std::isfinite(scale) && scale > 0.0, "sample_gamma: expected scale > 0, got ", scale);
    const auto open_uniform = [&rng] {
        double u = rng.uniform();
        while (u <= 0.0) u = rng.uniform();
        return u;
    };
    if (shape < 1.0) return sample_gamma(rng, shape + 1.0, scale) * std::pow(open_uniform(), 1.0 / shape);
    const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
        const double z = rng.normal();
        double v = 1.0 + c * z;
        if (v <= 0.0) continue;
        v = v * v * v;
        const double u = open_uniform();
        if (u < 1.0 - 0.0331 * z * z * z * z || std::log(u) < 0.5 * z * z + d * (1.0 - v + std::log(v)))
            return d * v * scale;
    }
}

namespace detail {

// NaN-aware factor x factor block mean of a [C, H, W] tensor; NaN where a block has no value.
template <class T>
Tensor<T> synthetic_block_mean(const Tensor<T>& x, Index factor) {
    const Index c = x.dim(0), h = x.dim(1), w = x.dim(2), oh = h / factor, ow = w / factor;
    Tensor<T> out(Shape{c, oh, ow});
    for (Index k = 0; k < c; ++k)
        for (Index i = 0; i < oh; ++i)
            for (Index j = 0; j < ow; ++j) {
                double sum = 0.0;
                Index n = 0;
                for (Index a = 0; a < factor; ++a)
                    for (Index b = 0; b < factor; ++b) {
                        const double v = static_cast<double>(x[(k * h + i * factor + a) * w + j * factor + b]);
                        if (std::isnan(v)) continue;
                        sum += v;
                        ++n;
                    }
                out[(k * oh + i) * ow + j] =
                    n > 0 ? static_cast<T>(sum / static_cast<double>(n)) : std::numeric_limits<T>::quiet_NaN();
            }
    return out;
}

// Replicates each cell of a [C, h, w] tensor into a factor x factor block.
template <class T>
Tensor<T> synthetic_block_upsample(const Tensor<T>& x, Index factor) {
    const Index c = x.dim(0), h = x.dim(1), w = x.dim(2), oh = h * factor, ow = w * factor;
    Tensor<T> out(Shape{c, oh, ow});
    for (Index k = 0; k < c; ++k)
        for (Index i = 0; i < oh; ++i)
            for (Index j = 0; j < ow; ++j) out[(k * oh + i) * ow + j] = x[(k * h + i / factor) * w + j / factor];
    return out;
}

inline void validate_synthetic(const SyntheticConfig& c) {
    const char* who = "SyntheticConfig";
    require(c.height >= 1 && c.width >= 1, who, ": expected height and width >= 1, got ", c.height, " x ", c.width);
    require(c.factor >= 1, who, ": expected factor >= 1, got ", c.factor);
    require(c.height % c.factor == 0 && c.width % c.factor == 0, who, ": height ", c.height, " and width ", c.width,
            " must be multiples of factor ", c.factor);
    require(c.num_fields >= 1, who, ": expected num_fields >= 1, got ", c.num_fields);
    require(c.dry_fraction >= 0.0 && c.dry_fraction < 1.0, who, ": expected dry_fraction in [0, 1), got ",
            c.dry_fraction);
    require(c.dry_threshold >= 0.0 && std::isfinite(c.dry_threshold), who, ": expected dry_threshold >= 0, got ",
            c.dry_threshold);
    require(c.num_hills >= 0 && c.num_rain_cells >= 1, who,
            ": expected num_hills >= 0 and num_rain_cells >= 1, got ", c.num_hills, " and ", c.num_rain_cells);
    require(c.max_elevation >= 0.0 && std::isfinite(c.max_elevation), who, ": expected max_elevation >= 0, got ",
            c.max_elevation);
    require(c.gamma_shape > 0.0 && c.gamma_scale > 0.0 && std::isfinite(c.gamma_shape) &&
                std::isfinite(c.gamma_scale),
            who, ": expected gamma_shape > 0 and gamma_scale > 0, got ", c.gamma_shape, " and ", c.gamma_scale);
    require(c.orographic_gain >= 0.0 && std::isfinite(c.orographic_gain), who,
            ": expected orographic_gain >= 0, got ", c.orographic_gain);
    require(c.bias_factor > 0.0 && std::isfinite(c.bias_factor), who, ": expected bias_factor > 0, got ",
            c.bias_factor);
    require(c.bias_variation >= 0.0 && c.bias_variation < 1.0, who, ": expected bias_variation in [0, 1), got ",
            c.bias_variation);
    require(c.bias_exponent > 0.0 && std::isfinite(c.bias_exponent), who, ": expected bias_exponent > 0, got ",
            c.bias_exponent);
    require(c.drizzle >= 0.0 && std::isfinite(c.drizzle), who, ": expected drizzle >= 0, got ", c.drizzle);
    require(c.light_rain > 0.0 && std::isfinite(c.light_rain), who, ": expected light_rain > 0, got ", c.light_rain);
    require(c.noise_sigma >= 0.0 && std::isfinite(c.noise_sigma), who, ": expected noise_sigma >= 0, got ",
            c.noise_sigma);
    require(c.sea_fraction >= 0.0 && c.sea_fraction <= 0.5, who, ": expected sea_fraction in [0, 0.5], got ",
            c.sea_fraction);
}

}  // namespace detail

// Generates the terrain, the bias pattern, the land mask and config.num_fields fields.
// Field k depends only on (seed, k), not on num_fields.
template <class T>
SyntheticData<T> generate_synthetic(const SyntheticConfig& config) {
    detail::validate_synthetic(config);
    const Index H = config.height, W = config.width;
    const double pi = 3.14159265358979323846;
    const auto xc = [W](Index j) { return (static_cast<double>(j) + 0.5) / static_cast<double>(W); };
    const auto yc = [H](Index i) { return (static_cast<double>(i) + 0.5) / static_cast<double>(H); };

    SyntheticData<T> data;
    data.config = config;
    data.terrain = Tensor<T>(Shape{1, H, W});
    data.bias_factor = Tensor<T>(Shape{1, H, W});
    data.land_mask = Tensor<T>(Shape{1, H, W}, T(1));

    // Terrain and bias pattern come from one stream shared by all fields.
    Rng domain(detail::mix_seed(config.seed, 0x646f6d61696eULL /* "domain" */));
    std::vector<double> terrain(static_cast<std::size_t>(H * W), 0.0);
    for (int k = 0; k < config.num_hills; ++k) {
        const double cx = domain.uniform(0.1, 0.9), cy = domain.uniform(0.1, 0.9);
        const double s = domain.uniform(0.08, 0.25), h = domain.uniform(0.3, 1.0) * config.max_elevation;
        for (Index i = 0; i < H; ++i)
            for (Index j = 0; j < W; ++j) {
                const double dx = xc(j) - cx, dy = yc(i) - cy;
                terrain[static_cast<std::size_t>(i * W + j)] += h * std::exp(-(dx * dx + dy * dy) / (2.0 * s * s));
            }
    }
    const double p1 = domain.uniform(), p2 = domain.uniform();
    const double sea_edge = std::sqrt(2.0 * config.sea_fraction);
    for (Index i = 0; i < H; ++i)
        for (Index j = 0; j < W; ++j) {
            const Index c = i * W + j;
            data.terrain[c] = static_cast<T>(terrain[static_cast<std::size_t>(c)]);
            data.bias_factor[c] = static_cast<T>(config.bias_factor *
                                                 (1.0 + config.bias_variation * std::sin(2.0 * pi * (xc(j) + p1)) *
                                                            std::cos(2.0 * pi * (yc(i) + p2))));
            if (xc(j) + yc(i) < sea_edge) data.land_mask[c] = T(0);
        }

    const auto n = static_cast<std::size_t>(H * W);
    std::vector<double> rain(n), sorted(n);
    for (int field = 0; field < config.num_fields; ++field) {
        Rng rng(detail::mix_seed(config.seed, static_cast<std::uint64_t>(field) + 1));
        std::fill(rain.begin(), rain.end(), 0.0);
        for (int k = 0; k < config.num_rain_cells; ++k) {
            const double cx = rng.uniform(), cy = rng.uniform();
            const double a = rng.uniform(0.06, 0.2), b = a * rng.uniform(0.4, 1.0);
            const double angle = rng.uniform(0.0, pi), ca = std::cos(angle), sa = std::sin(angle);
            const double peak = sample_gamma(rng, config.gamma_shape, config.gamma_scale);
            for (Index i = 0; i < H; ++i)
                for (Index j = 0; j < W; ++j) {
                    const double dx = xc(j) - cx, dy = yc(i) - cy;
                    const double u = ca * dx + sa * dy, v = -sa * dx + ca * dy;
                    rain[static_cast<std::size_t>(i * W + j)] +=
                        peak * std::exp(-0.5 * (u * u / (a * a) + v * v / (b * b)));
                }
        }
        for (std::size_t c = 0; c < n; ++c) rain[c] *= 1.0 + config.orographic_gain * terrain[c] / 1000.0;
        sorted = rain;
        const auto q_index = static_cast<std::size_t>(config.dry_fraction * static_cast<double>(n));
        std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(q_index), sorted.end());
        // The q_index smallest cells are dry: every cell above the largest of them is wet.
        const double q = q_index > 0 ? *std::max_element(sorted.begin(),
                                                         sorted.begin() + static_cast<std::ptrdiff_t>(q_index))
                                     : -std::numeric_limits<double>::infinity();

        SyntheticField<T> f;
        f.truth = Tensor<T>(Shape{1, H, W});
        f.biased = Tensor<T>(Shape{1, H, W});
        for (std::size_t c = 0; c < n; ++c) {
            const double x = q_index == 0 ? rain[c] + config.dry_threshold
                             : rain[c] > q ? rain[c] - q + config.dry_threshold
                                           : 0.0;
            const double a = static_cast<double>(data.bias_factor[static_cast<Index>(c)]);
            const double drizzle = config.drizzle * std::max(0.0, 1.0 - x / config.light_rain);
            const double noise =
                std::exp(config.noise_sigma * rng.normal() - 0.5 * config.noise_sigma * config.noise_sigma);
            const bool sea = data.land_mask[static_cast<Index>(c)] == T(0);
            f.truth[static_cast<Index>(c)] = sea ? std::numeric_limits<T>::quiet_NaN() : static_cast<T>(x);
            f.biased[static_cast<Index>(c)] =
                static_cast<T>((a * std::pow(x, config.bias_exponent) + drizzle) * noise);
        }
        f.coarse_biased = detail::synthetic_block_mean(f.biased, config.factor);
        f.coarse_truth = detail::synthetic_block_mean(f.truth, config.factor);
        data.fields.push_back(std::move(f));
    }
    return data;
}

// Bias correction: input the biased fine field (plus the terrain as a second channel when
// with_terrain), target the truth, mask the land mask.
template <class T>
Dataset<T> bias_correction_dataset(const SyntheticData<T>& data, bool with_terrain = false) {
    Dataset<T> out;
    const Index H = data.config.height, W = data.config.width;
    for (const auto& f : data.fields) {
        Tensor<T> input(Shape{with_terrain ? 2 : 1, H, W});
        std::copy(f.biased.begin(), f.biased.end(), input.begin());
        if (with_terrain) std::copy(data.terrain.begin(), data.terrain.end(), input.begin() + H * W);
        out.add(Sample<T>{std::move(input), f.truth, data.land_mask});
    }
    return out;
}

// Maps a coarse [1, h, w] field to the fine [1, H, W] grid.
template <class T>
using Upsampler = std::function<Tensor<T>(const Tensor<T>& coarse, Index fine_height, Index fine_width)>;

// Downscaling: input the coarse biased field brought to the fine grid by `upsample` (the
// network works on the target grid; default: replicate each coarse cell, pass e.g.
// maunet::stats::regrid_bicubic for the documented default), target the fine truth.
template <class T>
Dataset<T> downscaling_dataset(const SyntheticData<T>& data, bool with_terrain = false,
                               Upsampler<T> upsample = nullptr) {
    const Index H = data.config.height, W = data.config.width, factor = data.config.factor;
    if (!upsample)
        upsample = [factor](const Tensor<T>& coarse, Index, Index) {
            return detail::synthetic_block_upsample(coarse, factor);
        };
    Dataset<T> out;
    for (const auto& f : data.fields) {
        const Tensor<T> fine = upsample(f.coarse_biased, H, W);
        require_shape(fine.shape() == Shape{1, H, W}, "downscaling_dataset: the upsampler returned ", fine.shape(),
                      ", expected [1, ", H, ", ", W, "] from the coarse field ", f.coarse_biased.shape());
        Tensor<T> input(Shape{with_terrain ? 2 : 1, H, W});
        std::copy(fine.begin(), fine.end(), input.begin());
        if (with_terrain) std::copy(data.terrain.begin(), data.terrain.end(), input.begin() + H * W);
        out.add(Sample<T>{std::move(input), f.truth, data.land_mask});
    }
    return out;
}

}  // namespace maunet::train
