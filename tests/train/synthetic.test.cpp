#include <catch2/catch.hpp>

#include <cmath>

#include "maunet/train/synthetic.hpp"

using namespace maunet;
using namespace maunet::train;

namespace {
SyntheticConfig small_config(std::uint64_t seed) {
    SyntheticConfig c;
    c.height = 32;
    c.width = 48;
    c.factor = 4;
    c.num_fields = 12;
    c.seed = seed;
    return c;
}
bool same(const Tensor<float>& a, const Tensor<float>& b) {
    if (a.shape() != b.shape()) return false;
    for (Index i = 0; i < a.numel(); ++i)
        if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
    return true;
}
}  // namespace

TEST_CASE("sample_gamma has the gamma mean and variance", "[train][synthetic]") {
    for (double shape : {0.8, 2.5}) {
        Rng rng(99);
        const int n = 200000;
        double s = 0, s2 = 0;
        int negative = 0;
        for (int i = 0; i < n; ++i) {
            const double x = sample_gamma(rng, shape, 15.0);
            negative += x < 0.0;
            s += x;
            s2 += x * x;
        }
        CHECK(negative == 0);
        const double mean = s / n, var = s2 / n - mean * mean;
        CHECK(mean == Approx(shape * 15.0).epsilon(0.02));
        CHECK(var == Approx(shape * 225.0).epsilon(0.04));
    }
    Rng a(3), b(3);
    CHECK(sample_gamma(a, 0.8, 15.0) == sample_gamma(b, 0.8, 15.0));
}

TEST_CASE("synthetic fields are deterministic by seed", "[train][synthetic]") {
    const auto a = generate_synthetic<float>(small_config(1));
    const auto b = generate_synthetic<float>(small_config(1));
    const auto c = generate_synthetic<float>(small_config(2));
    REQUIRE(a.fields.size() == 12);
    CHECK(same(a.terrain, b.terrain));
    CHECK_FALSE(same(a.terrain, c.terrain));
    for (std::size_t k = 0; k < a.fields.size(); ++k) {
        CHECK(same(a.fields[k].truth, b.fields[k].truth));
        CHECK(same(a.fields[k].biased, b.fields[k].biased));
        CHECK(same(a.fields[k].coarse_biased, b.fields[k].coarse_biased));
        CHECK_FALSE(same(a.fields[k].truth, c.fields[k].truth));
    }
    CHECK_FALSE(same(a.fields[0].truth, a.fields[1].truth));
    // Field k does not depend on how many fields are generated.
    auto fewer = small_config(1);
    fewer.num_fields = 3;
    CHECK(same(generate_synthetic<float>(fewer).fields[2].truth, a.fields[2].truth));
}

TEST_CASE("synthetic truth: shapes, dry fraction, non-negative, spatially coherent", "[train][synthetic]") {
    const auto data = generate_synthetic<float>(small_config(7));
    for (const auto& f : data.fields) {
        REQUIRE(f.truth.shape() == Shape{1, 32, 48});
        REQUIRE(f.biased.shape() == Shape{1, 32, 48});
        CHECK(f.coarse_biased.shape() == Shape{1, 8, 12});  // fine / factor
        CHECK(f.coarse_truth.shape() == Shape{1, 8, 12});
        Index dry = 0;
        double max_value = 0.0;
        for (float v : f.truth) {
            REQUIRE(v >= 0.0f);
            if (v == 0.0f) ++dry;
            CHECK((v == 0.0f || v >= 0.1f - 1e-6f));  // no values between 0 and the trace threshold
            max_value = std::max(max_value, static_cast<double>(v));
        }
        CHECK(static_cast<double>(dry) / static_cast<double>(f.truth.numel()) == Approx(0.5).margin(0.02));
        CHECK(max_value > 0.1);
        for (float v : f.biased) CHECK(v >= 0.0f);
        // Neighbours are alike: the mean absolute horizontal difference is much smaller than
        // that between shuffled cells would be.
        double diff = 0.0, spread = 0.0, mean = 0.0;
        for (float v : f.truth) mean += v;
        mean /= static_cast<double>(f.truth.numel());
        for (Index i = 0; i < 32; ++i)
            for (Index j = 0; j + 1 < 48; ++j) diff += std::abs(f.truth(0, i, j + 1) - f.truth(0, i, j));
        for (float v : f.truth) spread += std::abs(v - mean);
        CHECK(diff / (32.0 * 47.0) < 0.5 * spread / f.truth.numel());
    }
    // Coarse truth is the block mean of the fine truth.
    const auto& f = data.fields[0];
    double block = 0.0;
    for (Index a = 0; a < 4; ++a)
        for (Index b = 0; b < 4; ++b) block += f.truth(0, 4 + a, 8 + b);
    CHECK(f.coarse_truth(0, 1, 2) == Approx(block / 16.0).epsilon(1e-6));
}

TEST_CASE("synthetic bias: biased mean differs from the truth as imposed", "[train][synthetic]") {
    auto config = small_config(3);
    config.num_fields = 20;
    const auto data = generate_synthetic<float>(config);
    double truth = 0.0, biased = 0.0, expected = 0.0, light_truth = 0.0, light_biased = 0.0;
    double heavy_truth = 0.0, heavy_biased = 0.0;
    for (const auto& f : data.fields)
        for (Index c = 0; c < f.truth.numel(); ++c) {
            const double x = f.truth[c], a = data.bias_factor[c];
            // The imposed bias without noise (the noise has mean 1).
            expected += a * std::pow(x, config.bias_exponent) + config.drizzle * std::max(0.0, 1.0 - x / config.light_rain);
            truth += x;
            biased += f.biased[c];
            if (x < config.light_rain) {
                light_truth += x;
                light_biased += f.biased[c];
            }
            if (x > 30.0) {
                heavy_truth += x;
                heavy_biased += f.biased[c];
            }
        }
    CHECK(biased == Approx(expected).epsilon(0.01));
    CHECK(std::abs(biased - truth) > 0.02 * truth);  // the bias is visible
    CHECK(light_biased > 2.0 * light_truth);         // drizzle wets light rain
    CHECK(heavy_biased < heavy_truth);               // the exponent damps heavy rain
}

TEST_CASE("synthetic sea mask and the two task datasets", "[train][synthetic]") {
    auto config = small_config(4);
    config.sea_fraction = 0.25;
    config.num_fields = 5;
    const auto data = generate_synthetic<float>(config);
    double sea = 0;
    for (float m : data.land_mask) sea += m == 0.0f;
    CHECK(sea / data.land_mask.numel() == Approx(0.25).margin(0.03));
    CHECK(data.land_mask(0, 0, 0) == 0.0f);  // the corner is sea
    for (Index c = 0; c < data.land_mask.numel(); ++c) {
        CHECK(std::isnan(data.fields[0].truth[c]) == (data.land_mask[c] == 0.0f));
        CHECK(std::isfinite(data.fields[0].biased[c]));
    }
    CHECK(std::isnan(data.fields[0].coarse_truth(0, 0, 0)));  // an all-sea block

    const auto bc = bias_correction_dataset(data, true);
    REQUIRE(bc.size() == 5);
    CHECK(bc.channels() == 2);
    CHECK(bc[1].input(0, 20, 30) == data.fields[1].biased(0, 20, 30));
    CHECK(bc[1].input(1, 20, 30) == data.terrain(0, 20, 30));
    CHECK(bc[1].mask(0, 0, 0) == 0.0f);

    const auto ds = downscaling_dataset(data);
    CHECK(ds.channels() == 1);
    CHECK(ds[2].input(0, 13, 27) == data.fields[2].coarse_biased(0, 3, 6));  // replicated coarse cell
    CHECK(same(ds[2].target, data.fields[2].truth));
    // A custom upsampler is used, and its output shape is checked.
    const auto custom = downscaling_dataset<float>(data, false, [](const Tensor<float>&, Index h, Index w) {
        return Tensor<float>(Shape{1, h, w}, 7.0f);
    });
    CHECK(custom[0].input(0, 5, 5) == 7.0f);
    CHECK_THROWS_WITH(downscaling_dataset<float>(data, false,
                                                 [](const Tensor<float>&, Index, Index) {
                                                     return Tensor<float>(Shape{1, 2, 2});
                                                 }),
                      Catch::Contains("the upsampler returned [1, 2, 2], expected [1, 32, 48]"));
}

TEST_CASE("synthetic config errors", "[train][synthetic][errors]") {
    auto c = small_config(1);
    c.factor = 5;
    CHECK_THROWS_WITH(generate_synthetic<float>(c), Catch::Contains("must be multiples of factor 5"));
    c = small_config(1);
    c.dry_fraction = 1.0;
    CHECK_THROWS_WITH(generate_synthetic<float>(c), Catch::Contains("dry_fraction in [0, 1)"));
    c = small_config(1);
    c.sea_fraction = 0.7;
    CHECK_THROWS_WITH(generate_synthetic<float>(c), Catch::Contains("sea_fraction in [0, 0.5]"));
    c = small_config(1);
    c.num_fields = 0;
    CHECK_THROWS_WITH(generate_synthetic<float>(c), Catch::Contains("num_fields >= 1"));
    Rng rng(1);
    CHECK_THROWS_WITH(sample_gamma(rng, 0.0, 1.0), Catch::Contains("shape > 0"));
}
