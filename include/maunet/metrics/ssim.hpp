// maunet/metrics/ssim.hpp: mean structural similarity (SSIM), mask-aware.
//
// Wang, Bovik, Sheikh & Simoncelli (2004), computed exactly as scikit-image's
// structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
// data_range=L), in double:
//   w(u, v)   = g(u) g(v), g(k) = exp(-k^2 / (2 sigma^2)) / sum_k' exp(-k'^2 / (2 sigma^2)),
//               k in [-5, 5] (sigma 1.5 truncated at 3.5 sigma: radius int(3.5 * 1.5 + 0.5) = 5)
//   mu_x      = sum w x,       mu_y = sum w y                      (over the 11x11 window)
//   s_x^2     = sum w x^2 - mu_x^2,  s_y^2 = sum w y^2 - mu_y^2,  s_xy = sum w x y - mu_x mu_y
//   SSIM(win) = (2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2)),
//   C1 = (0.01 L)^2, C2 = (0.03 L)^2, L = data_range > 0 (an explicit argument, no default).
// x is pred, y is obs; the score is symmetric in the two.
//
// Which windows count: only window positions whose 11x11 support lies fully inside the
// image (skimage crops a border of radius 5), i.e. centres (i, j) with 5 <= i < H - 5 and
// 5 <= j < W - 5. MASK-AWARE RULE (our definition): with a mask, or with NaN/inf in pred or
// obs, a window counts only if all 121 cells of its support are valid (mask == 1 and both
// values finite); a window touching any invalid cell is dropped, never filled in.
//
// Shapes: [H, W], [N, H, W] or [N, C, H, W]; SSIM is computed per 2-D slice over the last two
// axes. The result is the mean over all counted windows of all slices (without a mask every
// slice has the same number of windows, so this equals the mean of the per-slice SSIMs, as
// skimage's channel_axis does; with a mask each counted window weighs the same).
// H and W must both be >= 11 (ArgumentError otherwise). No counted window: NaN (not an error).
//
// Speed: the five local moments are separable Gaussian filters (a horizontal pass over the
// window centre columns, then a vertical pass over the centre rows), and fully-valid windows
// are found with a summed-area table of invalid cells. Slices run in parallel, each with its
// own accumulators, combined in slice order: the result is the same for every thread count.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "maunet/core/threading.hpp"
#include "maunet/metrics/pointwise.hpp"

namespace maunet::metrics {

namespace detail {

constexpr int kSsimRadius = 5;                       // int(3.5 * 1.5 + 0.5)
constexpr int kSsimWindow = 2 * kSsimRadius + 1;     // 11
constexpr double kSsimSigma = 1.5;

// The normalised 1-D Gaussian, scipy.ndimage.gaussian_filter's kernel for sigma 1.5, truncate 3.5.
inline std::vector<double> ssim_gaussian_1d() {
    std::vector<double> g(kSsimWindow);
    double sum = 0;
    for (int k = -kSsimRadius; k <= kSsimRadius; ++k) {
        g[static_cast<std::size_t>(k + kSsimRadius)] = std::exp(-0.5 * k * k / (kSsimSigma * kSsimSigma));
        sum += g[static_cast<std::size_t>(k + kSsimRadius)];
    }
    for (double& w : g) w /= sum;
    return g;
}

struct SsimSliceSum {
    double sum = 0;         // sum of SSIM over counted windows
    std::int64_t count = 0; // number of counted windows
};

// SSIM summed over the counted windows of one H x W slice. p, o, m point at the slice (m may
// be nullptr: no mask).
template <class T>
SsimSliceSum ssim_slice(const T* p, const T* o, const T* m, Index H, Index W, double c1, double c2,
                        const std::vector<double>& g) {
    const Index r = kSsimRadius;
    const Index out_h = H - 2 * r, out_w = W - 2 * r;

    // Invalid cells become 0 (any window touching them is dropped below, so the value never
    // reaches the score; this only keeps NaN and inf out of the arithmetic), and the
    // summed-area table of invalid cells: bad(i0..i1, j0..j1) = S[i1+1][j1+1] - ... .
    std::vector<double> x(static_cast<std::size_t>(H * W)), y(x.size());
    std::vector<std::int64_t> bad_table(static_cast<std::size_t>((H + 1) * (W + 1)), 0);
    auto table = [&](Index i, Index j) -> std::int64_t& { return bad_table[static_cast<std::size_t>(i * (W + 1) + j)]; };
    for (Index i = 0; i < H; ++i) {
        std::int64_t row_bad = 0;
        for (Index j = 0; j < W; ++j) {
            const Index k = i * W + j;
            const bool ok = is_valid(m, p, o, k);
            x[static_cast<std::size_t>(k)] = ok ? static_cast<double>(p[k]) : 0.0;
            y[static_cast<std::size_t>(k)] = ok ? static_cast<double>(o[k]) : 0.0;
            row_bad += ok ? 0 : 1;
            table(i + 1, j + 1) = table(i, j + 1) + row_bad;
        }
    }

    // Horizontal pass: for every row and every window-centre column, the 1-D weighted sums of
    // x, y, x^2, y^2, xy. Stored as 5 planes of H x out_w.
    const std::size_t plane = static_cast<std::size_t>(H * out_w);
    std::vector<double> h(5 * plane);
    for (Index i = 0; i < H; ++i) {
        const double* xr = x.data() + i * W;
        const double* yr = y.data() + i * W;
        for (Index j = 0; j < out_w; ++j) {
            double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
            for (Index k = 0; k < kSsimWindow; ++k) {
                const double w = g[static_cast<std::size_t>(k)], a = xr[j + k], b = yr[j + k];
                sx += w * a, sy += w * b, sxx += w * a * a, syy += w * b * b, sxy += w * a * b;
            }
            const std::size_t at = static_cast<std::size_t>(i * out_w + j);
            h[at] = sx, h[plane + at] = sy, h[2 * plane + at] = sxx, h[3 * plane + at] = syy, h[4 * plane + at] = sxy;
        }
    }

    // Vertical pass at every window centre whose support is fully valid, then the SSIM formula.
    SsimSliceSum out;
    for (Index i = 0; i < out_h; ++i) {
        for (Index j = 0; j < out_w; ++j) {
            // Support rows i .. i + 10, columns j .. j + 10 (centre (i + 5, j + 5)).
            const std::int64_t bad = table(i + kSsimWindow, j + kSsimWindow) - table(i, j + kSsimWindow) -
                                     table(i + kSsimWindow, j) + table(i, j);
            if (bad != 0) continue;
            double mx = 0, my = 0, mxx = 0, myy = 0, mxy = 0;
            for (Index k = 0; k < kSsimWindow; ++k) {
                const double w = g[static_cast<std::size_t>(k)];
                const std::size_t at = static_cast<std::size_t>((i + k) * out_w + j);
                mx += w * h[at], my += w * h[plane + at], mxx += w * h[2 * plane + at];
                myy += w * h[3 * plane + at], mxy += w * h[4 * plane + at];
            }
            const double vx = mxx - mx * mx, vy = myy - my * my, vxy = mxy - mx * my;
            out.sum += ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
            ++out.count;
        }
    }
    return out;
}

}  // namespace detail

// Mean SSIM of pred against obs over the counted windows (see the rules at the top of this
// file). data_range L > 0 is required. NaN when no window counts.
template <class T>
double ssim(const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask, double data_range) {
    detail::check_inputs("ssim", pred, obs, mask);
    detail::check_data_range("ssim", data_range);
    const std::size_t rank = pred.rank();
    require_shape(rank >= 2 && rank <= 4, "ssim: expected a field [H, W], [N, H, W] or [N, C, H, W], got ",
                  pred.shape());
    const Index H = pred.dim(-2), W = pred.dim(-1);
    require(H >= detail::kSsimWindow && W >= detail::kSsimWindow,
            "ssim: the 11x11 Gaussian window needs an image of at least 11x11, got H = ", H, ", W = ", W,
            " (shape ", pred.shape(), ")");

    const Index slices = pred.numel() / (H * W);
    const double c1 = (0.01 * data_range) * (0.01 * data_range);
    const double c2 = (0.03 * data_range) * (0.03 * data_range);
    const std::vector<double> g = detail::ssim_gaussian_1d();
    const T* m = detail::mask_pointer(mask);
    std::vector<detail::SsimSliceSum> per_slice(static_cast<std::size_t>(slices));
    parallel_for(0, slices, [&](Index s) {
        const Index offset = s * H * W;
        per_slice[static_cast<std::size_t>(s)] = detail::ssim_slice(pred.data() + offset, obs.data() + offset,
                                                                    m ? m + offset : nullptr, H, W, c1, c2, g);
    });
    // Each time step's slices summed from zero, then the steps in order (pointwise.hpp's rule),
    // so the streaming evaluator gets the same bits from any split of the steps.
    const Index per_step = slices / std::max<Index>(1, detail::time_steps(pred).first);
    double sum = 0;
    std::int64_t count = 0;
    for (Index s0 = 0; s0 < slices; s0 += per_step) {
        double step_sum = 0;
        for (Index s = s0; s < s0 + per_step; ++s) {
            step_sum += per_slice[static_cast<std::size_t>(s)].sum;
            count += per_slice[static_cast<std::size_t>(s)].count;
        }
        sum += step_sum;
    }
    return count == 0 ? detail::not_a_number() : sum / static_cast<double>(count);
}

}  // namespace maunet::metrics
