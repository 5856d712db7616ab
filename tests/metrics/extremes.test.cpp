#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "maunet/metrics/extremes.hpp"

using namespace maunet;
using namespace maunet::metrics;

namespace {
const double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

TEST_CASE("linear_quantile matches hand-sorted values (NumPy 'linear')", "[metrics][extremes]") {
    // sorted: 1 2 3 4 5
    const std::vector<double> five = {5, 1, 4, 2, 3};
    CHECK(linear_quantile(five, 0.0) == 1.0);
    CHECK(linear_quantile(five, 1.0) == 5.0);
    CHECK(linear_quantile(five, 0.5) == 3.0);
    CHECK(linear_quantile(five, 0.95) == Approx(4.8));   // h = 4 * 0.95 = 3.8: 4 + 0.8 (5 - 4)
    CHECK(linear_quantile(five, 0.3) == Approx(2.2));    // h = 1.2: 2 + 0.2 (3 - 2)
    // sorted: 1 .. 10; np.quantile(np.arange(1, 11), 0.99) = 9.91, 0.95 -> 9.55
    const std::vector<double> ten = {10, 3, 7, 1, 9, 2, 8, 4, 6, 5};
    CHECK(linear_quantile(ten, 0.99) == Approx(9.91));
    CHECK(linear_quantile(ten, 0.95) == Approx(9.55));
    CHECK(linear_quantile({7.0}, 0.99) == 7.0);
    CHECK(std::isnan(linear_quantile({}, 0.5)));
}

TEMPLATE_TEST_CASE("quantile errors: signed and absolute", "[metrics][extremes]", float, double) {
    const Tensor<TestType> obs(Shape{2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
    const Tensor<TestType> pred(Shape{2, 5}, {20, 18, 16, 14, 12, 10, 8, 6, 4, 2});  // 2 * obs, reversed
    // q95(obs) = 9.55, q95(pred) = 19.1; q99(obs) = 9.91, q99(pred) = 19.82.
    CHECK(signed_quantile_error(pred, obs, {}, 0.95) == Approx(9.55));
    CHECK(signed_quantile_error(obs, pred, {}, 0.95) == Approx(-9.55));
    CHECK(quantile_error(obs, pred, {}, 0.95) == Approx(9.55));
    CHECK(quantile_error(pred, obs, {}, 0.99) == Approx(9.91));
    CHECK(quantile_error(obs, obs, {}, 0.99) == 0.0);
}

TEST_CASE("quantile errors: the same valid cells on both sides", "[metrics][extremes][mask]") {
    const Tensor<double> obs(Shape{6}, {1, 2, 3, 100, 4, kNaN});
    const Tensor<double> pred(Shape{6}, {1, 2, 3, 4, kNaN, 50});
    const Tensor<double> mask(Shape{6}, {1, 1, 1, 0, 1, 1});
    // valid: cells 0, 1, 2 only (3 masked, 4 pred NaN, 5 obs NaN): both sides {1, 2, 3}.
    CHECK(quantile_error(pred, obs, mask, 0.99) == 0.0);
    Tensor<double> pred_shifted = pred;
    pred_shifted[2] = 5;  // pred {1, 2, 5}: q50 2 vs 2, q100 5 vs 3
    CHECK(signed_quantile_error(pred_shifted, obs, mask, 0.5) == 0.0);
    CHECK(signed_quantile_error(pred_shifted, obs, mask, 1.0) == 2.0);
    // masked cells can hold anything
    Tensor<double> obs_junk = obs;
    obs_junk[3] = std::numeric_limits<double>::infinity();
    CHECK(signed_quantile_error(pred_shifted, obs_junk, mask, 1.0) == 2.0);
    CHECK(std::isnan(quantile_error(pred, obs, Tensor<double>::zeros(Shape{6}), 0.95)));
}

TEST_CASE("wet-day frequency error", "[metrics][extremes]") {
    const Tensor<double> obs(Shape{2, 3}, {0, 0.5, 1, 2, 5, 0});   // wet (>= 1): 3 of 6
    const Tensor<double> pred(Shape{2, 3}, {1, 1, 1, 2, 0, 0});    // wet: 4 of 6 (1.0 counts)
    CHECK(wet_day_frequency_error(pred, obs) == Approx(1.0 / 6.0));
    CHECK(wet_day_frequency_error(obs, pred) == Approx(-1.0 / 6.0));
    CHECK(wet_day_frequency_error(pred, obs, {}, 0.4) == Approx(4.0 / 6.0 - 4.0 / 6.0));
    CHECK(wet_day_frequency_error(pred, obs, {}, 3.0) == Approx(-1.0 / 6.0));
    const Tensor<double> mask(Shape{2, 3}, {1, 1, 1, 1, 0, 1});   // drop the cell obs 5 / pred 0
    CHECK(wet_day_frequency_error(pred, obs, mask) == Approx(4.0 / 5.0 - 2.0 / 5.0));
    CHECK(std::isnan(wet_day_frequency_error(pred, obs, Tensor<double>::zeros(Shape{2, 3}))));
}

TEST_CASE("contingency table on a tiny field", "[metrics][extremes]") {
    // threshold 1: (2,2) hit, (2,0) false alarm, (0,2) miss, (0,0) correct negative, (2,3) hit,
    // (1,1) hit (events are >= threshold).
    const Tensor<float> pred(Shape{6}, {2, 2, 0, 0, 2, 1});
    const Tensor<float> obs(Shape{6}, {2, 0, 2, 0, 3, 1});
    const ContingencyTable t = contingency_table(pred, obs, {}, 1.0);
    CHECK(t.hits == 3);
    CHECK(t.false_alarms == 1);
    CHECK(t.misses == 1);
    CHECK(t.correct_negatives == 1);
    CHECK(t.pod() == Approx(3.0 / 4.0));
    CHECK(t.far() == Approx(1.0 / 4.0));
    CHECK(t.csi() == Approx(3.0 / 5.0));
    CHECK(pod(pred, obs, {}, 1.0) == t.pod());
    CHECK(far(pred, obs, {}, 1.0) == t.far());
    CHECK(csi(pred, obs, {}, 1.0) == t.csi());
    // With the last two cells masked: a = 1, b = 1, c = 1.
    const Tensor<float> mask(Shape{6}, {1, 1, 1, 1, 0, 0});
    CHECK(pod(pred, obs, mask, 1.0) == Approx(0.5));
    CHECK(far(pred, obs, mask, 1.0) == Approx(0.5));
    CHECK(csi(pred, obs, mask, 1.0) == Approx(1.0 / 3.0));
}

TEST_CASE("contingency scores are NaN when their denominator is 0", "[metrics][extremes]") {
    const Tensor<double> dry(Shape{4}, {0, 0, 0.5, 0});
    const Tensor<double> wet(Shape{4}, {0, 3, 0, 0});
    // Nothing anywhere: all three undefined.
    CHECK(std::isnan(pod(dry, dry, {}, 1.0)));
    CHECK(std::isnan(far(dry, dry, {}, 1.0)));
    CHECK(std::isnan(csi(dry, dry, {}, 1.0)));
    // pred wet, obs dry: POD undefined (no observed event), FAR = 1, CSI = 0.
    CHECK(std::isnan(pod(wet, dry, {}, 1.0)));
    CHECK(far(wet, dry, {}, 1.0) == 1.0);
    CHECK(csi(wet, dry, {}, 1.0) == 0.0);
    // pred dry, obs wet: POD = 0, FAR undefined, CSI = 0.
    CHECK(pod(dry, wet, {}, 1.0) == 0.0);
    CHECK(std::isnan(far(dry, wet, {}, 1.0)));
    CHECK(csi(dry, wet, {}, 1.0) == 0.0);
    // All masked: an empty table, no exception.
    const auto t = contingency_table(wet, wet, Tensor<double>::zeros(Shape{4}), 1.0);
    CHECK(t.hits + t.false_alarms + t.misses + t.correct_negatives == 0);
    CHECK(std::isnan(t.csi()));
}

TEST_CASE("extremes: bad inputs throw", "[metrics][extremes][errors]") {
    const Tensor<double> a(Shape{2, 3}), b(Shape{6});
    CHECK_THROWS_AS(quantile_error(a, b, {}, 0.95), ShapeError);
    CHECK_THROWS_WITH(quantile_error(a, b, {}, 0.95), Catch::Contains("quantile_error: pred [2, 3] and obs [6]"));
    CHECK_THROWS_WITH(signed_quantile_error(a, a, Tensor<double>(Shape{3, 2}), 0.95),
                      Catch::Contains("signed_quantile_error: mask [3, 2] must have the shape of pred [2, 3]"));
    CHECK_THROWS_AS(quantile_error(a, a, {}, 1.5), ArgumentError);
    CHECK_THROWS_WITH(quantile_error(a, a, {}, 1.5), Catch::Contains("q in [0, 1], found 1.5"));
    CHECK_THROWS_AS(signed_quantile_error(a, a, {}, -0.1), ArgumentError);
    CHECK_THROWS_AS(signed_quantile_error(a, a, {}, kNaN), ArgumentError);
    CHECK_THROWS_AS(linear_quantile({1.0, 2.0}, 2.0), ArgumentError);
    CHECK_THROWS_WITH(linear_quantile({1.0, kNaN}, 0.5), Catch::Contains("expected finite values, found nan"));
    CHECK_THROWS_AS(wet_day_frequency_error(a, b), ShapeError);
    CHECK_THROWS_WITH(wet_day_frequency_error(a, b), Catch::Contains("wet_day_frequency_error: pred [2, 3]"));
    CHECK_THROWS_AS(wet_day_frequency_error(a, a, {}, kNaN), ArgumentError);
    CHECK_THROWS_WITH(wet_day_frequency_error(a, a, {}, kNaN), Catch::Contains("expected a finite threshold"));
    CHECK_THROWS_WITH(csi(a, b, {}, 1.0), Catch::Contains("csi: pred [2, 3] and obs [6]"));
    CHECK_THROWS_WITH(pod(a, a, {}, std::numeric_limits<double>::infinity()),
                      Catch::Contains("pod: expected a finite threshold, found inf"));
    Tensor<double> bad_mask(Shape{2, 3}, 1.0);
    bad_mask[0] = 2;
    CHECK_THROWS_WITH(far(a, a, bad_mask, 1.0), Catch::Contains("far: mask values must be 0 or 1, found 2"));
}
