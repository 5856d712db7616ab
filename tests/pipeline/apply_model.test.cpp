#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "maunet/pipeline/apply_model.hpp"

using maunet::Index;
using maunet::Rng;
using maunet::Shape;
using maunet::Tensor;
using namespace maunet::pipeline;

namespace {

// Positive rain-like fields [T, H, W] with a few missing cells.
Tensor<float> rain(Index T, Index H, Index W, std::uint64_t seed) {
    Rng rng(seed);
    Tensor<float> x(Shape{T, H, W});
    for (Index i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(std::exp(2.0 * rng.uniform()) - 1.0);
    x[3] = std::numeric_limits<float>::quiet_NaN();
    return x;
}

PrecipModel<float> small_model(Task task, Index factor, Index H, Index W) {
    maunet::nn::UNetConfig c = maunet::nn::UNetConfig::maunet();
    c.levels = 2;
    c.base_width = 4;
    Rng rng(3);
    PrecipModel<float> m(c, rng, task, factor);
    maunet::train::Dataset<float> d;
    const Tensor<float> fine = rain(4, H, W, 11);
    for (Index t = 0; t < 4; ++t) {
        Tensor<float> x(Shape{1, H, W}), y(Shape{1, H, W});
        std::copy(fine.begin() + t * H * W, fine.begin() + (t + 1) * H * W, x.begin());
        for (Index j = 0; j < H * W; ++j) y[j] = 1.1f * (std::isnan(x[j]) ? 0.f : x[j]);
        d.add(maunet::train::make_sample(x, y));
    }
    m.fit_transforms(d);
    return m;
}

}  // namespace

TEST_CASE("model_input regrids coarse fields bicubically for downscaling", "[pipeline][apply]") {
    const Tensor<float> coarse = rain(3, 4, 5, 1);
    const Tensor<float> in = model_input(coarse, Task::downscaling, 3);
    REQUIRE(in.shape() == Shape{3, 1, 12, 15});
    const Tensor<float> expected = maunet::stats::regrid_bicubic(coarse, 12, 15, true);
    for (Index i = 0; i < in.numel(); ++i)
        CHECK((in[i] == expected[i] || (std::isnan(in[i]) && std::isnan(expected[i]))));
    const Tensor<float> same = model_input(coarse, Task::bias_correction, 3);
    REQUIRE(same.shape() == Shape{3, 1, 4, 5});
    CHECK(same[7] == coarse[7]);
}

TEST_CASE("apply_precip_model: one call equals the model on each chunk", "[pipeline][apply]") {
    for (Task task : {Task::downscaling, Task::bias_correction}) {
        const Index f = task == Task::downscaling ? 2 : 1;
        const PrecipModel<float> m = small_model(task, f, 10, 14);
        const Tensor<float> fields = rain(5, 10 / f, 14 / f, 7);
        const Tensor<float> whole = apply_precip_model(m, fields);
        REQUIRE(whole.shape() == Shape{5, 10, 14});
        // The same as predict() on the documented input.
        const Tensor<float> direct = m.predict(model_input(fields, task, f));
        for (Index i = 0; i < whole.numel(); ++i)
            CHECK((whole[i] == direct[i] || (std::isnan(whole[i]) && std::isnan(direct[i]))));
        // Chunks of 2, 2 and 1 fields, concatenated.
        const Index plane = (10 / f) * (14 / f);
        Index t0 = 0;
        for (Index n : {2, 2, 1}) {
            Tensor<float> part(Shape{n, 10 / f, 14 / f});
            std::copy(fields.begin() + t0 * plane, fields.begin() + (t0 + n) * plane, part.begin());
            const Tensor<float> out = apply_precip_model(m, part);
            for (Index i = 0; i < out.numel(); ++i) {
                const float a = out[i], b = whole[t0 * 140 + i];
                CHECK((a == b || (std::isnan(a) && std::isnan(b))));
            }
            t0 += n;
        }
        // Output never negative; a missing input cell stays missing (bias correction; the
        // bicubic regridding of downscaling fills an isolated missing coarse cell).
        Index nan = 0;
        for (float v : whole) {
            if (std::isnan(v)) ++nan;
            else CHECK(v >= 0.f);
        }
        if (task == Task::bias_correction) CHECK(std::isnan(whole[3]));
        CHECK(nan <= 1);
    }
}

TEST_CASE("apply_precip_model: bad inputs", "[pipeline][apply][errors]") {
    const PrecipModel<float> m = small_model(Task::bias_correction, 1, 8, 8);
    CHECK_THROWS_AS(apply_precip_model(m, Tensor<float>(Shape{8, 8})), maunet::ShapeError);
    CHECK_THROWS_WITH(apply_precip_model(m, Tensor<float>(Shape{8, 8})), Catch::Contains("expected fields [time, y, x]"));
    CHECK_THROWS_WITH(model_input(Tensor<float>(Shape{1, 4, 4}), Task::downscaling, 0),
                      Catch::Contains("expected a factor >= 1, got 0"));
}

TEST_CASE("apply_samples: MC dropout samples are reproducible, per field and finished like apply()",
          "[pipeline][apply][mc_dropout]") {
    for (Task task : {Task::downscaling, Task::bias_correction}) {
        const Index f = task == Task::downscaling ? 2 : 1, K = 6;
        const PrecipModel<float> m = small_model(task, f, 10, 14);
        const Tensor<float> fields = rain(5, 10 / f, 14 / f, 7);
        const Tensor<float> deterministic = apply_precip_model(m, fields);
        const Tensor<float> s = m.apply_samples(fields, K, 42);
        REQUIRE(s.shape() == Shape{5, K, 10, 14});
        const Index plane = 140;
        // Finished as apply() finishes: missing where apply() is missing, never negative, 0 or
        // at least the wet-day threshold.
        Index differ = 0;
        for (Index t = 0; t < 5; ++t)
            for (Index k = 0; k < K; ++k)
                for (Index j = 0; j < plane; ++j) {
                    const float v = s[(t * K + k) * plane + j];
                    CHECK(std::isnan(v) == std::isnan(deterministic[t * plane + j]));
                    if (std::isnan(v)) continue;
                    CHECK((v == 0.f || v >= 0.1f));
                    if (k > 0 && v != s[(t * K + k - 1) * plane + j]) ++differ;
                }
        CHECK(differ > 5 * (K - 1) * plane / 2);  // the masks differ from sample to sample
        // The same seed gives the same samples; another seed others.
        const Tensor<float> again = m.apply_samples(fields, K, 42), other = m.apply_samples(fields, K, 43);
        Index valid = 0, same = 0, changed = 0;
        for (Index i = 0; i < s.numel(); ++i) {
            if (std::isnan(s[i])) continue;
            ++valid;
            same += s[i] == again[i] ? 1 : 0;
            changed += s[i] != other[i] ? 1 : 0;
        }
        CHECK(same == valid);
        CHECK(changed > s.numel() / 2);
        // Field by field (as any --chunk gives them) equals the whole stack.
        const Index coarse = (10 / f) * (14 / f);
        for (Index t = 0; t < 5; ++t) {
            Tensor<float> one(Shape{1, 10 / f, 14 / f});
            std::copy(fields.begin() + t * coarse, fields.begin() + (t + 1) * coarse, one.begin());
            const Tensor<float> alone = m.apply_samples(one, K, 42);
            for (Index i = 0; i < alone.numel(); ++i) {
                const float a = alone[i], b = s[t * K * plane + i];
                CHECK((a == b || (std::isnan(a) && std::isnan(b))));
            }
        }
        // Sampling changes no state: inference afterwards is what it was.
        const Tensor<float> after = apply_precip_model(m, fields);
        for (Index i = 0; i < after.numel(); ++i)
            CHECK((after[i] == deterministic[i] || (std::isnan(after[i]) && std::isnan(deterministic[i]))));
    }
}

TEST_CASE("apply_samples: refusals", "[pipeline][apply][mc_dropout][errors]") {
    const PrecipModel<float> m = small_model(Task::bias_correction, 1, 8, 8);
    CHECK_THROWS_WITH(m.apply_samples(rain(1, 8, 8, 1), 0, 1), Catch::Contains("at least 1 sample, got 0"));
    CHECK_THROWS_WITH(m.apply_samples(Tensor<float>(Shape{8, 8}), 2, 1), Catch::Contains("expected fields [time, y, x]"));
    maunet::nn::UNetConfig plain = maunet::nn::UNetConfig::unet();
    plain.levels = 2;
    plain.base_width = 2;
    Rng rng(1);
    PrecipModel<float> u(plain, rng, Task::bias_correction, 1);
    maunet::train::Dataset<float> d;
    const Tensor<float> x = rain(1, 8, 8, 2).reshaped(Shape{1, 8, 8});
    d.add(maunet::train::make_sample(x, x));
    u.fit_transforms(d);
    CHECK_THROWS_WITH(u.apply_samples(rain(1, 8, 8, 1), 2, 1), Catch::Contains("MC dropout needs dropout layers"));
}
