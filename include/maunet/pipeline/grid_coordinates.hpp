// maunet/pipeline/grid_coordinates.hpp: the coordinates of a grid refined or coarsened by an
// integer factor in index space (for `maunet predict` and `maunet regrid`).
//
// Cell-centre convention (as stats/regrid.hpp): fine cell i of a grid refined by f lies at the
// fractional coarse index s(i) = (i + 0.5) / f - 0.5. Its coordinate is the linear
// interpolation of the coarse cell centres at s, extrapolated linearly beyond the first and
// last centres (the outer half cell of each border), so a uniformly spaced axis c_j = a + b j
// refines to the uniformly spaced axis a + b s(i) exactly. With one coarse cell there is no
// spacing to extrapolate with and every fine cell gets that cell's coordinate.
//   refine_coordinates(c, f)      1-D, n -> n f
//   refine_coordinates_2d(c, f)   2-D [H, W] -> [H f, W f]: the same, separably (bilinear in
//                                 the interior, linear extrapolation at the borders)
// Coarsening is the mean of each block of f cells (f x f for 2-D), the coordinate of the block
// centre on a uniform axis; refine(coarsen(c)) == c for a uniform axis (and for 2-D
// coordinates that are affine in the indices), up to rounding.
//   coarsen_coordinates(c, f)     1-D, n -> n / f (n must be a multiple of f)
//   coarsen_coordinates_2d(c, f)  2-D [H, W] -> [H / f, W / f]
// Coordinates are doubles and must be finite (ArgumentError otherwise).
#pragma once

#include <cmath>
#include <vector>

#include "maunet/core/errors.hpp"
#include "maunet/core/tensor.hpp"

namespace maunet::pipeline {

namespace detail {

inline void check_coordinate_factor(Index factor, const char* op) {
    require(factor >= 1, op, ": expected a factor >= 1, got ", factor);
}

inline void check_finite_coordinates(const double* c, Index n, const char* op) {
    for (Index i = 0; i < n; ++i)
        require(std::isfinite(c[i]), op, ": coordinate ", i, " is not finite (", c[i], ")");
}

// Linear interpolation (and extrapolation) of the strided samples c[0], c[stride], ...,
// c[(n - 1) stride] at the fractional index s.
inline double interpolate_strided(const double* c, Index n, Index stride, double s) {
    if (n == 1) return c[0];
    Index j = static_cast<Index>(std::floor(s));
    if (j < 0) j = 0;
    if (j > n - 2) j = n - 2;
    const double t = s - static_cast<double>(j);
    return (1.0 - t) * c[j * stride] + t * c[(j + 1) * stride];
}

inline double fine_to_coarse_index(Index i, Index factor) {
    return (static_cast<double>(i) + 0.5) / static_cast<double>(factor) - 0.5;
}

}  // namespace detail

// 1-D cell centres refined by `factor` (n -> n * factor), linear in the index.
inline std::vector<double> refine_coordinates(const std::vector<double>& coarse, Index factor) {
    const char* op = "refine_coordinates";
    detail::check_coordinate_factor(factor, op);
    require(!coarse.empty(), op, ": expected at least one coordinate, got none");
    const Index n = static_cast<Index>(coarse.size());
    detail::check_finite_coordinates(coarse.data(), n, op);
    std::vector<double> fine(static_cast<std::size_t>(n * factor));
    for (Index i = 0; i < n * factor; ++i)
        fine[static_cast<std::size_t>(i)] =
            detail::interpolate_strided(coarse.data(), n, 1, detail::fine_to_coarse_index(i, factor));
    return fine;
}

// 1-D block means of `factor` cells (n -> n / factor).
inline std::vector<double> coarsen_coordinates(const std::vector<double>& fine, Index factor) {
    const char* op = "coarsen_coordinates";
    detail::check_coordinate_factor(factor, op);
    const Index n = static_cast<Index>(fine.size());
    require(n >= factor && n % factor == 0, op, ": expected a number of coordinates that is a positive multiple of "
            "the factor ", factor, ", got ", n);
    detail::check_finite_coordinates(fine.data(), n, op);
    std::vector<double> coarse(static_cast<std::size_t>(n / factor));
    for (Index j = 0; j < n / factor; ++j) {
        double sum = 0;
        for (Index k = 0; k < factor; ++k) sum += fine[static_cast<std::size_t>(j * factor + k)];
        coarse[static_cast<std::size_t>(j)] = sum / static_cast<double>(factor);
    }
    return coarse;
}

// 2-D coordinates [H, W] refined by `factor` ([H f, W f]): separable linear interpolation in
// the indices (bilinear inside, linear extrapolation in the outer half cells).
inline Tensor<double> refine_coordinates_2d(const Tensor<double>& coarse, Index factor) {
    const char* op = "refine_coordinates_2d";
    detail::check_coordinate_factor(factor, op);
    require_shape(coarse.rank() == 2 && coarse.numel() > 0, op, ": expected coordinates [H, W], got ", coarse.shape());
    detail::check_finite_coordinates(coarse.data(), coarse.numel(), op);
    const Index H = coarse.dim(0), W = coarse.dim(1);
    // Along x first (each coarse row), then along y (each fine column).
    Tensor<double> rows(Shape{H, W * factor});
    for (Index r = 0; r < H; ++r)
        for (Index i = 0; i < W * factor; ++i)
            rows[r * W * factor + i] =
                detail::interpolate_strided(coarse.data() + r * W, W, 1, detail::fine_to_coarse_index(i, factor));
    Tensor<double> fine(Shape{H * factor, W * factor});
    for (Index i = 0; i < H * factor; ++i)
        for (Index x = 0; x < W * factor; ++x)
            fine[i * W * factor + x] =
                detail::interpolate_strided(rows.data() + x, H, W * factor, detail::fine_to_coarse_index(i, factor));
    return fine;
}

// 2-D block means of factor x factor cells ([H, W] -> [H / f, W / f]).
inline Tensor<double> coarsen_coordinates_2d(const Tensor<double>& fine, Index factor) {
    const char* op = "coarsen_coordinates_2d";
    detail::check_coordinate_factor(factor, op);
    require_shape(fine.rank() == 2 && fine.numel() > 0, op, ": expected coordinates [H, W], got ", fine.shape());
    const Index H = fine.dim(0), W = fine.dim(1);
    require_shape(H % factor == 0 && W % factor == 0, op, ": height ", H, " and width ", W,
                  " must both be multiples of the factor ", factor);
    detail::check_finite_coordinates(fine.data(), fine.numel(), op);
    Tensor<double> coarse(Shape{H / factor, W / factor});
    for (Index r = 0; r < H / factor; ++r)
        for (Index c = 0; c < W / factor; ++c) {
            double sum = 0;
            for (Index dy = 0; dy < factor; ++dy)
                for (Index dx = 0; dx < factor; ++dx) sum += fine[(r * factor + dy) * W + c * factor + dx];
            coarse[r * (W / factor) + c] = sum / static_cast<double>(factor * factor);
        }
    return coarse;
}

}  // namespace maunet::pipeline
