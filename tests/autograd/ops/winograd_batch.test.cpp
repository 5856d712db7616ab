// The batch's Winograd path of conv2d (winograd_batch.hpp), forced with ConvPath::winograd_batch
// or chosen automatically on small images: forward against the seven-loop definition (double),
// backward against finite differences (double) and against the GEMM path, float agreement with the
// GEMM path on bottleneck-like layers, each transform's adjoint, the automatic choice, and
// thread-count independence.
#include <catch2/catch.hpp>

#include <array>
#include <vector>

#include "maunet/autograd/ops/activation.hpp"
#include "maunet/autograd/ops/conv2d.hpp"
#include "maunet/autograd/ops/winograd_batch.hpp"
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
using maunet::testing::naive_conv3x3;
using maunet::testing::random;

namespace {

struct Case {
    Index batch, c_in, c_out, h, w;
};
// Even and odd heights and widths (a last tile half outside the image), 1 x 1 and 1 x 2 images,
// one channel, batch 1 to 3, an image of 17 pixels (wider than the automatic choice takes).
const std::vector<Case> cases = {{1, 1, 1, 2, 2}, {3, 2, 5, 7, 9}, {2, 3, 4, 6, 5}, {1, 5, 7, 8, 8},
                                 {2, 1, 3, 1, 1}, {1, 2, 2, 1, 2}, {2, 9, 6, 4, 3}, {1, 3, 2, 17, 5}};

}  // namespace

TEST_CASE("batch winograd applies to 3x3, stride 1, padding 1 on small images of a large enough batch",
          "[ops][winograd_batch]") {
    ConvPathGuard guard(ConvPath::automatic);
    CHECK(detail::batch_winograd_applies(3, 3, 1, 1, 8, 8, 512, 512, 8));  // 128 tiles
    CHECK(detail::batch_winograd_applies(3, 3, 1, 1, 8, 8, 64, 64, 4));    // 64 tiles
    CHECK(detail::batch_winograd_applies(3, 3, 1, 1, 15, 40, 64, 64, 1));
    CHECK_FALSE(detail::batch_winograd_applies(3, 3, 1, 1, 8, 8, 512, 512, 2));  // 32 tiles: GEMM
    CHECK_FALSE(detail::batch_winograd_applies(3, 3, 1, 1, 8, 8, 512, 512, 1));
    CHECK_FALSE(detail::batch_winograd_applies(3, 3, 1, 1, 16, 16, 512, 512, 8));  // per-image Winograd
    CHECK(detail::batch_winograd_applies(3, 3, 1, 1, 8, 8, 32, 32, 8));
    CHECK_FALSE(detail::batch_winograd_applies(3, 3, 1, 1, 8, 8, 16, 512, 8));  // few channels
    CHECK_FALSE(detail::batch_winograd_applies(3, 3, 1, 1, 8, 8, 512, 16, 8));
    CHECK_FALSE(detail::batch_winograd_applies(3, 3, 1, 0, 8, 8, 512, 512, 8));
    CHECK_FALSE(detail::batch_winograd_applies(3, 3, 2, 1, 8, 8, 512, 512, 8));
    CHECK_FALSE(detail::batch_winograd_applies(5, 5, 1, 1, 8, 8, 512, 512, 8));
    detail::conv_path() = ConvPath::winograd_batch;
    CHECK(detail::batch_winograd_applies(3, 3, 1, 1, 1, 1, 1, 1, 1));
    CHECK(detail::batch_winograd_applies(3, 3, 1, 1, 64, 64, 8, 8, 2));
    CHECK_FALSE(detail::batch_winograd_applies(3, 3, 1, 0, 8, 8, 8, 8, 8));
    for (ConvPath other : {ConvPath::gemm, ConvPath::direct, ConvPath::winograd}) {
        detail::conv_path() = other;
        CHECK_FALSE(detail::batch_winograd_applies(3, 3, 1, 1, 8, 8, 512, 512, 8));
    }
    // The per-image Winograd and the direct kernels stand aside when this path is forced.
    detail::conv_path() = ConvPath::winograd_batch;
    CHECK_FALSE(detail::direct_conv_applies(3, 3, 1, 1, 8, 8));
}

TEST_CASE("batch winograd conv2d forward matches the seven-loop definition", "[ops][winograd_batch]") {
    ConvPathGuard guard(ConvPath::winograd_batch);
    std::uint64_t seed = 40;
    for (const Case& t : cases) {
        const Tensor<double> x = random<double>(Shape{t.batch, t.c_in, t.h, t.w}, ++seed);
        const Tensor<double> w = random<double>(Shape{t.c_out, t.c_in, 3, 3}, ++seed);
        const Tensor<double> b = random<double>(Shape{t.c_out}, ++seed);
        INFO("x " << x.shape() << ", w " << w.shape());
        const Tensor<double> y = conv2d(Var<double>(x), Var<double>(w), Var<double>(b), Conv2dOptions{1, 1}).value();
        CHECK(max_abs_diff(y, naive_conv3x3(x, w, b)) < 1e-12);
        const Tensor<double> fused = conv2d_relu(Var<double>(x), Var<double>(w), Var<double>(b), Conv2dOptions{1, 1}).value();
        CHECK(max_abs_diff(fused, relu(Var<double>(y)).value()) == 0.0);
    }
}

TEST_CASE("batch winograd conv2d backward matches finite differences and the GEMM path", "[ops][winograd_batch][gradcheck]") {
    using V = std::vector<Var<double>>;
    std::uint64_t seed = 70;
    for (const Case& t : cases) {
        const Tensor<double> x = random<double>(Shape{t.batch, t.c_in, t.h, t.w}, ++seed);
        const Tensor<double> w = random<double>(Shape{t.c_out, t.c_in, 3, 3}, ++seed);
        const Tensor<double> b = random<double>(Shape{t.c_out}, ++seed);
        const Tensor<double> g = random<double>(Shape{t.batch, t.c_out, t.h, t.w}, ++seed);
        INFO("x " << x.shape() << ", w " << w.shape());
        std::array<Tensor<double>, 4> batch, plain;
        {
            ConvPathGuard guard(ConvPath::winograd_batch);
            auto report = gradcheck([](const V& v) { return conv2d(v[0], v[1], v[2], Conv2dOptions{1, 1}); }, {x, w, b});
            INFO(report.summary);
            CHECK(report.max_error() < 1e-6);
            auto relu_report =
                gradcheck([](const V& v) { return conv2d_relu(v[0], v[1], v[2], Conv2dOptions{1, 1}); }, {x, w, b});
            INFO(relu_report.summary);
            CHECK(relu_report.max_error() < 1e-6);
            batch = conv2d_outputs(x, w, b, g);
        }
        {
            ConvPathGuard guard(ConvPath::gemm);
            plain = conv2d_outputs(x, w, b, g);
        }
        for (std::size_t k = 0; k < 4; ++k) {
            INFO("output " << k << " (y, dx, dw, db)");
            CHECK(max_abs_diff(batch[k], plain[k]) < 1e-12);
        }
    }
}

TEST_CASE("batch winograd: each transform's adjoint is its transpose", "[ops][winograd_batch]") {
    // <T a, b> = <a, T' b> for the pairs the backward pass uses: the output transform and dM, the
    // weight transform and the dW step, on an image whose last tiles are half outside it.
    const Index N = 2, C = 3, H = 5, W = 3;
    const detail::BatchTiles p = detail::batch_tiles(N, H, W);
    REQUIRE(p.total == N * 3 * 2);
    const Tensor<double> m = random<double>(Shape{16, C, p.total}, 1), g = random<double>(Shape{N, C, H, W}, 2);
    Tensor<double> y(Shape{N, C, H, W}), dm(Shape{16, C, p.total});
    detail::batch_winograd_output(m.data(), C, p, static_cast<const double*>(nullptr), detail::Store::overwrite,
                                  y.data());
    detail::batch_winograd_output_grad(g.data(), C, p, dm.data());
    CHECK(std::abs(y.array().cwiseProduct(g.array()).sum() - m.array().cwiseProduct(dm.array()).sum()) < 1e-12);

    const Tensor<double> w = random<double>(Shape{C, 2, 3, 3}, 3), du = random<double>(Shape{16, C, 2}, 4);
    Tensor<double> u(Shape{16, C, 2}), dw(Shape{C, 2, 3, 3});
    detail::batch_winograd_weights(w.data(), C, 2, u.data());
    detail::batch_winograd_weight_adjoint(du.data(), C, 2, dw.data());
    CHECK(std::abs(u.array().cwiseProduct(du.array()).sum() - w.array().cwiseProduct(dw.array()).sum()) < 1e-12);
}

TEST_CASE("batch winograd conv2d in float agrees with the GEMM path to 1e-5 relative", "[ops][winograd_batch]") {
    // Bottleneck-like layers: 128 -> 96 at 8 x 8, batch 8 (the automatic choice), and 64 -> 72 at
    // 7 x 5, batch 3 (odd edges).
    struct Layer {
        Index batch, c_in, c_out, h, w;
    };
    std::uint64_t seed = 90;
    for (const Layer l : {Layer{8, 128, 96, 8, 8}, Layer{3, 64, 72, 7, 5}}) {
        const Tensor<float> x = random<float>(Shape{l.batch, l.c_in, l.h, l.w}, ++seed);
        const Tensor<float> w = random<float>(Shape{l.c_out, l.c_in, 3, 3}, ++seed);
        const Tensor<float> b = random<float>(Shape{l.c_out}, ++seed);
        const Tensor<float> g = random<float>(Shape{l.batch, l.c_out, l.h, l.w}, ++seed);
        auto run = [&](ConvPath path) {
            ConvPathGuard guard(path);
            return conv2d_outputs(x, w, b, g);
        };
        const auto batch = run(ConvPath::winograd_batch), plain = run(ConvPath::gemm);
        for (std::size_t i = 0; i < 4; ++i) {
            const double scale = std::max(1.0, static_cast<double>(plain[i].array().abs().maxCoeff()));
            INFO("layer " << l.c_in << " -> " << l.c_out << " at " << l.h << " x " << l.w << ", output " << i);
            CHECK(max_abs_diff(batch[i], plain[i]) / scale < 1e-5);
        }
    }
}

TEST_CASE("conv2d takes the batch's Winograd on small images by itself", "[ops][winograd_batch]") {
    // 64 -> 64 at 8 x 8, batch 4 (64 tiles): automatic gives the forced path's bits, and not the
    // GEMM path's (they round differently); batch 2 stays on the GEMM path.
    for (Index batch : {Index(4), Index(2)}) {
        const Tensor<float> x = random<float>(Shape{batch, 64, 8, 8}, 11), w = random<float>(Shape{64, 64, 3, 3}, 12);
        const Tensor<float> b = random<float>(Shape{64}, 13), g = random<float>(Shape{batch, 64, 8, 8}, 14);
        auto run = [&](ConvPath path) {
            ConvPathGuard guard(path);
            return conv2d_outputs(x, w, b, g);
        };
        const auto automatic = run(ConvPath::automatic), forced = run(ConvPath::winograd_batch),
                   plain = run(ConvPath::gemm);
        const auto& same = batch == 4 ? forced : plain;
        const auto& other = batch == 4 ? plain : forced;
        INFO("batch " << batch);
        for (std::size_t i = 0; i < 3; ++i) {
            CHECK(max_abs_diff(automatic[i], same[i]) == 0.0);
            CHECK(max_abs_diff(automatic[i], other[i]) > 0.0);
        }
    }
}

TEST_CASE("batch winograd conv2d: y, dx, dW and db bit-identical for any thread count", "[ops][winograd_batch][threads]") {
    // Each of the 16 products is one GEMM on one thread, each transform value is made by one item:
    // no sum depends on the partition.
    ConvPathGuard guard(ConvPath::winograd_batch);
    const Tensor<float> x = random<float>(Shape{3, 70, 7, 6}, 5), w = random<float>(Shape{66, 70, 3, 3}, 6);
    const Tensor<float> b = random<float>(Shape{66}, 7), g = random<float>(Shape{3, 66, 7, 6}, 8);
    const auto one = conv2d_outputs_on(1, x, w, b, g), two = conv2d_outputs_on(2, x, w, b, g),
               three = conv2d_outputs_on(3, x, w, b, g);
    for (std::size_t i = 0; i < 4; ++i) {
        INFO("output " << i << " (y, dx, dw, db)");
        CHECK(max_abs_diff(one[i], two[i]) == 0.0);
        CHECK(max_abs_diff(one[i], three[i]) == 0.0);
    }
}
