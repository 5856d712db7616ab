#include <catch2/catch.hpp>

#include <limits>

#include "maunet/optim/clip.hpp"

using namespace maunet;
using maunet::optim::clip_grad_norm;

namespace {
Var<double> param_with_grad(std::vector<double> g) {
    const auto n = static_cast<Index>(g.size());
    auto p = Var<double>::parameter(Tensor<double>(Shape{n}));
    p.mutable_grad() = Tensor<double>(Shape{n}, g);
    return p;
}
}  // namespace

TEST_CASE("clip_grad_norm scales by max_norm / (norm + 1e-6) when above", "[optim][clip]") {
    // Gradients [3] and [4, 0]: total norm sqrt(9 + 16) = 5.
    auto a = param_with_grad({3.0});
    auto b = param_with_grad({4.0, 0.0});
    auto c = Var<double>::parameter(Tensor<double>(Shape{3}));  // no gradient: skipped
    std::vector<Var<double>> params{a, b, c};
    const double norm = clip_grad_norm(params, 1.0);
    CHECK(norm == Approx(5.0).epsilon(1e-15));
    const double scale = 1.0 / (5.0 + 1e-6);
    CHECK(a.grad()[0] == Approx(3.0 * scale).epsilon(1e-15));
    CHECK(b.grad()[0] == Approx(4.0 * scale).epsilon(1e-15));
    CHECK_FALSE(c.has_grad());
    // The new norm is just below max_norm.
    CHECK(clip_grad_norm(params, 1.0) == Approx(1.0).epsilon(1e-6));
}

TEST_CASE("clip_grad_norm leaves small gradients alone", "[optim][clip]") {
    auto a = param_with_grad({0.3, -0.4});
    std::vector<Var<double>> params{a};
    CHECK(clip_grad_norm(params, 1.0) == Approx(0.5));
    CHECK(a.grad()[0] == 0.3);
    CHECK(a.grad()[1] == -0.4);
    std::vector<Var<float>> none{Var<float>::parameter(Tensor<float>(Shape{2}))};
    CHECK(clip_grad_norm(none, 1.0) == 0.0f);  // a double max_norm works with float parameters
}

TEST_CASE("clip_grad_norm errors", "[optim][clip][errors]") {
    auto a = param_with_grad({1.0});
    auto b = param_with_grad({2.0, std::numeric_limits<double>::quiet_NaN()});
    std::vector<Var<double>> params{a, b};
    CHECK_THROWS_WITH(clip_grad_norm(params, 1.0), Catch::Contains("gradient of parameter 1"));
    CHECK_THROWS_AS(clip_grad_norm(params, 1.0), NumericalError);
    CHECK(a.grad()[0] == 1.0);  // nothing changed
    auto inf = param_with_grad({std::numeric_limits<double>::infinity()});
    std::vector<Var<double>> inf_params{inf};
    CHECK_THROWS_WITH(clip_grad_norm(inf_params, 1.0), Catch::Contains("total gradient norm is inf"));
    std::vector<Var<double>> ok{a};
    CHECK_THROWS_WITH(clip_grad_norm(ok, 0.0), Catch::Contains("max_norm > 0"));
}
