// maunet/autograd/ops/pooling.hpp: 2-d max and average pooling of NCHW images.
//
// Windows of k x k cells moved by a stride s (s = 0 means s = k), no padding, and the output
// size of PyTorch with ceil_mode = false:
//   H' = (H - k) / s + 1,   W' = (W - k) / s + 1          (integer division: floor)
// The window of output cell (i, j) of plane (n, c) covers rows i*s .. i*s+k-1 and columns
// j*s .. j*s+k-1 of that plane; cells beyond the last full window are not read.
//
// Forward and backward, with g = dL/dy[n,c,i,j] and W the window of (i, j):
//   max:  y[i,j] = x[a],  a = the first cell of W in row-major order holding max_{q in W} x[q]
//                              (first max wins on ties, as PyTorch; a NaN in W wins and propagates)
//         dL/dx[a] += g                    (a is kept from the forward pass; for 2 x 2 windows with
//                                          stride 2 found again from x by the same rule)
//   avg:  y[i,j] = (1/k^2) sum_{q in W} x[q]
//         dL/dx[q] += g / k^2  for every q in W
// When s < k the windows overlap and a cell collects gradient from several outputs: +=.
//
// Threads: parallel_for over the N*C planes; a plane is read and written by one thread only,
// so results do not depend on the thread count.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "maunet/autograd/variable.hpp"
#include "maunet/core/threading.hpp"

namespace maunet {

namespace detail {

// The sweep of k x k windows over the planes of an NCHW input.
struct PoolGeometry {
    Index batch = 0, channels = 0, height = 0, width = 0;  // input [N, C, H, W]
    Index kernel = 1, stride = 1;
    Index out_height = 0, out_width = 0;  // H', W'

    Index planes() const { return batch * channels; }
    Index in_plane() const { return height * width; }
    Index out_plane() const { return out_height * out_width; }
    Shape output_shape() const { return Shape{batch, channels, out_height, out_width}; }
};

// Checks a pooling op's arguments (op names it in messages) and returns its geometry.
inline PoolGeometry pool_geometry(const char* op, const Shape& x, Index kernel, Index stride) {
    require_shape(x.rank() == 4, op, ": expected an NCHW input of rank 4, got shape ", x);
    require(kernel >= 1, op, ": kernel must be >= 1, got ", kernel);
    require(stride >= 0, op, ": stride must be >= 1 (or 0, meaning stride = kernel), got ", stride);
    require(kernel <= x[2] && kernel <= x[3], op, ": kernel ", kernel, " is larger than the input's ", x[2], "x",
            x[3], " spatial extent (input shape ", x, ")");
    PoolGeometry g;
    g.batch = x[0];
    g.channels = x[1];
    g.height = x[2];
    g.width = x[3];
    g.kernel = kernel;
    g.stride = stride == 0 ? kernel : stride;
    g.out_height = (g.height - kernel) / g.stride + 1;
    g.out_width = (g.width - kernel) / g.stride + 1;
    return g;
}

// What one pass over a window gives: its largest value, the offset of that value in the
// plane (the first one on ties) and its mean.
// True when v takes the place of the window's maximum so far: strictly greater (the first
// maximum wins ties), or the first NaN (a NaN replaces any number, then stays).
template <class T>
inline bool replaces_max(T v, T best) {
    return v > best || (std::isnan(v) && !std::isnan(best));
}

// The larger of a and b under that rule, a first: b only if it replaces a. Applied as a tree in
// window order it gives the same value as the scan (the first maximum, or NaN if there is one).
template <class T>
inline T window_max(T a, T b) {
    return replaces_max(b, a) ? b : a;
}

// dL/dx of one 2 x 2 window (v0 v1 the top row, v2 v3 the bottom) whose output got `share`:
// all of it to the cell max_pool2d's forward returned, by the same tree of window_max (so the
// cell a scan in window order finds: the first maximum, or the first NaN), +0 to the others.
// Branch-free on the bits (float or double), which GCC 12 vectorises: with `c ? a : b` on floats
// it kept branches, which data without order mispredicts about half the time.
// replaces_max(v, best) is written !(v <= best) & (best == best): v > best, or v NaN and best not.
template <class T>
inline void window_share_2x2(T v0, T v1, T v2, T v3, T share, T d[4]) {
    using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    static_assert(sizeof(T) == sizeof(U), "window_share_2x2: float or double");
    const auto bits = [](T x) {
        U u;
        std::memcpy(&u, &x, sizeof u);
        return u;
    };
    const auto value = [](U u) {
        T x;
        std::memcpy(&x, &u, sizeof x);
        return x;
    };
    const auto mask = [](bool c) { return U(0) - U(c); };  // all ones or all zeros
    const U right_top = mask(!(v1 <= v0) & (v0 == v0)), right_bottom = mask(!(v3 <= v2) & (v2 == v2));
    const T top = value((bits(v1) & right_top) | (bits(v0) & ~right_top));
    const T bottom = value((bits(v3) & right_bottom) | (bits(v2) & ~right_bottom));
    const U bottom_wins = mask(!(bottom <= top) & (top == top));
    const U to_top = bits(share) & ~bottom_wins, to_bottom = bits(share) & bottom_wins;
    d[0] = value(to_top & ~right_top);
    d[1] = value(to_top & right_top);
    d[2] = value(to_bottom & ~right_bottom);
    d[3] = value(to_bottom & right_bottom);
}

// Zeros the cells of a plane that no 2 x 2 stride-2 window covers: the last column of an odd
// width, the last row of an odd height (a backward that stores into a fresh gradient buffer).
template <class T>
void zero_uncovered_cells(T* plane, const PoolGeometry& g) {
    for (Index r = 0; r < 2 * g.out_height; ++r)
        for (Index c = 2 * g.out_width; c < g.width; ++c) plane[r * g.width + c] = T(0);
    for (Index r = 2 * g.out_height; r < g.height; ++r) std::fill_n(plane + r * g.width, g.width, T(0));
}

template <class T>
struct WindowStats {
    T max;
    Index argmax;
    T mean;
};

// Scans the window of output cell (i, j) of one plane (a pointer to its first cell).
template <class T>
WindowStats<T> window_stats(const T* plane, const PoolGeometry& g, Index i, Index j) {
    const Index r0 = i * g.stride, c0 = j * g.stride;
    Index best = r0 * g.width + c0;
    T best_value = plane[best];
    T sum = 0;
    for (Index r = r0; r < r0 + g.kernel; ++r) {
        const T* row = plane + r * g.width;
        for (Index c = c0; c < c0 + g.kernel; ++c) {
            const T v = row[c];
            sum += v;
            if (replaces_max(v, best_value)) {
                best_value = v;
                best = r * g.width + c;
            }
        }
    }
    return {best_value, best, sum / static_cast<T>(g.kernel * g.kernel)};
}

// dL/dx[q] += share for every cell q of the window of (i, j), in one plane of dL/dx.
template <class T>
void spread_over_window(T* grad_plane, const PoolGeometry& g, Index i, Index j, T share) {
    const Index r0 = i * g.stride, c0 = j * g.stride;
    for (Index r = r0; r < r0 + g.kernel; ++r) {
        T* row = grad_plane + r * g.width;
        for (Index c = c0; c < c0 + g.kernel; ++c) row[c] += share;
    }
}

}  // namespace detail

// Max pooling with a k x k window and stride s (0: s = k), no padding. x [N, C, H, W] ->
// [N, C, (H-k)/s+1, (W-k)/s+1].
template <class T>
Var<T> max_pool2d(const Var<T>& x, Index kernel, Index stride = 0) {
    const detail::PoolGeometry g = detail::pool_geometry("max_pool2d", x.shape(), kernel, stride);
    const Tensor<T>& xv = x.value();
    auto y = Tensor<T>::uninitialized(g.output_shape());  // every window writes its value
    // 2 x 2 windows with stride 2 (the U-Nets' pool) tile the plane: the forward writes values
    // only, and the backward finds each window's arg-max again from x (window_share_2x2; storing
    // it took 8 bytes per output, written and read again, and a branch per cell). Other windows
    // keep the arg-max of every window, as an offset into x, when a backward will run.
    const bool tiled_2x2 = g.kernel == 2 && g.stride == 2;
    const bool keep_argmax = !tiled_2x2 && is_grad_enabled() && x.requires_grad();
    std::vector<Index> argmax(keep_argmax ? static_cast<std::size_t>(y.numel()) : 0);
    parallel_for(0, g.planes(), [&](Index p) {
        const T* xp = xv.data() + p * g.in_plane();
        T* yp = y.data() + p * g.out_plane();
        if (tiled_2x2) {  // branch-free selects, which GCC vectorises
            for (Index i = 0; i < g.out_height; ++i) {
                const T* r0 = xp + 2 * i * g.width;
                const T* r1 = r0 + g.width;
                T* yr = yp + i * g.out_width;
                for (Index j = 0; j < g.out_width; ++j)
                    yr[j] = detail::window_max(detail::window_max(r0[2 * j], r0[2 * j + 1]),
                                               detail::window_max(r1[2 * j], r1[2 * j + 1]));
            }
            return;
        }
        for (Index i = 0; i < g.out_height; ++i)
            for (Index j = 0; j < g.out_width; ++j) {
                const auto w = detail::window_stats(xp, g, i, j);
                const Index o = i * g.out_width + j;
                yp[o] = w.max;
                if (keep_argmax) argmax[static_cast<std::size_t>(p * g.out_plane() + o)] = p * g.in_plane() + w.argmax;
            }
    });
    return autograd::record<T>(
        "max_pool2d", std::move(y), {x}, [g, argmax = std::move(argmax)](const autograd::BackwardContext<T>& ctx) {
            if (!ctx.needs_grad(0)) return;
            const T* gy = ctx.grad_output().data();
            // dL/dx[a] += g: each window hands its gradient to its arg-max cell.
            if (g.kernel == 2 && g.stride == 2) {
                // Every cell of a window gets its share (g or 0): into a fresh gradient buffer by
                // storing, without filling it with zeros first (cells no window covers, the last
                // row or column of an odd size, are zeroed).
                bool fresh = false;
                T* gx = ctx.grad_to_write(0, fresh).data();
                const T* xv = ctx.input(0).data();
                parallel_for(0, g.planes(), [&](Index p) {
                    const T* xp = xv + p * g.in_plane();
                    T* gp = gx + p * g.in_plane();
                    const T* gyp = gy + p * g.out_plane();
                    if (fresh) detail::zero_uncovered_cells(gp, g);
                    const Index W = g.width, out_w = g.out_width;
                    for (Index i = 0; i < g.out_height; ++i) {
                        const T* r0 = xp + 2 * i * W;
                        const T* r1 = r0 + W;
                        T* g0 = gp + 2 * i * W;
                        T* g1 = g0 + W;
                        const T* gyr = gyp + i * out_w;
                        T d[4];
                        if (fresh)  // two loops, so each stays free of branches
                            for (Index j = 0; j < out_w; ++j) {
                                detail::window_share_2x2(r0[2 * j], r0[2 * j + 1], r1[2 * j], r1[2 * j + 1], gyr[j], d);
                                g0[2 * j] = d[0], g0[2 * j + 1] = d[1], g1[2 * j] = d[2], g1[2 * j + 1] = d[3];
                            }
                        else
                            for (Index j = 0; j < out_w; ++j) {
                                detail::window_share_2x2(r0[2 * j], r0[2 * j + 1], r1[2 * j], r1[2 * j + 1], gyr[j], d);
                                g0[2 * j] += d[0], g0[2 * j + 1] += d[1], g1[2 * j] += d[2], g1[2 * j + 1] += d[3];
                            }
                    }
                });
                return;
            }
            T* gx = ctx.grad(0).data();
            parallel_for(0, g.planes(), [&](Index p) {
                for (Index o = p * g.out_plane(); o < (p + 1) * g.out_plane(); ++o)
                    gx[argmax[static_cast<std::size_t>(o)]] += gy[o];
            });
        });
}

// Average pooling with a k x k window and stride s (0: s = k), no padding. x [N, C, H, W] ->
// [N, C, (H-k)/s+1, (W-k)/s+1].
template <class T>
Var<T> avg_pool2d(const Var<T>& x, Index kernel, Index stride = 0) {
    const detail::PoolGeometry g = detail::pool_geometry("avg_pool2d", x.shape(), kernel, stride);
    const Tensor<T>& xv = x.value();
    Tensor<T> y(g.output_shape());
    parallel_for(0, g.planes(), [&](Index p) {
        const T* xp = xv.data() + p * g.in_plane();
        T* yp = y.data() + p * g.out_plane();
        for (Index i = 0; i < g.out_height; ++i)
            for (Index j = 0; j < g.out_width; ++j) yp[i * g.out_width + j] = detail::window_stats(xp, g, i, j).mean;
    });
    return autograd::record<T>("avg_pool2d", std::move(y), {x}, [g](const autograd::BackwardContext<T>& ctx) {
        if (!ctx.needs_grad(0)) return;
        const T* gy = ctx.grad_output().data();
        T* gx = ctx.grad(0).data();
        const T inv_area = T(1) / static_cast<T>(g.kernel * g.kernel);
        // dL/dx[q] += g / k^2 for every q of the window.
        parallel_for(0, g.planes(), [&](Index p) {
            const T* gyp = gy + p * g.out_plane();
            T* gxp = gx + p * g.in_plane();
            for (Index i = 0; i < g.out_height; ++i)
                for (Index j = 0; j < g.out_width; ++j)
                    detail::spread_over_window(gxp, g, i, j, gyp[i * g.out_width + j] * inv_area);
        });
    });
}

}  // namespace maunet
