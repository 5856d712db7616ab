// maunet/stats/regrid.hpp: regridding of fields whose LAST TWO axes are (H, W).
//
// Any leading axes are kept ([time, H, W], NCHW, ...). NaN marks a missing cell.
//
// Index-space resampling (cell-centre convention, PyTorch's align_corners = false):
//   src = (dst + 0.5) * in / out - 0.5                      (per axis)
// - regrid_nearest: the source cell that contains the target centre,
//   i = min(floor((dst + 0.5) * in / out), in - 1)  (PyTorch mode 'nearest-exact').
// - regrid_bilinear: as F.interpolate(mode='bilinear', align_corners=False): src is clamped
//   at 0 below, i0 = floor(src), i1 = min(i0 + 1, in - 1), weights (1 - t, t), t = src - i0.
//   Linear fields are reproduced exactly where src lies in [0, in - 1]; outside (the outer
//   half cell of each border) the field is held constant at the border value.
// - regrid_bicubic: as F.interpolate(mode='bicubic', align_corners=False): Keys' cubic
//   convolution kernel W(s) = (a+2)|s|^3 - (a+3)|s|^2 + 1 for |s| <= 1,
//   a|s|^3 - 5a|s|^2 + 8a|s| - 4a for 1 < |s| < 2, taps floor(src) - 1 .. floor(src) + 2,
//   tap indices clamped to [0, in - 1] (border samples repeated). Every a reproduces
//   constants. Only a = -0.5 (Keys' third-order choice) reproduces linear functions and
//   quadratics exactly (wherever all four taps are inside the grid); a = -0.75 (PyTorch's
//   choice) does NOT reproduce linear functions except at t = 0 and t = 1/2: at t = 1/4 its
//   weights give sum(w_k k) = 0.296875 instead of 0.25 (a sharpening bias of order h).
//
// Missing values: the 2-D weight of a tap is w = wy * wx. Nearest and bilinear drop taps with
// w == 0 or a NaN value and renormalise the rest: out = sum(w_k x_k) / sum(w_k) over the kept
// taps, NaN exactly when no valid neighbour has non-zero weight (their weights are >= 0, so
// the result lies between the values it draws from).
// Bicubic next to missing cells (coasts, radar gaps): with V the valid taps and S = sum_V w_k
// (the whole kernel sums to 1),
//   S >= 1/2   out = sum_V(w_k x_k) / S, clamped to [min_V x_k, max_V x_k] over the valid taps
//              with non-zero weight (renormalised negative lobes could overshoot far);
//   S <  1/2   too little of the kernel is left to renormalise: fall back to bilinear on the
//              inner 2 x 2 taps (weights (1 - ty, ty) x (1 - tx, tx)) if their valid weight is
//              >= 1/2, else to the nearest valid inner tap, else NaN.
// So next to a missing cell bicubic never leaves the range of the valid cells it draws from.
// With every tap valid, bicubic can overshoot (below the smallest or above the largest input)
// as the kernel does; precipitation must not be negative: pass clamp_negative = true to set
// negative outputs to 0.
//
// Block operations for integer factors:
// - block_mean(x, f): NaN-aware mean of f x f blocks; a block with fewer valid cells than
//   min_valid_fraction * f * f (or with none) is NaN. For a fully valid block
//   f*f * mean == sum, so the field's sum over valid cells is conserved.
// - block_upsample(x, f): each coarse cell replicated f x f times (NaN stays NaN).
//
// Rectilinear coordinates (for `maunet regrid`): regrid_bilinear / regrid_nearest with
// source cell-centre coordinates src_y (size H), src_x (size W), strictly increasing OR
// strictly decreasing (latitude is often stored north to south), and any finite target
// coordinates. Interpolation is linear in the coordinate; a target outside
// [min(src), max(src)] on either axis is NaN (no extrapolation). Nearest picks the closest
// source coordinate (ties to the lower array index), again only inside the source range.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "maunet/core/aligned.hpp"
#include "maunet/core/errors.hpp"
#include "maunet/core/scratch.hpp"
#include "maunet/core/shape.hpp"
#include "maunet/core/tensor.hpp"
#include "maunet/core/threading.hpp"

namespace maunet::stats {

namespace detail {

// One axis of a separable resampling: for target index o, taps k = 0..per_target-1 read
// source index index[o * per_target + k] with weight weight[...]; index -1 = no tap.
struct AxisTaps {
    Index per_target = 1;
    ArenaVector<Index> index;  // ArenaVector: drawn from a workspace's arena when one is set
    ArenaVector<double> weight;
    ArenaVector<double> fraction;  // bicubic: t = src - floor(src) of each target (its inner taps are 1 and 2)
};

inline constexpr double kMinValidKernelWeight = 0.5;

inline void check_plane_input(const Shape& s, const char* op) {
    require_shape(s.rank() >= 2, op, ": expected a tensor whose last two axes are (H, W), got shape ", s);
    require_shape(s.dim(-1) >= 1 && s.dim(-2) >= 1, op, ": the (H, W) axes must be non-empty, got shape ", s);
}

inline void check_output_size(Index out_h, Index out_w, const char* op) {
    require(out_h >= 1 && out_w >= 1, op, ": expected an output size of at least 1 x 1, got ", out_h, " x ",
            out_w);
}

inline Shape with_plane_size(const Shape& s, Index h, Index w) {
    Shape out = s;
    out[out.rank() - 2] = h;
    out[out.rank() - 1] = w;
    return out;
}

inline AxisTaps nearest_taps(Index in, Index out) {
    AxisTaps taps;
    taps.per_target = 1;
    const double scale = static_cast<double>(in) / static_cast<double>(out);
    for (Index o = 0; o < out; ++o) {
        const auto i = static_cast<Index>(std::floor((static_cast<double>(o) + 0.5) * scale));
        taps.index.push_back(std::min(i, in - 1));
        taps.weight.push_back(1.0);
    }
    return taps;
}

inline AxisTaps bilinear_taps(Index in, Index out) {
    AxisTaps taps;
    taps.per_target = 2;
    const double scale = static_cast<double>(in) / static_cast<double>(out);
    for (Index o = 0; o < out; ++o) {
        const double src = std::max(0.0, (static_cast<double>(o) + 0.5) * scale - 0.5);
        const auto i0 = std::min(static_cast<Index>(std::floor(src)), in - 1);
        const Index i1 = std::min(i0 + 1, in - 1);
        const double t = src - static_cast<double>(i0);
        taps.index.insert(taps.index.end(), {i0, i1});
        taps.weight.insert(taps.weight.end(), {1.0 - t, t});
    }
    return taps;
}

// Keys' cubic convolution kernel at distance s >= 0.
inline double keys_kernel(double s, double a) {
    if (s <= 1.0) return ((a + 2.0) * s - (a + 3.0)) * s * s + 1.0;
    if (s < 2.0) return ((a * s - 5.0 * a) * s + 8.0 * a) * s - 4.0 * a;
    return 0.0;
}

inline AxisTaps bicubic_taps(Index in, Index out, double a) {
    AxisTaps taps;
    taps.per_target = 4;
    const double scale = static_cast<double>(in) / static_cast<double>(out);
    for (Index o = 0; o < out; ++o) {
        const double src = (static_cast<double>(o) + 0.5) * scale - 0.5;
        const double base = std::floor(src);
        const double t = src - base;
        taps.fraction.push_back(t);
        const double w[4] = {keys_kernel(t + 1.0, a), keys_kernel(t, a), keys_kernel(1.0 - t, a),
                             keys_kernel(2.0 - t, a)};
        for (int k = 0; k < 4; ++k) {
            const auto i = static_cast<Index>(base) - 1 + k;
            taps.index.push_back(std::clamp<Index>(i, 0, in - 1));
            taps.weight.push_back(w[k]);
        }
    }
    return taps;
}

// Bicubic at one target with some taps missing: renormalise and clamp, or fall back to
// bilinear, then nearest, on the inner taps (see the top of the file).
template <class T>
double bicubic_near_missing(const T* plane, Index in_w, const AxisTaps& ty, const AxisTaps& tx, Index oy, Index ox) {
    double acc = 0.0, weight_sum = 0.0;
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (Index ky = 0; ky < 4; ++ky)
        for (Index kx = 0; kx < 4; ++kx) {
            const double w = ty.weight[static_cast<std::size_t>(oy * 4 + ky)] * tx.weight[static_cast<std::size_t>(ox * 4 + kx)];
            const double v = static_cast<double>(
                plane[ty.index[static_cast<std::size_t>(oy * 4 + ky)] * in_w + tx.index[static_cast<std::size_t>(ox * 4 + kx)]]);
            if (std::isnan(v) || w == 0.0) continue;
            acc += w * v;
            weight_sum += w;
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    if (weight_sum >= kMinValidKernelWeight) return std::clamp(acc / weight_sum, lo, hi);
    const double fy = ty.fraction[static_cast<std::size_t>(oy)], fx = tx.fraction[static_cast<std::size_t>(ox)];
    double bacc = 0.0, bsum = 0.0, best_w = -1.0, nearest = std::numeric_limits<double>::quiet_NaN();
    for (Index ky = 1; ky <= 2; ++ky)
        for (Index kx = 1; kx <= 2; ++kx) {
            const double w = (ky == 1 ? 1.0 - fy : fy) * (kx == 1 ? 1.0 - fx : fx);
            const double v = static_cast<double>(
                plane[ty.index[static_cast<std::size_t>(oy * 4 + ky)] * in_w + tx.index[static_cast<std::size_t>(ox * 4 + kx)]]);
            if (std::isnan(v)) continue;
            bacc += w * v;
            bsum += w;
            if (w > best_w) best_w = w, nearest = v;
        }
    return bsum >= kMinValidKernelWeight ? bacc / bsum : nearest;
}

// The kept weight of each target along one axis: sum of its taps with index >= 0 and w != 0.
inline ArenaVector<double> axis_weight_sums(const AxisTaps& t) {
    ArenaVector<double> sums(t.index.size() / static_cast<std::size_t>(t.per_target), 0.0);
    for (std::size_t k = 0; k < t.index.size(); ++k)
        if (t.index[k] >= 0 && t.weight[k] != 0.0) sums[k / static_cast<std::size_t>(t.per_target)] += t.weight[k];
    return sums;
}

// One plane whose values are all finite: the sums of resample_separable() factor, since no
// tap is dropped for a missing value: sum(wy wx x) / sum(wy wx) = sum_y wy (sum_x wx x) /
// (sum wy sum wx). Rows first (in_h x out_w, into `rows`), then columns: 4 + 4 multiply-adds
// per bicubic target instead of 16 (the same values to double rounding).
template <class T>
void resample_finite_plane(const T* in, Index in_w, T* out, Index out_h, Index out_w, const AxisTaps& ty,
                           const AxisTaps& tx, const ArenaVector<double>& sum_y, const ArenaVector<double>& sum_x,
                           bool clamp_negative, Index in_h, double* rows) {
    for (Index iy = 0; iy < in_h; ++iy) {
        const T* src = in + iy * in_w;
        double* dst = rows + iy * out_w;
        for (Index ox = 0; ox < out_w; ++ox) {
            double acc = 0.0;
            for (Index kx = 0; kx < tx.per_target; ++kx) {
                const Index ix = tx.index[static_cast<std::size_t>(ox * tx.per_target + kx)];
                const double w = tx.weight[static_cast<std::size_t>(ox * tx.per_target + kx)];
                if (ix >= 0 && w != 0.0) acc += w * static_cast<double>(src[ix]);
            }
            dst[ox] = acc;
        }
    }
    for (Index oy = 0; oy < out_h; ++oy) {
        T* dst = out + oy * out_w;
        for (Index ox = 0; ox < out_w; ++ox) {
            double acc = 0.0;
            for (Index ky = 0; ky < ty.per_target; ++ky) {
                const Index iy = ty.index[static_cast<std::size_t>(oy * ty.per_target + ky)];
                const double w = ty.weight[static_cast<std::size_t>(oy * ty.per_target + ky)];
                if (iy >= 0 && w != 0.0) acc += w * rows[static_cast<std::size_t>(iy * out_w + ox)];
            }
            const double norm = sum_y[static_cast<std::size_t>(oy)] * sum_x[static_cast<std::size_t>(ox)];
            double result = norm > 0.0 ? acc / norm : std::numeric_limits<double>::quiet_NaN();
            if (clamp_negative && result < 0.0) result = 0.0;
            dst[ox] = static_cast<T>(result);
        }
    }
}

// Applies separable taps to every (H, W) plane; NaN-aware renormalisation as documented above.
// Planes with a missing (or infinite) value go target by target; the others separably.
template <class T>
Tensor<T> resample_separable(const Tensor<T>& x, const AxisTaps& ty, const AxisTaps& tx, bool clamp_negative) {
    const Index in_h = x.dim(-2), in_w = x.dim(-1);
    const auto out_h = static_cast<Index>(ty.index.size()) / ty.per_target;
    const auto out_w = static_cast<Index>(tx.index.size()) / tx.per_target;
    const Index planes = x.numel() / (in_h * in_w);
    const bool guard_bicubic = ty.per_target == 4 && tx.per_target == 4 && !ty.fraction.empty() && !tx.fraction.empty();
    Tensor<T> out(with_plane_size(x.shape(), out_h, out_w));
    const T* src = x.data();
    T* dst = out.data();
    // Every buffer from the caller's arena or the threads' scratch: an inference with a
    // workspace allocates nothing (core/arena.hpp).
    ArenaVector<char> finite(static_cast<std::size_t>(planes));
    parallel_for(0, planes, [&](Index plane) {
        const T* p = src + plane * in_h * in_w;
        finite[static_cast<std::size_t>(plane)] =
            std::all_of(p, p + in_h * in_w, [](T v) { return std::isfinite(static_cast<double>(v)); });
    });
    const ArenaVector<double> sum_y = axis_weight_sums(ty), sum_x = axis_weight_sums(tx);
    parallel_for(0, planes, [&](Index plane) {
        if (!finite[static_cast<std::size_t>(plane)]) return;
        double* rows = maunet::detail::scratch<double>(maunet::detail::ScratchSlot::output,
                                                      static_cast<std::size_t>(in_h * out_w));
        resample_finite_plane(src + plane * in_h * in_w, in_w, dst + plane * out_h * out_w, out_h, out_w, ty, tx,
                              sum_y, sum_x, clamp_negative, in_h, rows);
    });
    parallel_for(0, planes * out_h, [&](Index row) {
        const Index plane = row / out_h, oy = row % out_h;
        if (finite[static_cast<std::size_t>(plane)]) return;
        const T* in_plane = src + plane * in_h * in_w;
        T* out_row = dst + (plane * out_h + oy) * out_w;
        for (Index ox = 0; ox < out_w; ++ox) {
            double acc = 0.0, weight_sum = 0.0;
            bool missing = false;
            for (Index ky = 0; ky < ty.per_target; ++ky) {
                const Index iy = ty.index[static_cast<std::size_t>(oy * ty.per_target + ky)];
                const double wy = ty.weight[static_cast<std::size_t>(oy * ty.per_target + ky)];
                if (iy < 0 || wy == 0.0) continue;
                for (Index kx = 0; kx < tx.per_target; ++kx) {
                    const Index ix = tx.index[static_cast<std::size_t>(ox * tx.per_target + kx)];
                    const double w = wy * tx.weight[static_cast<std::size_t>(ox * tx.per_target + kx)];
                    if (ix < 0 || w == 0.0) continue;
                    const double v = static_cast<double>(in_plane[iy * in_w + ix]);
                    if (std::isnan(v)) {
                        missing = true;
                        continue;
                    }
                    acc += w * v;
                    weight_sum += w;
                }
            }
            double result = weight_sum > 0.0 ? acc / weight_sum : std::numeric_limits<double>::quiet_NaN();
            if (missing && guard_bicubic) result = bicubic_near_missing(in_plane, in_w, ty, tx, oy, ox);
            if (clamp_negative && result < 0.0) result = 0.0;
            out_row[ox] = static_cast<T>(result);
        }
    });
    return out;
}

// Checks that coords (size n) are finite and strictly monotone; returns true if increasing.
inline bool check_source_coordinates(const std::vector<double>& c, Index n, const char* op, const char* axis) {
    require_shape(static_cast<Index>(c.size()) == n, op, ": ", axis, " has ", c.size(),
                  " coordinates but the field has ", n, " cells along that axis");
    for (double v : c) require(std::isfinite(v), op, ": source coordinates must be finite, found ", v, " in ", axis);
    if (n < 2) return true;
    const bool increasing = c[1] > c[0];
    for (std::size_t i = 1; i < c.size(); ++i) {
        const bool ok = increasing ? c[i] > c[i - 1] : c[i] < c[i - 1];
        require(ok, op, ": ", axis, " must be strictly increasing or strictly decreasing, but entries ", i - 1,
                " and ", i, " are ", c[i - 1], " and ", c[i]);
    }
    return increasing;
}

inline void check_target_coordinates(const std::vector<double>& c, const char* op, const char* axis) {
    require(!c.empty(), op, ": ", axis, " must hold at least one target coordinate");
    for (double v : c) require(std::isfinite(v), op, ": target coordinates must be finite, found ", v, " in ", axis);
}

// Linear (or nearest) taps in coordinate space; targets outside the source range get no tap.
inline AxisTaps coordinate_taps(const std::vector<double>& src, const std::vector<double>& dst, bool increasing,
                                bool nearest) {
    AxisTaps taps;
    taps.per_target = nearest ? 1 : 2;
    const auto n = static_cast<Index>(src.size());
    // Work on increasing coordinates; position p in `inc` is source index map(p).
    std::vector<double> inc(src);
    if (!increasing) std::reverse(inc.begin(), inc.end());
    auto map = [&](Index p) { return increasing ? p : n - 1 - p; };
    for (double y : dst) {
        if (y < inc.front() || y > inc.back()) {
            for (Index k = 0; k < taps.per_target; ++k) {
                taps.index.push_back(-1);
                taps.weight.push_back(0.0);
            }
            continue;
        }
        if (n == 1) {
            for (Index k = 0; k < taps.per_target; ++k) {
                taps.index.push_back(k == 0 ? 0 : -1);
                taps.weight.push_back(k == 0 ? 1.0 : 0.0);
            }
            continue;
        }
        const Index hi = std::clamp<Index>(std::upper_bound(inc.begin(), inc.end(), y) - inc.begin(), 1, n - 1);
        const Index lo = hi - 1;
        const double t = (y - inc[static_cast<std::size_t>(lo)]) /
                         (inc[static_cast<std::size_t>(hi)] - inc[static_cast<std::size_t>(lo)]);
        if (nearest) {
            // Ties go to the lower array index of the ORIGINAL coordinate vector.
            Index pick;
            if (t < 0.5) pick = lo;
            else if (t > 0.5) pick = hi;
            else pick = std::min(map(lo), map(hi)) == map(lo) ? lo : hi;
            taps.index.push_back(map(pick));
            taps.weight.push_back(1.0);
        } else {
            taps.index.insert(taps.index.end(), {map(lo), map(hi)});
            taps.weight.insert(taps.weight.end(), {1.0 - t, t});
        }
    }
    return taps;
}

}  // namespace detail

// Nearest-neighbour resampling of the (H, W) axes to out_h x out_w (cell-centre convention).
template <class T>
Tensor<T> regrid_nearest(const Tensor<T>& x, Index out_h, Index out_w) {
    detail::check_plane_input(x.shape(), "regrid_nearest");
    detail::check_output_size(out_h, out_w, "regrid_nearest");
    return detail::resample_separable(x, detail::nearest_taps(x.dim(-2), out_h),
                                      detail::nearest_taps(x.dim(-1), out_w), false);
}

// Bilinear resampling of the (H, W) axes (PyTorch bilinear, align_corners = false), NaN-aware.
template <class T>
Tensor<T> regrid_bilinear(const Tensor<T>& x, Index out_h, Index out_w) {
    detail::check_plane_input(x.shape(), "regrid_bilinear");
    detail::check_output_size(out_h, out_w, "regrid_bilinear");
    return detail::resample_separable(x, detail::bilinear_taps(x.dim(-2), out_h),
                                      detail::bilinear_taps(x.dim(-1), out_w), false);
}

// Bicubic resampling (Keys kernel with parameter a; PyTorch bicubic for a = -0.75),
// NaN-aware; clamp_negative sets negative outputs (overshoot) to 0.
template <class T>
Tensor<T> regrid_bicubic(const Tensor<T>& x, Index out_h, Index out_w, bool clamp_negative = false,
                         double a = -0.75) {
    detail::check_plane_input(x.shape(), "regrid_bicubic");
    detail::check_output_size(out_h, out_w, "regrid_bicubic");
    require(std::isfinite(a) && a < 0.0, "regrid_bicubic: expected a negative, finite kernel parameter a "
            "(-0.75 as PyTorch, -0.5 as Keys), got ", a);
    return detail::resample_separable(x, detail::bicubic_taps(x.dim(-2), out_h, a),
                                      detail::bicubic_taps(x.dim(-1), out_w, a), clamp_negative);
}

// Bilinear interpolation between rectilinear grids given by cell-centre coordinates.
template <class T>
Tensor<T> regrid_bilinear(const Tensor<T>& x, const std::vector<double>& src_y, const std::vector<double>& src_x,
                          const std::vector<double>& dst_y, const std::vector<double>& dst_x) {
    const char* op = "regrid_bilinear";
    detail::check_plane_input(x.shape(), op);
    const bool inc_y = detail::check_source_coordinates(src_y, x.dim(-2), op, "src_y");
    const bool inc_x = detail::check_source_coordinates(src_x, x.dim(-1), op, "src_x");
    detail::check_target_coordinates(dst_y, op, "dst_y");
    detail::check_target_coordinates(dst_x, op, "dst_x");
    return detail::resample_separable(x, detail::coordinate_taps(src_y, dst_y, inc_y, false),
                                      detail::coordinate_taps(src_x, dst_x, inc_x, false), false);
}

// Nearest-neighbour lookup between rectilinear grids given by cell-centre coordinates.
template <class T>
Tensor<T> regrid_nearest(const Tensor<T>& x, const std::vector<double>& src_y, const std::vector<double>& src_x,
                         const std::vector<double>& dst_y, const std::vector<double>& dst_x) {
    const char* op = "regrid_nearest";
    detail::check_plane_input(x.shape(), op);
    const bool inc_y = detail::check_source_coordinates(src_y, x.dim(-2), op, "src_y");
    const bool inc_x = detail::check_source_coordinates(src_x, x.dim(-1), op, "src_x");
    detail::check_target_coordinates(dst_y, op, "dst_y");
    detail::check_target_coordinates(dst_x, op, "dst_x");
    return detail::resample_separable(x, detail::coordinate_taps(src_y, dst_y, inc_y, true),
                                      detail::coordinate_taps(src_x, dst_x, inc_x, true), false);
}

// NaN-aware mean of factor x factor blocks; blocks with fewer than
// min_valid_fraction * factor^2 valid cells (or none) are NaN.
template <class T>
Tensor<T> block_mean(const Tensor<T>& x, Index factor, double min_valid_fraction = 0.5) {
    detail::check_plane_input(x.shape(), "block_mean");
    require(factor >= 1, "block_mean: expected a factor >= 1, got ", factor);
    require(min_valid_fraction >= 0.0 && min_valid_fraction <= 1.0,
            "block_mean: expected min_valid_fraction in [0, 1], got ", min_valid_fraction);
    const Index in_h = x.dim(-2), in_w = x.dim(-1);
    require_shape(in_h % factor == 0 && in_w % factor == 0, "block_mean: height ", in_h, " and width ", in_w,
                  " of shape ", x.shape(), " must both be multiples of the factor ", factor);
    const Index out_h = in_h / factor, out_w = in_w / factor;
    const Index planes = x.numel() / (in_h * in_w);
    const double needed = min_valid_fraction * static_cast<double>(factor * factor);
    Tensor<T> out(detail::with_plane_size(x.shape(), out_h, out_w));
    const T* src = x.data();
    T* dst = out.data();
    parallel_for(0, planes * out_h, [&](Index row) {
        const Index plane = row / out_h, oy = row % out_h;
        const T* in_plane = src + plane * in_h * in_w;
        for (Index ox = 0; ox < out_w; ++ox) {
            double sum = 0.0;
            Index valid = 0;
            for (Index dy = 0; dy < factor; ++dy)
                for (Index dx = 0; dx < factor; ++dx) {
                    const double v = static_cast<double>(in_plane[(oy * factor + dy) * in_w + ox * factor + dx]);
                    if (std::isnan(v)) continue;
                    sum += v;
                    ++valid;
                }
            const bool enough = valid > 0 && static_cast<double>(valid) >= needed;
            dst[(plane * out_h + oy) * out_w + ox] =
                enough ? static_cast<T>(sum / static_cast<double>(valid)) : std::numeric_limits<T>::quiet_NaN();
        }
    });
    return out;
}

// Replicates every cell into a factor x factor block (the coarse-to-fine counterpart of block_mean).
template <class T>
Tensor<T> block_upsample(const Tensor<T>& x, Index factor) {
    detail::check_plane_input(x.shape(), "block_upsample");
    require(factor >= 1, "block_upsample: expected a factor >= 1, got ", factor);
    const Index in_h = x.dim(-2), in_w = x.dim(-1);
    const Index out_h = in_h * factor, out_w = in_w * factor;
    const Index planes = x.numel() / (in_h * in_w);
    Tensor<T> out(detail::with_plane_size(x.shape(), out_h, out_w));
    const T* src = x.data();
    T* dst = out.data();
    parallel_for(0, planes * out_h, [&](Index row) {
        const Index plane = row / out_h, oy = row % out_h;
        const T* in_row = src + (plane * in_h + oy / factor) * in_w;
        T* out_row = dst + row * out_w;
        for (Index ox = 0; ox < out_w; ++ox) out_row[ox] = in_row[ox / factor];
    });
    return out;
}

}  // namespace maunet::stats
