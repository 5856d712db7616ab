// maunet/autograd/ops/dropout.hpp: inverted dropout.
//
// In training, each element is kept with probability 1 - p and zeroed with probability p,
// and kept elements are scaled by 1 / (1 - p), so that E[y] = x and evaluation needs no
// rescaling:
//   y_i = k_i * x_i / (1 - p),   k_i ~ Bernoulli(1 - p)       dL/dx_i = g_i * k_i / (1 - p)
// The mask is drawn from `rng` in row-major order, one uniform number u_i in [0, 1) per
// element, k_i = (u_i >= p): the same seed gives the same mask. `rng` is advanced only when
// the mask is random (training and 0 < p < 1).
//
// `skip_before` and `skip_after` uniform numbers are drawn and discarded before and after the
// mask: a data-parallel rank holding some rows of a batch draws exactly the mask those rows
// get when the whole batch is on one process (nn/layers/dropout.hpp).
//
// In evaluation mode, or when p == 0, dropout is the identity and returns x itself (the same
// variable, so gradients flow through unchanged). When p == 1 every element is dropped:
// the result is zero and so is the gradient.
#pragma once

#include <utility>
#include <vector>

#include "maunet/autograd/ops/elementwise.hpp"
#include "maunet/autograd/variable.hpp"
#include "maunet/core/errors.hpp"
#include "maunet/core/random.hpp"
#include "maunet/core/tensor.hpp"

namespace maunet {

// Inverted dropout with drop rate p in [0, 1]; identity unless `training`.
template <class T>
Var<T> dropout(const Var<T>& x, detail::scalar_t<T> p, Rng& rng, bool training, Index skip_before = 0,
               Index skip_after = 0) {
    require(p >= T(0) && p <= T(1), "dropout: rate must be in [0, 1], got ", p);
    require(skip_before >= 0 && skip_after >= 0, "dropout: draws to skip must be >= 0, got ", skip_before, " and ",
            skip_after);
    if (!training || p == T(0)) return x;

    const Tensor<T>& v = x.value();
    const Index n = v.numel();
    Tensor<T> y(v.shape());  // zeros
    if (p == T(1)) {
        return autograd::record<T>("dropout", std::move(y), {x}, [](const autograd::BackwardContext<T>& ctx) {
            (void)ctx.grad(0);  // every element was dropped: a zero gradient
        });
    }

    // keep[i] = 1 for kept elements; a byte per element, drawn in row-major order.
    std::vector<unsigned char> keep(static_cast<std::size_t>(n));
    const double rate = static_cast<double>(p);
    for (Index i = 0; i < skip_before; ++i) (void)rng.uniform();
    for (Index i = 0; i < n; ++i) keep[static_cast<std::size_t>(i)] = rng.uniform() >= rate ? 1 : 0;
    for (Index i = 0; i < skip_after; ++i) (void)rng.uniform();

    const T scale = T(1) / (T(1) - p);
    // Select rather than multiply by the mask, so that a dropped NaN or inf gives 0.
    for (Index i = 0; i < n; ++i)
        if (keep[static_cast<std::size_t>(i)]) y[i] = v[i] * scale;
    return autograd::record<T>(
        "dropout", std::move(y), {x}, [keep = std::move(keep), scale](const autograd::BackwardContext<T>& ctx) {
            const Tensor<T>& g = ctx.grad_output();
            Tensor<T>& gx = ctx.grad(0);
            const Index n = g.numel();
            for (Index i = 0; i < n; ++i)
                if (keep[static_cast<std::size_t>(i)]) gx[i] += g[i] * scale;
        });
}

}  // namespace maunet
