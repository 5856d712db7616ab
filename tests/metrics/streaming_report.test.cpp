#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>

#include "maunet/metrics/streaming_report.hpp"
#include "support/random_tensor.hpp"

using namespace maunet;
using namespace maunet::metrics;

namespace {

// Time steps [t0, t0 + n) of a [N, 1, H, W] tensor.
Tensor<float> steps(const Tensor<float>& x, Index t0, Index n) {
    const Index plane = x.numel() / x.dim(0);
    Shape s = x.shape();
    s[0] = n;
    Tensor<float> out(s);
    std::copy_n(x.data() + t0 * plane, n * plane, out.data());
    return out;
}

bool same_bits(double a, double b) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
    return a == b;
}

MetricReport streamed(const Tensor<float>& pred, const Tensor<float>& obs, const Tensor<float>& mask, Index chunk,
                      const MetricOptions& options, double range) {
    StreamingEvaluator<float> e(options);
    const Index N = pred.dim(0);
    for (Index t = 0; t < N; t += chunk) {
        const Index n = std::min(chunk, N - t);
        e.add(steps(pred, t, n), steps(obs, t, n), mask.numel() ? steps(mask, t, n) : Tensor<float>());
    }
    e.start_second_pass(range > 0 ? range : std::max(1.0, e.observed_max()));
    for (Index t = 0; t < N; t += chunk) {
        const Index n = std::min(chunk, N - t);
        e.add_second(steps(pred, t, n), steps(obs, t, n), mask.numel() ? steps(mask, t, n) : Tensor<float>());
    }
    return e.finish();
}

}  // namespace

TEST_CASE("streamed metrics equal the whole-array ones for any chunk size", "[metrics][streaming]") {
    // Precipitation-like: gamma-ish wet values, dry zeros, NaN in both series, a masked block.
    const Index N = 10, H = 18, W = 12;
    Tensor<float> obs = testing::random<float>(Shape{N, 1, H, W}, 3, -2.0, 4.0);
    Tensor<float> pred = testing::random<float>(Shape{N, 1, H, W}, 4, -2.0, 4.0);
    Tensor<float> mask(Shape{N, 1, H, W});
    for (Index i = 0; i < obs.numel(); ++i) {
        obs[i] = obs[i] < 0 ? 0.f : obs[i] * obs[i] * 5.f;
        pred[i] = pred[i] < -0.3f ? 0.f : std::abs(pred[i]) * 6.f;
        // NaN in the first rows (windows lower down still count for SSIM) and all over field 3.
        const Index row = (i % (H * W)) / W, field = i / (H * W);
        if ((i % 29 == 0 && row < 4) || (field == 3 && i % 5 == 0)) obs[i] = std::numeric_limits<float>::quiet_NaN();
        if ((i % 31 == 0 && row < 4) || (field == 3 && i % 7 == 0)) pred[i] = std::numeric_limits<float>::quiet_NaN();
        mask[i] = (i % (H * W)) < 2 * W ? 0.f : 1.f;  // the first two rows are sea
    }
    MetricOptions options(0);
    options.event_thresholds = {1.0, 10.0, 20.0};
    for (double range : {0.0, 40.0}) {
        double L = range;
        if (L <= 0) {
            for (Index i = 0; i < obs.numel(); ++i)
                if (mask[i] != 0.f && std::isfinite(obs[i]) && std::isfinite(pred[i])) L = std::max(L, double(obs[i]));
            if (L <= 0) L = 1;
        }
        MetricOptions whole_options = options;
        whole_options.data_range = L;
        const MetricReport expected = evaluate(pred, obs, mask, whole_options);
        REQUIRE(expected.n_valid > 0);
        REQUIRE(std::isfinite(expected.ssim));  // windows with missing cells still count (ssim.hpp)
        REQUIRE(std::isfinite(expected.pearson_r));
        REQUIRE(std::isfinite(expected.p99_error));
        for (Index chunk : {Index(1), Index(3), Index(4), N}) {
            CAPTURE(range, chunk);
            const MetricReport got = streamed(pred, obs, mask, chunk, options, range);
            const auto a = expected.fields(), b = got.fields();
            REQUIRE(a.size() == b.size());
            for (std::size_t k = 0; k < a.size(); ++k) {
                CAPTURE(a[k].first, a[k].second, b[k].second);
                CHECK(a[k].first == b[k].first);
                CHECK(same_bits(a[k].second, b[k].second));
            }
            CHECK(got.data_range == L);
        }
    }
}

TEST_CASE("one pass gives the first-pass scores of evaluate and r to rounding", "[metrics][streaming]") {
    // Wet values far from 0 (a large common mean), so that r from raw sums would lose digits;
    // NaN scattered in both series and a masked block.
    const Index N = 9, H = 13, W = 11;
    Tensor<float> obs = testing::random<float>(Shape{N, 1, H, W}, 11, -2.0, 4.0);
    Tensor<float> pred = testing::random<float>(Shape{N, 1, H, W}, 12, -2.0, 4.0);
    Tensor<float> mask(Shape{N, 1, H, W});
    for (Index i = 0; i < obs.numel(); ++i) {
        obs[i] = obs[i] < 0 ? 0.f : 1000.f + obs[i] * obs[i] * 5.f;
        pred[i] = 0.5f * obs[i] + (pred[i] < -0.3f ? 0.f : 1000.f + std::abs(pred[i]) * 6.f);
        if (i % 23 == 0) obs[i] = std::numeric_limits<float>::quiet_NaN();
        if (i % 19 == 0) pred[i] = std::numeric_limits<float>::quiet_NaN();
        mask[i] = (i % (H * W)) < W ? 0.f : 1.f;
    }
    MetricOptions options(0);
    options.event_thresholds = {1.0, 1010.0};
    const double L = 1234.5;
    MetricOptions whole = options;
    whole.data_range = L;
    const MetricReport expected = evaluate(pred, obs, mask, whole);
    REQUIRE(expected.n_valid > 0);
    REQUIRE(expected.pearson_r > 0.1);
    for (Index chunk : {Index(1), Index(2), Index(4), N}) {
        CAPTURE(chunk);
        StreamingEvaluator<float> e(options);
        if (chunk > 1) e.first_pass_only();  // no quantile counts: the same first-pass scores
        for (Index t = 0; t < N; t += chunk) {
            const Index n = std::min(chunk, N - t);
            e.add(steps(pred, t, n), steps(obs, t, n), steps(mask, t, n));
        }
        const MetricReport got = e.finish_first_pass(L);
        CHECK(got.n_valid == expected.n_valid);
        CHECK(same_bits(got.rmse, expected.rmse));
        CHECK(same_bits(got.mae, expected.mae));
        CHECK(same_bits(got.bias, expected.bias));
        CHECK(same_bits(got.relative_bias_percent, expected.relative_bias_percent));
        CHECK(same_bits(got.psnr, expected.psnr));
        CHECK(same_bits(got.wet_day_frequency_error, expected.wet_day_frequency_error));
        CHECK(got.pearson_r == Approx(expected.pearson_r).epsilon(1e-12));
        REQUIRE(got.events.size() == expected.events.size());
        for (std::size_t k = 0; k < got.events.size(); ++k) {
            CHECK(got.events[k].hits == expected.events[k].hits);
            CHECK(got.events[k].false_alarms == expected.events[k].false_alarms);
            CHECK(got.events[k].misses == expected.events[k].misses);
        }
        CHECK(std::isnan(got.ssim));  // pass 2's scores are not made up
        CHECK(std::isnan(got.p99_error));
        CHECK(std::isnan(got.p95_signed_error));
        CHECK(got.data_range == L);
    }
}

TEST_CASE("streamed metrics of all-equal or empty samples match evaluate", "[metrics][streaming]") {
    MetricOptions options(1.0);
    options.compute_ssim = false;
    Tensor<float> obs(Shape{5, 1, 2, 3}), pred(Shape{5, 1, 2, 3});
    std::fill(obs.begin(), obs.end(), 2.0f);
    std::fill(pred.begin(), pred.end(), 2.5f);
    const auto a = evaluate(pred, obs, Tensor<float>(), options).fields();
    const auto b = streamed(pred, obs, Tensor<float>(), 2, options, 1.0).fields();
    for (std::size_t k = 0; k < a.size(); ++k) CHECK(same_bits(a[k].second, b[k].second));
    std::fill(obs.begin(), obs.end(), std::numeric_limits<float>::quiet_NaN());
    const auto c = evaluate(pred, obs, Tensor<float>(), options).fields();
    const auto d = streamed(pred, obs, Tensor<float>(), 2, options, 1.0).fields();
    for (std::size_t k = 0; k < c.size(); ++k) CHECK(same_bits(c[k].second, d[k].second));
}

TEST_CASE("the streaming evaluator refuses calls out of order", "[metrics][streaming][errors]") {
    StreamingEvaluator<float> e{MetricOptions(1.0)};
    CHECK_THROWS_WITH(e.add_second(Tensor<float>(Shape{1, 11, 11}), Tensor<float>(Shape{1, 11, 11}), Tensor<float>()),
                      Catch::Contains("call start_second_pass() first"));
    CHECK_THROWS_WITH(e.finish(), Catch::Contains("both passes"));
    CHECK_THROWS_WITH(e.add(Tensor<float>(Shape{1, 4, 4}), Tensor<float>(Shape{1, 4, 4}), Tensor<float>()),
                      Catch::Contains("SSIM needs fields"));
    CHECK_THROWS_WITH(e.finish_first_pass(0.0), Catch::Contains("data range R > 0"));
    StreamingEvaluator<float> once{MetricOptions(1.0)};
    once.first_pass_only();
    CHECK_THROWS_WITH(once.start_second_pass(1.0), Catch::Contains("first_pass_only() was declared"));
    StreamingEvaluator<float> late{MetricOptions(1.0)};
    late.add(Tensor<float>(Shape{1, 11, 11}), Tensor<float>(Shape{1, 11, 11}), Tensor<float>());
    CHECK_THROWS_WITH(late.first_pass_only(), Catch::Contains("called after add()"));
    e.start_second_pass(1.0);
    CHECK_THROWS_WITH(e.add(Tensor<float>(Shape{1, 11, 11}), Tensor<float>(Shape{1, 11, 11}), Tensor<float>()),
                      Catch::Contains("after start_second_pass()"));
    CHECK_THROWS_WITH(e.finish_first_pass(1.0), Catch::Contains("finish_first_pass: called after start_second_pass()"));
}

TEST_CASE("evaluators that each score some time steps, their states summed, equal one that scores all",
          "[metrics][streaming][parallel]") {
    // What ranks under MPI do: each adds its chunks at their places, the shared states are added
    // element by element (an allreduce), and every evaluator loads the sum, after each pass.
    const Index N = 11, H = 13, W = 12;
    Tensor<float> obs = testing::random<float>(Shape{N, 1, H, W}, 21, -2.0, 4.0);
    Tensor<float> pred = testing::random<float>(Shape{N, 1, H, W}, 22, -2.0, 4.0);
    for (Index i = 0; i < obs.numel(); ++i) {
        obs[i] = obs[i] < 0 ? 0.f : obs[i] * obs[i] * 5.f;
        pred[i] = pred[i] < -0.3f ? 0.f : std::abs(pred[i]) * 6.f;
        if (i % 17 == 0 && (i % (H * W)) < 3 * W) obs[i] = std::numeric_limits<float>::quiet_NaN();  // windows below count
        if (i / (H * W) == 4) pred[i] = std::numeric_limits<float>::quiet_NaN();  // a step with no valid cell
    }
    MetricOptions options(0);
    options.event_thresholds = {1.0, 10.0};
    const Index chunk = 3;
    const auto sum_states = [](std::vector<StreamingEvaluator<float>>& es) {
        std::vector<double> total = es[0].shared_state();
        for (std::size_t r = 1; r < es.size(); ++r) {
            const std::vector<double> v = es[r].shared_state();
            REQUIRE(v.size() == total.size());
            for (std::size_t k = 0; k < v.size(); ++k) total[k] += v[k];
        }
        for (auto& e : es) e.load_shared_state(total);
    };
    for (bool one_pass : {false, true}) {
        CAPTURE(one_pass);
        StreamingEvaluator<float> alone(options);
        if (one_pass) alone.first_pass_only();
        for (Index t = 0; t < N; t += chunk) alone.add(steps(pred, t, std::min(chunk, N - t)), steps(obs, t, std::min(chunk, N - t)), Tensor<float>());
        for (int ranks : {2, 3}) {
            CAPTURE(ranks);
            std::vector<StreamingEvaluator<float>> es(static_cast<std::size_t>(ranks), StreamingEvaluator<float>(options));
            for (auto& e : es) {
                e.expect_steps(N);
                if (one_pass) e.first_pass_only();
            }
            // Chunk c to rank c mod ranks, added in reverse so the order of arrival differs too.
            for (Index c = (N + chunk - 1) / chunk - 1; c >= 0; --c) {
                const Index t = c * chunk, n = std::min(chunk, N - t);
                es[static_cast<std::size_t>(c % ranks)].add_at(t, steps(pred, t, n), steps(obs, t, n), Tensor<float>());
            }
            sum_states(es);
            REQUIRE(es[0].n_valid() == alone.n_valid());
            if (one_pass) {
                const auto a = alone.finish_first_pass(30.0).fields(), b = es[ranks - 1].finish_first_pass(30.0).fields();
                for (std::size_t k = 0; k < a.size(); ++k) {
                    CAPTURE(a[k].first);
                    CHECK(same_bits(a[k].second, b[k].second));
                }
                continue;
            }
            const double L = std::max(1.0, alone.observed_max());
            CHECK(es[1].observed_max() == alone.observed_max());
            StreamingEvaluator<float> whole = alone;
            whole.start_second_pass(L);
            for (Index t = 0; t < N; t += chunk) whole.add_second(steps(pred, t, std::min(chunk, N - t)), steps(obs, t, std::min(chunk, N - t)), Tensor<float>());
            for (auto& e : es) e.start_second_pass(L);
            for (Index c = 0; c * chunk < N; ++c) {
                const Index t = c * chunk, n = std::min(chunk, N - t);
                es[static_cast<std::size_t>((c + 1) % ranks)].add_second_at(t, steps(pred, t, n), steps(obs, t, n), Tensor<float>());
            }
            sum_states(es);
            const auto a = whole.finish().fields(), b = es[0].finish().fields();
            REQUIRE(std::isfinite(whole.finish().p99_error));
            REQUIRE(std::isfinite(whole.finish().ssim));
            for (std::size_t k = 0; k < a.size(); ++k) {
                CAPTURE(a[k].first);
                CHECK(same_bits(a[k].second, b[k].second));
            }
            // And the whole-array evaluate(), whose sums run per time step too.
            MetricOptions w = options;
            w.data_range = L;
            const auto e = evaluate(pred, obs, Tensor<float>(), w).fields();
            for (std::size_t k = 0; k < a.size(); ++k) {
                CAPTURE(e[k].first);
                CHECK(same_bits(a[k].second, e[k].second));
            }
        }
    }
}

TEST_CASE("shared states are refused when a step was scored twice or the sizes differ", "[metrics][streaming][errors]") {
    MetricOptions options(1.0);
    options.compute_ssim = false;
    const Tensor<float> one = testing::random<float>(Shape{2, 1, 3, 3}, 5, 0.0, 1.0);
    StreamingEvaluator<float> a(options), b(options), c(options);
    for (auto* e : {&a, &b, &c}) e->expect_steps(4);
    a.add_at(0, one, one, Tensor<float>());
    b.add_at(1, one, one, Tensor<float>());  // step 1 twice
    CHECK_THROWS_WITH(a.add_at(1, one, one, Tensor<float>()), Catch::Contains("time step 1 was added before"));
    std::vector<double> sum = a.shared_state();
    const std::vector<double> vb = b.shared_state();
    for (std::size_t k = 0; k < sum.size(); ++k) sum[k] += vb[k];
    CHECK_THROWS_WITH(c.load_shared_state(sum), Catch::Contains("scored by 2 evaluators"));
    StreamingEvaluator<float> longer(options);
    longer.expect_steps(5);
    CHECK_THROWS_WITH(longer.load_shared_state(a.shared_state()), Catch::Contains("the same expect_steps()"));
}
