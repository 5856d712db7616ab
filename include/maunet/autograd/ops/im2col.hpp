// maunet/autograd/ops/im2col.hpp: the column matrix of a convolution and its adjoint, shared by
// conv2d and conv_transpose2d.
//
// For one image x [C, H, W], a kernel kH x kW, stride s and zero padding p, the output grid is
// H_out = (H + 2p - kH)/s + 1 by W_out = (W + 2p - kW)/s + 1, and
//
//   im2col:  col[(c*kH + u)*kW + v, i*W_out + j] = x[c, s*i + u - p, s*j + v - p]   (0 outside x)
//
// a [C*kH*kW, H_out*W_out] row-major matrix, so a convolution is one GEMM: W [C_out, C*kH*kW]
// times col. col2im_add is the adjoint (transpose) of im2col: it scatters every entry of a
// column matrix back onto the pixel it was read from, adding (+=) where windows overlap, and
// drops the entries that came from the padding.
#pragma once

#include <algorithm>
#include <cstring>

#include "maunet/core/scratch.hpp"
#include "maunet/core/shape.hpp"
#include "maunet/core/threading.hpp"

namespace maunet::detail {

// The geometry of one convolution window sweep over one image.
struct ConvGeometry {
    Index channels = 0, height = 0, width = 0;  // the image, [C, H, W]
    Index kernel_h = 0, kernel_w = 0;
    Index stride = 1, padding = 0;
    Index out_h = 0, out_w = 0;  // the grid of window positions

    Index col_rows() const { return channels * kernel_h * kernel_w; }
    Index col_cols() const { return out_h * out_w; }
    Index image_size() const { return channels * height * width; }
};

// The output positions j in [0, out_size) whose input index j*stride + offset lies in
// [0, in_size): a contiguous range [lo, hi), empty when hi <= lo.
inline void valid_output_range(Index offset, Index stride, Index in_size, Index out_size, Index& lo, Index& hi) {
    lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
    hi = in_size - 1 - offset < 0 ? 0 : (in_size - 1 - offset) / stride + 1;
    lo = std::min(lo, out_size);
    hi = std::clamp(hi, lo, out_size);
}

// dst[0 .. n) = src[0 .. n) for the short rows of small images: copies of 4 values (constant-size
// memcpy, one vector move each) and a scalar tail, where std::copy calls memmove once per row.
template <class T>
inline void copy_short_row(const T* src, T* dst, Index n) {
    Index j = 0;
    for (; j + 4 <= n; j += 4) std::memcpy(dst + j, src + j, 4 * sizeof(T));
    for (; j < n; ++j) dst[j] = src[j];
}

// The padded planes that im2col's stride-1 path keeps on the stack: (H + 2p)(W + 2p) <= this.
constexpr Index im2col_padded_plane_max = 1024;

// col = im2col(image); image is [C, H, W], col is [C*kH*kW, H_out*W_out], both row-major, the
// rows of col ld apart (ld >= H_out*W_out; larger to put several images' columns side by side).
template <class T>
void im2col(const T* image, const ConvGeometry& g, T* col, Index ld) {
    const Index s = g.stride;
    const Index Hp = g.height + 2 * g.padding, Wp = g.width + 2 * g.padding;
    const bool windows_inside = g.out_h + g.kernel_h - 1 <= Hp && g.out_w + g.kernel_w - 1 <= Wp;
    if (s == 1 && windows_inside && Hp * Wp <= im2col_padded_plane_max) {
        // Stride 1, small images (the 8 x 8 bottleneck): each plane is copied once into a zero
        // border of p, and then every column row is out_h runs of out_w values of it, with no
        // bounds to test: row (c, u, v), run i = padded[i + u][v .. v + out_w). 1.7x as fast as the
        // general loops below at 8 x 8 (0.22 ms against 0.37 for 512 channels, Sapphire Rapids),
        // whose fills and copies of 0-8 values were calls into memset and memmove.
        T padded[im2col_padded_plane_max];
        std::fill(padded, padded + Hp * Wp, T(0));
        for (Index c = 0; c < g.channels; ++c) {
            const T* plane = image + c * g.height * g.width;
            for (Index h = 0; h < g.height; ++h)
                copy_short_row(plane + h * g.width, padded + (h + g.padding) * Wp + g.padding, g.width);
            for (Index u = 0; u < g.kernel_h; ++u)
                for (Index v = 0; v < g.kernel_w; ++v) {
                    T* row = col + ((c * g.kernel_h + u) * g.kernel_w + v) * ld;
                    for (Index i = 0; i < g.out_h; ++i)
                        copy_short_row(padded + (i + u) * Wp + v, row + i * g.out_w, g.out_w);
                }
        }
        return;
    }
    for (Index c = 0; c < g.channels; ++c) {
        const T* plane = image + c * g.height * g.width;
        for (Index u = 0; u < g.kernel_h; ++u) {
            Index i_lo, i_hi;
            valid_output_range(u - g.padding, s, g.height, g.out_h, i_lo, i_hi);
            for (Index v = 0; v < g.kernel_w; ++v) {
                Index j_lo, j_hi;
                valid_output_range(v - g.padding, s, g.width, g.out_w, j_lo, j_hi);
                T* row = col + ((c * g.kernel_h + u) * g.kernel_w + v) * ld;
                std::fill(row, row + i_lo * g.out_w, T(0));
                for (Index i = i_lo; i < i_hi; ++i) {
                    T* out = row + i * g.out_w;
                    const T* in = plane + (s * i + u - g.padding) * g.width;  // input row h = s*i + u - p
                    const Index w0 = v - g.padding;                              // input column of j = 0
                    std::fill(out, out + j_lo, T(0));
                    if (s == 1) {
                        std::copy(in + (j_lo + w0), in + (j_hi + w0), out + j_lo);
                    } else {
                        for (Index j = j_lo; j < j_hi; ++j) out[j] = in[s * j + w0];
                    }
                    std::fill(out + j_hi, out + g.out_w, T(0));
                }
                std::fill(row + i_hi * g.out_w, row + g.out_h * g.out_w, T(0));
            }
        }
    }
}

template <class T>
void im2col(const T* image, const ConvGeometry& g, T* col) {
    im2col(image, g, col, g.col_cols());
}

// image += col2im(col): the adjoint of im2col, scatter-add of every column entry onto its pixel.
template <class T>
void col2im_add(const T* col, const ConvGeometry& g, T* image) {
    const Index s = g.stride;
    for (Index c = 0; c < g.channels; ++c) {
        T* plane = image + c * g.height * g.width;
        for (Index u = 0; u < g.kernel_h; ++u) {
            Index i_lo, i_hi;
            valid_output_range(u - g.padding, s, g.height, g.out_h, i_lo, i_hi);
            for (Index v = 0; v < g.kernel_w; ++v) {
                Index j_lo, j_hi;
                valid_output_range(v - g.padding, s, g.width, g.out_w, j_lo, j_hi);
                const T* row = col + ((c * g.kernel_h + u) * g.kernel_w + v) * g.out_h * g.out_w;
                for (Index i = i_lo; i < i_hi; ++i) {
                    const T* in = row + i * g.out_w;
                    T* out = plane + (s * i + u - g.padding) * g.width;  // input row h = s*i + u - p
                    const Index w0 = v - g.padding;
                    for (Index j = j_lo; j < j_hi; ++j) out[s * j + w0] += in[j];
                }
            }
        }
    }
}

// y[o, p] = b[o] for an image y [C, P] (P pixels): the bias term before a GEMM with beta = 1.
template <class T>
void fill_channels(T* y, const T* b, Index channels, Index pixels) {
    for (Index o = 0; o < channels; ++o) std::fill(y + o * pixels, y + (o + 1) * pixels, b[o]);
}

// x[0] + ... + x[n-1] as eight interleaved partial sums (x[q] goes to sum q mod 8) added in a
// fixed tree at the end: the compiler keeps them in vector registers, where one running sum is
// a chain of dependent scalar adds (5% of a U-Net train step before). The order depends on n
// only, so the result is the same on every call and for any thread count.
template <class T>
T fixed_order_sum(const T* x, Index n) {
    T acc[8] = {};
    Index q = 0;
    for (; q + 8 <= n; q += 8)
        for (Index k = 0; k < 8; ++k) acc[k] += x[q + k];
    T s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; q < n; ++q) s += x[q];
    return s;
}

// db[o] += sum_{n, p} g[n, o, p] for g [N, C, P]: the bias gradient, in a fixed order (images in
// order, fixed_order_sum within each), channels split among the threads.
template <class T>
void add_channel_sums(const T* g, Index batch, Index channels, Index pixels, T* db) {
    parallel_for(0, channels, [=](std::ptrdiff_t o) {
        for (Index n = 0; n < batch; ++n) db[o] += fixed_order_sum(g + (n * channels + o) * pixels, pixels);
    });
}

// Splits [0, n) into `parts` contiguous chunks of near-equal size; chunk k is [lo, hi).
inline void chunk_range(Index n, Index parts, Index k, Index& lo, Index& hi) {
    const Index base = n / parts, extra = n % parts;
    lo = k * base + std::min(k, extra);
    hi = lo + base + (k < extra ? 1 : 0);
}

// dW = sum over the batch for the GEMM paths (conv2d, conv_transpose2d), whose batch is cut into
// chunks run in parallel: chunk 0 adds into dW itself, chunk k > 0 into its own partial sum
// (scratch memory, never cleared: the chunk's first GEMM writes it with beta 0), and reduce()
// adds the partials to dW in chunk order, in parallel over the entries. Each entry is summed in
// the same order, so a fixed thread count gives bit-identical results; and neither the clearing
// nor the sum is a pass over the weights that one thread makes while the other waits.
template <class T>
class ChunkedWeightGrad {
public:
    // fresh: dw is a new, unfilled buffer, which chunk 0 stores into (beta 0) instead of adding to.
    ChunkedWeightGrad(T* dw, Index size, Index chunks, bool fresh = false)
        : dw_(dw), size_(size), chunks_(chunks), fresh_(fresh),
          partials_(dw && chunks > 1 ? scratch<T>(ScratchSlot::partials, static_cast<std::size_t>((chunks - 1) * size))
                                     : nullptr) {}
    // Where chunk k accumulates.
    T* target(Index k) const { return k == 0 || !dw_ ? dw_ : partials_ + (k - 1) * size_; }
    // beta of chunk k's GEMM for one image (or group of images): 0 for the first of a partial sum
    // or of a fresh dw, else 1.
    T beta(Index k, bool first_image_of_chunk) const {
        return (k > 0 || fresh_) && first_image_of_chunk ? T(0) : T(1);
    }
    void reduce() const {
        if (!partials_) return;
        parallel_pieces(size_, [dw = dw_, p = partials_, size = size_, chunks = chunks_](Index lo, Index hi) {
            for (Index k = 1; k < chunks; ++k) {
                const T* part = p + (k - 1) * size;
                for (Index i = lo; i < hi; ++i) dw[i] += part[i];
            }
        });
    }

private:
    T* dw_;
    Index size_, chunks_;
    bool fresh_;
    T* partials_;
};

}  // namespace maunet::detail
