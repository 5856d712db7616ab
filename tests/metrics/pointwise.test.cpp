#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "maunet/metrics/pointwise.hpp"

using namespace maunet;
using namespace maunet::metrics;

namespace {
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

template <class T>
Tensor<T> random_field(Shape s, std::uint64_t seed, double lo = 0, double hi = 10) {
    Rng rng(seed);
    return Tensor<T>::uniform(std::move(s), rng, static_cast<T>(lo), static_cast<T>(hi));
}

template <class T>
Tensor<T> add(const Tensor<T>& a, T c) {
    Tensor<T> out = a;
    for (auto& v : out) v += c;
    return out;
}
}  // namespace

TEMPLATE_TEST_CASE("pointwise: identical fields are perfect", "[metrics][pointwise]", float, double) {
    const auto obs = random_field<TestType>(Shape{2, 3, 7, 5}, 1);
    const auto s = pointwise_scores(obs, obs);
    CHECK(s.n_valid == 2 * 3 * 7 * 5);
    CHECK(s.rmse == 0.0);
    CHECK(s.mae == 0.0);
    CHECK(s.bias == 0.0);
    CHECK(s.relative_bias_percent == 0.0);
    CHECK(s.pearson_r == Approx(1.0).margin(1e-12));
    CHECK(psnr(obs, obs, {}, 10.0) == kInf);
}

TEMPLATE_TEST_CASE("pointwise: pred = obs + 2", "[metrics][pointwise]", float, double) {
    const auto obs = random_field<TestType>(Shape{4, 9, 6}, 2);
    const auto pred = add(obs, TestType(2));
    const double tol = std::is_same_v<TestType, float> ? 1e-5 : 1e-12;
    CHECK(rmse(pred, obs) == Approx(2.0).epsilon(tol));
    CHECK(mae(pred, obs) == Approx(2.0).epsilon(tol));
    CHECK(mean_bias(pred, obs) == Approx(2.0).epsilon(tol));
    CHECK(pearson_r(pred, obs) == Approx(1.0).epsilon(tol));
    // 20 log10(20 / 2) = 20 dB
    CHECK(psnr(pred, obs, {}, 20.0) == Approx(20.0).epsilon(tol));
    // relative bias = 100 * 2 n / sum(obs)
    double sum_obs = 0;
    for (auto v : obs) sum_obs += v;
    CHECK(relative_bias_percent(pred, obs) == Approx(100.0 * 2.0 * obs.numel() / sum_obs).epsilon(tol));
}

TEST_CASE("pointwise: pred = -obs has r = -1", "[metrics][pointwise]") {
    const auto obs = random_field<double>(Shape{13, 11}, 3, -5, 5);
    Tensor<double> pred = obs;
    for (auto& v : pred) v = -v;
    CHECK(pearson_r(pred, obs) == Approx(-1.0).epsilon(1e-12));
}

TEST_CASE("pointwise: hand-worked 3x3", "[metrics][pointwise]") {
    const Tensor<double> obs(Shape{3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
    const Tensor<double> pred(Shape{3, 3}, {2, 2, 4, 4, 6, 6, 7, 9, 8});
    // d = pred - obs = [1 0 1; 0 1 0; 0 1 -1]: sum d = 3, sum |d| = 5, sum d^2 = 5, sum obs = 45.
    CHECK(rmse(pred, obs) == Approx(std::sqrt(5.0 / 9.0)));
    CHECK(mae(pred, obs) == Approx(5.0 / 9.0));
    CHECK(mean_bias(pred, obs) == Approx(3.0 / 9.0));
    CHECK(relative_bias_percent(pred, obs) == Approx(100.0 * 3.0 / 45.0));
    // mean obs 5, centred obs -4..4, sum(obs_c^2) = 60; mean pred 16/3, sum(pred^2) = 306, so
    // sum(pred_c^2) = 306 - 9 (16/3)^2 = 50; sum(obs_c pred) = -8-6-8-4+0+6+14+27+32 = 53.
    CHECK(pearson_r(pred, obs) == Approx(53.0 / std::sqrt(60.0 * 50.0)).epsilon(1e-12));
    // RMSE sqrt(5/9): PSNR = 20 log10(8 / sqrt(5/9)).
    CHECK(psnr(pred, obs, {}, 8.0) == Approx(20.0 * std::log10(8.0 / std::sqrt(5.0 / 9.0))));
}

TEST_CASE("pointwise: the mask selects cells exactly", "[metrics][pointwise][mask]") {
    const Tensor<double> obs(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
    const Tensor<double> pred(Shape{2, 3}, {2, 1, 5, 4, 9, 3});
    const Tensor<double> mask(Shape{2, 3}, {1, 0, 1, 1, 0, 1});
    // The valid cells alone, as a field of their own.
    const Tensor<double> obs_kept(Shape{4}, {1, 3, 4, 6});
    const Tensor<double> pred_kept(Shape{4}, {2, 5, 4, 3});
    const auto a = pointwise_scores(pred, obs, mask);
    const auto b = pointwise_scores(pred_kept, obs_kept);
    CHECK(a.n_valid == 4);
    CHECK(a.rmse == b.rmse);
    CHECK(a.mae == b.mae);
    CHECK(a.bias == b.bias);
    CHECK(a.relative_bias_percent == b.relative_bias_percent);
    CHECK(a.pearson_r == b.pearson_r);
    CHECK(a.rmse == Approx(std::sqrt((1.0 + 4.0 + 0.0 + 9.0) / 4.0)));
}

TEST_CASE("pointwise: NaN or inf in a masked cell changes nothing", "[metrics][pointwise][mask]") {
    const auto obs = random_field<float>(Shape{3, 8, 8}, 4);
    const auto pred = random_field<float>(Shape{3, 8, 8}, 5);
    Tensor<float> mask = Tensor<float>::ones(obs.shape());
    for (Index i = 0; i < mask.numel(); i += 7) mask[i] = 0;
    const auto before = pointwise_scores(pred, obs, mask);
    Tensor<float> pred_nan = pred, obs_nan = obs;
    for (Index i = 0; i < mask.numel(); i += 7) {
        pred_nan[i] = std::numeric_limits<float>::quiet_NaN();
        obs_nan[i] = (i % 2) ? std::numeric_limits<float>::infinity() : 1e30f;
    }
    const auto after = pointwise_scores(pred_nan, obs_nan, mask);
    CHECK(after.n_valid == before.n_valid);
    CHECK(after.rmse == before.rmse);
    CHECK(after.mae == before.mae);
    CHECK(after.bias == before.bias);
    CHECK(after.relative_bias_percent == before.relative_bias_percent);
    CHECK(after.pearson_r == before.pearson_r);
    CHECK(psnr(pred_nan, obs_nan, mask, 10.0) == psnr(pred, obs, mask, 10.0));
}

TEST_CASE("pointwise: non-finite values without a mask are missing cells", "[metrics][pointwise][mask]") {
    const Tensor<double> obs(Shape{4}, {1, 2, kNaN, 4});
    const Tensor<double> pred(Shape{4}, {2, kInf, 3, 4});
    // Only cells 0 and 3 are valid: d = 1, 0.
    CHECK(pointwise_scores(pred, obs).n_valid == 2);
    CHECK(mae(pred, obs) == Approx(0.5));
    CHECK(rmse(pred, obs) == Approx(std::sqrt(0.5)));
}

TEST_CASE("pointwise: no valid cell gives NaN, never an exception", "[metrics][pointwise][mask]") {
    const auto obs = random_field<double>(Shape{5, 5}, 6);
    const auto pred = random_field<double>(Shape{5, 5}, 7);
    const Tensor<double> ocean = Tensor<double>::zeros(Shape{5, 5});
    const auto s = pointwise_scores(pred, obs, ocean);
    CHECK(s.n_valid == 0);
    CHECK(std::isnan(s.rmse));
    CHECK(std::isnan(s.mae));
    CHECK(std::isnan(s.bias));
    CHECK(std::isnan(s.relative_bias_percent));
    CHECK(std::isnan(s.pearson_r));
    CHECK(std::isnan(psnr(pred, obs, ocean, 1.0)));
    const Tensor<double> all_nan(Shape{5, 5}, kNaN);
    CHECK(std::isnan(rmse(all_nan, obs)));
}

TEST_CASE("pointwise: degenerate denominators give NaN", "[metrics][pointwise]") {
    const Tensor<double> obs(Shape{3}, {0.1, 0.1, 0.1});  // constant obs: zero variance
    const Tensor<double> pred(Shape{3}, {0.0, 0.5, 1.0});
    CHECK(std::isnan(pearson_r(pred, obs)));
    CHECK(std::isnan(pearson_r(obs, pred)));
    CHECK(std::isnan(pearson_r(obs, obs)));  // identical but constant: still undefined
    const Tensor<double> dry(Shape{3}, {0, 0, 0});
    CHECK(std::isnan(relative_bias_percent(pred, dry)));
    CHECK(mean_bias(pred, dry) == Approx(0.5));
    const Tensor<float> one_p(Shape{1}, {2.0f}), one_o(Shape{1}, {1.0f});
    CHECK(std::isnan(pearson_r(one_p, one_o)));  // a single cell has no variance
    CHECK(rmse(one_p, one_o) == 1.0);
}

TEST_CASE("pointwise: bad inputs throw with the metric and the shapes", "[metrics][pointwise][errors]") {
    const Tensor<double> a(Shape{2, 3}), b(Shape{3, 2});
    CHECK_THROWS_AS(rmse(a, b), ShapeError);
    CHECK_THROWS_WITH(rmse(a, b), Catch::Contains("rmse: pred [2, 3] and obs [3, 2] must have the same shape"));
    CHECK_THROWS_WITH(pearson_r(a, b), Catch::Contains("pearson_r: pred [2, 3] and obs [3, 2]"));
    const Tensor<double> small_mask(Shape{2, 2}, 1.0);
    CHECK_THROWS_AS(mae(a, a, small_mask), ShapeError);
    CHECK_THROWS_WITH(mae(a, a, small_mask), Catch::Contains("mae: mask [2, 2] must have the shape of pred [2, 3]"));
    Tensor<double> soft_mask(Shape{2, 3}, 1.0);
    soft_mask[4] = 0.5;
    CHECK_THROWS_AS(mean_bias(a, a, soft_mask), ArgumentError);
    CHECK_THROWS_WITH(mean_bias(a, a, soft_mask), Catch::Contains("mean_bias: mask values must be 0 or 1, found 0.5"));
    soft_mask[4] = kNaN;
    CHECK_THROWS_AS(relative_bias_percent(a, a, soft_mask), ArgumentError);
    CHECK_THROWS_AS(psnr(a, a, {}, 0.0), ArgumentError);
    CHECK_THROWS_WITH(psnr(a, a, {}, 0.0), Catch::Contains("psnr: expected a data range R > 0"));
    CHECK_THROWS_WITH(psnr(a, a, {}, -3.0), Catch::Contains("found -3"));
    CHECK_THROWS_AS(psnr(a, a, {}, kNaN), ArgumentError);
    CHECK_THROWS_AS(psnr(a, a, {}, kInf), ArgumentError);
    CHECK_THROWS_WITH(psnr(a, b, {}, 1.0), Catch::Contains("psnr: pred [2, 3] and obs [3, 2]"));
}
