// Helpers of the convolution tests that compare paths, ISAs or thread counts on one layer:
//   ConvPathGuard g(ConvPath::winograd);   forces conv2d's path for one scope, then restores it;
//   WinogradTileGuard t(4);                forces F(4x4, 3x3) (or 2: F(2x2, 3x3); 0: per shape)
//                                          for one scope, then restores the setting;
//   layer_outputs(layer, x, w, b, g)      {y, dL/dx, dL/dw, dL/db} of y = layer(x, w, b) with the
//                                         upstream gradient g (dL/dy = g), every output the
//                                         comparisons look at, from one forward and one backward;
//   conv2d_outputs_on(threads, ...)       the same for conv2d on `threads` threads (the setting
//                                         restored after);
//   naive_conv3x3(x, w, b)                the 3 x 3, padding-1 convolution by its seven loops.
#pragma once

#include <array>

#include "maunet/autograd/ops/conv2d.hpp"
#include "maunet/autograd/variable.hpp"
#include "maunet/core/threading.hpp"
#include "maunet/core/tensor.hpp"

namespace maunet::testing {

struct ConvPathGuard {
    explicit ConvPathGuard(detail::ConvPath path) : before(detail::conv_path().load()) { detail::conv_path() = path; }
    ~ConvPathGuard() { detail::conv_path() = before; }
    ConvPathGuard(const ConvPathGuard&) = delete;
    ConvPathGuard& operator=(const ConvPathGuard&) = delete;
    detail::ConvPath before;
};

struct WinogradTileGuard {
    explicit WinogradTileGuard(int tile) : before(detail::winograd_tile_override().load()) {
        detail::winograd_tile_override() = tile;
    }
    ~WinogradTileGuard() { detail::winograd_tile_override() = before; }
    WinogradTileGuard(const WinogradTileGuard&) = delete;
    WinogradTileGuard& operator=(const WinogradTileGuard&) = delete;
    int before;
};

template <class T, class Layer>
std::array<Tensor<T>, 4> layer_outputs(Layer&& layer, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b,
                                       const Tensor<T>& upstream) {
    Var<T> xv(x, true), wv(w, true), bv(b, true);
    Var<T> y = layer(xv, wv, bv);
    y.backward(upstream);
    return {y.value(), xv.grad(), wv.grad(), bv.grad()};
}

// The same for conv2d (default: stride 1, padding 1, the U-Net's 3 x 3 layers).
template <class T>
std::array<Tensor<T>, 4> conv2d_outputs(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b,
                                        const Tensor<T>& upstream, Conv2dOptions options = Conv2dOptions{1, 1}) {
    return layer_outputs([options](const Var<T>& xv, const Var<T>& wv, const Var<T>& bv) {
        return conv2d(xv, wv, bv, options);
    }, x, w, b, upstream);
}

template <class T>
std::array<Tensor<T>, 4> conv2d_outputs_on(int threads, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b,
                                           const Tensor<T>& upstream) {
    const int before = num_threads();
    set_num_threads(threads);
    auto outputs = conv2d_outputs(x, w, b, upstream);
    set_num_threads(before);
    return outputs;
}

// y[n,o,i,j] = b[o] + sum_{c,u,v} w[o,c,u,v] x[n,c,i+u-1,j+v-1], x = 0 outside.
inline Tensor<double> naive_conv3x3(const Tensor<double>& x, const Tensor<double>& w, const Tensor<double>& b) {
    const Index N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), O = w.dim(0);
    Tensor<double> y(Shape{N, O, H, W});
    for (Index n = 0; n < N; ++n)
        for (Index o = 0; o < O; ++o)
            for (Index i = 0; i < H; ++i)
                for (Index j = 0; j < W; ++j) {
                    double acc = b(o);
                    for (Index c = 0; c < C; ++c)
                        for (Index u = 0; u < 3; ++u)
                            for (Index v = 0; v < 3; ++v) {
                                const Index h = i + u - 1, ww = j + v - 1;
                                if (h >= 0 && h < H && ww >= 0 && ww < W) acc += w(o, c, u, v) * x(n, c, h, ww);
                            }
                    y(n, o, i, j) = acc;
                }
    return y;
}

}  // namespace maunet::testing
