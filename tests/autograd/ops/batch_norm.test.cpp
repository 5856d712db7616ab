#include <catch2/catch.hpp>

#include <cmath>

#include "maunet/autograd/ops/batch_norm.hpp"
#include "support/gradcheck.hpp"
#include "support/random_tensor.hpp"

using namespace maunet;
using maunet::testing::gradcheck;
using maunet::testing::max_abs_diff;

namespace {
using maunet::testing::random;
using V = std::vector<Var<double>>;

struct NaiveStats {
    std::vector<double> mean, biased_var;
};
// Per-channel mean and biased variance with plain nested loops.
NaiveStats naive_stats(const Tensor<double>& x) {
    const Index N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
    NaiveStats s;
    for (Index c = 0; c < C; ++c) {
        double sum = 0;
        for (Index n = 0; n < N; ++n)
            for (Index h = 0; h < H; ++h)
                for (Index w = 0; w < W; ++w) sum += x(n, c, h, w);
        const double m = sum / static_cast<double>(N * H * W);
        double ss = 0;
        for (Index n = 0; n < N; ++n)
            for (Index h = 0; h < H; ++h)
                for (Index w = 0; w < W; ++w) ss += (x(n, c, h, w) - m) * (x(n, c, h, w) - m);
        s.mean.push_back(m);
        s.biased_var.push_back(ss / static_cast<double>(N * H * W));
    }
    return s;
}
// y = gamma (x - mean) / sqrt(var + eps) + beta with the given per-channel statistics.
Tensor<double> naive_normalize(const Tensor<double>& x, const std::vector<double>& mean,
                               const std::vector<double>& var, const Tensor<double>& gamma,
                               const Tensor<double>& beta, double eps) {
    Tensor<double> y(x.shape());
    for (Index n = 0; n < x.dim(0); ++n)
        for (Index c = 0; c < x.dim(1); ++c)
            for (Index h = 0; h < x.dim(2); ++h)
                for (Index w = 0; w < x.dim(3); ++w) {
                    const auto uc = static_cast<std::size_t>(c);
                    y(n, c, h, w) = gamma(c) * (x(n, c, h, w) - mean[uc]) / std::sqrt(var[uc] + eps) + beta(c);
                }
    return y;
}
}  // namespace

TEST_CASE("batch_norm2d training forward and running statistics", "[ops][batch_norm]") {
    for (const Shape& shape : {Shape{2, 3, 4, 5}, Shape{3, 2, 3, 5}, Shape{1, 4, 1, 3}}) {
        INFO("shape " << shape);
        const Index C = shape[1];
        const double M = static_cast<double>(shape[0] * shape[2] * shape[3]);
        const Tensor<double> x = random(shape, 1, -2.0, 3.0);
        const Tensor<double> gamma = random(Shape{C}, 2, 0.5, 1.5), beta = random(Shape{C}, 3);
        BatchNormState<double> state;
        const Tensor<double> y = batch_norm2d(Var<double>(x), Var<double>(gamma), Var<double>(beta), state, true).value();
        const NaiveStats s = naive_stats(x);
        CHECK(max_abs_diff(y, naive_normalize(x, s.mean, s.biased_var, gamma, beta, 1e-5)) < 1e-12);
        // Running statistics start at 0 and 1 and move by momentum 0.1 toward the batch's,
        // the variance unbiased.
        REQUIRE(state.running_mean.shape() == Shape{C});
        REQUIRE(state.running_var.shape() == Shape{C});
        for (Index c = 0; c < C; ++c) {
            const auto uc = static_cast<std::size_t>(c);
            CHECK(state.running_mean(c) == Approx(0.1 * s.mean[uc]).epsilon(1e-13));
            CHECK(state.running_var(c) == Approx(0.9 + 0.1 * s.biased_var[uc] * M / (M - 1)).epsilon(1e-13));
        }
        // A second batch composes the update.
        const Tensor<double> x2 = random(shape, 4, 0.0, 5.0);
        const Tensor<double> previous_mean = state.running_mean, previous_var = state.running_var;
        state.momentum = 0.25;
        batch_norm2d(Var<double>(x2), Var<double>(gamma), Var<double>(beta), state, true);
        const NaiveStats s2 = naive_stats(x2);
        for (Index c = 0; c < C; ++c) {
            const auto uc = static_cast<std::size_t>(c);
            CHECK(state.running_mean(c) == Approx(0.75 * previous_mean(c) + 0.25 * s2.mean[uc]).epsilon(1e-13));
            CHECK(state.running_var(c) ==
                  Approx(0.75 * previous_var(c) + 0.25 * s2.biased_var[uc] * M / (M - 1)).epsilon(1e-13));
        }
    }
}

TEST_CASE("batch_norm2d normalizes each channel to mean 0 and variance 1", "[ops][batch_norm]") {
    const Tensor<float> x = random(Shape{4, 3, 6, 7}, 8, 10.0, 20.0).cast<float>();
    BatchNormState<float> state;
    const Tensor<float> y = batch_norm2d(Var<float>(x), Var<float>(Tensor<float>::ones(Shape{3})),
                                         Var<float>(Tensor<float>::zeros(Shape{3})), state, true)
                                .value();
    const NaiveStats s = naive_stats(y.cast<double>());
    for (std::size_t c = 0; c < 3; ++c) {
        CHECK(std::abs(s.mean[c]) < 1e-5);
        CHECK(s.biased_var[c] == Approx(1.0).epsilon(1e-3));
    }
}

TEST_CASE("batch_norm2d eval uses the running statistics and leaves them alone", "[ops][batch_norm]") {
    const Tensor<double> x = random(Shape{2, 3, 3, 4}, 5);
    const Tensor<double> gamma = random(Shape{3}, 6, 0.5, 1.5), beta = random(Shape{3}, 7);
    BatchNormState<double> state;
    state.running_mean = Tensor<double>(Shape{3}, {0.5, -0.25, 2.0});
    state.running_var = Tensor<double>(Shape{3}, {1.5, 0.25, 4.0});
    state.eps = 1e-3;
    const Tensor<double> y = batch_norm2d(Var<double>(x), Var<double>(gamma), Var<double>(beta), state, false).value();
    const Tensor<double> expected =
        naive_normalize(x, {0.5, -0.25, 2.0}, {1.5, 0.25, 4.0}, gamma, beta, 1e-3);
    CHECK(max_abs_diff(y, expected) < 1e-13);
    CHECK(state.running_mean(2) == 2.0);
    CHECK(state.running_var(1) == 0.25);
    // Eval works with a single value per channel.
    const Tensor<double> one = random(Shape{1, 3, 1, 1}, 9);
    CHECK(batch_norm2d(Var<double>(one), Var<double>(gamma), Var<double>(beta), state, false).shape() ==
          Shape{1, 3, 1, 1});
}

TEST_CASE("batch_norm2d updates running statistics under NoGradGuard", "[ops][batch_norm]") {
    BatchNormState<float> state;
    const Var<float> x(Tensor<float>(Shape{2, 1, 1, 2}, {1, 2, 3, 6}));
    {
        NoGradGuard no_grad;
        batch_norm2d(x, Var<float>(Tensor<float>::ones(Shape{1})), Var<float>(Tensor<float>::zeros(Shape{1})), state,
                     true);
    }
    // mean 3, unbiased variance (4 + 1 + 0 + 9) / 3 = 14 / 3.
    CHECK(state.running_mean(0) == Approx(0.3f));
    CHECK(state.running_var(0) == Approx(0.9f + 0.1f * 14.0f / 3.0f));
}

TEST_CASE("batch_norm2d backward matches finite differences", "[ops][batch_norm][gradcheck]") {
    const std::vector<Shape> shapes = {Shape{2, 3, 4, 5}, Shape{3, 2, 3, 3}, Shape{1, 1, 2, 3}, Shape{4, 3, 1, 1}};
    for (const auto& shape : shapes) {
        const Index C = shape[1];
        const auto x = random(shape, 10, -2.0, 2.0);
        const auto gamma = random(Shape{C}, 11, 0.5, 1.5), beta = random(Shape{C}, 12);
        {
            INFO("training, shape " << shape);
            auto r = gradcheck(
                [](const V& v) {
                    BatchNormState<double> state;
                    return batch_norm2d(v[0], v[1], v[2], state, true);
                },
                {x, gamma, beta});
            INFO(r.summary);
            CHECK(r.max_error() < 1e-6);
        }
        {
            INFO("eval, shape " << shape);
            BatchNormState<double> fixed;
            fixed.running_mean = random(Shape{C}, 13);
            fixed.running_var = random(Shape{C}, 14, 0.2, 2.0);
            auto r = gradcheck(
                [fixed](const V& v) {
                    BatchNormState<double> state = fixed;
                    return batch_norm2d(v[0], v[1], v[2], state, false);
                },
                {x, gamma, beta});
            INFO(r.summary);
            CHECK(r.max_error() < 1e-6);
        }
    }
    // Only x requires a gradient: gamma and beta are skipped.
    auto r = gradcheck(
        [](const V& v) {
            BatchNormState<double> state;
            return batch_norm2d(v[0], v[1], v[2], state, true);
        },
        {random(Shape{2, 2, 3, 3}, 15), random(Shape{2}, 16, 0.5, 1.5), random(Shape{2}, 17)}, 1, 1e-6,
        {true, false, false});
    CHECK(r.max_error() < 1e-6);
}

TEST_CASE("batch_norm2d errors", "[ops][batch_norm][errors]") {
    const Var<float> x(Tensor<float>(Shape{2, 3, 4, 4}));
    const Var<float> g3(Tensor<float>::ones(Shape{3})), b3(Tensor<float>(Shape{3}));
    const Var<float> g2(Tensor<float>::ones(Shape{2}));
    BatchNormState<float> state;
    CHECK_THROWS_AS(batch_norm2d(Var<float>(Tensor<float>(Shape{3, 4, 4})), g3, b3, state, true), ShapeError);
    CHECK_THROWS_WITH(batch_norm2d(Var<float>(Tensor<float>(Shape{3, 4, 4})), g3, b3, state, true),
                      Catch::Contains("batch_norm2d: input [3, 4, 4] must be an NCHW tensor of rank 4"));
    CHECK_THROWS_WITH(batch_norm2d(x, g2, b3, state, true),
                      Catch::Contains("batch_norm2d: gamma [2] does not match the 3 channels of input [2, 3, 4, 4]"));
    CHECK_THROWS_WITH(batch_norm2d(x, g3, g2, state, true), Catch::Contains("batch_norm2d: beta [2]"));
    {
        BatchNormState<float> bad;
        bad.running_mean = Tensor<float>(Shape{2});
        bad.running_var = Tensor<float>(Shape{2});
        CHECK_THROWS_AS(batch_norm2d(x, g3, b3, bad, true), ShapeError);
        CHECK_THROWS_WITH(batch_norm2d(x, g3, b3, bad, false), Catch::Contains("batch_norm2d: running_mean [2]"));
    }
    {
        BatchNormState<float> bad;
        bad.momentum = 1.5f;
        CHECK_THROWS_AS(batch_norm2d(x, g3, b3, bad, true), ArgumentError);
        CHECK_THROWS_WITH(batch_norm2d(x, g3, b3, bad, true), Catch::Contains("momentum must be in [0, 1], got 1.5"));
    }
    {
        BatchNormState<float> bad;
        bad.eps = 0;
        CHECK_THROWS_WITH(batch_norm2d(x, g3, b3, bad, true), Catch::Contains("eps must be > 0, got 0"));
    }
    {
        BatchNormState<float> bad;
        bad.running_mean = Tensor<float>(Shape{3});
        bad.running_var = Tensor<float>(Shape{3}, {1.0f, -1.0f, 1.0f});
        CHECK_THROWS_WITH(batch_norm2d(x, g3, b3, bad, false),
                          Catch::Contains("running_var must be >= 0, found -1 for channel 1"));
    }
    CHECK_THROWS_AS(batch_norm2d(Var<float>(Tensor<float>(Shape{1, 3, 1, 1})), g3, b3, state, true), ArgumentError);
    CHECK_THROWS_WITH(batch_norm2d(Var<float>(Tensor<float>(Shape{1, 3, 1, 1})), g3, b3, state, true),
                      Catch::Contains("training needs more than one value per channel"));
}

TEST_CASE("batch_norm2d gives the same bits for any thread count", "[ops][batch_norm]") {
    const Tensor<double> x = random(Shape{3, 5, 6, 7}, 20);
    const Tensor<double> gamma = random(Shape{5}, 21, 0.5, 1.5), beta = random(Shape{5}, 22);
    auto run = [&](int threads, Tensor<double>& y, Tensor<double>& gx, Tensor<double>& state_var) {
        set_num_threads(threads);
        BatchNormState<double> state;
        Var<double> xv = Var<double>::parameter(x);
        Var<double> out = batch_norm2d(xv, Var<double>(gamma), Var<double>(beta), state, true);
        y = out.value();
        out.backward(random(x.shape(), 23));
        gx = xv.grad();
        state_var = state.running_var;
    };
    Tensor<double> y1, g1, v1, y2, g2, v2;
    const int previous = num_threads();
    run(1, y1, g1, v1);
    run(2, y2, g2, v2);
    set_num_threads(previous);
    CHECK(std::equal(y1.begin(), y1.end(), y2.begin()));
    CHECK(std::equal(g1.begin(), g1.end(), g2.begin()));
    CHECK(std::equal(v1.begin(), v1.end(), v2.begin()));
}
