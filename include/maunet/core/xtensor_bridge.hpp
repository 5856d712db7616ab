// maunet/core/xtensor_bridge.hpp: the only place maunet includes xtensor.
//
// Users hand in and get back xtensor arrays; maunet computes on Tensor<T>. as_xtensor()
// is a zero-copy view of a Tensor's buffer; to_tensor() copies an xtensor expression into a
// new Tensor (xtensor owns its own buffer, with its own allocator, so adopting it is not
// possible without a copy). xtensor 0.26 moved its headers to xtensor/<dir>/; this file is
// the one to change then.
#pragma once

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xtensor.hpp>

#include "maunet/core/tensor.hpp"

namespace maunet {

// A zero-copy xtensor view of `t` (it must outlive the view); writes go into `t`.
template <class T>
auto as_xtensor(Tensor<T>& t) {
    std::vector<std::size_t> shape(t.shape().begin(), t.shape().end());
    return xt::adapt(t.data(), static_cast<std::size_t>(t.numel()), xt::no_ownership(), shape);
}
template <class T>
auto as_xtensor(const Tensor<T>& t) {
    std::vector<std::size_t> shape(t.shape().begin(), t.shape().end());
    return xt::adapt(t.data(), static_cast<std::size_t>(t.numel()), xt::no_ownership(), shape);
}

// Copies any xtensor expression (evaluated in row-major order) into a new Tensor<T>.
template <class T, class E>
Tensor<T> to_tensor(const xt::xexpression<E>& expr) {
    const auto& e = expr.derived_cast();
    std::vector<Index> dims(e.shape().begin(), e.shape().end());
    Tensor<T> out{Shape(std::move(dims))};
    std::size_t i = 0;
    // xt::eval gives a row-major container whatever the expression's layout.
    auto evaluated = xt::eval(e);
    for (auto it = evaluated.template begin<xt::layout_type::row_major>();
         it != evaluated.template end<xt::layout_type::row_major>(); ++it)
        out[static_cast<Index>(i++)] = static_cast<T>(*it);
    return out;
}

// A copy of `t` as an owning xt::xarray<T>.
template <class T>
xt::xarray<T> to_xarray(const Tensor<T>& t) {
    return xt::xarray<T>(as_xtensor(t));
}

}  // namespace maunet
