// The checks themselves: a NaN must fail them. std::max(worst, NaN) is worst, so a running
// maximum written with it, or a comparison `e > worst`, lets a NaN gradient or output pass.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "maunet/autograd/variable.hpp"
#include "support/gradcheck.hpp"

using namespace maunet;
using maunet::testing::gradcheck;
using maunet::testing::max_abs_diff;
using maunet::testing::max_or_nan;

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// The identity with a backward that writes `bad` into one element of the gradient.
Var<double> identity_with_bad_gradient(const Var<double>& x, double bad) {
    return autograd::record<double>("bad_gradient", x.value(), {x}, [bad](const autograd::BackwardContext<double>& ctx) {
        Tensor<double>& g = ctx.grad(0);
        g.array() += ctx.grad_output().array();
        g[2] = bad;
    });
}

}  // namespace

TEST_CASE("max_or_nan keeps a NaN from either side", "[testing]") {
    CHECK(max_or_nan(1.0, 2.0) == 2.0);
    CHECK(max_or_nan(3.0, 2.0) == 3.0);
    CHECK(std::isnan(max_or_nan(1.0, nan)));
    CHECK(std::isnan(max_or_nan(nan, 1.0)));
    CHECK(std::isnan(max_or_nan(max_or_nan(0.0, nan), 5.0)));
}

TEST_CASE("max_abs_diff fails on a NaN in one tensor and accepts a NaN in both", "[testing]") {
    const Tensor<double> a = Tensor<double>(Shape{4}, {1.0, 2.0, nan, 4.0});
    const Tensor<double> same_gap = Tensor<double>(Shape{4}, {1.0, 2.5, nan, 4.0});
    const Tensor<double> new_gap = Tensor<double>(Shape{4}, {1.0, 2.0, 3.0, nan});
    CHECK(max_abs_diff(a, same_gap) == 0.5);
    CHECK(std::isnan(max_abs_diff(a, new_gap)));
    CHECK_FALSE(max_abs_diff(a, new_gap) < 1e-6);
}

TEST_CASE("gradcheck fails a backward that writes NaN or a wrong value", "[testing][gradcheck]") {
    using V = std::vector<Var<double>>;
    const Tensor<double> x = Tensor<double>(Shape{4}, {0.5, -1.0, 2.0, 0.25});
    // The identity's gradient at element 2 is the seed there, not 0: a wrong value, caught.
    const auto wrong = gradcheck([](const V& v) { return identity_with_bad_gradient(v[0], 0.0); }, {x});
    INFO(wrong.summary);
    CHECK(wrong.max_error() > 1e-3);
    CHECK(wrong.worst_index[0] == 2);
    const auto with_nan = gradcheck([](const V& v) { return identity_with_bad_gradient(v[0], nan); }, {x});
    INFO(with_nan.summary);
    CHECK(std::isnan(with_nan.max_error()));
    CHECK_FALSE(with_nan.max_error() < 1e-6);
    CHECK(with_nan.worst_index[0] == 2);
}
