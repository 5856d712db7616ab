#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

#include "maunet/pipeline/precip_model.hpp"

using namespace maunet;

namespace {
struct TempFile {
    std::string path;
    explicit TempFile(std::string p) : path(std::move(p)) {}
    ~TempFile() { std::remove(path.c_str()); }
};

// A downscaling-by-2 MAUNet-Light on 16 x 16 fields with one static predictor ("elevation", a
// ramp), its transforms fitted on four samples [precipitation, elevation].
struct ModelWithElevation {
    Tensor<float> elevation = Tensor<float>(Shape{1, 16, 16});
    pipeline::PrecipModel<float> model;
    static nn::UNetConfig config() {
        nn::UNetConfig c = nn::UNetConfig::maunet_light();
        c.levels = 2;
        c.base_width = 4;
        c.in_channels = 2;
        return c;
    }
    explicit ModelWithElevation(Rng rng = Rng(3)) : model(config(), rng, pipeline::Task::downscaling, 2) {
        for (Index k = 0; k < 256; ++k) elevation[k] = 20.0f * static_cast<float>(k % 16) + 3.0f * static_cast<float>(k / 16);
        train::Dataset<float> raw;
        for (int n = 0; n < 4; ++n) {
            Tensor<float> x(Shape{2, 16, 16}), y(Shape{1, 16, 16});
            for (Index k = 0; k < 256; ++k) {
                x[k] = 2.0f + std::sin(0.3f * static_cast<float>(k + 7 * n));
                x[256 + k] = elevation[k];
                y[k] = x[k] * 1.1f;
            }
            raw.add(train::make_sample(x, y));
        }
        model.fit_transforms(raw);
        model.set_static_predictors({"elevation"}, elevation);
    }
};

Tensor<float> coarse_fields(Index n, Index h, Index w) {
    Tensor<float> c(Shape{n, h, w});
    for (Index k = 0; k < c.numel(); ++k) c[k] = 1.0f + 0.5f * std::cos(0.2f * static_cast<float>(k));
    return c;
}
bool same_bits(const Tensor<float>& a, const Tensor<float>& b) {
    return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<std::size_t>(a.numel())) == 0;
}
}  // namespace

TEST_CASE("apply() appends a model's static predictors to the fields it regrids", "[pipeline]") {
    ModelWithElevation m;
    const Tensor<float> coarse = coarse_fields(3, 8, 8);
    const Tensor<float> y = m.model.apply(coarse);
    REQUIRE(y.shape() == Shape{3, 16, 16});
    // The same as predict() on the regridded precipitation with the elevation as channel 1.
    const Tensor<float> input = m.model.with_static_predictors(m.model.network_input(coarse));
    REQUIRE(input.shape() == Shape{3, 2, 16, 16});
    for (Index n = 0; n < 3; ++n)
        CHECK(std::memcmp(input.data() + (2 * n + 1) * 256, m.elevation.data(), sizeof(float) * 256) == 0);
    const Tensor<float> expected = m.model.predict(input);
    CHECK(std::memcmp(y.data(), expected.data(), sizeof(float) * 768) == 0);
    // The elevation is used: a flat one gives other rain.
    Tensor<float> flat(Shape{1, 16, 16});
    flat.fill(100.0f);
    m.model.set_static_predictors({"elevation"}, flat);
    CHECK_FALSE(same_bits(m.model.apply(coarse), y));
}

TEST_CASE("static predictors travel in the model file, bit for bit", "[pipeline]") {
    ModelWithElevation m;
    TempFile file("static_predictors.mnet");
    const Tensor<float> coarse = coarse_fields(2, 8, 8);
    Tensor<float> selftest = m.model.with_static_predictors(m.model.network_input(coarse_fields(1, 8, 8)));
    m.model.save(file.path, &selftest);
    const auto loaded = pipeline::PrecipModel<float>::load(file.path);
    REQUIRE(loaded.static_names() == std::vector<std::string>{"elevation"});
    REQUIRE(loaded.static_fields().shape() == Shape{1, 16, 16});
    CHECK(same_bits(loaded.static_fields(), m.elevation));
    CHECK(same_bits(loaded.apply(coarse), m.model.apply(coarse)));
    // A model without static predictors writes none and loads none.
    Rng rng(4);
    nn::UNetConfig c = ModelWithElevation::config();
    c.in_channels = 1;
    pipeline::PrecipModel<float> plain(c, rng, pipeline::Task::bias_correction, 1);
    train::Dataset<float> raw;
    Tensor<float> x(Shape{1, 8, 8});
    x.fill(1.0f);
    raw.add(train::make_sample(x, x));
    plain.fit_transforms(raw);
    plain.save(file.path);
    CHECK(pipeline::PrecipModel<float>::load(file.path).static_names().empty());
}

TEST_CASE("a model with static predictors refuses fields on another grid, naming both", "[pipeline]") {
    ModelWithElevation m;
    CHECK_THROWS_WITH(m.model.apply(coarse_fields(1, 4, 4)),
                      Catch::Contains("static predictors (elevation) are on its 16 x 16 training grid; the "
                                      "precipitation is on a 8 x 8 grid") &&
                          Catch::Contains("coarsened by 2: 8 x 8"));
}

TEST_CASE("set_static_predictors checks the count, the grid, the names and the values", "[pipeline]") {
    ModelWithElevation m;
    Tensor<float> two(Shape{2, 16, 16});
    two.fill(1.0f);
    CHECK_THROWS_WITH(m.model.set_static_predictors({"a", "b"}, two), Catch::Contains("so 1 static predictors, got 2"));
    Tensor<float> small(Shape{1, 8, 8});
    small.fill(1.0f);
    CHECK_THROWS_WITH(m.model.set_static_predictors({"a"}, small),
                      Catch::Contains("the fields are 8 x 8, the model's training grid 16 x 16"));
    Tensor<float> holes = m.elevation;
    holes[17] = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_WITH(m.model.set_static_predictors({"a"}, holes), Catch::Contains("fill missing cells first"));
    CHECK_THROWS_WITH(m.model.set_static_predictors({""}, m.elevation), Catch::Contains("names must have 1 to 128"));
}

TEST_CASE("a model file that names a static predictor it does not hold is refused", "[pipeline]") {
    ModelWithElevation m;
    TempFile file("static_predictors_bad.mnet");
    m.model.save(file.path);
    // Rewrite it without the attached tensor, the extras unchanged.
    auto ck = io::load_checkpoint<float>(file.path);
    io::save_checkpoint(file.path, *ck.model, ck.extras());
    CHECK_THROWS_WITH(pipeline::PrecipModel<float>::load(file.path),
                      Catch::Contains("static predictor 'elevation' is not stored"));
    // ... or holds it on another grid.
    Tensor<float> wrong(Shape{8, 8});
    wrong.fill(0.0f);
    io::save_checkpoint(file.path, *ck.model, ck.extras(), nullptr, {{"static.elevation", wrong}});
    CHECK_THROWS_WITH(pipeline::PrecipModel<float>::load(file.path),
                      Catch::Contains("static predictor 'elevation' has shape [8, 8], the grid is 16 x 16"));
}
