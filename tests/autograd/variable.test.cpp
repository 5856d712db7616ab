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

TEST_CASE("backward reports each leaf once, as soon as its gradient is complete", "[autograd]") {
    // z = (w1 * x) * w2 + w1: w2 is used by the last op only, w1 by the first and the last;
    // x does not want a gradient and `unused` is on no op.
    Var<double> x(Tensor<double>(Shape{2}, {2.0, 3.0}), false);
    Var<double> w1(Tensor<double>(Shape{2}, {5.0, 7.0}), true);
    Var<double> w2(Tensor<double>(Shape{2}, {0.5, -1.0}), true);
    Var<double> unused(Tensor<double>(Shape{2}, {1.0, 1.0}), true);
    Var<double> z = (w1 * x) * w2 + w1;
    std::vector<const autograd::VarData<double>*> reported;
    std::vector<Tensor<double>> grad_then;
    z.backward(Tensor<double>(Shape{2}, 1.0), [&](const autograd::VarData<double>* leaf) {
        reported.push_back(leaf);
        grad_then.push_back(leaf->grad);  // the gradient at the moment of the report
    });
    REQUIRE(reported.size() == 2);
    // The product with w2 is the last op recorded before the sum, so backward reaches it first:
    // w2 is complete before w1, whose first use (w1 * x) runs last.
    CHECK(reported[0] == w2.data_ptr().get());
    CHECK(reported[1] == w1.data_ptr().get());
    // Complete when reported: equal to the final gradients dz/dw2 = w1 x, dz/dw1 = x w2 + 1.
    CHECK(grad_then[0][0] == 10.0);
    CHECK(grad_then[0][1] == 21.0);
    CHECK(grad_then[1][0] == 2.0 * 0.5 + 1.0);
    CHECK(grad_then[1][1] == 3.0 * -1.0 + 1.0);
    CHECK(w1.grad()[1] == grad_then[1][1]);
    CHECK_FALSE(unused.has_grad());
}
