// maunet/autograd/ops/conv2d.hpp: 2-d convolution (cross-correlation, as in PyTorch) with zero
// padding, any kernel size and stride.
//
// Shapes: x [N, C_in, H, W], w [C_out, C_in, kH, kW], b [C_out] (optional), y [N, C_out, H_out, W_out]
// with H_out = (H + 2p - kH)/s + 1, W_out = (W + 2p - kW)/s + 1 (integer division).
//
// Forward:
//   y[n,o,i,j] = b[o] + sum_{c,u,v} w[o,c,u,v] x[n,c, s*i+u-p, s*j+v-p]      (x = 0 outside the image)
// With col_n = im2col(x_n) [C_in*kH*kW, H_out*W_out] (see im2col.hpp) and w viewed as the matrix
// W [C_out, C_in*kH*kW], this is one GEMM per image:  Y_n = W col_n + b 1^T.
//
// Backward, with G = dL/dy:
//   dL/db[o]       = sum_{n,i,j} G[n,o,i,j]
//   dL/dw[o,c,u,v] = sum_{n,i,j} G[n,o,i,j] x[n,c, s*i+u-p, s*j+v-p]   ->  dW = sum_n G_n col_n^T
//                                   (one GEMM per group of 4 images: [G_n ..] [col_n ..]^T)
//   dL/dx[n,c,h,w] = sum over (o,u,v,i,j) with h = s*i+u-p and w = s*j+v-p of G[n,o,i,j] w[o,c,u,v]
//                                                                       ->  dx_n = col2im(W^T G_n)
// The last line: every x[n,c,h,w] appears in y once per window position (i,j) and kernel tap (u,v)
// that reads it, so its gradient collects G times the weight of that tap; writing W^T G_n first
// gives one column entry per (c,u,v,i,j), and col2im adds each onto the pixel (h,w) it came from.
// With stride 1 and a square kernel the same sum is a forward convolution of G with the flipped
// kernel, run as the forward pass's GEMM (input_grad_as_forward below; faster, no col2im).
//
// Threads: the batch is cut into min(num_threads(), N) contiguous chunks, run with parallel_for;
// each chunk owns its column buffers (allocated once per call) and, for dW, its own partial sum.
// The partial sums are added in chunk order (detail::ChunkedWeightGrad, im2col.hpp), so a fixed
// thread count gives bit-identical results.
//
// Fast path: stride 1 with padding p <= min(kH, kW) - 1 (not the plain 1x1) runs the im2col-free
// direct kernels of conv_direct.hpp for the forward pass, dx and dW (results equal to the GEMM path
// up to rounding; bit-identical for any thread count) where they beat the GEMM (large images;
// see direct_conv_applies). 3x3 padding-1 layers on images of 16 x 16 or more (8 channels or
// more in and out) run the forward pass and dx with Winograd F(2x2, 3x3) or, on images 32 pixels
// wide and more, F(4x4, 3x3), and dW with F(2x2, 3x3) (winograd.hpp, winograd_weight_grad.hpp).
// Smaller images (the U-Nets' 8 x 8 bottleneck) run all three with F(2x2, 3x3) over the tiles of
// the whole batch when it has 64 tiles or more and 32+ channels in and out (winograd_batch.hpp).
// detail::conv_path() forces one path or another (tests use all).
//
// conv2d_relu(x, w, b) = relu(conv2d(x, w, b)) as one op: the kernels apply the ReLU as they
// write y, and the backward pass first masks G with y > 0.
#pragma once

#include <algorithm>

#include "maunet/autograd/ops/conv_direct.hpp"
#include "maunet/autograd/ops/im2col.hpp"
#include "maunet/autograd/ops/winograd.hpp"
#include "maunet/autograd/ops/winograd_batch.hpp"
#include "maunet/autograd/ops/winograd_weight_grad.hpp"
#include "maunet/autograd/variable.hpp"
#include "maunet/core/gemm.hpp"
#include "maunet/core/threading.hpp"

namespace maunet {

struct Conv2dOptions {
    Index stride = 1;
    Index padding = 0;
};

namespace detail {

inline bool has_zero_extent(const Shape& s) {
    return std::any_of(s.begin(), s.end(), [](Index d) { return d == 0; });
}

// Checks conv2d's arguments and returns the geometry of the window sweep over one input image.
inline ConvGeometry conv2d_geometry(const Shape& x, const Shape& w, const Shape* bias, const Conv2dOptions& opt) {
    require_shape(x.rank() == 4, "conv2d: input must have rank 4 [N, C_in, H, W], got shape ", x);
    require_shape(w.rank() == 4, "conv2d: weight must have rank 4 [C_out, C_in, kH, kW], got shape ", w);
    require_shape(!has_zero_extent(x), "conv2d: input ", x, " is empty");
    require_shape(!has_zero_extent(w), "conv2d: weight ", w, " is empty");
    require_shape(x[1] == w[1], "conv2d: input ", x, " has ", x[1], " channels, weight ", w, " expects ", w[1]);
    if (bias)
        require_shape(*bias == Shape{w[0]}, "conv2d: bias has shape ", *bias, ", expected [", w[0],
                      "] (one value per output channel of weight ", w, ")");
    require(opt.stride >= 1, "conv2d: stride must be >= 1, got ", opt.stride);
    require(opt.padding >= 0, "conv2d: padding must be >= 0, got ", opt.padding);
    const Index ph = x[2] + 2 * opt.padding, pw = x[3] + 2 * opt.padding;
    require(w[2] <= ph && w[3] <= pw, "conv2d: kernel ", w[2], "x", w[3], " is larger than the padded input ", ph,
            "x", pw, " (input ", x, ", padding ", opt.padding, ")");
    ConvGeometry g;
    g.channels = x[1];
    g.height = x[2];
    g.width = x[3];
    g.kernel_h = w[2];
    g.kernel_w = w[3];
    g.stride = opt.stride;
    g.padding = opt.padding;
    g.out_h = (ph - w[2]) / opt.stride + 1;
    g.out_w = (pw - w[3]) / opt.stride + 1;
    return g;
}

// A 1x1 kernel with stride 1 and no padding reads every pixel once: col_n is x_n itself.
inline bool is_pointwise(const ConvGeometry& g) {
    return g.kernel_h == 1 && g.kernel_w == 1 && g.stride == 1 && g.padding == 0;
}

// The direct / Winograd kernels' call for conv2d's forward pass: x [N, C, H, W] -> y [N, C_out, H_out, W_out].
template <class T>
ConvCall<T> conv_call(const ConvGeometry& g, const T* x, Index N, const T* w, Index C_out, const T* bias, T* y,
                      bool relu) {
    ConvCall<T> c;
    c.x = x;
    c.batch = N;
    c.channels = g.channels;
    c.height = g.height;
    c.width = g.width;
    c.weight = w;
    c.out_channels = C_out;
    c.kernel_h = g.kernel_h;
    c.kernel_w = g.kernel_w;
    c.pad_h = c.pad_w = g.padding;
    c.bias = bias;
    c.y = y;
    c.store = relu ? Store::overwrite_relu : Store::overwrite;
    return c;
}

// ... and for its input gradient (stride 1): dx += the correlation of dL/dy, padded by k-1-p,
// with the flipped, transposed weight.
template <class T>
ConvCall<T> input_grad_call(const ConvGeometry& g, const T* grad_y, Index N, const T* w, Index C_out, T* dx) {
    ConvCall<T> c;
    c.x = grad_y;
    c.batch = N;
    c.channels = C_out;
    c.height = g.out_h;
    c.width = g.out_w;
    c.weight = w;
    c.out_channels = g.channels;
    c.kernel_h = g.kernel_h;
    c.kernel_w = g.kernel_w;
    c.pad_h = g.kernel_h - 1 - g.padding;
    c.pad_w = g.kernel_w - 1 - g.padding;
    c.weight_order = WeightOrder::flipped_transposed;
    c.y = dx;
    c.store = Store::accumulate;
    return c;
}

// The GEMM path's input gradient for stride 1 and a square k x k kernel with p <= k - 1: the
// adjoint of a stride-1 correlation is the correlation of dL/dy padded by k-1-p with the kernel
// flipped in space and transposed in channels (the direct kernels use the same identity):
//   dx[n,c,h,w] = sum_{o,u,v} w'[c,o,u,v] G[n,o, h+u-(k-1-p), w+v-(k-1-p)],  w'[c,o,u,v] = w[o,c,k-1-u,k-1-v]
// So dx_n = W' col'_n with W' = w' as [C_in, C_out*k*k] and col'_n = im2col(G_n) in that geometry:
// the forward pass's GEMM (A read in place, a small B packed per image) instead of W^T G_n, which
// packs all of W for every image and scatters the result back with col2im. W' is built once per
// call (one pass over the weight).
inline bool input_grad_as_forward(const ConvGeometry& g) {
    return !is_pointwise(g) && g.stride == 1 && g.kernel_h == g.kernel_w && g.padding <= g.kernel_h - 1;
}

// The window sweep of that correlation over dL/dy_n [C_out, H_out, W_out]; its grid is x's [H, W].
inline ConvGeometry input_grad_geometry(const ConvGeometry& g, Index C_out) {
    ConvGeometry gt;
    gt.channels = C_out;
    gt.height = g.out_h;
    gt.width = g.out_w;
    gt.kernel_h = g.kernel_h;
    gt.kernel_w = g.kernel_w;
    gt.stride = 1;
    gt.padding = g.kernel_h - 1 - g.padding;
    gt.out_h = g.height;  // out_h + 2(k-1-p) - k + 1 = (H + 2p - k + 1) + k - 1 - 2p = H
    gt.out_w = g.width;
    return gt;
}

// Number of batch chunks run in parallel.
inline Index batch_chunks(Index batch) { return std::max<Index>(1, std::min<Index>(num_threads(), batch)); }

// conv2d, and with `relu` conv2d_relu (below).
template <class T>
Var<T> conv2d_maybe_relu(const Var<T>& x, const Var<T>& weight, const Var<T>& bias, Conv2dOptions opt, bool relu) {
    const Tensor<T>& xv = x.value();
    const Tensor<T>& wv = weight.value();
    const bool has_bias = bias.defined();
    const detail::ConvGeometry g =
        detail::conv2d_geometry(xv.shape(), wv.shape(), has_bias ? &bias.shape() : nullptr, opt);
    const Index N = xv.dim(0), C_out = wv.dim(0);
    const Index Kc = g.col_rows(), P = g.col_cols(), in_size = g.image_size();
    const bool pointwise = detail::is_pointwise(g);

    auto y = Tensor<T>::uninitialized(Shape{N, C_out, g.out_h, g.out_w});  // every path writes all of y
    const T* x_data = xv.data();
    const T* w_data = wv.data();
    const T* b_data = has_bias ? bias.value().data() : nullptr;
    T* y_data = y.data();
    // One path for the forward pass, dx and dW: Winograd for 3x3 padding 1 (per image on images of
    // 16 x 16 and more, over the batch's tiles on smaller ones), else the direct kernels where
    // they apply, else im2col + GEMM.
    const bool batch_wino = detail::batch_winograd_applies(g.kernel_h, g.kernel_w, g.stride, g.padding, g.out_h,
                                                           g.out_w, g.channels, C_out, N);
    const bool wino = !batch_wino && detail::winograd_applies(g.kernel_h, g.kernel_w, g.stride, g.padding, g.out_h,
                                                              g.out_w, g.channels, C_out);
    const bool direct = !wino && !batch_wino &&
                        detail::direct_conv_applies(g.kernel_h, g.kernel_w, g.stride, g.padding, g.out_h, g.out_w);
    const bool fused = wino || batch_wino || direct;  // no im2col
    const Index chunks = fused ? 1 : detail::batch_chunks(N);
    // Column buffers in reused scratch memory (conv_direct.hpp); im2col writes every entry.
    T* cols = pointwise || fused
                  ? nullptr
                  : detail::scratch<T>(detail::ScratchSlot::input, static_cast<std::size_t>(chunks * Kc * P));
    if (fused) {
        const detail::ConvCall<T> call = detail::conv_call(g, x_data, N, w_data, C_out, b_data, y_data, relu);
        if (batch_wino)
            detail::batch_winograd_conv3x3(call);
        else if (wino)
            detail::winograd_conv3x3(call);
        else
            detail::direct_conv(call);
    } else parallel_for(0, chunks, [&](std::ptrdiff_t k) {
        Index lo, hi;
        detail::chunk_range(N, chunks, k, lo, hi);
        T* col = pointwise ? nullptr : cols + k * Kc * P;
        for (Index n = lo; n < hi; ++n) {
            const T* x_n = x_data + n * in_size;
            T* y_n = y_data + n * C_out * P;
            if (!pointwise) detail::im2col(x_n, g, col);
            if (b_data) detail::fill_channels(y_n, b_data, C_out, P);
            // Y_n = W col_n (+ b already in Y_n)
            gemm<T>(MatrixOp::as_is, MatrixOp::as_is, C_out, P, Kc, T(1), w_data, Kc, pointwise ? x_n : col, P, b_data ? T(1) : T(0), y_n,
                    P);
            if (relu)
                for (Index i = 0; i < C_out * P; ++i) y_n[i] = y_n[i] > T(0) ? y_n[i] : T(0);
        }
    });

    auto backward = [g, N, C_out, has_bias, relu, direct, wino, batch_wino](const autograd::BackwardContext<T>& ctx) {
        const Index Kc = g.col_rows(), P = g.col_cols(), in_size = g.image_size();
        const bool pointwise = detail::is_pointwise(g);
        const T* g_data = ctx.grad_output().data();
        if (relu) {  // through the ReLU first: dL/dz = dL/dy where y = max(z, 0) > 0, else 0
            const Index n = ctx.grad_output().numel();
            const T* y = ctx.output().data();
            T* masked = detail::scratch<T>(detail::ScratchSlot::relu_mask, static_cast<std::size_t>(n));
            // Pointers by value: captured by reference they are reloaded on every element, and the
            // loop stays scalar and branchy.
            parallel_pieces(n, [y, g = g_data, masked](Index lo, Index hi) {
                for (Index i = lo; i < hi; ++i) {
                    const T gi = g[i];  // loaded either way, so the select is branch-free
                    masked[i] = y[i] > T(0) ? gi : T(0);
                }
            });
            g_data = masked;
        }
        const T* x_data = ctx.input(0).data();
        const T* w_data = ctx.input(1).data();
        if (has_bias && ctx.needs_grad(2)) detail::add_channel_sums(g_data, N, C_out, P, ctx.grad(2).data());
        const bool need_x = ctx.needs_grad(0), need_w = ctx.needs_grad(1);
        if (!need_x && !need_w) return;

        // Grad buffers are fetched before the parallel region. Every path but col2im's writes each
        // value of dx once per image: a new dx buffer is then stored into (dx_fresh), not zeroed
        // first and added into.
        const bool fused = wino || batch_wino || direct;  // no im2col
        const bool dx_forward = need_x && !fused && detail::input_grad_as_forward(g);
        const bool dx_written_whole = fused || dx_forward || pointwise;
        bool dx_fresh = false;
        T* dx_data = !need_x            ? nullptr
                     : dx_written_whole ? ctx.grad_to_write(0, dx_fresh).data()
                                        : ctx.grad(0).data();
        const T dx_beta = dx_fresh ? T(0) : T(1);
        // The GEMM path's first weight-gradient product stores into a new dW buffer (beta 0), so
        // it takes one unfilled; the other paths add into a zero-filled one.
        bool dw_fresh = false;
        T* dw_data = !need_w ? nullptr : fused ? ctx.grad(1).data() : ctx.grad_to_write(1, dw_fresh).data();
        if (fused) {
            // dx = correlation of G padded by k-1-p with the flipped, transposed weight.
            if (need_x) {
                detail::ConvCall<T> call = detail::input_grad_call(g, g_data, N, w_data, C_out, dx_data);
                if (dx_fresh) call.store = detail::Store::overwrite;
                if (batch_wino)
                    detail::batch_winograd_conv3x3(call);
                else if (wino)
                    detail::winograd_conv3x3(call);
                else
                    detail::direct_conv(call);
            }
            if (need_w && batch_wino)
                detail::batch_winograd_weight_grad3x3(x_data, N, g.channels, g.height, g.width, g_data, C_out, dw_data);
            else if (need_w && wino)
                detail::winograd_weight_grad3x3(x_data, N, g.channels, g.height, g.width, g_data, C_out, dw_data);
            else if (need_w)
                detail::direct_conv_weight_grad(x_data, N, g.channels, g.height, g.width, g_data, C_out, g.kernel_h,
                                                g.kernel_w, g.padding, dw_data);
            return;
        }
        const Index chunks = detail::batch_chunks(N);
        // The weight gradient sums over a group of up to 4 images of a chunk in one GEMM, dW +=
        // [G_n .. G_n+3] [col_n .. col_n+3]^T with K = 4 P: the 9.4 MB dW of the 512-channel
        // bottleneck is then read and written once per 4 images, not per image (the product
        // 63.7 -> 81.2 GFLOP/s by medians on Sapphire Rapids; groups of 8 were no faster). The
        // columns of the group are side by side in one matrix, and its G_n are gathered likewise.
        const Index group = need_w && !pointwise ? std::min<Index>(4, (N + chunks - 1) / chunks) : 1;
        // Stride 1, square kernel (dx_forward): dx_n += W' col'_n, the forward GEMM of the flipped kernel.
        const detail::ConvGeometry gt = dx_forward ? detail::input_grad_geometry(g, C_out) : detail::ConvGeometry{};
        const bool need_col = need_w && !pointwise, need_dcol = need_x && !pointwise;
        const Index dcol_size = dx_forward ? gt.col_rows() * gt.col_cols() : Kc * P;
        T* cols = need_col ? detail::scratch<T>(detail::ScratchSlot::input, static_cast<std::size_t>(chunks * group * Kc * P))
                           : nullptr;
        T* gathered = group > 1 ? detail::scratch<T>(detail::ScratchSlot::gathered,
                                                     static_cast<std::size_t>(chunks * group * C_out * P))
                                : nullptr;
        T* dcols = need_dcol ? detail::scratch<T>(detail::ScratchSlot::output, static_cast<std::size_t>(chunks * dcol_size)) : nullptr;
        T* w_flipped = nullptr;
        if (dx_forward) {
            w_flipped = detail::scratch<T>(detail::ScratchSlot::operand, static_cast<std::size_t>(g.channels * gt.col_rows()));
            detail::flip_transpose_weight(w_data, C_out, g.channels, g.kernel_h, w_flipped);
        }
        const detail::ChunkedWeightGrad<T> dw_sum(dw_data, C_out * Kc, chunks, dw_fresh);
        parallel_for(0, chunks, [&](std::ptrdiff_t k) {
            Index lo, hi;
            detail::chunk_range(N, chunks, k, lo, hi);
            T* col = need_col ? cols + k * group * Kc * P : nullptr;
            T* g_group = gathered ? gathered + k * group * C_out * P : nullptr;
            T* dcol = need_dcol ? dcols + k * dcol_size : nullptr;
            T* dw = dw_sum.target(k);
            for (Index n0 = lo; n0 < hi; n0 += group) {
                const Index images = std::min(group, hi - n0), cols_w = images * P;  // K of the dW product
                if (need_w) {  // dW += [G_n0 ..] [col_n0 ..]^T
                    const T* g_n0 = g_data + n0 * C_out * P;
                    if (!pointwise)
                        for (Index i = 0; i < images; ++i) detail::im2col(x_data + (n0 + i) * in_size, g, col + i * P, cols_w);
                    if (images > 1)
                        for (Index o = 0; o < C_out; ++o)
                            for (Index i = 0; i < images; ++i)
                                std::copy_n(g_n0 + (i * C_out + o) * P, P, g_group + o * cols_w + i * P);
                    gemm<T>(MatrixOp::as_is, MatrixOp::transposed, C_out, Kc, cols_w, T(1), images > 1 ? g_group : g_n0,
                            cols_w, pointwise ? x_data + n0 * in_size : col, cols_w, dw_sum.beta(k, n0 == lo), dw, Kc);
                }
                for (Index n = n0; need_x && n < n0 + images; ++n) {  // dx_n += W' im2col'(G_n), or col2im(W^T G_n)
                    const T* g_n = g_data + n * C_out * P;
                    T* dx_n = dx_data + n * in_size;
                    if (dx_forward) {
                        detail::im2col(g_n, gt, dcol);
                        gemm<T>(MatrixOp::as_is, MatrixOp::as_is, g.channels, gt.col_cols(), gt.col_rows(), T(1),
                                w_flipped, gt.col_rows(), dcol, gt.col_cols(), dx_beta, dx_n, gt.col_cols());
                    } else if (pointwise) {
                        gemm<T>(MatrixOp::transposed, MatrixOp::as_is, Kc, P, C_out, T(1), w_data, Kc, g_n, P, dx_beta, dx_n, P);
                    } else {
                        gemm<T>(MatrixOp::transposed, MatrixOp::as_is, Kc, P, C_out, T(1), w_data, Kc, g_n, P, T(0), dcol, P);
                        detail::col2im_add(dcol, g, dx_n);
                    }
                }
            }
        });
        dw_sum.reduce();
    };
    const char* name = relu ? "conv2d_relu" : "conv2d";
    if (has_bias) return autograd::record<T>(name, std::move(y), {x, weight, bias}, std::move(backward));
    return autograd::record<T>(name, std::move(y), {x, weight}, std::move(backward));
}

}  // namespace detail

// y = conv2d(x, weight, bias): see the top of this file. Pass Var<T>() as bias for none.
template <class T>
Var<T> conv2d(const Var<T>& x, const Var<T>& weight, const Var<T>& bias, Conv2dOptions opt = {}) {
    return detail::conv2d_maybe_relu(x, weight, bias, opt, false);
}

// y = relu(conv2d(x, weight, bias)) as one op: the same values and gradients as the two ops,
// without the activation's separate pass, tensor and graph node. The ReLU is applied as the
// convolution writes y; the backward pass masks dL/dy with y > 0 (the ReLU's subgradient 0 at
// 0, as relu()) and continues as conv2d's.
template <class T>
Var<T> conv2d_relu(const Var<T>& x, const Var<T>& weight, const Var<T>& bias, Conv2dOptions opt = {}) {
    return detail::conv2d_maybe_relu(x, weight, bias, opt, true);
}

}  // namespace maunet
