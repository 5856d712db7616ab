// maunet/autograd/ops/max_average_pool.hpp: the pooling of the Max-Average Unit (MAU), the
// downsampling step of MAUNet's encoder (see docs/models.md), with its ablations.
//
// Geometry as in pooling.hpp: k x k windows, stride s (0: s = k), no padding, floor output size.
// For the window W of output cell o = (n, c, i, j):
//   M = max_{q in W} x[q],   a = the first q in W (row-major) with x[q] = M   (kept from the forward)
//   A = (1/k^2) sum_{q in W} x[q]
// Both come out of one pass over W (detail::window_stats). Their derivatives by a cell q of W:
//   dM/dx[q] = [q == a]          (valid where the largest value of W is unique)
//   dA/dx[q] = 1/k^2
// With g = dL/dy[o], each mode is one node on the tape:
//
// mean (the MAU of the paper):  y = (M + A) / 2
//   dL/dx[a] += g / 2
//   dL/dx[q] += g / (2 k^2)                 for every q in W (a included)
// concat:  y[n, c] = M,  y[n, C + c] = A    ->  y is [N, 2C, H', W']
//   dL/dx[a] += g_M                          g_M = dL/dy[n, c, i, j]
//   dL/dx[q] += g_A / k^2                    g_A = dL/dy[n, C + c, i, j]
//   The 1x1 convolution that maps the 2C channels back to C is a parameter of the layer
//   (nn's MaxAverageUnit), not part of this op.
// learned: a weight w of shape [C], s_c = sigmoid(w_c) = 1 / (1 + exp(-w_c))
//   y = s_c M + (1 - s_c) A
//   dL/dx[a] += g s_c
//   dL/dx[q] += g (1 - s_c) / k^2
//   dL/dw_c  = sum_{n,i,j} g (M - A) s_c (1 - s_c)        (dy/ds = M - A, ds/dw = s (1 - s))
// max, avg: max_pool2d(x), avg_pool2d(x) of pooling.hpp (the plain U-Net, and its twin).
//
// Threads: parallel_for over the N*C planes. dL/dw_c sums over the batch: each plane writes its
// own partial sum, and the partials are added in batch order after the parallel loop, so the
// result does not depend on the thread count.
#pragma once

#include <cmath>
#include <vector>

#include "maunet/autograd/ops/pooling.hpp"
#include "maunet/autograd/variable.hpp"
#include "maunet/core/threading.hpp"

namespace maunet {

// How the Max-Average Unit combines its max and average branches (see the top of this file).
enum class PoolMode { mean, concat, learned, max, avg };

inline const char* to_string(PoolMode mode) {
    switch (mode) {
        case PoolMode::mean: return "mean";
        case PoolMode::concat: return "concat";
        case PoolMode::learned: return "learned";
        case PoolMode::max: return "max";
        case PoolMode::avg: return "avg";
    }
    return "?";
}

namespace detail {

// mean: y = (M + A) / 2. For 2 x 2 windows with stride 2 (MAUNet's MAU) the forward keeps no
// arg-max: the backward finds it again from x (window_share_2x2, pooling.hpp), with the same sums
// in the same order as window_stats, so the same bits.
template <class T>
Var<T> max_average_mean(const Var<T>& x, const PoolGeometry& g) {
    const Tensor<T>& xv = x.value();
    Tensor<T> y(g.output_shape());
    const bool tiled_2x2 = g.kernel == 2 && g.stride == 2;
    const bool keep_argmax = !tiled_2x2 && is_grad_enabled() && x.requires_grad();
    std::vector<Index> argmax(keep_argmax ? static_cast<std::size_t>(y.numel()) : 0);  // offsets into x
    parallel_for(0, g.planes(), [&](Index p) {
        const T* xp = xv.data() + p * g.in_plane();
        T* yp = y.data() + p * g.out_plane();
        if (tiled_2x2) {
            for (Index i = 0; i < g.out_height; ++i) {
                const T* r0 = xp + 2 * i * g.width;
                const T* r1 = r0 + g.width;
                T* yr = yp + i * g.out_width;
                for (Index j = 0; j < g.out_width; ++j) {
                    const T v0 = r0[2 * j], v1 = r0[2 * j + 1], v2 = r1[2 * j], v3 = r1[2 * j + 1];
                    const T max = window_max(window_max(v0, v1), window_max(v2, v3));
                    const T mean = (T(0) + v0 + v1 + v2 + v3) / T(4);  // window_stats' sum, in its order
                    yr[j] = (max + mean) / T(2);
                }
            }
            return;
        }
        for (Index i = 0; i < g.out_height; ++i)
            for (Index j = 0; j < g.out_width; ++j) {
                const auto w = window_stats(xp, g, i, j);  // M, a, A
                const Index o = i * g.out_width + j;
                yp[o] = (w.max + w.mean) / T(2);
                if (keep_argmax) argmax[static_cast<std::size_t>(p * g.out_plane() + o)] = p * g.in_plane() + w.argmax;
            }
    });
    return autograd::record<T>(
        "max_average_pool2d_mean", std::move(y), {x},
        [g, argmax = std::move(argmax)](const autograd::BackwardContext<T>& ctx) {
            if (!ctx.needs_grad(0)) return;
            const T* gy = ctx.grad_output().data();
            const T inv_area = T(1) / static_cast<T>(g.kernel * g.kernel);
            if (g.kernel == 2 && g.stride == 2) {
                // Every cell gets g / (2 k^2), the arg-max cell g / 2 before it: stored into a fresh
                // gradient buffer (cells no window covers zeroed), else added in that order.
                bool fresh = false;
                T* gx = ctx.grad_to_write(0, fresh).data();
                const T* xv = ctx.input(0).data();
                parallel_for(0, g.planes(), [&](Index p) {
                    const T* xp = xv + p * g.in_plane();
                    T* gp = gx + p * g.in_plane();
                    const T* gyp = gy + p * g.out_plane();
                    const Index W = g.width, out_w = g.out_width;
                    if (fresh) zero_uncovered_cells(gp, g);
                    for (Index i = 0; i < g.out_height; ++i) {
                        const T* r0 = xp + 2 * i * W;
                        const T* r1 = r0 + W;
                        T* g0 = gp + 2 * i * W;
                        T* g1 = g0 + W;
                        const T* gyr = gyp + i * out_w;
                        T d[4];
                        if (fresh)  // two loops, so each stays free of branches
                            for (Index j = 0; j < out_w; ++j) {
                                window_share_2x2(r0[2 * j], r0[2 * j + 1], r1[2 * j], r1[2 * j + 1], gyr[j] / T(2), d);
                                const T spread = gyr[j] * inv_area / T(2);
                                g0[2 * j] = d[0] + spread, g0[2 * j + 1] = d[1] + spread;
                                g1[2 * j] = d[2] + spread, g1[2 * j + 1] = d[3] + spread;
                            }
                        else
                            for (Index j = 0; j < out_w; ++j) {
                                window_share_2x2(r0[2 * j], r0[2 * j + 1], r1[2 * j], r1[2 * j + 1], gyr[j] / T(2), d);
                                const T spread = gyr[j] * inv_area / T(2);
                                g0[2 * j] = (g0[2 * j] + d[0]) + spread;
                                g0[2 * j + 1] = (g0[2 * j + 1] + d[1]) + spread;
                                g1[2 * j] = (g1[2 * j] + d[2]) + spread;
                                g1[2 * j + 1] = (g1[2 * j + 1] + d[3]) + spread;
                            }
                    }
                });
                return;
            }
            T* gx = ctx.grad(0).data();
            parallel_for(0, g.planes(), [&](Index p) {
                T* gxp = gx + p * g.in_plane();
                for (Index i = 0; i < g.out_height; ++i)
                    for (Index j = 0; j < g.out_width; ++j) {
                        const Index o = p * g.out_plane() + i * g.out_width + j;
                        gx[argmax[static_cast<std::size_t>(o)]] += gy[o] / T(2);  // dL/dx[a] += g / 2
                        spread_over_window(gxp, g, i, j, gy[o] * inv_area / T(2));  // dL/dx[q] += g / (2 k^2)
                    }
            });
        });
}

// concat: y[n, c] = M, y[n, C + c] = A.
template <class T>
Var<T> max_average_concat(const Var<T>& x, const PoolGeometry& g) {
    const Tensor<T>& xv = x.value();
    const Index C = g.channels;
    Tensor<T> y(Shape{g.batch, 2 * C, g.out_height, g.out_width});
    const bool keep_argmax = is_grad_enabled() && x.requires_grad();
    // One arg-max per window, indexed by the plane p = n*C + c of x, not by the output's layout.
    std::vector<Index> argmax(keep_argmax ? static_cast<std::size_t>(g.planes() * g.out_plane()) : 0);
    parallel_for(0, g.planes(), [&](Index p) {
        const Index n = p / C, c = p % C;
        const T* xp = xv.data() + p * g.in_plane();
        T* y_max = y.data() + (n * 2 * C + c) * g.out_plane();
        T* y_avg = y.data() + (n * 2 * C + C + c) * g.out_plane();
        for (Index i = 0; i < g.out_height; ++i)
            for (Index j = 0; j < g.out_width; ++j) {
                const auto w = window_stats(xp, g, i, j);  // M, a, A
                const Index o = i * g.out_width + j;
                y_max[o] = w.max;
                y_avg[o] = w.mean;
                if (keep_argmax) argmax[static_cast<std::size_t>(p * g.out_plane() + o)] = p * g.in_plane() + w.argmax;
            }
    });
    return autograd::record<T>(
        "max_average_pool2d_concat", std::move(y), {x},
        [g, argmax = std::move(argmax)](const autograd::BackwardContext<T>& ctx) {
            if (!ctx.needs_grad(0)) return;
            const Index C = g.channels;
            const T* gy = ctx.grad_output().data();
            T* gx = ctx.grad(0).data();
            const T inv_area = T(1) / static_cast<T>(g.kernel * g.kernel);
            parallel_for(0, g.planes(), [&](Index p) {
                const Index n = p / C, c = p % C;
                const T* g_max = gy + (n * 2 * C + c) * g.out_plane();
                const T* g_avg = gy + (n * 2 * C + C + c) * g.out_plane();
                T* gxp = gx + p * g.in_plane();
                for (Index i = 0; i < g.out_height; ++i)
                    for (Index j = 0; j < g.out_width; ++j) {
                        const Index o = i * g.out_width + j;
                        gx[argmax[static_cast<std::size_t>(p * g.out_plane() + o)]] += g_max[o];  // dL/dx[a] += g_M
                        spread_over_window(gxp, g, i, j, g_avg[o] * inv_area);  // dL/dx[q] += g_A / k^2
                    }
            });
        });
}

// learned: y = s_c M + (1 - s_c) A with s_c = sigmoid(w_c).
template <class T>
Var<T> max_average_learned(const Var<T>& x, const Var<T>& weight, const PoolGeometry& g) {
    const Tensor<T>& xv = x.value();
    const Index C = g.channels;
    std::vector<T> s(static_cast<std::size_t>(C));  // s_c = sigmoid(w_c)
    for (Index c = 0; c < C; ++c) s[static_cast<std::size_t>(c)] = T(1) / (T(1) + std::exp(-weight.value()[c]));
    Tensor<T> y(g.output_shape());
    const bool keep_argmax = is_grad_enabled() && x.requires_grad();
    const bool keep_gap = is_grad_enabled() && weight.requires_grad();
    std::vector<Index> argmax(keep_argmax ? static_cast<std::size_t>(y.numel()) : 0);  // offsets into x
    std::vector<T> gap(keep_gap ? static_cast<std::size_t>(y.numel()) : 0);         // M - A per window
    parallel_for(0, g.planes(), [&](Index p) {
        const T sc = s[static_cast<std::size_t>(p % C)];
        const T* xp = xv.data() + p * g.in_plane();
        T* yp = y.data() + p * g.out_plane();
        for (Index i = 0; i < g.out_height; ++i)
            for (Index j = 0; j < g.out_width; ++j) {
                const auto w = window_stats(xp, g, i, j);  // M, a, A
                const Index o = i * g.out_width + j;
                const auto k = static_cast<std::size_t>(p * g.out_plane() + o);
                yp[o] = sc * w.max + (T(1) - sc) * w.mean;
                if (keep_argmax) argmax[k] = p * g.in_plane() + w.argmax;
                if (keep_gap) gap[k] = w.max - w.mean;
            }
    });
    return autograd::record<T>(
        "max_average_pool2d_learned", std::move(y), {x, weight},
        [g, s = std::move(s), argmax = std::move(argmax), gap = std::move(gap)](const autograd::BackwardContext<T>& ctx) {
            const Index C = g.channels;
            const T* gy = ctx.grad_output().data();
            if (ctx.needs_grad(0)) {
                T* gx = ctx.grad(0).data();
                const T inv_area = T(1) / static_cast<T>(g.kernel * g.kernel);
                parallel_for(0, g.planes(), [&](Index p) {
                    const T sc = s[static_cast<std::size_t>(p % C)];
                    T* gxp = gx + p * g.in_plane();
                    for (Index i = 0; i < g.out_height; ++i)
                        for (Index j = 0; j < g.out_width; ++j) {
                            const Index o = p * g.out_plane() + i * g.out_width + j;
                            gx[argmax[static_cast<std::size_t>(o)]] += gy[o] * sc;          // dL/dx[a] += g s_c
                            spread_over_window(gxp, g, i, j, gy[o] * (T(1) - sc) * inv_area);  // += g (1-s_c)/k^2
                        }
                });
            }
            if (ctx.needs_grad(1)) {
                // partial[p] = sum_{i,j} g (M - A) over plane p = n*C + c; then summed over n in order.
                std::vector<T> partial(static_cast<std::size_t>(g.planes()), T(0));
                parallel_for(0, g.planes(), [&](Index p) {
                    T acc = 0;
                    for (Index o = p * g.out_plane(); o < (p + 1) * g.out_plane(); ++o)
                        acc += gy[o] * gap[static_cast<std::size_t>(o)];
                    partial[static_cast<std::size_t>(p)] = acc;
                });
                T* gw = ctx.grad(1).data();
                for (Index c = 0; c < C; ++c) {
                    const T sc = s[static_cast<std::size_t>(c)];
                    T sum = 0;
                    for (Index n = 0; n < g.batch; ++n) sum += partial[static_cast<std::size_t>(n * C + c)];
                    gw[c] += sum * sc * (T(1) - sc);  // dL/dw_c = sum g (M - A) s_c (1 - s_c)
                }
            }
        });
}

}  // namespace detail

// The Max-Average Unit's pooling of x [N, C, H, W] with k x k windows and stride s (0: s = k):
// [N, C, H', W'] for every mode but concat, which gives [N, 2C, H', W']. `weight` ([C]) is
// given in mode learned only.
template <class T>
Var<T> max_average_pool2d(const Var<T>& x, PoolMode mode, const Var<T>& weight = Var<T>(), Index kernel = 2,
                          Index stride = 0) {
    const detail::PoolGeometry g = detail::pool_geometry("max_average_pool2d", x.shape(), kernel, stride);
    if (mode == PoolMode::learned) {
        require(weight.defined(), "max_average_pool2d: mode learned needs a per-channel weight of shape [",
                g.channels, "] (input ", x.shape(), "), got none");
        require_shape(weight.shape() == Shape{g.channels}, "max_average_pool2d: mode learned expects a weight of shape [",
                      g.channels, "] (one value per channel of input ", x.shape(), "), got ", weight.shape());
    } else {
        require(!weight.defined(), "max_average_pool2d: a weight was given, but mode ", to_string(mode),
                " takes none (only mode learned has a weight)");
    }
    switch (mode) {
        case PoolMode::mean: return detail::max_average_mean(x, g);
        case PoolMode::concat: return detail::max_average_concat(x, g);
        case PoolMode::learned: return detail::max_average_learned(x, weight, g);
        case PoolMode::max: return max_pool2d(x, kernel, stride);
        case PoolMode::avg: return avg_pool2d(x, kernel, stride);
    }
    throw ArgumentError("max_average_pool2d: unknown PoolMode value");
}

}  // namespace maunet
