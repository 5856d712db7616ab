#include <catch2/catch.hpp>

#include "maunet/autograd/ops/elementwise.hpp"
#include "support/gradcheck.hpp"

using namespace maunet;

TEST_CASE("backward through a diamond accumulates both paths", "[autograd]") {
    // x feeds two ops whose results meet again: L = (x*y) + (x+y) summed via seed 1.
    Var<double> x(Tensor<double>(Shape{2}, {2.0, 3.0}), true);
    Var<double> y(Tensor<double>(Shape{2}, {5.0, 7.0}), true);
    Var<double> a = x * y;
    Var<double> b = x + y;
    Var<double> c = a * b;  // c = xy(x+y); dc/dx = y(x+y) + xy = 2xy + y^2
    c.backward(Tensor<double>(Shape{2}, 1.0));
    CHECK(x.grad()[0] == Approx(2 * 2 * 5 + 25));
    CHECK(x.grad()[1] == Approx(2 * 3 * 7 + 49));
    CHECK(y.grad()[0] == Approx(2 * 2 * 5 + 4));
    // Intermediates are freed and the graph released.
    CHECK_FALSE(a.has_grad());
    CHECK(a.is_leaf());
    CHECK_THROWS_WITH(c.backward(Tensor<double>(Shape{2}, 1.0)), Catch::Contains("released"));
}

TEST_CASE("leaf gradients accumulate until zero_grad", "[autograd]") {
    Var<double> x(Tensor<double>(Shape{1}, {3.0}), true);
    for (int i = 0; i < 3; ++i) {
        Var<double> y = x * x;
        y.backward();
    }
    CHECK(x.grad()[0] == Approx(3 * 6.0));
    x.zero_grad();
    CHECK(x.grad()[0] == 0.0);
}

TEST_CASE("retain_grad keeps an intermediate gradient", "[autograd]") {
    Var<double> x(Tensor<double>(Shape{1}, {3.0}), true);
    Var<double> y = x * 2.0;
    y.retain_grad();
    Var<double> z = y * y;
    z.backward();
    CHECK(y.grad()[0] == Approx(12.0));
    CHECK(x.grad()[0] == Approx(24.0));
}

TEST_CASE("no-grad mode records nothing", "[autograd]") {
    Var<float> x(Tensor<float>(Shape{3}, 1.0f), true);
    Var<float> y;
    {
        NoGradGuard guard;
        CHECK_FALSE(is_grad_enabled());
        y = x * x + 1.0f;
    }
    CHECK(is_grad_enabled());
    CHECK(y.is_leaf());
    CHECK_FALSE(y.requires_grad());
    CHECK(y.value()[0] == 2.0f);
    CHECK_THROWS_WITH(y.backward(Tensor<float>(Shape{3}, 1.0f)), Catch::Contains("does not require a gradient"));
}

TEST_CASE("ops on constants record nothing; detach cuts history", "[autograd]") {
    Var<float> a(Tensor<float>(Shape{2}, 1.0f));
    Var<float> b = a + a;
    CHECK(b.is_leaf());
    Var<float> p = Var<float>::parameter(Tensor<float>(Shape{2}, 2.0f));
    Var<float> q = p * 3.0f;
    CHECK_FALSE(q.is_leaf());
    CHECK(std::string(q.creator_name()) == "mul_scalar");
    Var<float> d = q.detach();
    CHECK(d.is_leaf());
    CHECK_FALSE(d.requires_grad());
    CHECK(d.value()[1] == 6.0f);
}

TEST_CASE("backward needs a scalar or a seed of the right shape", "[autograd][errors]") {
    Var<double> x(Tensor<double>(Shape{2}, 1.0), true);
    Var<double> y = x * 2.0;
    CHECK_THROWS_WITH(y.backward(), Catch::Contains("expected one element"));
    CHECK_THROWS_WITH(y.backward(Tensor<double>(Shape{3}, 1.0)), Catch::Contains("seed gradient has shape [3]"));
    Var<double> undefined;
    CHECK_THROWS_WITH(undefined.value(), Catch::Contains("undefined"));
}

TEST_CASE("a long chain backpropagates without recursion", "[autograd]") {
    Var<double> x(Tensor<double>(Shape{1}, {1.0}), true);
    Var<double> y = x;
    for (int i = 0; i < 20000; ++i) y = y * 1.0001;
    y.backward();
    CHECK(x.grad()[0] == Approx(std::pow(1.0001, 20000)));
}
