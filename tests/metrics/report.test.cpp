#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <map>

#include "maunet/metrics/report.hpp"

using namespace maunet;
using namespace maunet::metrics;

namespace {
const double kNaN = std::numeric_limits<double>::quiet_NaN();

template <class T>
Tensor<T> random_field(Shape s, std::uint64_t seed, double lo = 0, double hi = 20) {
    Rng rng(seed);
    return Tensor<T>::uniform(std::move(s), rng, static_cast<T>(lo), static_cast<T>(hi));
}

// NaN-aware equality: both NaN, or equal to a tight relative tolerance.
bool same(double a, double b) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
    if (std::isinf(a) || std::isinf(b)) return a == b;
    return a == Approx(b).epsilon(1e-12).margin(1e-15);
}
}  // namespace

TEMPLATE_TEST_CASE("evaluate gives what the single metrics give", "[metrics][report]", float, double) {
    const Shape shape{2, 3, 16, 17};
    const auto obs = random_field<TestType>(shape, 1);
    auto pred = random_field<TestType>(shape, 2);
    Tensor<TestType> mask = Tensor<TestType>::ones(shape);
    for (Index i = 0; i < mask.numel(); i += 11) mask[i] = 0;
    pred[5] = std::numeric_limits<TestType>::quiet_NaN();  // a missing cell outside the mask

    MetricOptions options(20.0);
    options.wet_threshold = 2.5;
    options.event_thresholds = {1.0, 0.5, 15.0};
    const MetricReport r = evaluate(pred, obs, mask, options);

    CHECK(r.data_range == 20.0);
    CHECK(r.wet_threshold == 2.5);
    CHECK(r.n_valid == pointwise_scores(pred, obs, mask).n_valid);
    CHECK(r.n_valid < shape.numel());
    CHECK(same(r.rmse, rmse(pred, obs, mask)));
    CHECK(same(r.mae, mae(pred, obs, mask)));
    CHECK(same(r.bias, mean_bias(pred, obs, mask)));
    CHECK(same(r.relative_bias_percent, relative_bias_percent(pred, obs, mask)));
    CHECK(same(r.pearson_r, pearson_r(pred, obs, mask)));
    CHECK(same(r.psnr, psnr(pred, obs, mask, 20.0)));
    CHECK(same(r.ssim, ssim(pred, obs, mask, 20.0)));
    CHECK(same(r.p95_error, quantile_error(pred, obs, mask, 0.95)));
    CHECK(same(r.p99_error, quantile_error(pred, obs, mask, 0.99)));
    CHECK(same(r.p95_signed_error, signed_quantile_error(pred, obs, mask, 0.95)));
    CHECK(same(r.p99_signed_error, signed_quantile_error(pred, obs, mask, 0.99)));
    CHECK(same(r.wet_day_frequency_error, wet_day_frequency_error(pred, obs, mask, 2.5)));
    REQUIRE(r.events.size() == 3);
    for (std::size_t k = 0; k < 3; ++k) {
        const double t = options.event_thresholds[k];
        const ContingencyTable ref = contingency_table(pred, obs, mask, t);
        CHECK(r.events[k].threshold == t);
        CHECK(r.events[k].hits == ref.hits);
        CHECK(r.events[k].false_alarms == ref.false_alarms);
        CHECK(r.events[k].misses == ref.misses);
        CHECK(r.events[k].correct_negatives == ref.correct_negatives);
    }
}

TEST_CASE("evaluate: identical fields", "[metrics][report]") {
    const auto obs = random_field<double>(Shape{12, 12}, 3);
    const MetricReport r = evaluate(obs, obs, {}, MetricOptions(20.0));
    CHECK(r.n_valid == 144);
    CHECK(r.rmse == 0.0);
    CHECK(r.psnr == std::numeric_limits<double>::infinity());
    CHECK(r.pearson_r == Approx(1.0));
    CHECK(r.ssim == Approx(1.0));
    CHECK(r.p95_error == 0.0);
    CHECK(r.p99_signed_error == 0.0);
    CHECK(r.wet_day_frequency_error == 0.0);
    REQUIRE(r.events.size() == 2);  // default thresholds 1 and 10
    CHECK(r.events[0].csi() == 1.0);
    CHECK(r.events[1].far() == 0.0);
}

TEST_CASE("evaluate: fields() lists every metric in a fixed order", "[metrics][report]") {
    const auto obs = random_field<double>(Shape{12, 13}, 4);
    const auto pred = random_field<double>(Shape{12, 13}, 5);
    MetricOptions options(20.0);
    options.event_thresholds = {0.5, 25.4};
    const MetricReport r = evaluate(pred, obs, {}, options);
    const auto f = r.fields();
    const std::vector<std::string> expected = {
        "n_valid", "rmse", "mae", "bias", "relative_bias_percent", "pearson_r", "psnr_db", "ssim",
        "p95_error", "p99_error", "p95_signed_error", "p99_signed_error", "wet_day_frequency_error",
        "pod@0.5", "far@0.5", "csi@0.5", "pod@25.4", "far@25.4", "csi@25.4"};
    REQUIRE(f.size() == expected.size());
    for (std::size_t i = 0; i < f.size(); ++i) CHECK(f[i].first == expected[i]);
    std::map<std::string, double> by_name(f.begin(), f.end());
    CHECK(by_name["n_valid"] == 156.0);
    CHECK(by_name["rmse"] == r.rmse);
    CHECK(by_name["ssim"] == r.ssim);
    CHECK(by_name["csi@0.5"] == r.events[0].csi());
    CHECK(std::isnan(by_name["pod@25.4"]));  // uniform in [0, 20): no observed event >= 25.4
}

TEST_CASE("evaluate: all masked gives NaN everywhere, no exception", "[metrics][report][mask]") {
    const auto obs = random_field<float>(Shape{2, 11, 11}, 6);
    const auto pred = random_field<float>(Shape{2, 11, 11}, 7);
    const MetricReport r = evaluate(pred, obs, Tensor<float>::zeros(obs.shape()), MetricOptions(20.0));
    CHECK(r.n_valid == 0);
    for (const auto& [name, value] : r.fields()) {
        INFO(name);
        if (name == "n_valid") CHECK(value == 0.0);
        else CHECK(std::isnan(value));
    }
}

TEST_CASE("evaluate: NaN in masked cells changes nothing", "[metrics][report][mask]") {
    const auto obs = random_field<double>(Shape{14, 15}, 8);
    const auto pred = random_field<double>(Shape{14, 15}, 9);
    Tensor<double> mask = Tensor<double>::ones(obs.shape());
    mask(3, 4) = 0, mask(10, 10) = 0;
    Tensor<double> pred_nan = pred, obs_nan = obs;
    pred_nan(3, 4) = kNaN, obs_nan(10, 10) = kNaN;
    const auto a = evaluate(pred, obs, mask, MetricOptions(20.0)).fields();
    const auto b = evaluate(pred_nan, obs_nan, mask, MetricOptions(20.0)).fields();
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        INFO(a[i].first);
        CHECK(same(a[i].second, b[i].second));
    }
}

TEST_CASE("evaluate: SSIM can be skipped for small or point fields", "[metrics][report]") {
    const Tensor<double> obs(Shape{5}, {0, 1, 2, 3, 4});
    const Tensor<double> pred(Shape{5}, {0, 1, 2, 3, 6});
    MetricOptions options(4.0);
    CHECK_THROWS_AS(evaluate(pred, obs, {}, options), ArgumentError);
    CHECK_THROWS_WITH(evaluate(pred, obs, {}, options),
                      Catch::Contains("evaluate: SSIM needs fields [H, W], [N, H, W] or [N, C, H, W] with H, W >= 11, got [5]"));
    CHECK_THROWS_WITH(evaluate(pred, obs, {}, options), Catch::Contains("compute_ssim = false"));
    options.compute_ssim = false;
    const MetricReport r = evaluate(pred, obs, {}, options);
    CHECK(std::isnan(r.ssim));
    CHECK(r.rmse == Approx(std::sqrt(4.0 / 5.0)));
    // sorted pred {0,1,2,3,6}: h = 4 * 0.99 = 3.96 -> 3 + 0.96 * 3 = 5.88; obs -> 3 + 0.96 = 3.96.
    CHECK(r.p99_signed_error == Approx(5.88 - 3.96));
}

TEST_CASE("evaluate: bad inputs throw", "[metrics][report][errors]") {
    const Tensor<double> a(Shape{12, 12}), b(Shape{12, 13});
    CHECK_THROWS_AS(evaluate(a, b, {}, MetricOptions(1.0)), ShapeError);
    CHECK_THROWS_WITH(evaluate(a, b, {}, MetricOptions(1.0)),
                      Catch::Contains("evaluate: pred [12, 12] and obs [12, 13] must have the same shape"));
    CHECK_THROWS_WITH(evaluate(a, a, b, MetricOptions(1.0)), Catch::Contains("evaluate: mask [12, 13]"));
    CHECK_THROWS_AS(evaluate(a, a, {}, MetricOptions(0.0)), ArgumentError);
    CHECK_THROWS_WITH(evaluate(a, a, {}, MetricOptions(-2.0)), Catch::Contains("evaluate: expected a data range R > 0"));
    MetricOptions bad_wet(1.0);
    bad_wet.wet_threshold = kNaN;
    CHECK_THROWS_WITH(evaluate(a, a, {}, bad_wet), Catch::Contains("wet_threshold"));
    MetricOptions bad_event(1.0);
    bad_event.event_thresholds = {1.0, std::numeric_limits<double>::infinity()};
    CHECK_THROWS_WITH(evaluate(a, a, {}, bad_event), Catch::Contains("event_thresholds"));
    const Tensor<double> small(Shape{10, 10});
    CHECK_THROWS_WITH(evaluate(small, small, {}, MetricOptions(1.0)), Catch::Contains("got [10, 10]"));
}
