// maunet/autograd/ops/shape_ops.hpp: ops that move values without arithmetic: reshape,
// concat, slice, crop2d and pad2d. Each is linear, so each backward is the transpose of its
// forward (g = dL/dy):
//
//   reshape:  y = x with a new shape (same row-major order)    dL/dx = g with x's shape
//   concat:   y = [x_0 | x_1 | ...] along an axis               dL/dx_i = the part of g that x_i filled
//   slice:    y = x[begin:end] along an axis                    dL/dx = g in [begin:end], 0 elsewhere
//   crop2d:   y = x[:, :, top:top+h, left:left+w]               dL/dx = g inside the window, 0 elsewhere
//   pad2d:    y[i, j] = x[src(i), src(j)]   (zero: 0 where src falls outside x)
//             dL/dx[r, c] += g[i, j] for every (i, j) with src = (r, c)
//     zero:    src(i) = i - top; the backward crops g back to x's extent.
//     reflect: as PyTorch's ReflectionPad2d, mirrored about the edge cell without repeating it
//              (x = [a b c], pad 2 -> [c b | a b c | b a]): src(i) = |i - top| for i < top,
//              2(H-1) - (i - top) past the bottom edge. Each pad must be < the extent. In the
//              backward, the padded cells' gradient is added back onto the cells they copy.
//
// Note the argument order of pad2d: (top, bottom, left, right), rows first, whereas PyTorch's
// F.pad takes (left, right, top, bottom).
#pragma once

#include <algorithm>
#include <vector>

#include "maunet/autograd/variable.hpp"
#include "maunet/core/threading.hpp"

namespace maunet {

namespace detail {

// The axis `axis` of a rank-`rank` tensor, counting from the back when negative.
inline std::size_t shape_op_axis(const char* op, int axis, std::size_t rank) {
    const int r = static_cast<int>(rank);
    require(axis >= -r && axis < r, op, ": axis ", axis, " is out of range for a tensor of rank ", r,
            " (expected -", r, " <= axis < ", r, ")");
    return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

// Product of the extents before `axis` and after it.
inline Index extent_before(const Shape& s, std::size_t axis) {
    Index n = 1;
    for (std::size_t i = 0; i < axis; ++i) n *= s[i];
    return n;
}
inline Index extent_after(const Shape& s, std::size_t axis) {
    Index n = 1;
    for (std::size_t i = axis + 1; i < s.rank(); ++i) n *= s[i];
    return n;
}

}  // namespace detail

// The same values in row-major order with a new shape of the same size.
template <class T>
Var<T> reshape(const Var<T>& x, Shape shape) {
    require_shape(shape.numel() == x.shape().numel(), "reshape: cannot reshape ", x.shape(), " (",
                  x.shape().numel(), " elements) to ", shape, " (", shape.numel(), " elements)");
    Tensor<T> y = x.value().reshaped(std::move(shape));
    return autograd::record<T>("reshape", std::move(y), {x}, [](const autograd::BackwardContext<T>& ctx) {
        if (ctx.needs_grad(0)) ctx.grad(0).array() += ctx.grad_output().array();  // same order, other shape
    });
}

// Concatenates tensors of one rank along `axis` (negative: from the back); their extents
// must agree on every other axis. A U-Net joins skip and upsampled features with axis 1.
namespace detail {
template <class T>
Var<T> concat_inputs(const Var<T>* xs, std::size_t count, int axis) {
    require(count > 0, "concat: expected at least one input, got none");
    for (std::size_t i = 0; i < count; ++i)
        require(xs[i].defined(), "concat: input ", i, " is an undefined (null) variable");
    const Shape& s0 = xs[0].shape();
    require_shape(s0.rank() >= 1, "concat: inputs must have rank >= 1, input 0 has shape ", s0);
    const std::size_t a = detail::shape_op_axis("concat", axis, s0.rank());
    Index total = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const Shape& si = xs[i].shape();
        bool fits = si.rank() == s0.rank();
        for (std::size_t d = 0; fits && d < s0.rank(); ++d) fits = d == a || si[d] == s0[d];
        require_shape(fits, "concat: input ", i, " has shape ", si, ", which does not match input 0's shape ", s0,
                      " on the axes other than axis ", a);
        total += si[a];
    }
    const Index outer = detail::extent_before(s0, a), inner = detail::extent_after(s0, a);
    Shape dims = s0;
    dims[a] = total;
    auto y = Tensor<T>::uninitialized(dims);  // the inputs fill all of it
    // Input i fills, in each of the `outer` rows of y (each total*inner long), the run of
    // length[i] = extent_i * inner values that starts at start[i].
    ArenaVector<Index> start(count), length(count);  // from a workspace's arena, if set
    Index at = 0;
    for (std::size_t i = 0; i < count; ++i) {
        start[i] = at;
        length[i] = xs[i].shape()[a] * inner;
        at += length[i];
    }
    const Index row = total * inner;
    ArenaVector<const T*> src(count);
    for (std::size_t i = 0; i < count; ++i) src[i] = xs[i].value().data();
    T* yd = y.data();
    parallel_for(0, outer, [&](Index o) {  // rows of y are disjoint
        for (std::size_t i = 0; i < src.size(); ++i)
            std::copy(src[i] + o * length[i], src[i] + (o + 1) * length[i], yd + o * row + start[i]);
    });
    return autograd::record<T>(
        "concat", std::move(y), xs, xs + count,
        [outer, row, start = std::move(start), length = std::move(length)](const autograd::BackwardContext<T>& ctx) {
            const T* gy = ctx.grad_output().data();
            for (std::size_t i = 0; i < start.size(); ++i) {
                if (!ctx.needs_grad(i)) continue;
                T* gx = ctx.grad(i).data();  // dL/dx_i = the run of g that x_i filled
                const Index len = length[i], at = start[i];
                parallel_for(0, outer, [&](Index o) {
                    for (Index t = 0; t < len; ++t) gx[o * len + t] += gy[o * row + at + t];
                });
            }
        });
}
}  // namespace detail

template <class T>
Var<T> concat(const std::vector<Var<T>>& xs, int axis = 1) {
    return detail::concat_inputs(xs.data(), xs.size(), axis);
}
// concat<T>({u, skip}, 1): the inputs stay on the stack (no vector is made).
template <class T>
Var<T> concat(std::initializer_list<Var<T>> xs, int axis = 1) {
    return detail::concat_inputs(xs.begin(), xs.size(), axis);
}

// x[begin:end] along `axis` (negative: from the back), 0 <= begin <= end <= extent.
template <class T>
Var<T> slice(const Var<T>& x, int axis, Index begin, Index end) {
    const Shape& s = x.shape();
    require_shape(s.rank() >= 1, "slice: input must have rank >= 1, got shape ", s);
    const std::size_t a = detail::shape_op_axis("slice", axis, s.rank());
    require(0 <= begin && begin <= end && end <= s[a], "slice: expected 0 <= begin <= end <= ", s[a],
            " (the extent of axis ", a, " of ", s, "), got begin ", begin, ", end ", end);
    const Index outer = detail::extent_before(s, a), inner = detail::extent_after(s, a);
    const Index in_row = s[a] * inner, out_row = (end - begin) * inner, skip = begin * inner;
    Shape dims = s;
    dims[a] = end - begin;
    Tensor<T> y{dims};
    const T* xv = x.value().data();
    for (Index o = 0; o < outer; ++o)
        std::copy(xv + o * in_row + skip, xv + o * in_row + skip + out_row, y.data() + o * out_row);
    return autograd::record<T>("slice", std::move(y), {x},
                               [outer, in_row, out_row, skip](const autograd::BackwardContext<T>& ctx) {
                                   if (!ctx.needs_grad(0)) return;
                                   const T* gy = ctx.grad_output().data();
                                   T* gx = ctx.grad(0).data();  // g into [begin:end], 0 elsewhere
                                   for (Index o = 0; o < outer; ++o)
                                       for (Index t = 0; t < out_row; ++t) gx[o * in_row + skip + t] += gy[o * out_row + t];
                               });
}

// The window x[:, :, top:top+height, left:left+width] of an NCHW tensor.
template <class T>
Var<T> crop2d(const Var<T>& x, Index top, Index left, Index height, Index width) {
    const Shape& s = x.shape();
    require_shape(s.rank() == 4, "crop2d: expected an NCHW input of rank 4, got shape ", s);
    require(top >= 0 && left >= 0 && height >= 0 && width >= 0, "crop2d: top, left, height and width must be >= 0, got ",
            top, ", ", left, ", ", height, ", ", width);
    require(top + height <= s[2] && left + width <= s[3], "crop2d: the window rows ", top, "..", top + height,
            ", columns ", left, "..", left + width, " does not fit in the ", s[2], "x", s[3], " input ", s);
    const Index planes = s[0] * s[1], H = s[2], W = s[3];
    auto y = Tensor<T>::uninitialized(Shape{s[0], s[1], height, width});
    const T* xv = x.value().data();
    parallel_for(0, planes, [&](Index p) {
        for (Index i = 0; i < height; ++i) {
            const T* src = xv + p * H * W + (top + i) * W + left;
            std::copy(src, src + width, y.data() + (p * height + i) * width);
        }
    });
    return autograd::record<T>("crop2d", std::move(y), {x},
                               [planes, H, W, top, left, height, width](const autograd::BackwardContext<T>& ctx) {
                                   if (!ctx.needs_grad(0)) return;
                                   const T* gy = ctx.grad_output().data();
                                   T* gx = ctx.grad(0).data();  // g inside the window, 0 elsewhere
                                   parallel_for(0, planes, [&](Index p) {
                                       for (Index i = 0; i < height; ++i) {
                                           T* dst = gx + p * H * W + (top + i) * W + left;
                                           const T* src = gy + (p * height + i) * width;
                                           for (Index j = 0; j < width; ++j) dst[j] += src[j];
                                       }
                                   });
                               });
}

enum class PadMode { zero, reflect };

inline const char* to_string(PadMode mode) { return mode == PadMode::zero ? "zero" : "reflect"; }

namespace detail {

// For each of the before + extent + after indices of a padded axis, the index it copies
// from the input axis, or -1 for a zero.
inline std::vector<Index> pad_sources(Index extent, Index before, Index after, PadMode mode) {
    std::vector<Index> src(static_cast<std::size_t>(before + extent + after));
    for (Index i = 0; i < static_cast<Index>(src.size()); ++i) {
        Index r = i - before;
        if (mode == PadMode::reflect) {
            if (r < 0) r = -r;                          // mirrored about cell 0
            if (r >= extent) r = 2 * (extent - 1) - r;  // mirrored about cell extent - 1
        } else if (r < 0 || r >= extent) {
            r = -1;
        }
        src[static_cast<std::size_t>(i)] = r;
    }
    return src;
}

}  // namespace detail

// Pads the two spatial axes of an NCHW tensor: [N, C, H, W] -> [N, C, top+H+bottom, left+W+right].
// Argument order (top, bottom, left, right). Reflect needs every pad < the extent it mirrors.
template <class T>
Var<T> pad2d(const Var<T>& x, Index top, Index bottom, Index left, Index right, PadMode mode) {
    const Shape& s = x.shape();
    require_shape(s.rank() == 4, "pad2d: expected an NCHW input of rank 4, got shape ", s);
    require(top >= 0 && bottom >= 0 && left >= 0 && right >= 0,
            "pad2d: pads must be >= 0, got top ", top, ", bottom ", bottom, ", left ", left, ", right ", right);
    const Index planes = s[0] * s[1], H = s[2], W = s[3];
    if (mode == PadMode::reflect)
        require(top < H && bottom < H && left < W && right < W, "pad2d: reflect padding must be smaller than the ",
                "extent it mirrors (top, bottom < ", H, "; left, right < ", W, " for input ", s, "), got top ", top,
                ", bottom ", bottom, ", left ", left, ", right ", right);
    std::vector<Index> rows = detail::pad_sources(H, top, bottom, mode);
    std::vector<Index> cols = detail::pad_sources(W, left, right, mode);
    const Index Ho = H + top + bottom, Wo = W + left + right;
    Tensor<T> y(Shape{s[0], s[1], Ho, Wo});  // zeros where a source is -1
    const T* xv = x.value().data();
    parallel_for(0, planes, [&](Index p) {
        for (Index i = 0; i < Ho; ++i) {
            const Index r = rows[static_cast<std::size_t>(i)];
            if (r < 0) continue;
            const T* src = xv + p * H * W + r * W;
            T* dst = y.data() + (p * Ho + i) * Wo;
            for (Index j = 0; j < Wo; ++j) {
                const Index c = cols[static_cast<std::size_t>(j)];
                if (c >= 0) dst[j] = src[c];
            }
        }
    });
    return autograd::record<T>(
        mode == PadMode::zero ? "pad2d_zero" : "pad2d_reflect", std::move(y), {x},
        [planes, H, W, Ho, Wo, rows = std::move(rows), cols = std::move(cols)](const autograd::BackwardContext<T>& ctx) {
            if (!ctx.needs_grad(0)) return;
            const T* gy = ctx.grad_output().data();
            T* gx = ctx.grad(0).data();
            // dL/dx[r, c] += g[i, j] for every output cell that copied (r, c).
            parallel_for(0, planes, [&](Index p) {
                for (Index i = 0; i < Ho; ++i) {
                    const Index r = rows[static_cast<std::size_t>(i)];
                    if (r < 0) continue;
                    T* dst = gx + p * H * W + r * W;
                    const T* src = gy + (p * Ho + i) * Wo;
                    for (Index j = 0; j < Wo; ++j) {
                        const Index c = cols[static_cast<std::size_t>(j)];
                        if (c >= 0) dst[c] += src[j];
                    }
                }
            });
        });
}

}  // namespace maunet
