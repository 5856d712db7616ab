// Winograd path of conv2d (winograd.hpp), forced with ConvPath::winograd, each test run with
// F(2x2, 3x3) and with F(4x4, 3x3) (WinogradTileGuard): forward against the seven-loop definition
// (double), backward against finite differences (double), float agreement with the GEMM path on
// U-Net-like layers, thread-count independence, and blocks that start inside a tile row.
#include <catch2/catch.hpp>

#include <array>
#include <vector>

#include "maunet/autograd/ops/conv2d.hpp"
#include "maunet/autograd/ops/winograd_weight_grad.hpp"
#include "support/conv_outputs.hpp"
#include "support/gradcheck.hpp"
#include "support/random_tensor.hpp"

using namespace maunet;
using maunet::detail::ConvPath;
using maunet::testing::conv2d_outputs;
using maunet::testing::ConvPathGuard;
using maunet::testing::WinogradTileGuard;
using maunet::testing::gradcheck;
using maunet::testing::max_abs_diff;
using maunet::testing::naive_conv3x3;

namespace {

using maunet::testing::random;

struct Case {
    Index batch, c_in, c_out, h, w;
};
// Odd and even sizes (partial tiles at the edges: every remainder of 4 in height and in width), 1x1
// and 2x3 images, channel counts off the 6-channel block, batch > 1.
// The last two span several panels and blocks, with a tile row that ends inside a vector (35 and
// 19 tiles: the slots past them are computed on zeros and dropped).
const std::vector<Case> cases = {{1, 1, 1, 4, 4},   {3, 2, 5, 7, 9},  {2, 3, 4, 6, 5},  {1, 5, 7, 11, 13},
                                 {2, 1, 3, 1, 1},   {1, 2, 2, 2, 3},  {2, 9, 6, 10, 8}, {1, 35, 3, 5, 6},
                                 {1, 3, 5, 17, 70}, {2, 2, 9, 40, 37}};

}  // namespace

TEST_CASE("winograd conv2d applies to 3x3, stride 1, padding 1", "[ops][winograd]") {
    ConvPathGuard guard(ConvPath::automatic);
    CHECK(detail::winograd_applies(3, 3, 1, 1, 16, 16, 8, 8));  // automatic: 16 x 16 and more, 8+ channels
    CHECK(detail::winograd_applies(3, 3, 1, 1, 128, 128, 64, 32));
    CHECK_FALSE(detail::winograd_applies(3, 3, 1, 1, 8, 8, 64, 64));  // small images: the GEMM path
    CHECK_FALSE(detail::winograd_applies(3, 3, 1, 1, 15, 64, 64, 64));
    CHECK_FALSE(detail::winograd_applies(3, 3, 1, 1, 128, 128, 1, 32));  // one input channel: direct
    CHECK_FALSE(detail::winograd_applies(3, 3, 1, 1, 128, 128, 32, 4));
    CHECK_FALSE(detail::winograd_applies(3, 3, 1, 0, 128, 128, 32, 32));
    CHECK_FALSE(detail::winograd_applies(3, 3, 2, 1, 128, 128, 32, 32));
    CHECK_FALSE(detail::winograd_applies(5, 5, 1, 1, 128, 128, 32, 32));
    detail::conv_path() = ConvPath::winograd;
    CHECK(detail::winograd_applies(3, 3, 1, 1, 2, 2, 1, 1));
    detail::conv_path() = ConvPath::direct;
    CHECK_FALSE(detail::winograd_applies(3, 3, 1, 1, 128, 128, 32, 32));
}

TEST_CASE("winograd F(4x4, 3x3) is taken on images 32 pixels wide and more", "[ops][winograd]") {
    CHECK(detail::winograd_f4_pays(32, 32, 128));
    CHECK(detail::winograd_f4_pays(64, 64, 64));
    CHECK(detail::winograd_f4_pays(128, 64, 32));
    CHECK(detail::winograd_f4_pays(16, 16, 32));
    CHECK_FALSE(detail::winograd_f4_pays(256, 256, 16));
    CHECK_FALSE(detail::winograd_f4_pays(256, 256, 31));
    CHECK_FALSE(detail::winograd_f4_pays(8, 32, 128));  // few channels
    CHECK_FALSE(detail::winograd_f4_pays(32, 8, 128));

    // conv2d takes the tile the rule says: bit for bit the forced tile's results.
    ConvPathGuard guard(ConvPath::winograd);
    struct Layer {
        Index batch, c, size;
        int tile;
    };
    for (const Layer l : {Layer{1, 32, 64, 4}, Layer{2, 16, 32, 4}, Layer{1, 8, 32, 2}, Layer{2, 32, 16, 2}}) {
        const Tensor<float> x = random<float>(Shape{l.batch, l.c, l.size, l.size}, 11);
        const Tensor<float> w = random<float>(Shape{l.c, l.c, 3, 3}, 12), b = random<float>(Shape{l.c}, 13);
        const Tensor<float> seed_grad = random<float>(Shape{l.batch, l.c, l.size, l.size}, 14);
        auto run = [&](int tile) {
            WinogradTileGuard tile_guard(tile);
            return conv2d_outputs(x, w, b, seed_grad);
        };
        const auto automatic = run(0), forced = run(l.tile), other = run(6 - l.tile);
        INFO("batch " << l.batch << ", " << l.c << " channels, " << l.size << " x " << l.size);
        CHECK(max_abs_diff(automatic[0], forced[0]) == 0.0);
        CHECK(max_abs_diff(automatic[1], forced[1]) == 0.0);
        CHECK(max_abs_diff(automatic[0], other[0]) > 0.0);  // the two tiles round differently
    }
}

TEST_CASE("winograd conv2d forward matches the seven-loop definition", "[ops][winograd]") {
    ConvPathGuard guard(ConvPath::winograd);
    const int tile = GENERATE(2, 4);
    WinogradTileGuard tile_guard(tile);
    std::uint64_t seed = 40;
    for (const Case& t : cases) {
        const Tensor<double> x = random<double>(Shape{t.batch, t.c_in, t.h, t.w}, ++seed);
        const Tensor<double> w = random<double>(Shape{t.c_out, t.c_in, 3, 3}, ++seed);
        const Tensor<double> b = random<double>(Shape{t.c_out}, ++seed);
        INFO("F(" << tile << "x" << tile << ", 3x3), x " << x.shape() << ", w " << w.shape());
        const Tensor<double> y = conv2d(Var<double>(x), Var<double>(w), Var<double>(b), Conv2dOptions{1, 1}).value();
        CHECK(max_abs_diff(y, naive_conv3x3(x, w, b)) < 1e-12);
    }
}

TEST_CASE("winograd conv2d backward matches finite differences", "[ops][winograd][gradcheck]") {
    using V = std::vector<Var<double>>;
    ConvPathGuard guard(ConvPath::winograd);
    const int tile = GENERATE(2, 4);
    WinogradTileGuard tile_guard(tile);
    std::uint64_t seed = 70;
    for (const Case& t : cases) {
        const Tensor<double> x = random<double>(Shape{t.batch, t.c_in, t.h, t.w}, ++seed);
        const Tensor<double> w = random<double>(Shape{t.c_out, t.c_in, 3, 3}, ++seed);
        const Tensor<double> b = random<double>(Shape{t.c_out}, ++seed);
        auto report = gradcheck([](const V& v) { return conv2d(v[0], v[1], v[2], Conv2dOptions{1, 1}); }, {x, w, b});
        INFO("F(" << tile << "x" << tile << ", 3x3), x " << x.shape() << ", w " << w.shape() << "\n"
                  << report.summary);
        CHECK(report.max_error() < 1e-6);
    }
}

TEST_CASE("winograd conv2d in float agrees with the GEMM path: 1e-5 relative in F(2x2), 4e-5 in F(4x4)",
          "[ops][winograd]") {
    // U-Net-like layers: 32 -> 32 at 64 x 64 and 128 -> 64 at 33 x 31 (odd edges), batch 2. The
    // transforms of F(4x4, 3x3) multiply by up to 8 and divide by 6 and 24 (winograd.hpp), so its
    // float rounding is about 10x that of F(2x2) (measured 5e-6 to 1e-5 here, 3e-7 to 5e-7 in
    // F(2x2)); in double both stay at 1e-14 (the tests above).
    const int tile = GENERATE(2, 4);
    const double bound = tile == 2 ? 1e-5 : 4e-5;
    const std::vector<std::array<Index, 4>> layers = {{32, 32, 64, 64}, {128, 64, 33, 31}};
    std::uint64_t seed = 90;
    for (const auto& l : layers) {
        const Tensor<float> x = random<float>(Shape{2, l[0], l[2], l[3]}, ++seed);
        const Tensor<float> w = random<float>(Shape{l[1], l[0], 3, 3}, ++seed);
        const Tensor<float> b = random<float>(Shape{l[1]}, ++seed);
        const Tensor<float> seed_grad = random<float>(Shape{2, l[1], l[2], l[3]}, ++seed);
        auto run = [&](ConvPath path) {
            ConvPathGuard guard(path);
            WinogradTileGuard tile_guard(tile);
            return conv2d_outputs(x, w, b, seed_grad);
        };
        const auto wino = run(ConvPath::winograd), plain = run(ConvPath::gemm);
        for (std::size_t i = 0; i < 4; ++i) {
            const double scale = std::max(1.0, static_cast<double>(plain[i].array().abs().maxCoeff()));
            INFO("F(" << tile << "x" << tile << ", 3x3), layer " << l[0] << " -> " << l[1] << ", output " << i);
            CHECK(max_abs_diff(wino[i], plain[i]) / scale < bound);
        }
    }
}

TEST_CASE("winograd conv2d: y, dx and db bit-identical for any thread count, dW for a fixed one",
          "[ops][winograd][threads]") {
    // Items are handed out dynamically: one block per image (6 -> 7 channels), and several blocks
    // per image with transform and product items of unequal cost (64 -> 48 channels). The weight
    // gradient on T threads sums T slices of the batch apart and then in order: the same bits run
    // after run on T threads, another rounding on another T.
    ConvPathGuard guard(ConvPath::winograd);
    const int tile = GENERATE(2, 4);
    WinogradTileGuard tile_guard(tile);
    const std::vector<std::array<Index, 4>> layers = {{6, 7, 21, 18}, {64, 48, 30, 22}};
    std::uint64_t seed = 5;
    for (const auto& l : layers) {
        const Tensor<float> x = random<float>(Shape{2, l[0], l[2], l[3]}, ++seed);
        const Tensor<float> w = random<float>(Shape{l[1], l[0], 3, 3}, ++seed);
        const Tensor<float> b = random<float>(Shape{l[1]}, ++seed);
        const Tensor<float> seed_grad = random<float>(Shape{2, l[1], l[2], l[3]}, ++seed);
        const int before = num_threads();
        auto run = [&](int threads) {
            set_num_threads(threads);
            return conv2d_outputs(x, w, b, seed_grad);
        };
        const auto one = run(1), two = run(2), three = run(3), two_again = run(2), three_again = run(3);
        set_num_threads(before);
        INFO("F(" << tile << "x" << tile << ", 3x3), layer " << l[0] << " -> " << l[1]);
        for (std::size_t i : {0, 1, 3}) {
            CHECK(max_abs_diff(one[i], two[i]) == 0.0);
            CHECK(max_abs_diff(one[i], three[i]) == 0.0);
        }
        CHECK(max_abs_diff(two[2], two_again[2]) == 0.0);
        CHECK(max_abs_diff(three[2], three_again[2]) == 0.0);
        const double scale = std::max(1.0, static_cast<double>(one[2].array().abs().maxCoeff()));
        CHECK(max_abs_diff(one[2], two[2]) / scale < 1e-5);
        CHECK(max_abs_diff(one[2], three[2]) / scale < 1e-5);
    }
}

TEST_CASE("winograd conv2d is exact across blocks that start inside a tile row", "[ops][winograd]") {
    // 64 channels in and out on 30 x 22: several blocks of panels per image, each copying the
    // padded input rows it reads itself; in AVX2 double a block starts at tile row 5, column 4 in
    // F(2x2), and F(4x4) has 2 blocks per image. Forward against the seven-loop sum; dx and dW
    // against the GEMM path, in double.
    const int tile = GENERATE(2, 4);
    const Tensor<double> x = random<double>(Shape{2, 64, 30, 22}, 501), w = random<double>(Shape{64, 64, 3, 3}, 502);
    const Tensor<double> b = random<double>(Shape{64}, 503), seed_grad = random<double>(Shape{2, 64, 30, 22}, 504);
    auto run = [&](ConvPath path) {
        ConvPathGuard guard(path);
        WinogradTileGuard tile_guard(tile);
        return conv2d_outputs(x, w, b, seed_grad);
    };
    const auto wino = run(ConvPath::winograd), gemm = run(ConvPath::gemm);
    INFO("F(" << tile << "x" << tile << ", 3x3)");
    CHECK(max_abs_diff(wino[0], naive_conv3x3(x, w, b)) < 1e-11);
    CHECK(max_abs_diff(wino[1], gemm[1]) < 1e-11);
    CHECK(max_abs_diff(wino[2], gemm[2]) < 1e-10);
}

TEST_CASE("winograd weight gradient matches the seven-loop sum for any chunk length", "[ops][winograd]") {
    // dw[k,c,u,v] = sum_{n,i,j} g[n,k,i,j] x[n,c,i+u-1,j+v-1]; chunks of 1 vector of tiles up to
    // the whole batch, so chunk ends fall inside tile rows, at image ends and past the last tile;
    // one shared sum and 2 or 3 slices summed apart (slice ends inside images and tile rows).
    std::uint64_t seed = 300;
    for (const Case& t : cases) {
        const Tensor<double> x = random<double>(Shape{t.batch, t.c_in, t.h, t.w}, ++seed);
        const Tensor<double> g = random<double>(Shape{t.batch, t.c_out, t.h, t.w}, ++seed);
        Tensor<double> expected(Shape{t.c_out, t.c_in, 3, 3});
        for (Index n = 0; n < t.batch; ++n)
            for (Index k = 0; k < t.c_out; ++k)
                for (Index c = 0; c < t.c_in; ++c)
                    for (Index u = 0; u < 3; ++u)
                        for (Index v = 0; v < 3; ++v)
                            for (Index i = 0; i < t.h; ++i)
                                for (Index j = 0; j < t.w; ++j) {
                                    const Index h = i + u - 1, w = j + v - 1;
                                    if (h >= 0 && h < t.h && w >= 0 && w < t.w)
                                        expected(k, c, u, v) += g(n, k, i, j) * x(n, c, h, w);
                                }
        Tensor<double> shifted = expected;
        for (double& e : shifted) e += 0.5;
        for (Index chunk : {Index(1), Index(12), Index(100), Index(0)})
            for (Index slices : {Index(1), Index(2), Index(3), Index(0)}) {
                Tensor<double> dw(Shape{t.c_out, t.c_in, 3, 3}, 0.5);  // the gradient is added
                detail::winograd_weight_grad3x3(x.data(), t.batch, t.c_in, t.h, t.w, g.data(), t.c_out, dw.data(),
                                                detail::WinogradGradSplit{chunk, slices});
                INFO("x " << x.shape() << ", chunk " << chunk << ", slices " << slices);
                CHECK(max_abs_diff(dw, shifted) < 1e-12);
            }
    }
}
