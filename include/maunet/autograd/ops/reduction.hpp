// maunet/autograd/ops/reduction.hpp: sum and mean, over the whole tensor or along one axis.
//
//   s = sum_i x_i            (a rank-0 scalar, Shape{}):  dL/dx_i = g
//   m = (1/n) sum_i x_i      (n = numel(x) > 0):          dL/dx_i = g / n
//   s[o, i] = sum_a x[o, a, i]  (along `axis`; o runs over the axes before it, i over those
//                                after it):               dL/dx[o, a, i] = g[o, i]
//   m[o, i] = (1/A) sum_a x[o, a, i]  (A = extent of `axis` > 0): dL/dx[o, a, i] = g[o, i] / A
// where g = dL/d(result). `axis` counts from the back when negative (-1 is the last axis);
// keepdim = true keeps the reduced axis with extent 1 (so the result broadcasts against x).
//
// Summation is pairwise (blocks of 32 added in order, then halves added recursively) with a
// double accumulator, for both float and double: the error grows like log(n) rather than n,
// and the order is fixed by n alone, so results are bit-identical from run to run.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "maunet/autograd/variable.hpp"
#include "maunet/core/errors.hpp"
#include "maunet/core/tensor.hpp"

namespace maunet {

namespace detail {

// Pairwise sum of term(0) + ... + term(n - 1) in double. `term` maps an index to a value;
// the order of additions depends on n only.
template <class Term>
double pairwise_sum_of(Index begin, Index end, const Term& term) {
    constexpr Index block = 32;
    const Index n = end - begin;
    if (n <= block) {
        double s = 0.0;
        for (Index i = begin; i < end; ++i) s += static_cast<double>(term(i));
        return s;
    }
    const Index mid = begin + n / 2;
    return pairwise_sum_of(begin, mid, term) + pairwise_sum_of(mid, end, term);
}

// Pairwise sum of p[0], p[stride], ..., p[(n - 1) * stride] in double.
template <class T>
double pairwise_sum(const T* p, Index n, Index stride = 1) {
    return pairwise_sum_of(0, n, [p, stride](Index i) { return p[i * stride]; });
}

// The axis as a non-negative index; throws ArgumentError naming `op` when out of range.
inline std::size_t normalize_axis(const char* op, int axis, const Shape& shape) {
    const int rank = static_cast<int>(shape.rank());
    const int a = axis < 0 ? axis + rank : axis;
    require(a >= 0 && a < rank, op, ": axis ", axis, " is out of range for a tensor of rank ", rank, " (shape ",
            shape, "); expected an axis in [", -rank, ", ", rank - 1, "]");
    return static_cast<std::size_t>(a);
}

// The layout of a reduction along one axis: x viewed as [outer, extent, inner].
struct AxisLayout {
    Index outer = 1;
    Index extent = 1;
    Index inner = 1;
    Shape result;  // the shape of the reduced tensor
};

inline AxisLayout axis_layout(const Shape& shape, std::size_t axis, bool keepdim) {
    AxisLayout l;
    std::vector<Index> out;
    for (std::size_t i = 0; i < shape.rank(); ++i) {
        if (i < axis) l.outer *= shape[i];
        if (i > axis) l.inner *= shape[i];
        if (i != axis) out.push_back(shape[i]);
        else if (keepdim) out.push_back(1);
    }
    l.extent = shape[axis];
    l.result = Shape(std::move(out));
    return l;
}

// Sum (scale = 1) or mean (scale = 1 / n) of every element, as a rank-0 variable.
template <class T>
Var<T> reduce_all(const char* op, const Var<T>& x, double scale) {
    const Tensor<T>& v = x.value();
    Tensor<T> out(Shape{});
    out[0] = static_cast<T>(scale * pairwise_sum(v.data(), v.numel()));
    return autograd::record<T>(op, std::move(out), {x}, [scale](const autograd::BackwardContext<T>& ctx) {
        const T g = static_cast<T>(scale * static_cast<double>(ctx.grad_output()[0]));
        ctx.grad(0).array() += g;
    });
}

// Sum (scale = 1) or mean (scale = 1 / extent) along one axis.
template <class T>
Var<T> reduce_axis(const char* op, const Var<T>& x, const AxisLayout& l, double scale) {
    const Tensor<T>& v = x.value();
    Tensor<T> out(l.result);
    const T* src = v.data();
    T* dst = out.data();
    for (Index o = 0; o < l.outer; ++o)
        for (Index i = 0; i < l.inner; ++i)
            dst[o * l.inner + i] =
                static_cast<T>(scale * pairwise_sum(src + o * l.extent * l.inner + i, l.extent, l.inner));
    return autograd::record<T>(op, std::move(out), {x}, [l, scale](const autograd::BackwardContext<T>& ctx) {
        const T* g = ctx.grad_output().data();
        T* gx = ctx.grad(0).data();
        const T s = static_cast<T>(scale);
        for (Index o = 0; o < l.outer; ++o)
            for (Index a = 0; a < l.extent; ++a) {
                T* row = gx + (o * l.extent + a) * l.inner;
                const T* grow = g + o * l.inner;
                for (Index i = 0; i < l.inner; ++i) row[i] += s * grow[i];
            }
    });
}

}  // namespace detail

// The sum of every element, a rank-0 variable (0 for an empty tensor).
template <class T>
Var<T> sum(const Var<T>& x) {
    return detail::reduce_all("sum", x, 1.0);
}

// The mean of every element, a rank-0 variable. Throws ArgumentError for an empty tensor.
template <class T>
Var<T> mean(const Var<T>& x) {
    const Index n = x.value().numel();
    require(n > 0, "mean: cannot average an empty tensor (shape ", x.shape(), ")");
    return detail::reduce_all("mean", x, 1.0 / static_cast<double>(n));
}

// The sum along `axis` (negative counts from the back); keepdim keeps it with extent 1.
template <class T>
Var<T> sum(const Var<T>& x, int axis, bool keepdim = false) {
    const std::size_t a = detail::normalize_axis("sum", axis, x.shape());
    return detail::reduce_axis("sum_axis", x, detail::axis_layout(x.shape(), a, keepdim), 1.0);
}

// The mean along `axis` (negative counts from the back); keepdim keeps it with extent 1.
// Throws ArgumentError when the axis has extent 0 (an empty average).
template <class T>
Var<T> mean(const Var<T>& x, int axis, bool keepdim = false) {
    const std::size_t a = detail::normalize_axis("mean", axis, x.shape());
    const detail::AxisLayout l = detail::axis_layout(x.shape(), a, keepdim);
    require(l.extent > 0, "mean: cannot average over axis ", axis, " of extent 0 (shape ", x.shape(), ")");
    return detail::reduce_axis("mean_axis", x, l, 1.0 / static_cast<double>(l.extent));
}

}  // namespace maunet
