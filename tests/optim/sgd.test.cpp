#include <catch2/catch.hpp>

#include "maunet/optim/sgd.hpp"

using namespace maunet;
using maunet::optim::SGD;

namespace {
// The two-element parameter p0 = [1, -2] of every hand-computed case.
Var<double> make_param() { return Var<double>::parameter(Tensor<double>(Shape{2}, {1.0, -2.0})); }
// Sets the gradient to the fixed g = [0.5, 1.0].
void set_grad(Var<double>& p) {
    p.mutable_grad()[0] = 0.5;
    p.mutable_grad()[1] = 1.0;
}
void run(SGD<double>& opt, Var<double>& p, int steps) {
    for (int s = 0; s < steps; ++s) {
        set_grad(p);
        opt.step();
    }
}
}  // namespace

TEST_CASE("SGD plain steps match hand computation", "[optim][sgd]") {
    // lr = 0.1: p1 = p0 - 0.1 g = [0.95, -2.1]; p2 = p1 - 0.1 g = [0.9, -2.2].
    auto p = make_param();
    SGD<double> opt({p}, 0.1);
    run(opt, p, 1);
    CHECK(p.value()[0] == Approx(0.95).epsilon(1e-14));
    CHECK(p.value()[1] == Approx(-2.1).epsilon(1e-14));
    run(opt, p, 1);
    CHECK(p.value()[0] == Approx(0.9).epsilon(1e-14));
    CHECK(p.value()[1] == Approx(-2.2).epsilon(1e-14));
    CHECK(opt.step_count() == 2);
}

TEST_CASE("SGD momentum: buffer starts at the first gradient", "[optim][sgd]") {
    // mu = 0.9. Step 1: b = g = [0.5, 1], p1 = p0 - 0.1 b = [0.95, -2.1].
    // Step 2: b = 0.9 [0.5, 1] + [0.5, 1] = [0.95, 1.9], p2 = p1 - 0.1 b = [0.855, -2.29].
    auto p = make_param();
    SGD<double> opt({p}, 0.1, 0.9);
    run(opt, p, 1);
    CHECK(p.value()[0] == Approx(0.95).epsilon(1e-14));
    CHECK(p.value()[1] == Approx(-2.1).epsilon(1e-14));
    run(opt, p, 1);
    CHECK(p.value()[0] == Approx(0.855).epsilon(1e-14));
    CHECK(p.value()[1] == Approx(-2.29).epsilon(1e-14));
}

TEST_CASE("SGD dampening applies from the second step", "[optim][sgd]") {
    // mu = 0.9, tau = 0.5. Step 1: b = g (no dampening, PyTorch), p1 = [0.95, -2.1].
    // Step 2: b = 0.9 g + 0.5 g = [0.7, 1.4], p2 = p1 - 0.1 b = [0.88, -2.24].
    auto p = make_param();
    SGD<double> opt({p}, 0.1, 0.9, 0.5);
    run(opt, p, 2);
    CHECK(p.value()[0] == Approx(0.88).epsilon(1e-14));
    CHECK(p.value()[1] == Approx(-2.24).epsilon(1e-14));
}

TEST_CASE("SGD Nesterov differs from plain momentum as the formula says", "[optim][sgd]") {
    // mu = 0.9. Step 1: b = g, d = g + 0.9 b = [0.95, 1.9], p1 = p0 - 0.1 d = [0.905, -2.19].
    // Step 2: b = [0.95, 1.9], d = g + 0.9 b = [1.355, 2.71], p2 = [0.7695, -2.461].
    auto p = make_param();
    SGD<double> opt({p}, 0.1, 0.9, 0.0, 0.0, true);
    run(opt, p, 1);
    CHECK(p.value()[0] == Approx(0.905).epsilon(1e-14));
    CHECK(p.value()[1] == Approx(-2.19).epsilon(1e-14));
    run(opt, p, 1);
    CHECK(p.value()[0] == Approx(0.7695).epsilon(1e-14));
    CHECK(p.value()[1] == Approx(-2.461).epsilon(1e-14));
    // Plain momentum from the same start ends elsewhere ([0.855, -2.29], above).
    auto q = make_param();
    SGD<double> plain({q}, 0.1, 0.9);
    run(plain, q, 2);
    CHECK(q.value()[0] != Approx(p.value()[0]));
}

TEST_CASE("SGD weight decay adds wd * p to the gradient", "[optim][sgd]") {
    // wd = 0.1. Step 1: d = g + 0.1 p0 = [0.6, 0.8], p1 = [0.94, -2.08].
    // Step 2: d = g + 0.1 p1 = [0.594, 0.792], p2 = [0.8806, -2.1592].
    auto p = make_param();
    SGD<double> opt({p}, 0.1, 0.0, 0.0, 0.1);
    run(opt, p, 2);
    CHECK(p.value()[0] == Approx(0.8806).epsilon(1e-14));
    CHECK(p.value()[1] == Approx(-2.1592).epsilon(1e-14));
}

TEST_CASE("SGD minimises a quadratic", "[optim][sgd]") {
    // f(p) = 1/2 sum a_i (p_i - c_i)^2, gradient a * (p - c).
    const std::vector<float> a = {1.0f, 4.0f, 0.5f}, c = {3.0f, -1.0f, 2.0f};
    for (bool nesterov : {false, true}) {
        auto p = Var<float>::parameter(Tensor<float>(Shape{3}, 0.0f));
        SGD<float> opt({p}, 0.05, 0.9, 0.0, 0.0, nesterov);
        for (int it = 0; it < 500; ++it) {
            opt.zero_grad();
            for (int i = 0; i < 3; ++i) p.mutable_grad()[i] = a[i] * (p.value()[i] - c[i]);
            opt.step();
        }
        for (int i = 0; i < 3; ++i) CHECK(p.value()[i] == Approx(c[i]).margin(1e-4));
    }
}

TEST_CASE("SGD skips parameters without a gradient and zero_grad clears them", "[optim][sgd]") {
    auto p = make_param();
    auto q = make_param();
    SGD<double> opt({p, q}, 0.1, 0.9);
    set_grad(p);
    opt.step();
    CHECK(q.value()[0] == 1.0);  // untouched
    CHECK(p.value()[0] == Approx(0.95));
    opt.zero_grad();
    CHECK_FALSE(p.has_grad());
    set_grad(p);
    opt.zero_grad(false);
    REQUIRE(p.has_grad());
    CHECK(p.grad()[1] == 0.0);
    // Only p has a momentum buffer.
    const auto state = opt.state();
    REQUIRE(state.size() == 2);
    CHECK(state[0].first == "step");
    CHECK(state[1].first == "momentum_buffer.0");
}

TEST_CASE("SGD state round trip continues identically", "[optim][sgd][state]") {
    auto p = make_param();
    SGD<double> opt({p}, 0.1, 0.9, 0.1, 0.01, false);
    run(opt, p, 3);
    auto q = Var<double>::parameter(p.value());
    SGD<double> resumed({q}, 0.1, 0.9, 0.1, 0.01, false);
    resumed.load_state(opt.state());
    CHECK(resumed.step_count() == 3);
    run(opt, p, 2);
    run(resumed, q, 2);
    CHECK(q.value()[0] == p.value()[0]);
    CHECK(q.value()[1] == p.value()[1]);
}

TEST_CASE("SGD and optimizer errors", "[optim][sgd][errors]") {
    auto p = make_param();
    CHECK_THROWS_WITH(SGD<double>({p}, 0.0), Catch::Contains("learning rate > 0"));
    CHECK_THROWS_WITH(SGD<double>({p}, -1.0), Catch::Contains("learning rate > 0"));
    CHECK_THROWS_WITH(SGD<double>({p}, 0.1, -0.5), Catch::Contains("momentum in [0, 1]"));
    CHECK_THROWS_WITH(SGD<double>({p}, 0.1, 0.9, 0.0, -1.0), Catch::Contains("weight decay >= 0"));
    CHECK_THROWS_WITH(SGD<double>({p}, 0.1, 0.0, 0.0, 0.0, true), Catch::Contains("Nesterov"));
    CHECK_THROWS_WITH(SGD<double>({p}, 0.1, 0.9, 0.5, 0.0, true), Catch::Contains("dampening = 0"));
    CHECK_THROWS_WITH(SGD<double>({}, 0.1), Catch::Contains("at least one parameter"));
    CHECK_THROWS_WITH(SGD<double>({p, p}, 0.1), Catch::Contains("more than once"));
    CHECK_THROWS_WITH(SGD<double>({Var<double>()}, 0.1), Catch::Contains("undefined"));
    CHECK_THROWS_AS(SGD<double>({p}, 0.0), ArgumentError);

    SGD<double> opt({p}, 0.1, 0.9);
    CHECK_THROWS_WITH(opt.set_lr(-0.1), Catch::Contains("learning rate >= 0"));
    opt.set_lr(0.0);  // allowed: a schedule may end at 0
    CHECK(opt.lr() == 0.0);

    using State = optim::OptimizerState<double>;
    const auto step = Tensor<double>::scalar(1);
    CHECK_THROWS_WITH(opt.load_state(State{}), Catch::Contains("no 'step' entry"));
    CHECK_THROWS_WITH(opt.load_state(State{{"step", step}, {"velocity.0", Tensor<double>(Shape{2})}}),
                      Catch::Contains("unknown state entry 'velocity.0'"));
    CHECK_THROWS_WITH(opt.load_state(State{{"step", step}, {"momentum_buffer.0", Tensor<double>(Shape{3})}}),
                      Catch::Contains("has shape [3], parameter 0 has shape [2]"));
    CHECK_THROWS_AS(opt.load_state(State{{"step", step}, {"momentum_buffer.0", Tensor<double>(Shape{3})}}),
                    ShapeError);
    CHECK_THROWS_WITH(opt.load_state(State{{"step", step}, {"momentum_buffer.4", Tensor<double>(Shape{2})}}),
                      Catch::Contains("refers to parameter 4"));
    CHECK_THROWS_WITH(opt.load_state(State{{"step", Tensor<double>::scalar(1.5)}}),
                      Catch::Contains("whole count"));
    CHECK_THROWS_WITH(opt.load_state(State{{"step", step}, {"step", step}}), Catch::Contains("more than once"));
}
