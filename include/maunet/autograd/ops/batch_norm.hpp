// maunet/autograd/ops/batch_norm.hpp: batch normalisation of NCHW images per channel, as
// PyTorch's BatchNorm2d.
//
// For channel c, with M = N * H * W values x_j of that channel in the batch:
//   training:  mu = (1/M) sum_j x_j,  var = (1/M) sum_j (x_j - mu)^2   (the biased variance)
//              running_mean = (1 - m) running_mean + m mu
//              running_var  = (1 - m) running_var  + m var * M / (M - 1)   (the unbiased one)
//   eval:      mu = running_mean,  var = running_var
//   both:      inv_std = 1 / sqrt(var + eps),  x_hat_j = (x_j - mu) inv_std,
//              y_j = gamma_c x_hat_j + beta_c
// Backward, with g = dL/dy and g_hat = g gamma_c, sums over the channel's M values:
//   dL/dgamma_c = sum_j g_j x_hat_j,   dL/dbeta_c = sum_j g_j
//   training (mu and var depend on x):
//     dL/dx_j = (1/M) inv_std (M g_hat_j - sum_k g_hat_k - x_hat_j sum_k g_hat_k x_hat_k)
//   eval (mu and var are constants):
//     dL/dx_j = g_hat_j inv_std
//
// gamma and beta have shape [C]. An empty running_mean / running_var in the state (the
// default) is initialised on the first call to zeros / ones of shape [C], PyTorch's initial
// values. The running statistics are updated in training mode also under NoGradGuard. Sums
// accumulate in double, pairwise; channels run in parallel, each written by one thread.
#pragma once

#include <cmath>
#include <utility>
#include <vector>

#include "maunet/autograd/ops/reduction.hpp"
#include "maunet/autograd/variable.hpp"
#include "maunet/core/errors.hpp"
#include "maunet/core/tensor.hpp"
#include "maunet/core/threading.hpp"

namespace maunet {

// The running statistics of one batch-norm layer and its two constants.
template <class T>
struct BatchNormState {
    Tensor<T> running_mean;  // [C]; empty until the first call, then zeros
    Tensor<T> running_var;   // [C]; empty until the first call, then ones
    T momentum = T(0.1);     // weight of the batch statistics in the running update, in [0, 1]
    T eps = T(1e-5);         // added to the variance before the square root, > 0
};

namespace detail {

// Per channel c, the sum over n of the pairwise sum over the H*W plane of term(offset).
template <class Term>
double channel_sum(Index batch, Index channels, Index plane, Index c, const Term& term) {
    double s = 0.0;
    for (Index n = 0; n < batch; ++n) {
        const Index base = (n * channels + c) * plane;
        s += pairwise_sum_of(base, base + plane, term);
    }
    return s;
}

}  // namespace detail

// Batch normalisation over the channels of an NCHW batch x [N, C, H, W], with scale gamma [C]
// and shift beta [C]. `training` selects batch statistics (and updates `state`) or the
// running statistics.
template <class T>
Var<T> batch_norm2d(const Var<T>& x, const Var<T>& gamma, const Var<T>& beta, BatchNormState<T>& state,
                    bool training) {
    const Shape& xs = x.shape();
    require_shape(xs.rank() == 4, "batch_norm2d: input ", xs, " must be an NCHW tensor of rank 4");
    const Index N = xs[0], C = xs[1], H = xs[2], W = xs[3];
    const Index plane = H * W;
    const Index M = N * plane;
    require_shape(gamma.shape() == Shape{C}, "batch_norm2d: gamma ", gamma.shape(), " does not match the ", C,
                  " channels of input ", xs, "; expected [", C, "]");
    require_shape(beta.shape() == Shape{C}, "batch_norm2d: beta ", beta.shape(), " does not match the ", C,
                  " channels of input ", xs, "; expected [", C, "]");
    require(state.momentum >= T(0) && state.momentum <= T(1),
            "batch_norm2d: momentum must be in [0, 1], got ", state.momentum);
    require(state.eps > T(0), "batch_norm2d: eps must be > 0, got ", state.eps);
    if (state.running_mean.numel() == 0 && state.running_var.numel() == 0) {
        state.running_mean = Tensor<T>::zeros(Shape{C});
        state.running_var = Tensor<T>::ones(Shape{C});
    }
    require_shape(state.running_mean.shape() == Shape{C}, "batch_norm2d: running_mean ",
                  state.running_mean.shape(), " does not match the ", C, " channels of input ", xs);
    require_shape(state.running_var.shape() == Shape{C}, "batch_norm2d: running_var ", state.running_var.shape(),
                  " does not match the ", C, " channels of input ", xs);
    if (training)
        require(M > 1, "batch_norm2d: training needs more than one value per channel, got input ", xs,
                " (N * H * W = ", M, ")");

    const Tensor<T>& xv = x.value();
    const T* px = xv.data();
    const T* pg = gamma.value().data();
    const T* pb = beta.value().data();
    const double eps = static_cast<double>(state.eps);

    // Per-channel statistics, in double.
    std::vector<double> mu(static_cast<std::size_t>(C)), inv_std(static_cast<std::size_t>(C)),
        var(static_cast<std::size_t>(C));
    if (training) {
        parallel_for(0, C, [&](Index c) {
            const auto uc = static_cast<std::size_t>(c);
            const double m = detail::channel_sum(N, C, plane, c, [px](Index i) { return px[i]; }) /
                             static_cast<double>(M);
            const double ss = detail::channel_sum(N, C, plane, c, [px, m](Index i) {
                const double d = static_cast<double>(px[i]) - m;
                return d * d;
            });
            mu[uc] = m;
            var[uc] = ss / static_cast<double>(M);
            inv_std[uc] = 1.0 / std::sqrt(var[uc] + eps);
        });
        const double mom = static_cast<double>(state.momentum);
        const double unbias = static_cast<double>(M) / static_cast<double>(M - 1);
        for (Index c = 0; c < C; ++c) {
            const auto uc = static_cast<std::size_t>(c);
            state.running_mean[c] =
                static_cast<T>((1.0 - mom) * static_cast<double>(state.running_mean[c]) + mom * mu[uc]);
            state.running_var[c] =
                static_cast<T>((1.0 - mom) * static_cast<double>(state.running_var[c]) + mom * var[uc] * unbias);
        }
    } else {
        for (Index c = 0; c < C; ++c)
            require(state.running_var[c] >= T(0), "batch_norm2d: running_var must be >= 0, found ",
                    state.running_var[c], " for channel ", c);
        for (Index c = 0; c < C; ++c) {
            const auto uc = static_cast<std::size_t>(c);
            mu[uc] = static_cast<double>(state.running_mean[c]);
            var[uc] = static_cast<double>(state.running_var[c]);
            inv_std[uc] = 1.0 / std::sqrt(var[uc] + eps);
        }
    }

    // y = gamma x_hat + beta; x_hat is kept for the backward.
    Tensor<T> x_hat(xs);
    Tensor<T> y(xs);
    T* ph = x_hat.data();
    T* py = y.data();
    parallel_for(0, C, [&](Index c) {
        const auto uc = static_cast<std::size_t>(c);
        for (Index n = 0; n < N; ++n) {
            const Index base = (n * C + c) * plane;
            for (Index k = base; k < base + plane; ++k) {
                ph[k] = static_cast<T>((static_cast<double>(px[k]) - mu[uc]) * inv_std[uc]);
                py[k] = pg[c] * ph[k] + pb[c];
            }
        }
    });

    return autograd::record<T>(
        "batch_norm2d", std::move(y), {x, gamma, beta},
        [x_hat = std::move(x_hat), inv_std = std::move(inv_std), training, N, C, plane,
         M](const autograd::BackwardContext<T>& ctx) {
            const T* g = ctx.grad_output().data();
            const T* gam = ctx.input(1).data();
            const T* h = x_hat.data();
            const bool want_x = ctx.needs_grad(0), want_gamma = ctx.needs_grad(1), want_beta = ctx.needs_grad(2);
            // Gradient buffers are created here, before the parallel region.
            T* gx = want_x ? ctx.grad(0).data() : nullptr;
            T* ggamma = want_gamma ? ctx.grad(1).data() : nullptr;
            T* gbeta = want_beta ? ctx.grad(2).data() : nullptr;
            parallel_for(0, C, [&](Index c) {
                const double sum_g = detail::channel_sum(N, C, plane, c, [g](Index i) { return g[i]; });
                const double sum_gh = detail::channel_sum(
                    N, C, plane, c, [g, h](Index i) { return static_cast<double>(g[i]) * static_cast<double>(h[i]); });
                if (ggamma) ggamma[c] += static_cast<T>(sum_gh);
                if (gbeta) gbeta[c] += static_cast<T>(sum_g);
                if (!gx) return;
                const double gm = static_cast<double>(gam[c]);
                const double is = inv_std[static_cast<std::size_t>(c)];
                if (training) {
                    // sum g_hat = gamma sum g and sum g_hat x_hat = gamma sum g x_hat.
                    const double Md = static_cast<double>(M);
                    const double a = is / Md;
                    for (Index n = 0; n < N; ++n) {
                        const Index base = (n * C + c) * plane;
                        for (Index k = base; k < base + plane; ++k)
                            gx[k] += static_cast<T>(
                                a * gm * (Md * static_cast<double>(g[k]) - sum_g - static_cast<double>(h[k]) * sum_gh));
                    }
                } else {
                    const T s = static_cast<T>(gm * is);
                    for (Index n = 0; n < N; ++n) {
                        const Index base = (n * C + c) * plane;
                        for (Index k = base; k < base + plane; ++k) gx[k] += g[k] * s;
                    }
                }
            });
        });
}

}  // namespace maunet
