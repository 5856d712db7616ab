#include <catch2/catch.hpp>

#include <array>

#include "maunet/autograd/ops/matmul.hpp"
#include "support/gradcheck.hpp"
#include "support/random_tensor.hpp"

using namespace maunet;
using maunet::testing::gradcheck;

namespace {
using maunet::testing::random;
}  // namespace

TEST_CASE("matmul forward values", "[ops][matmul]") {
    // [1 2 3; 4 5 6] * [1 0; 0 1; 1 1] = [4 5; 10 11]
    Var<float> a(Tensor<float>(Shape{2, 3}, {1, 2, 3, 4, 5, 6}));
    Var<float> b(Tensor<float>(Shape{3, 2}, {1, 0, 0, 1, 1, 1}));
    const Tensor<float> c = matmul(a, b).value();
    CHECK(c.shape() == Shape{2, 2});
    CHECK(c(0, 0) == 4.0f);
    CHECK(c(0, 1) == 5.0f);
    CHECK(c(1, 0) == 10.0f);
    CHECK(c(1, 1) == 11.0f);

    // Against a naive triple loop on odd sizes, float and double.
    const Tensor<double> ad = random(Shape{7, 5}, 1), bd = random(Shape{5, 9}, 2);
    Tensor<double> expected(Shape{7, 9});
    for (Index m = 0; m < 7; ++m)
        for (Index n = 0; n < 9; ++n)
            for (Index k = 0; k < 5; ++k) expected(m, n) += ad(m, k) * bd(k, n);
    CHECK(testing::max_abs_diff(matmul(Var<double>(ad), Var<double>(bd)).value(), expected) < 1e-12);
    const Tensor<float> cf = matmul(Var<float>(ad.cast<float>()), Var<float>(bd.cast<float>())).value();
    CHECK(testing::max_abs_diff(cf, expected.cast<float>()) < 1e-5);
}

TEST_CASE("matmul backward matches finite differences", "[ops][matmul][gradcheck]") {
    using V = std::vector<Var<double>>;
    const std::vector<std::array<Index, 3>> sizes = {{1, 1, 1}, {3, 4, 5}, {7, 1, 3}, {1, 6, 1}, {8, 9, 2}};
    for (const auto& s : sizes) {
        auto r = gradcheck([](const V& v) { return matmul(v[0], v[1]); },
                           {random(Shape{s[0], s[1]}, 3), random(Shape{s[1], s[2]}, 4)});
        INFO(r.summary);
        CHECK(r.max_error() < 1e-6);
    }
    // Only one side wants a gradient; the same input on both sides accumulates both terms.
    auto one_side = gradcheck([](const V& v) { return matmul(v[0], v[1]); },
                              {random(Shape{3, 4}, 5), random(Shape{4, 2}, 6)}, 1, 1e-6, {false, true});
    CHECK(one_side.max_error() < 1e-6);
    auto square = gradcheck([](const V& v) { return matmul(v[0], v[0]); }, {random(Shape{4, 4}, 7)});
    INFO(square.summary);
    CHECK(square.max_error() < 1e-6);
}

TEST_CASE("matmul shape errors name both shapes", "[ops][matmul][errors]") {
    Var<float> a(Tensor<float>(Shape{2, 3}));
    Var<float> b(Tensor<float>(Shape{4, 2}));
    Var<float> v(Tensor<float>(Shape{3}));
    CHECK_THROWS_AS(matmul(a, b), ShapeError);
    CHECK_THROWS_WITH(matmul(a, b), Catch::Contains("matmul: inner dimensions differ: [2, 3] times [4, 2]"));
    CHECK_THROWS_WITH(matmul(a, v), Catch::Contains("matmul: expected two matrices (rank 2), got shapes [2, 3] and [3]"));
}
