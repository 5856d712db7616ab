// maunet/autograd/ops/conv_transpose2d.hpp: 2-d transposed convolution (PyTorch's ConvTranspose2d),
// the adjoint of conv2d; the learned upsampling of a U-Net decoder.
//
// Shapes: x [N, C_in, H, W], w [C_in, C_out, kH, kW] (PyTorch layout), b [C_out] (optional),
// y [N, C_out, H_out, W_out] with H_out = (H-1)*s - 2p + kH + output_padding (and W likewise).
//
// Forward: every input pixel scatters a weighted copy of the kernel onto the output,
//   y[n,o,h,w] = b[o] + sum over (c,u,v,i,j) with h = s*i+u-p and w = s*j+v-p of x[n,c,i,j] w[c,o,u,v]
// (terms that land outside [0,H_out) x [0,W_out) are dropped). This is exactly the adjoint of
// conv2d with weight w read as [C_in (conv2d's outputs), C_out (conv2d's inputs), kH, kW] applied to
// an image [C_out, H_out, W_out]: that conv2d has an output grid of H x W (output_padding < s
// makes (H_out + 2p - kH)/s + 1 == H), and
//   <conv2d(z, w), x> == <z, conv_transpose2d(x, w)>   for every z [N, C_out, H_out, W_out].
// So, with im2col/col2im over the OUTPUT image (im2col.hpp) and W [C_in, C_out*kH*kW]:
//   Y_n = col2im(W^T X_n) + b 1^T                    (X_n = x_n as [C_in, H*W])
// Backward, with G = dL/dy and col_n = im2col(G_n) [C_out*kH*kW, H*W]:
//   dL/db[o] = sum_{n,h,w} G[n,o,h,w]
//   dL/dx_n  = W col_n                 (conv2d of G with the same weight)
//   dL/dW    = sum_n X_n col_n^T       (dL/dw[c,o,u,v] = sum_{n,i,j} x[n,c,i,j] G[n,o,s*i+u-p,s*j+v-p])
// Threads and determinism as in conv2d.hpp: batch chunks with their own buffers and dW partial
// sums added in chunk order.
#pragma once

#include <algorithm>

#include "maunet/autograd/ops/conv2d.hpp"
#include "maunet/autograd/ops/im2col.hpp"
#include "maunet/autograd/variable.hpp"
#include "maunet/core/gemm.hpp"
#include "maunet/core/threading.hpp"

namespace maunet {

struct ConvTranspose2dOptions {
    Index stride = 1;
    Index padding = 0;
    Index output_padding = 0;
};

namespace detail {

// Checks conv_transpose2d's arguments and returns the geometry of the window sweep over one
// OUTPUT image (channels C_out, size H_out x W_out; its window grid is the input's H x W).
inline ConvGeometry conv_transpose2d_geometry(const Shape& x, const Shape& w, const Shape* bias,
                                              const ConvTranspose2dOptions& opt) {
    require_shape(x.rank() == 4, "conv_transpose2d: input must have rank 4 [N, C_in, H, W], got shape ", x);
    require_shape(w.rank() == 4, "conv_transpose2d: weight must have rank 4 [C_in, C_out, kH, kW], got shape ", w);
    require_shape(!has_zero_extent(x), "conv_transpose2d: input ", x, " is empty");
    require_shape(!has_zero_extent(w), "conv_transpose2d: weight ", w, " is empty");
    require_shape(x[1] == w[0], "conv_transpose2d: input ", x, " has ", x[1], " channels, weight ", w, " expects ",
                  w[0]);
    if (bias)
        require_shape(*bias == Shape{w[1]}, "conv_transpose2d: bias has shape ", *bias, ", expected [", w[1],
                      "] (one value per output channel of weight ", w, ")");
    require(opt.stride >= 1, "conv_transpose2d: stride must be >= 1, got ", opt.stride);
    require(opt.padding >= 0, "conv_transpose2d: padding must be >= 0, got ", opt.padding);
    require(opt.output_padding >= 0 && opt.output_padding < opt.stride,
            "conv_transpose2d: output_padding must be >= 0 and smaller than stride ", opt.stride, ", got ",
            opt.output_padding);
    const Index out_h = (x[2] - 1) * opt.stride - 2 * opt.padding + w[2] + opt.output_padding;
    const Index out_w = (x[3] - 1) * opt.stride - 2 * opt.padding + w[3] + opt.output_padding;
    require(out_h >= 1 && out_w >= 1, "conv_transpose2d: output would be ", out_h, "x", out_w, " for input ", x,
            ", kernel ", w[2], "x", w[3], ", stride ", opt.stride, ", padding ", opt.padding,
            ", output_padding ", opt.output_padding, "; expected at least 1x1 (reduce the padding)");
    ConvGeometry g;
    g.channels = w[1];
    g.height = out_h;
    g.width = out_w;
    g.kernel_h = w[2];
    g.kernel_w = w[3];
    g.stride = opt.stride;
    g.padding = opt.padding;
    g.out_h = x[2];
    g.out_w = x[3];
    return g;
}

}  // namespace detail

// y = conv_transpose2d(x, weight, bias): see the top of this file. Pass Var<T>() as bias for none.
template <class T>
Var<T> conv_transpose2d(const Var<T>& x, const Var<T>& weight, const Var<T>& bias, ConvTranspose2dOptions opt = {}) {
    const Tensor<T>& xv = x.value();
    const Tensor<T>& wv = weight.value();
    const bool has_bias = bias.defined();
    const detail::ConvGeometry g =
        detail::conv_transpose2d_geometry(xv.shape(), wv.shape(), has_bias ? &bias.shape() : nullptr, opt);
    const Index N = xv.dim(0), C_in = wv.dim(0), C_out = g.channels;
    const Index Kc = g.col_rows(), P = g.col_cols(), out_size = g.image_size();
    // 1x1, stride 1, no padding (output_padding is then 0): col2im is the identity.
    const bool pointwise = detail::is_pointwise(g);

    // With a bias every image starts as the bias (fill_channels below); without, as zeros.
    Tensor<T> y = has_bias ? Tensor<T>::uninitialized(Shape{N, C_out, g.height, g.width})
                           : Tensor<T>(Shape{N, C_out, g.height, g.width});
    const Index chunks = detail::batch_chunks(N);
    T* cols = pointwise ? nullptr : detail::scratch<T>(detail::ScratchSlot::input, static_cast<std::size_t>(chunks * Kc * P));
    const T* x_data = xv.data();
    const T* w_data = wv.data();
    const T* b_data = has_bias ? bias.value().data() : nullptr;
    T* y_data = y.data();
    parallel_for(0, chunks, [&](std::ptrdiff_t k) {
        Index lo, hi;
        detail::chunk_range(N, chunks, k, lo, hi);
        T* col = pointwise ? nullptr : cols + k * Kc * P;
        for (Index n = lo; n < hi; ++n) {
            const T* x_n = x_data + n * C_in * P;
            T* y_n = y_data + n * out_size;
            if (b_data) detail::fill_channels(y_n, b_data, C_out, g.height * g.width);
            if (pointwise) {  // Y_n += W^T X_n
                gemm<T>(MatrixOp::transposed, MatrixOp::as_is, Kc, P, C_in, T(1), w_data, Kc, x_n, P, T(1), y_n, P);
            } else {  // Y_n += col2im(W^T X_n)
                gemm<T>(MatrixOp::transposed, MatrixOp::as_is, Kc, P, C_in, T(1), w_data, Kc, x_n, P, T(0), col, P);
                detail::col2im_add(col, g, y_n);
            }
        }
    });

    auto backward = [g, N, C_in, has_bias](const autograd::BackwardContext<T>& ctx) {
        const Index C_out = g.channels, Kc = g.col_rows(), P = g.col_cols(), out_size = g.image_size();
        const bool pointwise = detail::is_pointwise(g);
        const T* g_data = ctx.grad_output().data();
        const T* x_data = ctx.input(0).data();
        const T* w_data = ctx.input(1).data();
        if (has_bias && ctx.needs_grad(2))
            detail::add_channel_sums(g_data, N, C_out, g.height * g.width, ctx.grad(2).data());
        const bool need_x = ctx.needs_grad(0), need_w = ctx.needs_grad(1);
        if (!need_x && !need_w) return;

        T* dx_data = need_x ? ctx.grad(0).data() : nullptr;
        T* dw_data = need_w ? ctx.grad(1).data() : nullptr;
        const Index chunks = detail::batch_chunks(N);
        T* cols = pointwise ? nullptr : detail::scratch<T>(detail::ScratchSlot::input, static_cast<std::size_t>(chunks * Kc * P));
        const detail::ChunkedWeightGrad<T> dw_sum(dw_data, C_in * Kc, chunks);
        parallel_for(0, chunks, [&](std::ptrdiff_t k) {
            Index lo, hi;
            detail::chunk_range(N, chunks, k, lo, hi);
            T* col = pointwise ? nullptr : cols + k * Kc * P;
            T* dw = dw_sum.target(k);
            for (Index n = lo; n < hi; ++n) {
                const T* g_n = g_data + n * out_size;
                if (!pointwise) detail::im2col(g_n, g, col);
                const T* c_n = pointwise ? g_n : col;
                if (need_x)  // dX_n += W col_n
                    gemm<T>(MatrixOp::as_is, MatrixOp::as_is, C_in, P, Kc, T(1), w_data, Kc, c_n, P, T(1), dx_data + n * C_in * P, P);
                if (need_w)  // dW += X_n col_n^T
                    gemm<T>(MatrixOp::as_is, MatrixOp::transposed, C_in, Kc, P, T(1), x_data + n * C_in * P, P, c_n, P,
                            dw_sum.beta(k, n == lo), dw, Kc);
            }
        });
        dw_sum.reduce();
    };
    if (has_bias)
        return autograd::record<T>("conv_transpose2d", std::move(y), {x, weight, bias}, std::move(backward));
    return autograd::record<T>("conv_transpose2d", std::move(y), {x, weight}, std::move(backward));
}

}  // namespace maunet
