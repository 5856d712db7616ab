#include <catch2/catch.hpp>

#include "maunet/autograd/ops/elementwise.hpp"
#include "maunet/autograd/ops/reduction.hpp"
#include "support/gradcheck.hpp"
#include "support/random_tensor.hpp"

using namespace maunet;
using maunet::testing::gradcheck;
using maunet::testing::max_abs_diff;

namespace {
using maunet::testing::random;
using V = std::vector<Var<double>>;
}  // namespace

TEST_CASE("sum and mean of every element", "[ops][reduction]") {
    const Tensor<double> x = random(Shape{2, 3, 5}, 7);
    double naive = 0;
    for (Index i = 0; i < x.numel(); ++i) naive += x[i];
    const Var<double> v(x);
    const Var<double> s = sum(v);
    const Var<double> m = mean(v);
    CHECK(s.shape() == Shape{});
    CHECK(m.shape() == Shape{});
    CHECK(s.value().item() == Approx(naive).epsilon(1e-14));
    CHECK(m.value().item() == Approx(naive / 30).epsilon(1e-14));

    const Var<float> small(Tensor<float>(Shape{2, 2}, {1, 2, 3, 4}));
    CHECK(sum(small).value().item() == 10.0f);
    CHECK(mean(small).value().item() == 2.5f);
    CHECK(sum(Var<float>(Tensor<float>())).value().item() == 0.0f);  // empty sum is 0
}

TEST_CASE("sum of many floats is accurate (pairwise, double accumulator)", "[ops][reduction]") {
    const Var<float> x(Tensor<float>(Shape{1000, 1000}, 0.1f));
    const double exact = 1e6 * static_cast<double>(0.1f);
    CHECK(std::abs(sum(x).value().item() - exact) / exact < 1e-6);
    CHECK(mean(x).value().item() == Approx(0.1f).epsilon(1e-6));
    // Deterministic: the same input gives the same bits.
    CHECK(sum(x).value().item() == sum(x).value().item());
}

TEST_CASE("sum and mean along an axis match nested loops", "[ops][reduction]") {
    const Tensor<double> x = random(Shape{2, 3, 4}, 11);
    const Var<double> v(x);
    // axis 0
    {
        const auto s = sum(v, 0).value();
        REQUIRE(s.shape() == Shape{3, 4});
        for (Index j = 0; j < 3; ++j)
            for (Index k = 0; k < 4; ++k) CHECK(s(j, k) == Approx(x(0, j, k) + x(1, j, k)).epsilon(1e-14));
        CHECK(sum(v, 0, true).shape() == Shape{1, 3, 4});
        CHECK(sum(v, -3).shape() == Shape{3, 4});
    }
    // axis 1 (the middle), also as -2, keepdim
    {
        const auto s = sum(v, -2, true).value();
        const auto m = mean(v, 1).value();
        REQUIRE(s.shape() == Shape{2, 1, 4});
        REQUIRE(m.shape() == Shape{2, 4});
        for (Index i = 0; i < 2; ++i)
            for (Index k = 0; k < 4; ++k) {
                const double naive = x(i, 0, k) + x(i, 1, k) + x(i, 2, k);
                CHECK(s(i, 0, k) == Approx(naive).epsilon(1e-14));
                CHECK(m(i, k) == Approx(naive / 3).epsilon(1e-14));
            }
    }
    // axis 2 (the last)
    {
        const auto m = mean(v, -1, true).value();
        REQUIRE(m.shape() == Shape{2, 3, 1});
        for (Index i = 0; i < 2; ++i)
            for (Index j = 0; j < 3; ++j) {
                double naive = 0;
                for (Index k = 0; k < 4; ++k) naive += x(i, j, k);
                CHECK(m(i, j, 0) == Approx(naive / 4).epsilon(1e-14));
            }
    }
    // rank 1 reduced along its only axis gives a rank-0 result
    const Var<float> r(Tensor<float>(Shape{3}, {1, 2, 6}));
    CHECK(sum(r, 0).shape() == Shape{});
    CHECK(sum(r, 0).value().item() == 9.0f);
    CHECK(mean(r, 0, true).shape() == Shape{1});
    CHECK(mean(r, 0, true).value().item() == 3.0f);
    // a long axis (more than one pairwise block)
    const Tensor<double> y = random(Shape{3, 101}, 5);
    const auto sy = sum(Var<double>(y), 1).value();
    for (Index i = 0; i < 3; ++i) {
        double naive = 0;
        for (Index k = 0; k < 101; ++k) naive += y(i, k);
        CHECK(sy(i) == Approx(naive).epsilon(1e-13));
    }
}

TEST_CASE("reduction backward matches finite differences", "[ops][reduction][gradcheck]") {
    const std::vector<Shape> shapes = {Shape{7}, Shape{3, 5}, Shape{2, 3, 5, 7}, Shape{1, 1, 3, 1}, Shape{3, 70}};
    for (const auto& shape : shapes) {
        INFO("shape " << shape);
        const auto x = random(shape, 3);
        CHECK(gradcheck([](const V& v) { return sum(v[0]); }, {x}).max_error() < 1e-6);
        CHECK(gradcheck([](const V& v) { return mean(v[0]); }, {x}).max_error() < 1e-6);
        for (int axis = -static_cast<int>(shape.rank()); axis < static_cast<int>(shape.rank()); ++axis) {
            INFO("axis " << axis);
            for (bool keepdim : {false, true}) {
                auto rs = gradcheck([axis, keepdim](const V& v) { return sum(v[0], axis, keepdim); }, {x});
                INFO(rs.summary);
                CHECK(rs.max_error() < 1e-6);
                auto rm = gradcheck([axis, keepdim](const V& v) { return mean(v[0], axis, keepdim); }, {x});
                INFO(rm.summary);
                CHECK(rm.max_error() < 1e-6);
            }
        }
    }
    // Composed: a reduction of a product reaches both factors.
    const auto a = random(Shape{2, 3, 4}, 8), b = random(Shape{2, 3, 4}, 9);
    CHECK(gradcheck([](const V& v) { return mean(sum(v[0] * v[1], 1), -1); }, {a, b}).max_error() < 1e-6);
}

TEST_CASE("reduction backward accumulates the exact gradient", "[ops][reduction]") {
    Var<double> x = Var<double>::parameter(random(Shape{2, 5}, 4));
    mean(x).backward();
    CHECK(max_abs_diff(x.grad(), Tensor<double>(Shape{2, 5}, 0.1)) < 1e-15);
    x.zero_grad();
    Var<double> s = sum(x, 1);
    s.backward(Tensor<double>(Shape{2}, {2.0, -3.0}));
    CHECK(x.grad()(0, 4) == 2.0);
    CHECK(x.grad()(1, 0) == -3.0);
}

TEST_CASE("reduction errors", "[ops][reduction][errors]") {
    const Var<float> x(Tensor<float>(Shape{2, 3}));
    CHECK_THROWS_AS(sum(x, 2), ArgumentError);
    CHECK_THROWS_WITH(sum(x, 2), Catch::Contains("sum: axis 2 is out of range for a tensor of rank 2 (shape [2, 3])"));
    CHECK_THROWS_WITH(mean(x, -3), Catch::Contains("mean: axis -3 is out of range"));
    CHECK_THROWS_WITH(sum(Var<float>(Tensor<float>::scalar(1)), 0), Catch::Contains("rank 0"));
    CHECK_THROWS_AS(mean(Var<float>(Tensor<float>())), ArgumentError);
    CHECK_THROWS_WITH(mean(Var<float>(Tensor<float>(Shape{2, 0}))),
                      Catch::Contains("mean: cannot average an empty tensor (shape [2, 0])"));
    CHECK_THROWS_WITH(mean(Var<float>(Tensor<float>(Shape{2, 0})), 1),
                      Catch::Contains("mean: cannot average over axis 1 of extent 0"));
    CHECK(mean(Var<float>(Tensor<float>(Shape{0, 2})), 1).shape() == Shape{0});  // nothing to average: fine
}
