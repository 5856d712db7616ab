#include <catch2/catch.hpp>

#include "maunet/autograd/ops/elementwise.hpp"
#include "support/gradcheck.hpp"
#include "support/random_tensor.hpp"

using namespace maunet;
using maunet::testing::gradcheck;

namespace {
using maunet::testing::random;
}  // namespace

TEST_CASE("elementwise forward values", "[ops][elementwise]") {
    Var<float> a(Tensor<float>(Shape{2, 2}, {1, 2, 3, 4}));
    Var<float> b(Tensor<float>(Shape{2}, {10, 20}));  // broadcast along rows
    CHECK((a + b).value()(1, 1) == 24.0f);
    CHECK((a - b).value()(1, 0) == -7.0f);
    CHECK((a * b).value()(0, 1) == 40.0f);
    CHECK((a / b).value()(1, 1) == Approx(0.2f));
    CHECK((2.0f - a).value()(0, 0) == 1.0f);
    CHECK((6.0f / a).value()(1, 0) == 2.0f);
    CHECK((-a).value()(0, 1) == -2.0f);
    CHECK((a / 2.0).value()(1, 1) == 2.0f);  // a double scalar works with Var<float>
}

TEST_CASE("elementwise backward matches finite differences", "[ops][elementwise][gradcheck]") {
    const std::vector<std::pair<Shape, Shape>> shapes = {
        {Shape{3, 5}, Shape{3, 5}},                // same shape
        {Shape{2, 3, 4, 5}, Shape{1, 3, 1, 1}},    // per-channel, NCHW
        {Shape{2, 3, 5, 7}, Shape{3, 1, 1}},       // per-channel, rank 3
        {Shape{1, 4}, Shape{3, 1}},                // both broadcast
        {Shape{}, Shape{2, 3}},                    // scalar against a matrix
    };
    for (const auto& [sa, sb] : shapes) {
        auto a = random(sa, 1), b = random(sb, 2, 0.5, 2.0);  // b away from 0 for div
        using V = std::vector<Var<double>>;
        CHECK(gradcheck([](const V& v) { return v[0] + v[1]; }, {a, b}).max_error() < 1e-6);
        CHECK(gradcheck([](const V& v) { return v[0] - v[1]; }, {a, b}).max_error() < 1e-6);
        CHECK(gradcheck([](const V& v) { return v[0] * v[1]; }, {a, b}).max_error() < 1e-6);
        auto r = gradcheck([](const V& v) { return v[0] / v[1]; }, {a, b});
        INFO(r.summary);
        CHECK(r.max_error() < 1e-6);
    }
    auto x = random(Shape{2, 3, 4}, 3, 0.5, 2.0);
    using V = std::vector<Var<double>>;
    CHECK(gradcheck([](const V& v) { return v[0] * 3.0 + 1.0; }, {x}).max_error() < 1e-6);
    CHECK(gradcheck([](const V& v) { return 2.0 - v[0] / 4.0; }, {x}).max_error() < 1e-6);
    CHECK(gradcheck([](const V& v) { return 5.0 / v[0]; }, {x}).max_error() < 1e-6);
    CHECK(gradcheck([](const V& v) { return -(v[0] - 1.0); }, {x}).max_error() < 1e-6);
}

TEST_CASE("elementwise shape errors name the op and both shapes", "[ops][elementwise][errors]") {
    Var<float> a(Tensor<float>(Shape{2, 3}));
    Var<float> b(Tensor<float>(Shape{2, 4}));
    CHECK_THROWS_AS(a + b, ShapeError);
    CHECK_THROWS_WITH(a * b, Catch::Contains("mul: shapes [2, 3] and [2, 4] do not broadcast"));
    CHECK_THROWS_WITH(a / 0.0f, Catch::Contains("scalar 0"));
}
