#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "maunet/autograd/ops/activation.hpp"
#include "support/gradcheck.hpp"
#include "support/random_tensor.hpp"

using namespace maunet;
using maunet::testing::gradcheck;

namespace {
using maunet::testing::random;
// Values whose magnitude is at least `gap`, so that relu and leaky_relu stay off their kink
// by more than the finite-difference step.
Tensor<double> away_from_zero(Shape s, std::uint64_t seed, double gap = 0.05) {
    Tensor<double> t = random(std::move(s), seed, -2, 2);
    for (auto& v : t) v = v >= 0 ? v + gap : v - gap;
    return t;
}
using V = std::vector<Var<double>>;

// Checks f(x)[i] == reference(x[i]) for every element.
template <class F, class R>
void check_forward(F f, R reference, const Tensor<double>& x) {
    const Tensor<double> y = f(Var<double>(x)).value();
    REQUIRE(y.shape() == x.shape());
    for (Index i = 0; i < x.numel(); ++i) {
        INFO("element " << i << " x = " << x[i]);
        CHECK(y[i] == Approx(reference(x[i])).epsilon(1e-14).margin(1e-300));
    }
}
}  // namespace

TEST_CASE("activation forward values match scalar formulas", "[ops][activation]") {
    const Tensor<double> x = away_from_zero(Shape{2, 3, 4, 5}, 1);
    check_forward([](const Var<double>& v) { return relu(v); }, [](double a) { return a > 0 ? a : 0.0; }, x);
    check_forward([](const Var<double>& v) { return leaky_relu(v); }, [](double a) { return a > 0 ? a : 0.01 * a; },
                  x);
    check_forward([](const Var<double>& v) { return leaky_relu(v, 0.2); },
                  [](double a) { return a > 0 ? a : 0.2 * a; }, x);
    check_forward([](const Var<double>& v) { return sigmoid(v); }, [](double a) { return 1 / (1 + std::exp(-a)); },
                  x);
    check_forward([](const Var<double>& v) { return maunet::tanh(v); },
                  [](double a) { return (std::exp(a) - std::exp(-a)) / (std::exp(a) + std::exp(-a)); }, x);
    check_forward([](const Var<double>& v) { return maunet::exp(v); }, [](double a) { return std::exp(a); }, x);
    const Tensor<double> pos = random(Shape{3, 7}, 2, 0.1, 5.0);
    check_forward([](const Var<double>& v) { return maunet::log(v); }, [](double a) { return std::log(a); }, pos);
    check_forward([](const Var<double>& v) { return maunet::log1p(v); }, [](double a) { return std::log(1 + a); },
                  pos);

    // The kinks take the documented subgradient.
    Var<double> zero = Var<double>::parameter(Tensor<double>(Shape{2}, {0.0, 0.0}));
    relu(zero).backward(Tensor<double>(Shape{2}, 1.0));
    CHECK(zero.grad()[0] == 0.0);
    zero.zero_grad();
    leaky_relu(zero, 0.3).backward(Tensor<double>(Shape{2}, 1.0));
    CHECK(zero.grad()[0] == 0.3);
    // Works for float with a double slope argument.
    const Var<float> f(Tensor<float>(Shape{2}, {-2.0f, 3.0f}));
    CHECK(leaky_relu(f, 0.5).value()[0] == -1.0f);
}

TEST_CASE("sigmoid is stable for large |x|", "[ops][activation]") {
    const Var<float> x(Tensor<float>(Shape{4}, {-1000.0f, -90.0f, 90.0f, 1000.0f}));
    const Tensor<float> y = sigmoid(x).value();
    CHECK(y.all_finite());
    CHECK(y[0] == 0.0f);
    CHECK(y[1] >= 0.0f);
    CHECK(y[1] < 1e-30f);
    CHECK(y[2] == 1.0f);
    CHECK(y[3] == 1.0f);
    Var<double> xd = Var<double>::parameter(Tensor<double>(Shape{2}, {-800.0, 800.0}));
    sigmoid(xd).backward(Tensor<double>(Shape{2}, 1.0));
    CHECK(xd.grad().all_finite());
    CHECK(xd.grad()[0] == 0.0);
    CHECK(xd.grad()[1] == 0.0);
    // tanh saturates without NaN too.
    CHECK(maunet::tanh(Var<float>(Tensor<float>(Shape{2}, {-1e4f, 1e4f}))).value()[1] == 1.0f);
}

TEST_CASE("log and log1p follow IEEE outside their domain", "[ops][activation]") {
    const Var<double> x(Tensor<double>(Shape{3}, {0.0, -1.0, 1.0}));
    const Tensor<double> y = maunet::log(x).value();
    CHECK(std::isinf(y[0]));
    CHECK(y[0] < 0);
    CHECK(std::isnan(y[1]));
    CHECK(y[2] == 0.0);
    const Tensor<double> z = maunet::log1p(x).value();
    CHECK(z[0] == 0.0);
    CHECK(std::isinf(z[1]));
    CHECK(z[1] < 0);
    // log1p is accurate for tiny arguments where log(1 + x) is not.
    const Var<double> tiny(Tensor<double>(Shape{1}, {1e-18}));
    CHECK(maunet::log1p(tiny).value()[0] == Approx(1e-18).epsilon(1e-12));
}

TEST_CASE("activation backward matches finite differences", "[ops][activation][gradcheck]") {
    const std::vector<Shape> shapes = {Shape{7}, Shape{3, 5}, Shape{2, 3, 5, 7}, Shape{1, 1, 1, 1}};
    for (const auto& shape : shapes) {
        INFO("shape " << shape);
        const auto x = away_from_zero(shape, 4);
        const auto pos = random(shape, 5, 0.2, 3.0);
        const auto above = random(shape, 6, -0.8, 3.0);  // > -1 for log1p
        auto check = [](const auto& f, const Tensor<double>& in) {
            auto r = gradcheck(f, {in});
            INFO(r.summary);
            CHECK(r.max_error() < 1e-6);
        };
        check([](const V& v) { return relu(v[0]); }, x);
        check([](const V& v) { return leaky_relu(v[0]); }, x);
        check([](const V& v) { return leaky_relu(v[0], 0.3); }, x);
        check([](const V& v) { return sigmoid(v[0]); }, x);
        check([](const V& v) { return maunet::tanh(v[0]); }, x);
        check([](const V& v) { return maunet::exp(v[0]); }, x);
        check([](const V& v) { return maunet::log(v[0]); }, pos);
        check([](const V& v) { return maunet::log1p(v[0]); }, above);
        check([](const V& v) { return sigmoid(maunet::tanh(v[0])); }, x);  // composed
    }
}

TEST_CASE("activation argument errors", "[ops][activation][errors]") {
    const Var<float> x(Tensor<float>(Shape{2}));
    CHECK_THROWS_AS(leaky_relu(x, std::numeric_limits<float>::infinity()), ArgumentError);
    CHECK_THROWS_WITH(leaky_relu(x, std::numeric_limits<double>::quiet_NaN()),
                      Catch::Contains("leaky_relu: the negative slope must be finite"));
}
