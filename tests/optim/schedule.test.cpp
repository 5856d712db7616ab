#include <catch2/catch.hpp>

#include "maunet/optim/schedule.hpp"

using namespace maunet;
using namespace maunet::optim;

TEST_CASE("StepLR decays by gamma every step_size steps", "[optim][schedule]") {
    StepLR s(0.1, 3, 0.5);
    CHECK(s.lr_at(0) == 0.1);
    CHECK(s.lr_at(2) == 0.1);
    CHECK(s.lr_at(3) == Approx(0.05));
    CHECK(s.lr_at(5) == Approx(0.05));
    CHECK(s.lr_at(6) == Approx(0.025));
    CHECK(s.lr_at(30) == Approx(0.1 * std::pow(0.5, 10)));
}

TEST_CASE("CosineLR without warm-up is PyTorch's closed form", "[optim][schedule]") {
    // lr(s) = min + (base - min) (1 + cos(pi s / S)) / 2 with base 1, min 0.1, S = 4:
    // s = 0: 1; s = 1: 0.1 + 0.9 (1 + cos(pi/4))/2 = 0.1 + 0.45 (1 + 0.70710678) = 0.868198...;
    // s = 2: 0.55; s = 3: 0.1 + 0.45 (1 - 0.70710678) = 0.231802...; s = 4 and after: 0.1.
    CosineLR s(1.0, 4, 0.1);
    CHECK(s.lr_at(0) == Approx(1.0));
    CHECK(s.lr_at(1) == Approx(0.8681980515339464));
    CHECK(s.lr_at(2) == Approx(0.55));
    CHECK(s.lr_at(3) == Approx(0.2318019484660536));
    CHECK(s.lr_at(4) == Approx(0.1));
    CHECK(s.lr_at(100) == Approx(0.1));
}

TEST_CASE("CosineLR linear warm-up reaches base_lr at its last step", "[optim][schedule]") {
    // W = 4, S = 8, base 0.2, min 0: warm-up 0.05, 0.1, 0.15, 0.2; then cosine over 4 steps
    // from s = 4 (0.2) through s = 6 (0.1) to s = 8 (0).
    CosineLR s(0.2, 8, 0.0, 4);
    CHECK(s.lr_at(0) == Approx(0.05));
    CHECK(s.lr_at(1) == Approx(0.1));
    CHECK(s.lr_at(3) == Approx(0.2));
    CHECK(s.lr_at(4) == Approx(0.2));
    CHECK(s.lr_at(6) == Approx(0.1));
    CHECK(s.lr_at(8) == Approx(0.0).margin(1e-15));
    CHECK(s.lr_at(9) == 0.0);
    // Monotone after the warm-up.
    for (long k = 4; k < 12; ++k) CHECK(s.lr_at(k + 1) <= s.lr_at(k));
}

TEST_CASE("ConstantLR and the schedule base class", "[optim][schedule]") {
    std::unique_ptr<LRSchedule> s = std::make_unique<ConstantLR>(0.3);
    CHECK(s->lr_at(0) == 0.3);
    CHECK(s->lr_at(12345) == 0.3);
}

TEST_CASE("schedule errors", "[optim][schedule][errors]") {
    CHECK_THROWS_WITH(StepLR(0.0, 3), Catch::Contains("base learning rate > 0"));
    CHECK_THROWS_WITH(StepLR(0.1, 0), Catch::Contains("step size >= 1"));
    CHECK_THROWS_WITH(StepLR(0.1, 3, 0.0), Catch::Contains("gamma > 0"));
    CHECK_THROWS_WITH(CosineLR(0.1, 0), Catch::Contains("total_steps >= 1"));
    CHECK_THROWS_WITH(CosineLR(0.1, 10, 0.2), Catch::Contains("min_lr in [0, base_lr"));
    CHECK_THROWS_WITH(CosineLR(0.1, 10, 0.0, 10), Catch::Contains("warmup_steps in [0, total_steps"));
    CHECK_THROWS_WITH(CosineLR(0.1, 10).lr_at(-1), Catch::Contains("step index >= 0"));
    CHECK_THROWS_AS(ConstantLR(-1.0), ArgumentError);
}
