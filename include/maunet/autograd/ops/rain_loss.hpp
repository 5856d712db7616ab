// maunet/autograd/ops/rain_loss.hpp: losses made for rain, beyond the plain MSE of loss.hpp.
//
// tail_weighted_mse(p, t, tau, lambda, m): squared error weighted towards heavy rain,
//   w = 1 + lambda max(0, t - tau),  L = sum(m w d^2) / sum(m w),  d = p - t
//   dL/dp = 2 m w d / sum(m w)
//   dL/dt = m (-2 w d + w' (d^2 - L)) / sum(m w),  w' = lambda [t > tau]
//   tau is a level of the target (in the space the loss sees: a transformed amount, e.g. the
//   90th percentile of the training targets), so the weights work on z-scores as on amounts.
//   Below tau it is the MSE; above, an error on a storm counts up to 1 + lambda (t - tau) times.
//
// bernoulli_gamma_nll(theta, y, threshold, m): the negative log-likelihood of amounts y under a
// Bernoulli-gamma mixture per cell (Williams 1998; Cannon 2008; Bano-Medina et al. 2020).
//   theta [N, 3, H, W]: channel 0 the logit l of the wet probability p = sigmoid(l), channel 1
//   log shape (alpha = e^a), channel 2 log scale (beta = e^b); y [N, 1, H, W] amounts >= 0.
//   A cell is wet when y > threshold. Per valid cell, with softplus(x) = ln(1 + e^x):
//     dry:  nll = -ln(1 - p) = softplus(l)
//     wet:  nll = -ln p - ln f(y; alpha, beta)
//               = softplus(-l) - (alpha - 1) ln y + y / beta + alpha b + lnGamma(alpha)
//   L = mean over the valid cells. Gradients (each times g / count):
//     dry:  dl = p
//     wet:  dl = p - 1,  da = alpha (psi(alpha) + b - ln y),  db = alpha - y / beta
//   y is data: no gradient flows into it.
//
// Masks as in loss.hpp: 0/1 of the target's shape, empty = all valid; missing cells never
// reach the sums. No valid cell: loss 0, zero gradients.
#pragma once

#include <algorithm>
#include <cmath>

#include "maunet/autograd/ops/loss.hpp"
#include "maunet/stats/gamma.hpp"

namespace maunet {

// Squared error with weights 1 + lambda max(0, target - tau) (see the top of the file).
template <class T>
Var<T> tail_weighted_mse(const Var<T>& pred, const Var<T>& target, detail::scalar_t<T> tau,
                         detail::scalar_t<T> lambda, const Tensor<T>& mask = Tensor<T>()) {
    const char* op = "tail_weighted_mse";
    require(std::isfinite(tau), op, ": tau must be finite, got ", tau);
    require(std::isfinite(lambda) && lambda >= T(0), op, ": lambda must be a finite number >= 0, got ", lambda);
    detail::check_loss_inputs(op, pred, target, mask);
    const double tail = static_cast<double>(tau), slope = static_cast<double>(lambda);
    return detail::weighted_mse(
        op, pred, target, mask, [tail, slope](double t) { return 1.0 + slope * std::max(0.0, t - tail); },
        [tail, slope](double t) { return t > tail ? slope : 0.0; });
}

namespace detail {
inline double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
inline double sigmoid(double x) { return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x)); }
}  // namespace detail

// Bernoulli-gamma negative log-likelihood of amounts y (see the top of the file).
template <class T>
Var<T> bernoulli_gamma_nll(const Var<T>& theta, const Tensor<T>& y, detail::scalar_t<T> threshold,
                           const Tensor<T>& mask = Tensor<T>()) {
    const char* op = "bernoulli_gamma_nll";
    const Shape& s = theta.shape();
    require_shape(s.rank() == 4 && s[1] == 3, op, ": expected parameters [N, 3, H, W] (logit, log shape, log scale), got ", s);
    require_shape(y.shape() == Shape{s[0], 1, s[2], s[3]}, op, ": expected amounts [", s[0], ", 1, ", s[2], ", ", s[3],
                  "], got ", y.shape());
    require(std::isfinite(threshold) && threshold >= T(0), op, ": threshold must be a finite number >= 0, got ", threshold);
    if (mask.numel() != 0) {
        require_shape(mask.shape() == y.shape(), op, ": mask ", mask.shape(), " and amounts ", y.shape(), " differ in shape");
        for (Index i = 0; i < mask.numel(); ++i)
            require(mask[i] == T(0) || mask[i] == T(1), op, ": mask values must be 0 or 1, found ", mask[i], " at ", i);
    }
    const Index plane = s[2] * s[3], n = y.numel();
    const double thr = static_cast<double>(threshold);
    for (Index i = 0; i < n; ++i)
        require(!detail::is_valid(mask, i) || static_cast<double>(y[i]) >= 0, op,
                ": amounts must be >= 0 where valid, found ", y[i], " at element ", i);
    // Element i of y (batch k = i / plane, cell j) has its parameters at (k * 3 + c) * plane + j.
    const auto at = [plane](Index i, int c) { return (i / plane * 3 + c) * plane + i % plane; };
    const T* th = theta.value().data();
    const double count = detail::pairwise_sum_of(0, n, [&](Index i) { return detail::is_valid(mask, i) ? 1.0 : 0.0; });
    const double total = detail::pairwise_sum_of(0, n, [&](Index i) {
        if (!detail::is_valid(mask, i)) return 0.0;
        const double l = static_cast<double>(th[at(i, 0)]), yi = static_cast<double>(y[i]);
        if (!(yi > thr)) return detail::softplus(l);
        const double a = static_cast<double>(th[at(i, 1)]), b = static_cast<double>(th[at(i, 2)]);
        const double alpha = std::exp(a);
        return detail::softplus(-l) - (alpha - 1) * std::log(yi) + yi * std::exp(-b) + alpha * b + std::lgamma(alpha);
    });
    const double loss = count > 0 ? total / count : 0.0;
    return autograd::record<T>(
        op, Tensor<T>::scalar(static_cast<T>(loss)), {theta},
        [y, mask, thr, count, at](const autograd::BackwardContext<T>& ctx) {
            if (count == 0 || !ctx.needs_grad(0)) return;
            const double scale = static_cast<double>(ctx.grad_output()[0]) / count;
            const T* th = ctx.input(0).data();
            T* g = ctx.grad(0).data();
            for (Index i = 0; i < y.numel(); ++i) {
                if (!detail::is_valid(mask, i)) continue;
                const double l = static_cast<double>(th[at(i, 0)]), yi = static_cast<double>(y[i]);
                const double p = detail::sigmoid(l);
                if (!(yi > thr)) {
                    g[at(i, 0)] += static_cast<T>(scale * p);
                    continue;
                }
                const double a = static_cast<double>(th[at(i, 1)]), b = static_cast<double>(th[at(i, 2)]);
                const double alpha = std::exp(a);
                g[at(i, 0)] += static_cast<T>(scale * (p - 1));
                g[at(i, 1)] += static_cast<T>(scale * alpha * (stats::digamma(alpha) + b - std::log(yi)));
                g[at(i, 2)] += static_cast<T>(scale * (alpha - yi * std::exp(-b)));
            }
        });
}

}  // namespace maunet
