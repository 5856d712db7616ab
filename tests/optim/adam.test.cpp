#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "maunet/optim/adam.hpp"

using namespace maunet;
using maunet::optim::Adam;
using maunet::optim::AdamW;

namespace {
// p0 = [1, -2], fixed gradient g = [0.5, 1]; lr = 0.1, betas (0.9, 0.999), eps = 1e-8.
constexpr double eps = 1e-8;
Var<double> make_param() { return Var<double>::parameter(Tensor<double>(Shape{2}, {1.0, -2.0})); }
template <class Opt>
void run(Opt& opt, Var<double>& p, int steps) {
    for (int s = 0; s < steps; ++s) {
        p.mutable_grad()[0] = 0.5;
        p.mutable_grad()[1] = 1.0;
        opt.step();
    }
}
}  // namespace

TEST_CASE("Adam first and second steps match hand computation", "[optim][adam]") {
    // Step 1: m = 0.1 g = [0.05, 0.1], v = 0.001 g^2 = [0.00025, 0.001].
    //   Corrections 1 - 0.9 = 0.1 and 1 - 0.999 = 0.001: step size lr / 0.1 = 1,
    //   sqrt(v) / sqrt(0.001) = |g| = [0.5, 1]. p1 = p0 - m / (|g| + eps).
    // Step 2: m = 0.9 m + 0.1 g = [0.095, 0.19], v = 0.999 v + 0.001 g^2 = [0.00049975, 0.001999].
    //   Corrections 1 - 0.81 = 0.19, 1 - 0.998001 = 0.001999: step size 0.1 / 0.19,
    //   sqrt(v / 0.001999) = [0.5, 1]. p2 = p1 - (0.1 / 0.19) m / ([0.5, 1] + eps).
    auto p = make_param();
    Adam<double> opt({p}, 0.1);
    run(opt, p, 1);
    const double p1a = 1.0 - 0.05 / (0.5 + eps), p1b = -2.0 - 0.1 / (1.0 + eps);
    CHECK(p.value()[0] == Approx(p1a).epsilon(1e-13));
    CHECK(p.value()[1] == Approx(p1b).epsilon(1e-13));
    run(opt, p, 1);
    const double p2a = p1a - (0.1 / 0.19) * 0.095 / (0.5 + eps);
    const double p2b = p1b - (0.1 / 0.19) * 0.19 / (1.0 + eps);
    CHECK(p.value()[0] == Approx(p2a).epsilon(1e-13));
    CHECK(p.value()[1] == Approx(p2b).epsilon(1e-13));
    // Without the bias corrections step 1 would move by 0.1 * 0.1 / sqrt(0.001) = 0.316.
    CHECK(p2a == Approx(0.8).epsilon(1e-6));
}

TEST_CASE("Adam L2 weight decay enters the gradient", "[optim][adam]") {
    // wd = 0.1. Step 1: g' = g + 0.1 p0 = [0.6, 0.8]; m = [0.06, 0.08], v = [0.00036, 0.00064];
    //   p1 = p0 - 1 * m / (sqrt(v / 0.001) + eps) = p0 - [0.06 / (0.6 + eps), 0.08 / (0.8 + eps)].
    // Step 2: g' = g + 0.1 p1 ~ [0.59, 0.79] (exactly g + 0.1 * p1);
    //   m = 0.9 * [0.06, 0.08] + 0.1 g', v = 0.999 * [0.00036, 0.00064] + 0.001 g'^2,
    //   p2 = p1 - (0.1 / 0.19) m / (sqrt(v / 0.001999) + eps).
    auto p = make_param();
    Adam<double> opt({p}, 0.1, 0.9, 0.999, eps, 0.1);
    run(opt, p, 2);
    const double p1[2] = {1.0 - 0.06 / (0.6 + eps), -2.0 - 0.08 / (0.8 + eps)};
    const double g[2] = {0.5, 1.0}, m1[2] = {0.06, 0.08}, v1[2] = {0.00036, 0.00064};
    for (int i = 0; i < 2; ++i) {
        const double gd = g[i] + 0.1 * p1[i];
        const double m = 0.9 * m1[i] + 0.1 * gd;
        const double v = 0.999 * v1[i] + 0.001 * gd * gd;
        const double p2 = p1[i] - (0.1 / 0.19) * m / (std::sqrt(v / 0.001999) + eps);
        CHECK(p.value()[i] == Approx(p2).epsilon(1e-12));
    }
}

TEST_CASE("AdamW decoupled decay differs from Adam L2", "[optim][adam]") {
    // wd = 0.1, lr = 0.1: each step first multiplies p by 1 - lr * wd = 0.99, then takes the
    // plain Adam step (moments of g alone, as in the first test case).
    // Step 1: p = 0.99 p0 = [0.99, -1.98]; p1 = p - [0.05 / (0.5 + eps), 0.1 / (1 + eps)].
    // Step 2: p = 0.99 p1;                  p2 = p - (0.1 / 0.19) [0.095 / (0.5 + eps), 0.19 / (1 + eps)].
    auto p = make_param();
    AdamW<double> opt({p}, 0.1, 0.9, 0.999, eps, 0.1);
    CHECK(std::string(opt.name()) == "AdamW");
    run(opt, p, 1);
    const double p1a = 0.99 - 0.05 / (0.5 + eps), p1b = -1.98 - 0.1 / (1.0 + eps);
    CHECK(p.value()[0] == Approx(p1a).epsilon(1e-13));
    CHECK(p.value()[1] == Approx(p1b).epsilon(1e-13));
    run(opt, p, 1);
    CHECK(p.value()[0] == Approx(0.99 * p1a - (0.1 / 0.19) * 0.095 / (0.5 + eps)).epsilon(1e-13));
    CHECK(p.value()[1] == Approx(0.99 * p1b - (0.1 / 0.19) * 0.19 / (1.0 + eps)).epsilon(1e-13));

    // Adam with the same L2 weight decay lands elsewhere after one step: [0.9, -2.1] vs [0.89, -2.08].
    auto q = make_param();
    Adam<double> l2({q}, 0.1, 0.9, 0.999, eps, 0.1);
    run(l2, q, 1);
    CHECK(q.value()[0] == Approx(0.9).epsilon(1e-6));
    CHECK(std::abs(q.value()[0] - (0.99 - 0.1)) > 5e-3);
}

TEST_CASE("Adam and AdamW defaults are PyTorch's", "[optim][adam]") {
    auto p = make_param();
    Adam<double> adam({p});
    AdamW<double> adamw({p});
    CHECK(adam.lr() == 1e-3);
    CHECK(adam.beta1() == 0.9);
    CHECK(adam.beta2() == 0.999);
    CHECK(adam.eps() == 1e-8);
    CHECK(adam.weight_decay() == 0.0);
    CHECK(adamw.weight_decay() == 1e-2);
    CHECK(AdamW<float>::default_options().weight_decay == 1e-2);
}

TEST_CASE("Adam minimises a quadratic", "[optim][adam]") {
    const std::vector<float> a = {1.0f, 4.0f, 0.5f}, c = {3.0f, -1.0f, 2.0f};
    auto p = Var<float>::parameter(Tensor<float>(Shape{3}, 0.0f));
    Adam<float> opt({p}, 0.05);
    for (int it = 0; it < 3000; ++it) {
        opt.zero_grad();
        for (int i = 0; i < 3; ++i) p.mutable_grad()[i] = a[i] * (p.value()[i] - c[i]);
        opt.step();
        if (it == 2000) opt.set_lr(0.005);
    }
    for (int i = 0; i < 3; ++i) CHECK(p.value()[i] == Approx(c[i]).margin(1e-3));
}

TEST_CASE("Adam keeps a step count per parameter, as PyTorch", "[optim][adam]") {
    // q has no gradient on the first step, so its first update (at optimizer step 2) uses
    // t = 1 and moves by lr * sign(g), like a fresh parameter.
    auto p = make_param();
    auto q = make_param();
    Adam<double> opt({p, q}, 0.1);
    p.mutable_grad().fill(1.0);
    opt.step();
    CHECK(q.value()[0] == 1.0);
    q.mutable_grad()[0] = 0.5;
    q.mutable_grad()[1] = 1.0;
    opt.step();
    CHECK(q.value()[0] == Approx(1.0 - 0.05 / (0.5 + eps)).epsilon(1e-13));
    const auto state = opt.state();
    bool found = false;
    for (const auto& [key, t] : state)
        if (key == "step.1") {
            found = true;
            CHECK(t.item() == 1.0);
        } else if (key == "step.0") {
            CHECK(t.item() == 2.0);
        } else if (key == "step") {
            CHECK(t.item() == 2.0);
        }
    CHECK(found);
}

TEST_CASE("Adam state round trip continues identically", "[optim][adam][state]") {
    auto p = Var<float>::parameter(Tensor<float>(Shape{2, 3}, {1, 2, 3, -1, -2, -3}));
    AdamW<float> opt({p}, 0.01);
    auto set = [](Var<float>& v, float s) {
        for (Index j = 0; j < 6; ++j) v.mutable_grad()[j] = s * static_cast<float>(j + 1) - 2.0f;
    };
    for (int s = 0; s < 3; ++s) {
        set(p, static_cast<float>(s));
        opt.step();
    }
    auto q = Var<float>::parameter(p.value());
    AdamW<float> resumed({q}, 0.01);
    resumed.load_state(opt.state());
    for (int s = 3; s < 6; ++s) {
        set(p, static_cast<float>(s));
        set(q, static_cast<float>(s));
        opt.step();
        resumed.step();
    }
    for (Index j = 0; j < 6; ++j) CHECK(q.value()[j] == p.value()[j]);
    CHECK(resumed.step_count() == 6);
}

TEST_CASE("Adam errors", "[optim][adam][errors]") {
    auto p = make_param();
    CHECK_THROWS_WITH(Adam<double>({p}, 0.0), Catch::Contains("learning rate > 0"));
    CHECK_THROWS_WITH(Adam<double>({p}, 1e-3, 1.0), Catch::Contains("beta1 in [0, 1)"));
    CHECK_THROWS_WITH(Adam<double>({p}, 1e-3, -0.1), Catch::Contains("beta1 in [0, 1)"));
    CHECK_THROWS_WITH(Adam<double>({p}, 1e-3, 0.9, 1.5), Catch::Contains("beta2 in [0, 1)"));
    CHECK_THROWS_WITH(Adam<double>({p}, 1e-3, 0.9, 0.999, -1.0), Catch::Contains("eps >= 0"));
    CHECK_THROWS_WITH(AdamW<double>({p}, 1e-3, 0.9, 0.999, 1e-8, -0.01),
                      Catch::Contains("AdamW: expected a weight decay >= 0"));

    Adam<double> opt({p});
    using State = optim::OptimizerState<double>;
    const auto one = Tensor<double>::scalar(1);
    CHECK_THROWS_WITH(opt.load_state(State{{"step", one}, {"exp_avg.0", Tensor<double>(Shape{2})}}),
                      Catch::Contains("needs all of exp_avg.0, exp_avg_sq.0 and step.0"));
    CHECK_THROWS_WITH(opt.load_state(State{{"step", one}, {"exp_avg_sq.0", Tensor<double>(Shape{2, 1})}}),
                      Catch::Contains("has shape [2, 1], parameter 0 has shape [2]"));
    CHECK_THROWS_WITH(opt.load_state(State{{"step", one}, {"step.x", one}}),
                      Catch::Contains("does not end in a parameter index"));
}

TEST_CASE("Adam in float: the four-at-a-time loop and its scalar tail both follow the update rule",
          "[optim][adam]") {
    // 39 values: the SSE loop takes 36, the scalar loop the last 3. Two steps from one reference
    // written out in double; float rounding only.
    const Index n = 39;
    Tensor<float> p0(Shape{n});
    for (Index j = 0; j < n; ++j) p0[j] = 0.25f * static_cast<float>(j) - 4.0f;
    auto p = Var<float>::parameter(p0);
    Adam<float> opt({p}, 0.01);
    std::vector<double> ref(static_cast<std::size_t>(n)), m(ref.size(), 0.0), v(ref.size(), 0.0);
    for (Index j = 0; j < n; ++j) ref[static_cast<std::size_t>(j)] = p0[j];
    for (int t = 1; t <= 2; ++t) {
        for (Index j = 0; j < n; ++j) p.mutable_grad()[j] = std::sin(0.7f * static_cast<float>(j + t));
        opt.step();
        const double c1 = 1.0 - std::pow(0.9, t), c2 = 1.0 - std::pow(0.999, t);
        for (Index j = 0; j < n; ++j) {
            const auto k = static_cast<std::size_t>(j);
            const double g = std::sin(0.7f * static_cast<float>(j + t));
            // The betas as the float optimizer holds them (1 - 0.999f is 1.3e-5 off 0.001).
            m[k] = double(0.9f) * m[k] + double(1.0f - 0.9f) * g;
            v[k] = double(0.999f) * v[k] + double(1.0f - 0.999f) * g * g;
            ref[k] -= (0.01 / c1) * m[k] / (std::sqrt(v[k]) / std::sqrt(c2) + 1e-8);
        }
    }
    for (Index j = 0; j < n; ++j) {
        INFO("element " << j);
        CHECK(p.value()[j] == Approx(ref[static_cast<std::size_t>(j)]).epsilon(1e-6).margin(1e-7));
    }
}
