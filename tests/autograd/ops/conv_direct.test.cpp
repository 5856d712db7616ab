// The direct (im2col-free) conv2d kernels of conv_direct.hpp, forced on with ConvPath::direct:
// forward against the seven-loop definition and the GEMM path, backward against finite
// differences, float agreement with the GEMM path, and thread-count independence.
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <vector>

#include "maunet/autograd/ops/conv2d.hpp"
#include "support/conv_outputs.hpp"
#include "support/gradcheck.hpp"
#include "support/random_tensor.hpp"

using namespace maunet;
using maunet::detail::ConvPath;
using maunet::testing::conv2d_outputs;
using maunet::testing::conv2d_outputs_on;
using maunet::testing::ConvPathGuard;
using maunet::testing::gradcheck;
using maunet::testing::max_abs_diff;

namespace {

using maunet::testing::random;

// y[n,o,i,j] = b[o] + sum_{c,u,v} w[o,c,u,v] x[n,c,i+u-p,j+v-p], stride 1, x = 0 outside.
Tensor<double> naive_conv2d(const Tensor<double>& x, const Tensor<double>& w, const Tensor<double>& b, Index p) {
    const Index N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
    const Index O = w.dim(0), kH = w.dim(2), kW = w.dim(3);
    const Index Ho = H + 2 * p - kH + 1, Wo = W + 2 * p - kW + 1;
    Tensor<double> y(Shape{N, O, Ho, Wo});
    for (Index n = 0; n < N; ++n)
        for (Index o = 0; o < O; ++o)
            for (Index i = 0; i < Ho; ++i)
                for (Index j = 0; j < Wo; ++j) {
                    double acc = b(o);
                    for (Index c = 0; c < C; ++c)
                        for (Index u = 0; u < kH; ++u)
                            for (Index v = 0; v < kW; ++v) {
                                const Index h = i + u - p, ww = j + v - p;
                                if (h >= 0 && h < H && ww >= 0 && ww < W) acc += w(o, c, u, v) * x(n, c, h, ww);
                            }
                    y(n, o, i, j) = acc;
                }
    return y;
}

struct Case {
    Index batch, c_in, c_out, h, w, kh, kw, padding;
};

// Odd sizes, output channels that are not a multiple of the 4-channel tile, batch > 1, kernels
// 3x3 (padding 0, 1, 2), 5x5, 2x3 and 3x1.
const std::vector<Case> cases = {
    {1, 1, 1, 4, 4, 3, 3, 1},  {3, 2, 5, 7, 9, 3, 3, 1}, {2, 3, 4, 9, 6, 3, 3, 0},  {2, 5, 7, 11, 13, 3, 3, 2},
    {1, 2, 3, 8, 7, 5, 5, 2},  {2, 3, 2, 6, 5, 2, 3, 1}, {3, 1, 6, 5, 8, 3, 1, 0},  {1, 9, 9, 17, 15, 3, 3, 1},
};

}  // namespace

TEST_CASE("direct conv2d applies to stride 1 with padding below the kernel size", "[ops][conv_direct]") {
    ConvPathGuard guard(ConvPath::automatic);
    CHECK(detail::direct_conv_applies(3, 3, 1, 1, 128, 128));
    CHECK(detail::direct_conv_applies(3, 3, 1, 1, 16, 16));  // from 16 x 16 up, forward and backward
    CHECK_FALSE(detail::direct_conv_applies(3, 3, 1, 1, 8, 8));  // small images: GEMM
    CHECK_FALSE(detail::direct_conv_applies(3, 3, 2, 1, 128, 128));
    CHECK_FALSE(detail::direct_conv_applies(1, 1, 1, 0, 128, 128));
    CHECK_FALSE(detail::direct_conv_applies(3, 3, 1, 3, 128, 128));
    detail::conv_path() = ConvPath::direct;
    CHECK(detail::direct_conv_applies(3, 3, 1, 1, 8, 8));
    detail::conv_path() = ConvPath::gemm;
    CHECK_FALSE(detail::direct_conv_applies(3, 3, 1, 1, 128, 128));
}

TEST_CASE("direct conv2d forward matches the seven-loop definition and the GEMM path", "[ops][conv_direct]") {
    std::uint64_t seed = 10;
    for (const Case& t : cases) {
        const Tensor<double> x = random<double>(Shape{t.batch, t.c_in, t.h, t.w}, ++seed);
        const Tensor<double> w = random<double>(Shape{t.c_out, t.c_in, t.kh, t.kw}, ++seed);
        const Tensor<double> b = random<double>(Shape{t.c_out}, ++seed);
        const Conv2dOptions opt{1, t.padding};
        INFO("x " << x.shape() << ", w " << w.shape() << ", padding " << t.padding);
        Tensor<double> direct, plain;
        {
            ConvPathGuard guard(ConvPath::direct);
            direct = conv2d(Var<double>(x), Var<double>(w), Var<double>(b), opt).value();
        }
        {
            ConvPathGuard guard(ConvPath::gemm);
            plain = conv2d(Var<double>(x), Var<double>(w), Var<double>(b), opt).value();
        }
        CHECK(max_abs_diff(direct, naive_conv2d(x, w, b, t.padding)) < 1e-12);
        CHECK(max_abs_diff(direct, plain) < 1e-12);
    }
}

TEST_CASE("direct conv2d backward matches finite differences", "[ops][conv_direct][gradcheck]") {
    using V = std::vector<Var<double>>;
    ConvPathGuard guard(ConvPath::direct);
    std::uint64_t seed = 300;
    for (const Case& t : cases) {
        const Conv2dOptions opt{1, t.padding};
        const Tensor<double> x = random<double>(Shape{t.batch, t.c_in, t.h, t.w}, ++seed);
        const Tensor<double> w = random<double>(Shape{t.c_out, t.c_in, t.kh, t.kw}, ++seed);
        const Tensor<double> b = random<double>(Shape{t.c_out}, ++seed);
        auto report = gradcheck([opt](const V& v) { return conv2d(v[0], v[1], v[2], opt); }, {x, w, b});
        INFO("x " << x.shape() << ", w " << w.shape() << ", padding " << t.padding << "\n" << report.summary);
        CHECK(report.max_error() < 1e-6);
    }
}

TEST_CASE("direct conv2d in float agrees with the GEMM path within 1e-5 relative", "[ops][conv_direct]") {
    const Tensor<float> x = random<float>(Shape{2, 32, 37, 41}, 1), w = random<float>(Shape{34, 32, 3, 3}, 2);
    const Tensor<float> b = random<float>(Shape{34}, 3), seed_grad = random<float>(Shape{2, 34, 37, 41}, 4);
    auto run = [&](ConvPath path) {
        ConvPathGuard guard(path);
        return conv2d_outputs(x, w, b, seed_grad);
    };
    const auto direct = run(ConvPath::direct), plain = run(ConvPath::gemm);
    for (std::size_t i = 0; i < 4; ++i) {
        const double scale = std::max(1.0, static_cast<double>(plain[i].array().abs().maxCoeff()));
        INFO("output " << i);
        CHECK(max_abs_diff(direct[i], plain[i]) / scale < 1e-5);
    }
}

TEST_CASE("direct conv2d is bit-identical for any thread count", "[ops][conv_direct][threads]") {
    ConvPathGuard guard(ConvPath::direct);
    const Tensor<float> x = random<float>(Shape{3, 5, 19, 23}, 5), w = random<float>(Shape{6, 5, 3, 3}, 6);
    const Tensor<float> b = random<float>(Shape{6}, 7), seed_grad = random<float>(Shape{3, 6, 19, 23}, 8);
    const auto one = conv2d_outputs_on(1, x, w, b, seed_grad), two = conv2d_outputs_on(2, x, w, b, seed_grad),
               three = conv2d_outputs_on(3, x, w, b, seed_grad);
    for (std::size_t i = 0; i < 4; ++i) {
        CHECK(max_abs_diff(one[i], two[i]) == 0.0);
        CHECK(max_abs_diff(one[i], three[i]) == 0.0);
    }
}
