// maunet/autograd/ops/loss.hpp: the supervised losses, masked over valid cells.
//
// p = prediction, t = target, d = p - t, m = mask (1 = valid, 0 = missing), sums over all
// cells, g = dL/d(loss) (a scalar):
//   mse_loss:                L = sum(m d^2) / sum(m)
//       dL/dp = 2 m d / sum(m),               dL/dt = -dL/dp
//   mae_loss:                L = sum(m |d|) / sum(m)
//       dL/dp = m sign(d) / sum(m),           dL/dt = -dL/dp
//       (the subgradient sign(0) = 0 is used where p == t)
//   intensity_weighted_mse:  L = sum(m w d^2) / sum(m w),  w = 1 + t / y_ref  (y_ref > 0)
//       dL/dp = 2 m w d / sum(m w)
//       dL/dt = m (-2 w d + (d^2 - L) / y_ref) / sum(m w)
//       The weights come from the target and are differentiated exactly: when the target
//       requires a gradient (a teacher's output in distillation) it flows through w as well.
// each multiplied by g. Every loss is a rank-0 variable; the target gets a gradient when it
// requires one.
//
// Masks: same shape as the prediction with values exactly 0 or 1; an empty tensor (numel 0,
// the default) means every cell is valid. Missing cells are skipped, never multiplied by 0, so
// NaN or inf in a missing cell of the prediction or the target cannot reach the loss or the
// gradients. A batch with no valid cell (sum(m) == 0, or sum(m w) == 0) has loss 0 and zero
// gradients, never NaN. Sums accumulate in double, pairwise, in a fixed order.
#pragma once

#include <cmath>
#include <utility>

#include "maunet/autograd/ops/elementwise.hpp"
#include "maunet/autograd/ops/reduction.hpp"
#include "maunet/autograd/variable.hpp"
#include "maunet/core/errors.hpp"
#include "maunet/core/tensor.hpp"

namespace maunet {

namespace detail {

// Checks the shapes of prediction, target and mask and the mask's values, naming `op`.
template <class T>
void check_loss_inputs(const char* op, const Var<T>& pred, const Var<T>& target, const Tensor<T>& mask) {
    require_shape(pred.shape() == target.shape(), op, ": prediction ", pred.shape(), " and target ",
                  target.shape(), " differ in shape");
    if (mask.numel() == 0) return;
    require_shape(mask.shape() == pred.shape(), op, ": mask ", mask.shape(), " and prediction ", pred.shape(),
                  " differ in shape (pass an empty mask for all cells valid)");
    for (Index i = 0; i < mask.numel(); ++i)
        require(mask[i] == T(0) || mask[i] == T(1), op, ": mask values must be 0 (missing) or 1 (valid), found ",
                mask[i], " at element ", i);
}

// True when cell i takes part in the loss.
template <class T>
bool is_valid(const Tensor<T>& mask, Index i) {
    return mask.numel() == 0 || mask[i] != T(0);
}

// The gradient buffers of pred (0) and target (1) that are wanted, or null.
template <class T>
std::pair<T*, T*> loss_grad_buffers(const autograd::BackwardContext<T>& ctx) {
    return {ctx.needs_grad(0) ? ctx.grad(0).data() : nullptr, ctx.needs_grad(1) ? ctx.grad(1).data() : nullptr};
}

// MSE (squared = true) or MAE (squared = false) over the valid cells.
template <class T>
Var<T> masked_error_loss(const char* op, bool squared, const Var<T>& pred, const Var<T>& target,
                         const Tensor<T>& mask) {
    check_loss_inputs(op, pred, target, mask);
    const T* p = pred.value().data();
    const T* t = target.value().data();
    const Index n = pred.value().numel();
    const double count = pairwise_sum_of(0, n, [&mask](Index i) { return is_valid(mask, i) ? 1.0 : 0.0; });
    const double total = pairwise_sum_of(0, n, [&](Index i) {
        if (!is_valid(mask, i)) return 0.0;
        const double d = static_cast<double>(p[i]) - static_cast<double>(t[i]);
        return squared ? d * d : std::abs(d);
    });
    const double loss = count > 0 ? total / count : 0.0;
    return autograd::record<T>(
        op, Tensor<T>::scalar(static_cast<T>(loss)), {pred, target},
        [mask, squared, count](const autograd::BackwardContext<T>& ctx) {
            const auto [gp, gt] = loss_grad_buffers(ctx);
            if (count == 0) return;  // no valid cell: zero gradients
            const double scale = static_cast<double>(ctx.grad_output()[0]) / count;
            const T* p = ctx.input(0).data();
            const T* t = ctx.input(1).data();
            const Index n = ctx.input(0).numel();
            for (Index i = 0; i < n; ++i) {
                if (!is_valid(mask, i)) continue;
                const double d = static_cast<double>(p[i]) - static_cast<double>(t[i]);
                const double dp = squared ? 2.0 * d : static_cast<double>((d > 0) - (d < 0));
                const T v = static_cast<T>(scale * dp);
                if (gp) gp[i] += v;
                if (gt) gt[i] -= v;
            }
        });
}

}  // namespace detail

// Mean squared error over the valid cells of `mask` (empty: all cells).
template <class T>
Var<T> mse_loss(const Var<T>& pred, const Var<T>& target, const Tensor<T>& mask = Tensor<T>()) {
    return detail::masked_error_loss("mse_loss", true, pred, target, mask);
}

// Mean absolute error over the valid cells of `mask` (empty: all cells); subgradient 0 where
// pred == target.
template <class T>
Var<T> mae_loss(const Var<T>& pred, const Var<T>& target, const Tensor<T>& mask = Tensor<T>()) {
    return detail::masked_error_loss("mae_loss", false, pred, target, mask);
}

namespace detail {

// sum(m w d^2) / sum(m w) with w = weight(t) >= 0 and w' = slope(t) (both of the target, in
// double): dL/dp = 2 m w d / sum(m w), dL/dt = m (-2 w d + w' (d^2 - L)) / sum(m w). The
// shared core of intensity_weighted_mse and tail_weighted_mse (rain_loss.hpp); the caller has
// checked the inputs and the weights.
template <class T, class Weight, class Slope>
Var<T> weighted_mse(const char* op, const Var<T>& pred, const Var<T>& target, const Tensor<T>& mask, Weight weight,
                    Slope slope) {
    const T* p = pred.value().data();
    const T* t = target.value().data();
    const Index n = pred.value().numel();
    const double weight_sum =
        pairwise_sum_of(0, n, [&](Index i) { return is_valid(mask, i) ? weight(static_cast<double>(t[i])) : 0.0; });
    const double total = pairwise_sum_of(0, n, [&](Index i) {
        if (!is_valid(mask, i)) return 0.0;
        const double d = static_cast<double>(p[i]) - static_cast<double>(t[i]);
        return weight(static_cast<double>(t[i])) * d * d;
    });
    const double loss = weight_sum == 0 ? 0.0 : total / weight_sum;  // NaN stays NaN
    return autograd::record<T>(
        op, Tensor<T>::scalar(static_cast<T>(loss)), {pred, target},
        [mask, weight, slope, weight_sum, loss](const autograd::BackwardContext<T>& ctx) {
            const auto [gp, gt] = loss_grad_buffers(ctx);
            if (weight_sum == 0) return;  // no weighted valid cell: zero gradients
            const double scale = static_cast<double>(ctx.grad_output()[0]) / weight_sum;
            const T* p = ctx.input(0).data();
            const T* t = ctx.input(1).data();
            const Index n = ctx.input(0).numel();
            for (Index i = 0; i < n; ++i) {
                if (!is_valid(mask, i)) continue;
                const double ti = static_cast<double>(t[i]);
                const double d = static_cast<double>(p[i]) - ti;
                const double w = weight(ti);
                if (gp) gp[i] += static_cast<T>(scale * 2.0 * w * d);
                if (gt) gt[i] += static_cast<T>(scale * (-2.0 * w * d + slope(ti) * (d * d - loss)));
            }
        });
}

}  // namespace detail

// Squared error weighted by w = 1 + target / y_ref (y_ref > 0), so that heavy rain counts
// more: sum(m w d^2) / sum(m w). Every valid target must give w >= 0 (target >= -y_ref):
// apply it to precipitation amounts, not to z-scores.
template <class T>
Var<T> intensity_weighted_mse(const Var<T>& pred, const Var<T>& target, detail::scalar_t<T> y_ref,
                              const Tensor<T>& mask = Tensor<T>()) {
    const char* op = "intensity_weighted_mse";
    require(std::isfinite(y_ref) && y_ref > T(0), op, ": y_ref must be a finite number > 0, got ", y_ref);
    detail::check_loss_inputs(op, pred, target, mask);
    const T* t = target.value().data();
    const double ref = static_cast<double>(y_ref);
    for (Index i = 0; i < target.value().numel(); ++i) {
        if (!detail::is_valid(mask, i)) continue;
        const double w = 1.0 + static_cast<double>(t[i]) / ref;
        require(!(w < 0.0), op, ": weights 1 + target / y_ref must be >= 0, but target ", t[i], " at element ", i,
                " with y_ref ", y_ref, " gives ", w, " (weight precipitation amounts, not z-scores)");
    }
    return detail::weighted_mse(
        op, pred, target, mask, [ref](double ti) { return 1.0 + ti / ref; }, [ref](double) { return 1.0 / ref; });
}

}  // namespace maunet
