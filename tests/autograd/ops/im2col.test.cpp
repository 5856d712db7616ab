// im2col against its definition, col[(c*kH + u)*kW + v, i*W_out + j] = x[c, s*i + u - p, s*j + v - p]
// (0 outside x), on both of its paths: stride 1 on small images (the padded-plane copy) and the
// general loops (strides 2 and 3, and a stride-1 image too large for the padded plane), with
// rows of col further apart than a row (ld > H_out W_out: images side by side) and col2im_add
// as its adjoint.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "maunet/autograd/ops/im2col.hpp"
#include "support/random_tensor.hpp"

using namespace maunet;
using maunet::detail::ConvGeometry;

namespace {

ConvGeometry geometry(Index C, Index H, Index W, Index kH, Index kW, Index s, Index p) {
    ConvGeometry g;
    g.channels = C;
    g.height = H;
    g.width = W;
    g.kernel_h = kH;
    g.kernel_w = kW;
    g.stride = s;
    g.padding = p;
    g.out_h = (H + 2 * p - kH) / s + 1;
    g.out_w = (W + 2 * p - kW) / s + 1;
    return g;
}

double defined_entry(const Tensor<double>& x, const ConvGeometry& g, Index row, Index pixel) {
    const Index c = row / (g.kernel_h * g.kernel_w), u = row / g.kernel_w % g.kernel_h, v = row % g.kernel_w;
    const Index i = pixel / g.out_w, j = pixel % g.out_w;
    const Index h = g.stride * i + u - g.padding, w = g.stride * j + v - g.padding;
    return h >= 0 && h < g.height && w >= 0 && w < g.width ? x(c, h, w) : 0.0;
}

}  // namespace

TEST_CASE("im2col equals its definition on both paths, with rows ld apart", "[ops][im2col]") {
    struct Case {
        Index C, H, W, kH, kW, s, p;
    };
    // stride 1 and small: the padded-plane path (8 x 8 "same", 5 x 4 with padding 2, 2 x 3 kernel,
    // 1 x 1, 30 x 30 padded to 32 x 32 = the largest plane it takes); the rest: the general loops.
    const std::vector<Case> cases = {{3, 8, 8, 3, 3, 1, 1}, {2, 5, 4, 3, 3, 1, 2}, {2, 7, 9, 2, 3, 1, 1},
                                     {3, 6, 5, 1, 1, 1, 0}, {1, 30, 30, 3, 3, 1, 1}, {1, 31, 31, 3, 3, 1, 1},
                                     {2, 7, 9, 3, 3, 2, 1}, {2, 9, 7, 5, 5, 3, 2}};
    std::uint64_t seed = 40;
    for (const Case& t : cases) {
        const ConvGeometry g = geometry(t.C, t.H, t.W, t.kH, t.kW, t.s, t.p);
        const Tensor<double> x = maunet::testing::random(Shape{t.C, t.H, t.W}, ++seed);
        const Index rows = g.col_rows(), cols = g.col_cols(), ld = 2 * cols + 3;
        // NaN where im2col must write, and in the gaps between rows, which it must not touch.
        std::vector<double> col(static_cast<std::size_t>(rows * ld + 1), std::numeric_limits<double>::quiet_NaN());
        detail::im2col(x.data(), g, col.data() + 1, ld);
        INFO("C " << t.C << ", " << t.H << "x" << t.W << ", kernel " << t.kH << "x" << t.kW << ", stride " << t.s
                  << ", padding " << t.p);
        Index wrong = 0, touched_gap = 0;
        for (Index r = 0; r < rows; ++r)
            for (Index q = 0; q < ld; ++q) {
                const double v = col[static_cast<std::size_t>(r * ld + 1 + q)];
                if (q < cols)
                    wrong += !(v == defined_entry(x, g, r, q));
                else
                    touched_gap += !std::isnan(v);  // still NaN: untouched
            }
        CHECK(wrong == 0);
        CHECK(touched_gap == 0);
        CHECK(std::isnan(col[0]));  // nothing written before col
    }
}

TEST_CASE("col2im_add is the adjoint of im2col: <im2col(x), c> = <x, col2im(c)>", "[ops][im2col]") {
    for (Index s : {1, 2}) {
        const ConvGeometry g = geometry(2, 6, 7, 3, 3, s, 1);
        const Tensor<double> x = maunet::testing::random(Shape{2, 6, 7}, 50 + s);
        const Tensor<double> c = maunet::testing::random(Shape{g.col_rows(), g.col_cols()}, 60 + s);
        std::vector<double> col(static_cast<std::size_t>(g.col_rows() * g.col_cols()));
        detail::im2col(x.data(), g, col.data());
        Tensor<double> back = Tensor<double>::zeros(Shape{2, 6, 7});
        detail::col2im_add(c.data(), g, back.data());
        double lhs = 0.0, rhs = 0.0;
        for (Index i = 0; i < c.numel(); ++i) lhs += col[static_cast<std::size_t>(i)] * c.data()[i];
        for (Index i = 0; i < x.numel(); ++i) rhs += x.data()[i] * back.data()[i];
        CHECK(lhs == Approx(rhs).epsilon(1e-12));
    }
}
