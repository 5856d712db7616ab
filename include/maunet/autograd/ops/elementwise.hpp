// maunet/autograd/ops/elementwise.hpp: add, sub, mul, div (with broadcasting and with
// scalars), neg, and their operators.
//
//   z = x + y:  dL/dx = g,        dL/dy = g
//   z = x - y:  dL/dx = g,        dL/dy = -g
//   z = x * y:  dL/dx = g * y,    dL/dy = g * x
//   z = x / y:  dL/dx = g / y,    dL/dy = -g * x / y^2
// where g = dL/dz; a broadcast input sums these over the axes it was repeated along.
#pragma once

#include "maunet/autograd/ops/broadcast.hpp"
#include "maunet/autograd/variable.hpp"

namespace maunet {

namespace detail {

// A non-deduced scalar parameter, so that `x * 2.0` works for Var<float> too.
template <class T>
struct type_identity {
    using type = T;
};
template <class T>
using scalar_t = typename type_identity<T>::type;

enum class BinaryOp { add, sub, mul, div };

template <class T>
T apply(BinaryOp op, T a, T b) {
    switch (op) {
        case BinaryOp::add: return a + b;
        case BinaryOp::sub: return a - b;
        case BinaryOp::mul: return a * b;
        case BinaryOp::div: return a / b;
    }
    return T(0);
}

inline const char* name_of(BinaryOp op) {
    switch (op) {
        case BinaryOp::add: return "add";
        case BinaryOp::sub: return "sub";
        case BinaryOp::mul: return "mul";
        case BinaryOp::div: return "div";
    }
    return "?";
}

template <class T>
Var<T> binary(BinaryOp op, const Var<T>& x, const Var<T>& y) {
    const Tensor<T>& a = x.value();
    const Tensor<T>& b = y.value();
    const char* name = name_of(op);
    const Shape out_shape = broadcast_shape(name, a.shape(), b.shape());
    Tensor<T> z(out_shape);
    const bool same = a.shape() == out_shape && b.shape() == out_shape;
    std::vector<Index> ia, ib;  // offset maps, empty when no broadcasting is needed
    if (!same) {
        ia = broadcast_offsets(a.shape(), out_shape);
        ib = broadcast_offsets(b.shape(), out_shape);
    }
    const Index n = z.numel();
    if (same) {  // same shapes: vectorised whole-array expressions, same values as the loop below
        switch (op) {
            case BinaryOp::add: z.array() = a.array() + b.array(); break;
            case BinaryOp::sub: z.array() = a.array() - b.array(); break;
            case BinaryOp::mul: z.array() = a.array() * b.array(); break;
            case BinaryOp::div: z.array() = a.array() / b.array(); break;
        }
    } else {
        for (Index k = 0; k < n; ++k)
            z[k] = apply(op, a[ia[static_cast<std::size_t>(k)]], b[ib[static_cast<std::size_t>(k)]]);
    }
    return autograd::record<T>(
        name, std::move(z), {x, y},
        [op, ia = std::move(ia), ib = std::move(ib)](const autograd::BackwardContext<T>& ctx) {
            const Tensor<T>& g = ctx.grad_output();
            const Tensor<T>& a = ctx.input(0);
            const Tensor<T>& b = ctx.input(1);
            const bool same = ia.empty();
            if (same && (op == BinaryOp::add || op == BinaryOp::sub)) {  // the common case, vectorised
                if (ctx.needs_grad(0)) ctx.grad(0).array() += g.array();
                if (ctx.needs_grad(1)) {
                    if (op == BinaryOp::add) ctx.grad(1).array() += g.array();
                    else ctx.grad(1).array() -= g.array();
                }
                return;
            }
            auto at_a = [&](Index k) { return same ? k : ia[static_cast<std::size_t>(k)]; };
            auto at_b = [&](Index k) { return same ? k : ib[static_cast<std::size_t>(k)]; };
            const Index n = g.numel();
            if (ctx.needs_grad(0)) {
                Tensor<T>& ga = ctx.grad(0);
                for (Index k = 0; k < n; ++k) {
                    const Index i = at_a(k);
                    switch (op) {
                        case BinaryOp::add:
                        case BinaryOp::sub: ga[i] += g[k]; break;
                        case BinaryOp::mul: ga[i] += g[k] * b[at_b(k)]; break;
                        case BinaryOp::div: ga[i] += g[k] / b[at_b(k)]; break;
                    }
                }
            }
            if (ctx.needs_grad(1)) {
                Tensor<T>& gb = ctx.grad(1);
                for (Index k = 0; k < n; ++k) {
                    const Index j = at_b(k);
                    switch (op) {
                        case BinaryOp::add: gb[j] += g[k]; break;
                        case BinaryOp::sub: gb[j] -= g[k]; break;
                        case BinaryOp::mul: gb[j] += g[k] * a[at_a(k)]; break;
                        case BinaryOp::div: {
                            const T bv = b[j];
                            gb[j] -= g[k] * a[at_a(k)] / (bv * bv);
                            break;
                        }
                    }
                }
            }
        });
}

// z = alpha * x + beta, the affine map used by every scalar op; dL/dx = alpha * g.
template <class T>
Var<T> affine(const char* name, const Var<T>& x, T alpha, T beta) {
    Tensor<T> z(x.shape());
    z.array() = alpha * x.value().array() + beta;
    return autograd::record<T>(name, std::move(z), {x}, [alpha](const autograd::BackwardContext<T>& ctx) {
        ctx.grad(0).array() += alpha * ctx.grad_output().array();
    });
}

}  // namespace detail

template <class T>
Var<T> add(const Var<T>& x, const Var<T>& y) { return detail::binary(detail::BinaryOp::add, x, y); }
template <class T>
Var<T> sub(const Var<T>& x, const Var<T>& y) { return detail::binary(detail::BinaryOp::sub, x, y); }
template <class T>
Var<T> mul(const Var<T>& x, const Var<T>& y) { return detail::binary(detail::BinaryOp::mul, x, y); }
template <class T>
Var<T> div(const Var<T>& x, const Var<T>& y) { return detail::binary(detail::BinaryOp::div, x, y); }

template <class T>
Var<T> add(const Var<T>& x, detail::scalar_t<T> s) { return detail::affine("add_scalar", x, T(1), s); }
template <class T>
Var<T> sub(const Var<T>& x, detail::scalar_t<T> s) { return detail::affine("sub_scalar", x, T(1), -s); }
template <class T>
Var<T> mul(const Var<T>& x, detail::scalar_t<T> s) { return detail::affine("mul_scalar", x, s, T(0)); }
template <class T>
Var<T> div(const Var<T>& x, detail::scalar_t<T> s) {
    require(s != T(0), "div: division of a variable by the scalar 0");
    return detail::affine("div_scalar", x, T(1) / s, T(0));
}
template <class T>
Var<T> neg(const Var<T>& x) { return detail::affine("neg", x, T(-1), T(0)); }

// s / x, elementwise: dL/dx = -g * s / x^2.
template <class T>
Var<T> rdiv(detail::scalar_t<T> s, const Var<T>& x) {
    Tensor<T> z(x.shape());
    z.array() = s / x.value().array();
    return autograd::record<T>("rdiv_scalar", std::move(z), {x}, [s](const autograd::BackwardContext<T>& ctx) {
        const auto xv = ctx.input(0).array();
        ctx.grad(0).array() -= ctx.grad_output().array() * s / (xv * xv);
    });
}

template <class T> Var<T> operator+(const Var<T>& x, const Var<T>& y) { return add(x, y); }
template <class T> Var<T> operator-(const Var<T>& x, const Var<T>& y) { return sub(x, y); }
template <class T> Var<T> operator*(const Var<T>& x, const Var<T>& y) { return mul(x, y); }
template <class T> Var<T> operator/(const Var<T>& x, const Var<T>& y) { return div(x, y); }
template <class T> Var<T> operator-(const Var<T>& x) { return neg(x); }
template <class T> Var<T> operator+(const Var<T>& x, detail::scalar_t<T> s) { return add(x, s); }
template <class T> Var<T> operator+(detail::scalar_t<T> s, const Var<T>& x) { return add(x, s); }
template <class T> Var<T> operator-(const Var<T>& x, detail::scalar_t<T> s) { return sub(x, s); }
template <class T> Var<T> operator-(detail::scalar_t<T> s, const Var<T>& x) { return detail::affine("rsub_scalar", x, T(-1), s); }
template <class T> Var<T> operator*(const Var<T>& x, detail::scalar_t<T> s) { return mul(x, s); }
template <class T> Var<T> operator*(detail::scalar_t<T> s, const Var<T>& x) { return mul(x, s); }
template <class T> Var<T> operator/(const Var<T>& x, detail::scalar_t<T> s) { return div(x, s); }
template <class T> Var<T> operator/(detail::scalar_t<T> s, const Var<T>& x) { return rdiv(s, x); }

}  // namespace maunet
