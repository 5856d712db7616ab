// maunet/autograd/ops/activation.hpp: elementwise nonlinearities.
//
//   relu(x)       = max(x, 0)                 dy/dx = 1 if x > 0, else 0 (0 at the kink x = 0)
//   leaky_relu(x) = x if x > 0, else s * x    dy/dx = 1 if x > 0, else s  (s at x = 0)
//   sigmoid(x)    = 1 / (1 + e^-x)            dy/dx = y (1 - y)
//   tanh(x)                                   dy/dx = 1 - y^2
//   exp(x)        = e^x                       dy/dx = y
//   log(x)        = ln x                      dy/dx = 1 / x
//   log1p(x)      = ln(1 + x)                 dy/dx = 1 / (1 + x)
// and dL/dx = g * dy/dx with g = dL/dy. sigmoid, tanh and exp differentiate through their
// saved output y (ctx.output()), which costs no second evaluation.
//
// Domain: log and log1p follow IEEE arithmetic like NumPy and do not throw: log(0) = -inf,
// log of a negative number (log1p of a number below -1) is NaN, and the gradients there are
// inf or NaN as the formulas give. Check your data (Tensor::all_finite) when that matters.
#pragma once

#include <cmath>
#include <utility>

#include "maunet/autograd/ops/elementwise.hpp"
#include "maunet/autograd/variable.hpp"
#include "maunet/core/tensor.hpp"
#include "maunet/core/threading.hpp"

namespace maunet {

namespace detail {

// y = f(x) elementwise, recorded with dL/dx += g * df(x, y) where df gets the input and
// the output value of each element. Both loops run in contiguous pieces across threads (each
// element is computed alone, so the result does not depend on the split); f and df must not throw.
template <class T, class F, class DF>
Var<T> unary(const char* op, const Var<T>& x, F f, DF df) {
    const Tensor<T>& v = x.value();
    auto y = Tensor<T>::uninitialized(v.shape());
    const T* vx = v.data();
    T* vy = y.data();
    // Pointers and functions by value, as in the other elementwise loops: through references the
    // compiler must assume a store to vy may change them (at -O3 GCC 12 versions the loop either way:
    // relu on 4M floats took the same time).
    parallel_pieces(v.numel(), [vx, vy, f](Index lo, Index hi) {
        for (Index i = lo; i < hi; ++i) vy[i] = f(vx[i]);
    });
    return autograd::record<T>(op, std::move(y), {x}, [df](const autograd::BackwardContext<T>& ctx) {
        const T* g = ctx.grad_output().data();
        const T* xv = ctx.input(0).data();
        const T* yv = ctx.output().data();
        T* gx = ctx.grad(0).data();
        parallel_pieces(ctx.grad_output().numel(), [g, xv, yv, gx, df](Index lo, Index hi) {
            for (Index i = lo; i < hi; ++i) gx[i] += g[i] * df(xv[i], yv[i]);
        });
    });
}

// The logistic function without overflow: for x >= 0, 1 / (1 + e^-x) with e^-x <= 1; for
// x < 0, e^x / (1 + e^x) with e^x < 1. Both forms are exact and never divide inf by inf.
template <class T>
T stable_sigmoid(T x) {
    if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
    const T e = std::exp(x);
    return e / (T(1) + e);
}

}  // namespace detail

// max(x, 0); the subgradient at 0 is 0.
template <class T>
Var<T> relu(const Var<T>& x) {
    return detail::unary(
        "relu", x, [](T v) { return v > T(0) ? v : T(0); }, [](T v, T) { return v > T(0) ? T(1) : T(0); });
}

// x for x > 0, slope * x otherwise; the derivative at 0 is slope.
template <class T>
Var<T> leaky_relu(const Var<T>& x, detail::scalar_t<T> slope = T(0.01)) {
    require(std::isfinite(slope), "leaky_relu: the negative slope must be finite, got ", slope);
    return detail::unary(
        "leaky_relu", x, [slope](T v) { return v > T(0) ? v : slope * v; },
        [slope](T v, T) { return v > T(0) ? T(1) : slope; });
}

// 1 / (1 + e^-x), computed without overflow for large |x| (sigmoid(-1000) = 0, not NaN).
template <class T>
Var<T> sigmoid(const Var<T>& x) {
    return detail::unary(
        "sigmoid", x, [](T v) { return detail::stable_sigmoid(v); }, [](T, T y) { return y * (T(1) - y); });
}

// Hyperbolic tangent.
template <class T>
Var<T> tanh(const Var<T>& x) {
    return detail::unary(
        "tanh", x, [](T v) { return std::tanh(v); }, [](T, T y) { return T(1) - y * y; });
}

// e^x.
template <class T>
Var<T> exp(const Var<T>& x) {
    return detail::unary(
        "exp", x, [](T v) { return std::exp(v); }, [](T, T y) { return y; });
}

// Natural logarithm; IEEE semantics outside x > 0 (see the top of this file).
template <class T>
Var<T> log(const Var<T>& x) {
    return detail::unary(
        "log", x, [](T v) { return std::log(v); }, [](T v, T) { return T(1) / v; });
}

// ln(1 + x), accurate for small |x|; IEEE semantics outside x > -1.
template <class T>
Var<T> log1p(const Var<T>& x) {
    return detail::unary(
        "log1p", x, [](T v) { return std::log1p(v); }, [](T v, T) { return T(1) / (T(1) + v); });
}

}  // namespace maunet
