#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "maunet/autograd/ops/dropout.hpp"
#include "support/gradcheck.hpp"
#include "support/random_tensor.hpp"

using namespace maunet;
using maunet::testing::gradcheck;

namespace {
using maunet::testing::random;
using V = std::vector<Var<double>>;
}  // namespace

TEST_CASE("dropout draws its mask in row-major order from the rng", "[ops][dropout]") {
    const Tensor<double> x = random(Shape{2, 3, 4, 5}, 1, 0.5, 2.0);  // never 0
    Rng rng(42);
    const Tensor<double> y = dropout(Var<double>(x), 0.3, rng, true).value();
    Rng reference(42);
    Index kept = 0;
    for (Index i = 0; i < x.numel(); ++i) {
        const bool keep = reference.uniform() >= 0.3;
        kept += keep;
        CHECK(y[i] == Approx(keep ? x[i] / 0.7 : 0.0).epsilon(1e-15).margin(0));
    }
    CHECK(kept > 0);
    CHECK(kept < x.numel());
    // Both engines have advanced by exactly numel() draws.
    CHECK(rng() == reference());
}

TEST_CASE("dropout is reproducible with a seed", "[ops][dropout]") {
    const Var<float> x(Tensor<float>(Shape{4, 8, 9}, 1.0f));
    Rng a(7), b(7), c(8);
    const Tensor<float> ya = dropout(x, 0.5, a, true).value();
    const Tensor<float> yb = dropout(x, 0.5, b, true).value();
    const Tensor<float> yc = dropout(x, 0.5, c, true).value();
    CHECK(std::equal(ya.begin(), ya.end(), yb.begin()));
    CHECK_FALSE(std::equal(ya.begin(), ya.end(), yc.begin()));
    // The next call on the same engine draws a new mask.
    const Tensor<float> ya2 = dropout(x, 0.5, a, true).value();
    CHECK_FALSE(std::equal(ya.begin(), ya.end(), ya2.begin()));
}

TEST_CASE("dropout keeps about 1 - p and preserves the mean", "[ops][dropout]") {
    const Index n = 200000;
    for (double p : {0.1, 0.2, 0.5, 0.9}) {
        INFO("p = " << p);
        Rng rng(123);
        const Tensor<double> x = random(Shape{n}, 9, 0.0, 2.0);  // mean about 1
        const Tensor<double> y = dropout(Var<double>(x), p, rng, true).value();
        Index kept = 0;
        double sum_x = 0, sum_y = 0;
        for (Index i = 0; i < n; ++i) {
            kept += y[i] != 0.0;
            sum_x += x[i];
            sum_y += y[i];
        }
        const double fraction = static_cast<double>(kept) / static_cast<double>(n);
        const double sigma = std::sqrt(p * (1 - p) / static_cast<double>(n));
        CHECK(std::abs(fraction - (1 - p)) < 5 * sigma);
        // E[y] = x; the sample mean's spread is about sqrt(p / (1 - p)) * rms(x) / sqrt(n).
        const double mean_sigma = std::sqrt(p / (1 - p) * 4.0 / 3.0 / static_cast<double>(n));
        CHECK(std::abs(sum_y / n - sum_x / n) < 5 * mean_sigma);
    }
}

TEST_CASE("dropout is the identity in eval mode and for p = 0", "[ops][dropout]") {
    const Var<double> x = Var<double>::parameter(random(Shape{3, 5}, 2));
    Rng rng(5), fresh(5);
    const Var<double> eval = dropout(x, 0.5, rng, false);
    const Var<double> zero_rate = dropout(x, 0.0, rng, true);
    CHECK(eval.data_ptr() == x.data_ptr());
    CHECK(zero_rate.data_ptr() == x.data_ptr());
    CHECK(rng() == fresh());  // no draws were made
    // Still differentiable (it is x).
    Var<double> x2 = Var<double>::parameter(random(Shape{3, 5}, 2));
    dropout(x2 * 2.0, 0.5, rng, false).backward(Tensor<double>(Shape{3, 5}, 1.0));
    CHECK(x2.grad()[4] == 2.0);
}

TEST_CASE("dropout with p = 1 drops everything", "[ops][dropout]") {
    Var<double> x = Var<double>::parameter(random(Shape{2, 7}, 3));
    Rng rng(1);
    Var<double> y = dropout(x, 1.0, rng, true);
    for (double v : y.value()) CHECK(v == 0.0);
    y.backward(Tensor<double>(Shape{2, 7}, 1.0));
    REQUIRE(x.has_grad());
    for (double g : x.grad()) CHECK(g == 0.0);
}

TEST_CASE("dropout of a NaN that is dropped gives 0", "[ops][dropout]") {
    Tensor<float> x(Shape{1000}, std::numeric_limits<float>::quiet_NaN());
    Rng rng(4);
    const Tensor<float> y = dropout(Var<float>(x), 0.5, rng, true).value();
    Index zeros = 0, nans = 0;
    for (float v : y) {
        zeros += v == 0.0f;
        nans += std::isnan(v);
    }
    CHECK(zeros + nans == 1000);
    CHECK(zeros > 400);
    CHECK(nans > 400);
}

TEST_CASE("dropout backward matches finite differences with a fixed mask", "[ops][dropout][gradcheck]") {
    const std::vector<Shape> shapes = {Shape{7}, Shape{3, 5}, Shape{2, 3, 5, 7}};
    for (const auto& shape : shapes) {
        for (double p : {0.2, 0.5, 1.0}) {
            INFO("shape " << shape << " p " << p);
            // A fresh engine with one seed inside f: every evaluation draws the same mask.
            auto r = gradcheck(
                [p](const V& v) {
                    Rng rng(99);
                    return dropout(v[0], p, rng, true);
                },
                {random(shape, 6)});
            INFO(r.summary);
            CHECK(r.max_error() < 1e-6);
        }
    }
}

TEST_CASE("dropout rate errors", "[ops][dropout][errors]") {
    const Var<float> x(Tensor<float>(Shape{4}));
    Rng rng(1);
    CHECK_THROWS_AS(dropout(x, -0.1, rng, true), ArgumentError);
    CHECK_THROWS_WITH(dropout(x, -0.1, rng, true), Catch::Contains("dropout: rate must be in [0, 1], got -0.1"));
    CHECK_THROWS_WITH(dropout(x, 1.5, rng, false), Catch::Contains("got 1.5"));  // checked in eval mode too
    CHECK_THROWS_WITH(dropout(x, std::numeric_limits<double>::quiet_NaN(), rng, true),
                      Catch::Contains("dropout: rate must be in [0, 1], got nan"));
}
