// maunet/optim/clip.hpp: gradient-norm clipping, PyTorch's torch.nn.utils.clip_grad_norm_.
//
// Over every parameter that has a gradient:
//     norm  = sqrt(sum_p sum_j g_pj^2)                  (one L2 norm over all of them)
//     scale = max_norm / (norm + 1e-6)
//     g     = g * scale                                 when scale < 1
// Returns the norm before clipping (for logging). The sum is accumulated in double.
// A non-finite norm (a NaN or an infinity in some gradient) throws NumericalError naming the
// first parameter whose gradient is not finite, and no gradient is changed.
#pragma once

#include <cmath>
#include <vector>

#include "maunet/autograd/variable.hpp"
#include "maunet/core/errors.hpp"

namespace maunet::optim {

namespace detail {
template <class T>
struct non_deduced {
    using type = T;
};
}  // namespace detail

template <class T>
T clip_grad_norm(const std::vector<Var<T>>& params, typename detail::non_deduced<T>::type max_norm) {
    require(std::isfinite(max_norm) && max_norm > T(0), "clip_grad_norm: expected max_norm > 0, got ", max_norm);
    double sum_sq = 0.0;
    for (const auto& p : params) {
        require(p.defined(), "clip_grad_norm: a parameter is an undefined (null) variable");
        if (!p.has_grad()) continue;
        for (T g : p.grad()) sum_sq += static_cast<double>(g) * static_cast<double>(g);
    }
    const double norm = std::sqrt(sum_sq);
    if (!std::isfinite(norm)) {
        for (std::size_t i = 0; i < params.size(); ++i) {
            if (params[i].has_grad() && !params[i].grad().all_finite())
                throw NumericalError(maunet::detail::cat(
                    "clip_grad_norm: the total gradient norm is ", norm, " (not finite); the gradient of parameter ",
                    i, " (shape ", params[i].shape(), ") contains NaN or infinite values"));
        }
        throw NumericalError(maunet::detail::cat("clip_grad_norm: the total gradient norm is ", norm,
                                                 " (not finite): the sum of squared gradients overflowed"));
    }
    const double scale = static_cast<double>(max_norm) / (norm + 1e-6);
    if (scale < 1.0) {
        const T s = static_cast<T>(scale);
        for (auto p : params)
            if (p.has_grad()) p.mutable_grad().array() *= s;
    }
    return static_cast<T>(norm);
}

}  // namespace maunet::optim
