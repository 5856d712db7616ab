// maunet/autograd/ops/upsample.hpp: nearest and bilinear upsampling of NCHW images by an
// integer factor f >= 1: x [N, C, H, W] -> y [N, C, f*H, f*W].
//
// nearest:  y[i, j] = x[i / f, j / f]                                (integer division)
//   dL/dx[r, c] = sum of g over the f x f block of y that copies x[r, c]
//
// bilinear, as PyTorch's interpolate(mode="bilinear", align_corners=False). Along each axis,
// output index d reads the source coordinate
//   src = (d + 0.5) / f - 0.5,   clamped to src >= 0
//   i0 = floor(src),  i1 = min(i0 + 1, H - 1),  lambda = src - i0
// so that y is a weighted sum of four cells, with separable weights:
//   y[i, j] = (1-ly)(1-lx) x[i0, j0] + (1-ly) lx x[i0, j1] + ly (1-lx) x[i1, j0] + ly lx x[i1, j1]
// (at the bottom/right border i1 = i0 and the two weights land on the same cell: the edge
// value is held.) y is linear in x, so the backward is the transpose: each g[i, j] is
// scattered onto the same four cells with the same weights,
//   dL/dx[i0, j0] += (1-ly)(1-lx) g,  dL/dx[i0, j1] += (1-ly) lx g,  ... (+=: cells repeat).
// The coordinates are computed in double and the weights rounded to T once. The forward
// evaluates each weighted pair as a + lambda (b - a), the same value up to rounding, so that a
// constant field comes out exactly constant.
//
// Threads: parallel_for over the N*C planes, each plane owned by one thread.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "maunet/autograd/variable.hpp"
#include "maunet/core/threading.hpp"

namespace maunet {

namespace detail {

// Checks an upsampling op's arguments.
inline void check_upsample(const char* op, const Shape& x, Index factor) {
    require_shape(x.rank() == 4, op, ": expected an NCHW input of rank 4, got shape ", x);
    require(factor >= 1, op, ": factor must be an integer >= 1, got ", factor);
}

// For one axis of extent `in` upsampled by `factor`: for each output index d, the two source
// indices i0, i1 and the weight lambda of i1 (PyTorch bilinear, align_corners = false).
template <class T>
struct LinearTaps {
    ArenaVector<Index> i0, i1;  // drawn from a workspace's arena when one is set
    ArenaVector<T> lambda;
};

template <class T>
LinearTaps<T> linear_taps(Index in, Index factor) {
    const Index out = in * factor;
    LinearTaps<T> taps;
    taps.i0.resize(static_cast<std::size_t>(out));
    taps.i1.resize(static_cast<std::size_t>(out));
    taps.lambda.resize(static_cast<std::size_t>(out));
    for (Index d = 0; d < out; ++d) {
        double src = (static_cast<double>(d) + 0.5) / static_cast<double>(factor) - 0.5;
        if (src < 0) src = 0;
        const auto i0 = static_cast<Index>(std::floor(src));
        const auto k = static_cast<std::size_t>(d);
        taps.i0[k] = i0;
        taps.i1[k] = std::min(i0 + 1, in - 1);
        taps.lambda[k] = static_cast<T>(src - static_cast<double>(i0));
    }
    return taps;
}

}  // namespace detail

// Nearest-neighbour upsampling by an integer factor: every cell becomes a factor x factor block.
template <class T>
Var<T> upsample_nearest2d(const Var<T>& x, Index factor) {
    detail::check_upsample("upsample_nearest2d", x.shape(), factor);
    const Shape& s = x.shape();
    const Index planes = s[0] * s[1], H = s[2], W = s[3], Ho = H * factor, Wo = W * factor;
    const Tensor<T>& xv = x.value();
    Tensor<T> y(Shape{s[0], s[1], Ho, Wo});
    parallel_for(0, planes, [&](Index p) {
        const T* xp = xv.data() + p * H * W;
        T* yp = y.data() + p * Ho * Wo;
        for (Index i = 0; i < Ho; ++i)
            for (Index j = 0; j < Wo; ++j) yp[i * Wo + j] = xp[(i / factor) * W + j / factor];
    });
    return autograd::record<T>("upsample_nearest2d", std::move(y), {x},
                               [planes, H, W, factor](const autograd::BackwardContext<T>& ctx) {
                                   if (!ctx.needs_grad(0)) return;
                                   const Index Ho = H * factor, Wo = W * factor;
                                   const T* gy = ctx.grad_output().data();
                                   T* gx = ctx.grad(0).data();
                                   // dL/dx[r, c] += g[i, j] for the block with i / f = r, j / f = c.
                                   parallel_for(0, planes, [&](Index p) {
                                       const T* gyp = gy + p * Ho * Wo;
                                       T* gxp = gx + p * H * W;
                                       for (Index i = 0; i < Ho; ++i)
                                           for (Index j = 0; j < Wo; ++j)
                                               gxp[(i / factor) * W + j / factor] += gyp[i * Wo + j];
                                   });
                               });
}

// Bilinear upsampling by an integer factor, PyTorch's align_corners = false convention.
template <class T>
Var<T> upsample_bilinear2d(const Var<T>& x, Index factor) {
    detail::check_upsample("upsample_bilinear2d", x.shape(), factor);
    const Shape& s = x.shape();
    const Index planes = s[0] * s[1], H = s[2], W = s[3], Ho = H * factor, Wo = W * factor;
    auto rows = detail::linear_taps<T>(H, factor);
    auto cols = detail::linear_taps<T>(W, factor);
    const Tensor<T>& xv = x.value();
    Tensor<T> y(Shape{s[0], s[1], Ho, Wo});
    parallel_for(0, planes, [&](Index p) {
        const T* xp = xv.data() + p * H * W;
        T* yp = y.data() + p * Ho * Wo;
        for (Index i = 0; i < Ho; ++i) {
            const auto ki = static_cast<std::size_t>(i);
            const T ly = rows.lambda[ki];
            const T* r0 = xp + rows.i0[ki] * W;
            const T* r1 = xp + rows.i1[ki] * W;
            for (Index j = 0; j < Wo; ++j) {
                const auto kj = static_cast<std::size_t>(j);
                const T lx = cols.lambda[kj];
                const Index j0 = cols.i0[kj], j1 = cols.i1[kj];
                const T top = r0[j0] + lx * (r0[j1] - r0[j0]);     // (1-lx) x[i0,j0] + lx x[i0,j1]
                const T bottom = r1[j0] + lx * (r1[j1] - r1[j0]);  // (1-lx) x[i1,j0] + lx x[i1,j1]
                yp[i * Wo + j] = top + ly * (bottom - top);         // (1-ly) top + ly bottom
            }
        }
    });
    return autograd::record<T>(
        "upsample_bilinear2d", std::move(y), {x},
        [planes, H, W, Ho, Wo, rows = std::move(rows), cols = std::move(cols)](const autograd::BackwardContext<T>& ctx) {
            if (!ctx.needs_grad(0)) return;
            const T* gy = ctx.grad_output().data();
            T* gx = ctx.grad(0).data();
            // The transpose of the forward: g[i, j] goes to the four cells with the four weights.
            parallel_for(0, planes, [&](Index p) {
                const T* gyp = gy + p * Ho * Wo;
                T* gxp = gx + p * H * W;
                for (Index i = 0; i < Ho; ++i) {
                    const auto ki = static_cast<std::size_t>(i);
                    const T ly = rows.lambda[ki];
                    T* r0 = gxp + rows.i0[ki] * W;
                    T* r1 = gxp + rows.i1[ki] * W;
                    for (Index j = 0; j < Wo; ++j) {
                        const auto kj = static_cast<std::size_t>(j);
                        const T lx = cols.lambda[kj];
                        const Index j0 = cols.i0[kj], j1 = cols.i1[kj];
                        const T gv = gyp[i * Wo + j];
                        r0[j0] += (T(1) - ly) * (T(1) - lx) * gv;
                        r0[j1] += (T(1) - ly) * lx * gv;
                        r1[j0] += ly * (T(1) - lx) * gv;
                        r1[j1] += ly * lx * gv;
                    }
                }
            });
        });
}

}  // namespace maunet
