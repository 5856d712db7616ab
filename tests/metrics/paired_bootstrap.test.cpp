#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "maunet/metrics/paired_bootstrap.hpp"

using namespace maunet;
using namespace maunet::metrics;

namespace {

FieldErrors errors(std::vector<double> squared, std::vector<double> count) {
    FieldErrors e;
    e.squared = std::move(squared);
    e.count = std::move(count);
    return e;
}

}  // namespace

TEST_CASE("field_errors: per-field sums over the valid cells, pooled RMSE as the metrics give it",
          "[metrics][bootstrap]") {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    // Two fields of 2 x 2: field 0 errors 1, 2, 0, (NaN obs); field 1 errors 3, 0, 0, (masked).
    const Tensor<float> pred = Tensor<float>(Shape{2, 1, 2, 2}, {2, 3, 5, 7, 4, 1, 1, 9});
    const Tensor<float> obs = Tensor<float>(Shape{2, 1, 2, 2}, {1, 1, 5, nan, 1, 1, 1, 0});
    const Tensor<float> mask = Tensor<float>(Shape{2, 1, 2, 2}, {1, 1, 1, 1, 1, 1, 1, 0});
    const FieldErrors e = field_errors(pred, obs, mask);
    REQUIRE(e.fields() == 2);
    CHECK(e.squared[0] == 5.0);
    CHECK(e.count[0] == 3.0);
    CHECK(e.squared[1] == 9.0);
    CHECK(e.count[1] == 3.0);
    CHECK(e.rmse() == Approx(rmse(pred, obs, mask)).epsilon(1e-12));
    CHECK(e.rmse() == Approx(std::sqrt(14.0 / 6.0)).epsilon(1e-12));
}

TEST_CASE("paired bootstrap: a method against itself differs by exactly zero", "[metrics][bootstrap]") {
    const FieldErrors a = errors({4, 1, 9, 16}, {2, 2, 2, 2});
    const BootstrapInterval r = paired_bootstrap_rmse_difference({a}, {a});
    CHECK(r.estimate == 0.0);
    CHECK(r.low == 0.0);
    CHECK(r.high == 0.0);
    CHECK_FALSE(r.excludes_zero());
    CHECK(r.resamples == 2000);
}

TEST_CASE("paired bootstrap: a method better on every field has an interval below zero", "[metrics][bootstrap]") {
    // B's squared errors are 4x A's on every field: RMSE_B = 2 RMSE_A on any resample, so every
    // resample's difference is -RMSE_A(R) < 0.
    std::vector<double> sa, sb, n;
    for (int f = 0; f < 30; ++f) {
        sa.push_back(1.0 + f % 7);
        sb.push_back(4.0 * (1.0 + f % 7));
        n.push_back(10);
    }
    const FieldErrors a = errors(sa, n), b = errors(sb, n);
    const BootstrapInterval r = paired_bootstrap_rmse_difference({a}, {b});
    CHECK(r.estimate == Approx(a.rmse() - b.rmse()).epsilon(1e-12));
    CHECK(r.estimate == Approx(-a.rmse()).epsilon(1e-12));
    CHECK(r.high < 0);
    CHECK(r.low <= r.estimate);
    CHECK(r.estimate <= r.high);
    CHECK(r.excludes_zero());
}

TEST_CASE("paired bootstrap: two fields, the interval spans the extreme resamples", "[metrics][bootstrap]") {
    // A is better on field 0 by 1 (RMSE 1 vs 2), worse on field 1 by 1 (3 vs 2), one cell each. The
    // resamples are {0,0} (difference -1, probability 1/4), {0,1} (sqrt(5) - 2, 1/2) and {1,1} (+1,
    // 1/4), so the 2.5% and 97.5% percentiles of 4000 resamples are exactly -1 and +1.
    const FieldErrors a = errors({1, 9}, {1, 1}), b = errors({4, 4}, {1, 1});
    BootstrapOptions o;
    o.resamples = 4000;
    const BootstrapInterval r = paired_bootstrap_rmse_difference({a}, {b}, o);
    CHECK(r.estimate == Approx(std::sqrt(5.0) - 2.0).epsilon(1e-12));
    CHECK(r.low == -1.0);
    CHECK(r.high == 1.0);
    CHECK_FALSE(r.excludes_zero());
}

TEST_CASE("paired bootstrap: the pairing cancels what the methods share", "[metrics][bootstrap]") {
    // Fields of very different difficulty, shared by both methods; A is 10% better on each. Unpaired,
    // the spread of either RMSE over resamples is large; the paired difference stays below zero.
    std::vector<double> sa, sb, n;
    for (int f = 0; f < 40; ++f) {
        const double hard = (f % 5 == 0) ? 100.0 : 1.0;
        sa.push_back(0.81 * hard);
        sb.push_back(hard);
        n.push_back(1);
    }
    const BootstrapInterval r = paired_bootstrap_rmse_difference({errors(sa, n)}, {errors(sb, n)});
    CHECK(r.high < 0);
    CHECK(r.low > -0.1 * 20);  // the difference is -10% of an RMSE of at most 10
}

TEST_CASE("paired bootstrap: several seeds give the mean difference; same seed, same interval",
          "[metrics][bootstrap]") {
    // 12 fields whose squared errors differ from field to field, for two seeds of each method.
    std::vector<FieldErrors> a(2), b(2);
    for (int s = 0; s < 2; ++s)
        for (int f = 0; f < 12; ++f) {
            a[s].squared.push_back(1.0 + (f * 7 + s * 3) % 11);
            a[s].count.push_back(4);
            b[s].squared.push_back(1.5 + (f * 5 + s) % 13);
            b[s].count.push_back(4);
        }
    const BootstrapInterval r = paired_bootstrap_rmse_difference(a, b);
    const double expected = ((a[0].rmse() - b[0].rmse()) + (a[1].rmse() - b[1].rmse())) / 2;
    CHECK(r.estimate == Approx(expected).epsilon(1e-12));
    const BootstrapInterval again = paired_bootstrap_rmse_difference(a, b);
    CHECK(again.low == r.low);
    CHECK(again.high == r.high);
    BootstrapOptions other;
    other.seed = 2;
    const BootstrapInterval r2 = paired_bootstrap_rmse_difference(a, b, other);
    CHECK(r2.estimate == r.estimate);
    CHECK((r2.low != r.low || r2.high != r.high));
}

TEST_CASE("paired bootstrap: fields without valid cells are skipped, never NaN", "[metrics][bootstrap]") {
    // Field 1 is all-missing (count 0) for both: it adds nothing to either RMSE.
    const FieldErrors a = errors({1, 0, 1}, {1, 0, 1}), b = errors({4, 0, 4}, {1, 0, 1});
    const BootstrapInterval r = paired_bootstrap_rmse_difference({a}, {b});
    CHECK(r.estimate == -1.0);
    CHECK(r.low == -1.0);
    CHECK(r.high == -1.0);
    CHECK(r.resamples > 1900);  // only resamples that drew field 1 three times (1/27) are dropped
    CHECK(r.resamples < 2000);
}

TEST_CASE("paired bootstrap: inputs that cannot be paired are refused", "[metrics][bootstrap]") {
    const FieldErrors three = errors({1, 1, 1}, {1, 1, 1}), two = errors({1, 1}, {1, 1});
    CHECK_THROWS_WITH(paired_bootstrap_rmse_difference({three}, {two}),
                      Catch::Contains("scored on the same 3 fields, found one with 2"));
    CHECK_THROWS_WITH(paired_bootstrap_rmse_difference({three, three}, {three}),
                      Catch::Contains("same number of seeds (>= 1) for both methods, got 2 and 1"));
    CHECK_THROWS_WITH(paired_bootstrap_rmse_difference({}, {}), Catch::Contains("got 0 and 0"));
    CHECK_THROWS_WITH(paired_bootstrap_rmse_difference({errors({0, 0}, {0, 0})}, {errors({0, 0}, {0, 0})}),
                      Catch::Contains("no valid cell"));
    BootstrapOptions few;
    few.resamples = 10;
    CHECK_THROWS_WITH(paired_bootstrap_rmse_difference({three}, {three}, few),
                      Catch::Contains("at least 100 resamples, got 10"));
    BootstrapOptions level;
    level.level = 1.0;
    CHECK_THROWS_WITH(paired_bootstrap_rmse_difference({three}, {three}, level),
                      Catch::Contains("level in (0, 1), got 1"));
}
