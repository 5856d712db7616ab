#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "maunet/pipeline/compare.hpp"
#include "maunet/pipeline/train_model.hpp"
#include "maunet/stats/bernoulli_gamma.hpp"
#include "maunet/train/synthetic.hpp"
#include "support/gradcheck.hpp"
#include "support/small_network.hpp"

using namespace maunet;

namespace {
train::SyntheticData<float> small_data() {
    train::SyntheticConfig sc;
    sc.height = sc.width = 16;
    sc.num_fields = 10;
    sc.seed = 11;
    sc.sea_fraction = 0.2;
    return train::generate_synthetic<float>(sc);
}
nn::UNetConfig small() { return testing::small_network(nn::UNetConfig::maunet_light()); }
// A bias-correction model of small() trained for `epochs` on split.train (split.val picks the epoch).
pipeline::PrecipModel<float> trained_model(const train::DatasetSplit<float>& split, int epochs, std::uint64_t seed) {
    train::TrainerOptions o;
    o.epochs = epochs;
    o.progress = train::ProgressStyle::quiet;
    Rng rng(seed);
    return pipeline::train_precip_model<float>(small(), pipeline::Task::bias_correction, 1, split.train, split.val, o,
                                               rng);
}
}  // namespace

TEST_CASE("a PrecipModel predicts in physical units: non-negative, NaN where input is missing", "[pipeline]") {
    const auto split = train::bias_correction_dataset(small_data()).split(0.6, 0.2, 1);
    const auto model = trained_model(split, 2, 1);
    Tensor<float> x = split.test.stacked().input;
    x[3] = std::numeric_limits<float>::quiet_NaN();
    const Tensor<float> y = model.predict(x);
    REQUIRE(y.shape() == Shape{x.dim(0), 1, 16, 16});
    CHECK(std::isnan(y[3]));
    for (Index i = 0; i < y.numel(); ++i)
        if (i != 3) REQUIRE((std::isfinite(y[i]) && y[i] >= 0.0f));
}

TEST_CASE("a saved PrecipModel reloads with its task, transforms and identical predictions", "[pipeline][io]") {
    const auto data = small_data();
    const auto raw = train::bias_correction_dataset(data);
    train::TrainerOptions o;
    o.epochs = 1;
    o.progress = train::ProgressStyle::quiet;
    Rng rng(2);
    auto model = pipeline::train_precip_model<float>(small(), pipeline::Task::downscaling, 4, raw, train::Dataset<float>(),
                                                     o, rng);
    const Tensor<float> x = raw.stacked().input;
    Tensor<float> one(Shape{1, 1, 16, 16});
    std::copy(x.begin(), x.begin() + one.numel(), one.begin());
    const std::string path = "precip_model_test.ckpt";
    model.save(path, &one);
    const auto loaded = pipeline::PrecipModel<float>::load(path);
    std::remove(path.c_str());
    CHECK(loaded.task() == pipeline::Task::downscaling);
    CHECK(loaded.factor() == 4);
    CHECK(loaded.target_transform().mean() == model.target_transform().mean());
    CHECK(maunet::testing::max_abs_diff(loaded.predict(x), model.predict(x)) == 0.0);
}

TEST_CASE("a PrecipModel on the linear scale trains, predicts non-negative amounts and reloads as linear",
          "[pipeline][io]") {
    const auto split = train::bias_correction_dataset(small_data()).split(0.6, 0.2, 1);
    train::TrainerOptions o;
    o.epochs = 2;
    o.progress = train::ProgressStyle::quiet;
    Rng rng(3);
    auto model = pipeline::train_precip_model<float>(small(), pipeline::Task::bias_correction, 1, split.train,
                                                     split.val, o, rng, nullptr, train::PrecipScale::linear);
    CHECK(model.target_transform().scale() == train::PrecipScale::linear);
    CHECK(!model.input_transform().channel(0).log1p);
    // The network sees the z-score of the amounts: their training mean maps to 0.
    const train::Batch<float> b = split.train.stacked();
    double sum = 0, count = 0;
    for (Index i = 0; i < b.target.numel(); ++i)
        if (b.mask[i] != 0) sum += b.target[i], count += 1;
    CHECK(model.target_transform().mean() == Approx(sum / count).epsilon(1e-6));
    model.set_wet_threshold(0.0f);  // the clamp at 0, not the threshold, keeps amounts >= 0
    const Tensor<float> x = split.test.stacked().input;
    const Tensor<float> y = model.predict(x);
    for (float v : y) REQUIRE((std::isfinite(v) && v >= 0.0f));
    const std::string path = "precip_model_linear_test.ckpt";
    model.save(path);
    const auto loaded = pipeline::PrecipModel<float>::load(path);
    std::remove(path.c_str());
    CHECK(loaded.target_transform().scale() == train::PrecipScale::linear);
    CHECK(maunet::testing::max_abs_diff(loaded.predict(x), y) == 0.0);
    // A file whose target is on the log1p scale but whose input is not: the residual would add
    // values of two scales, so it is refused.
    model.save(path);
    auto ck = io::load_checkpoint<float>(path);
    io::Json bad = ck.extras();
    io::Json target = bad.at("target_transform");
    target.set("log1p", 1.0);
    bad.set("target_transform", target);
    io::save_checkpoint(path, *ck.model, bad);
    CHECK_THROWS_WITH(pipeline::PrecipModel<float>::load(path),
                      Catch::Contains(path) &&
                          Catch::Contains("the input's precipitation channel has log1p 0, the target 1; expected the same"));
    std::remove(path.c_str());
}

TEST_CASE("a PrecipModel's units travel with the file; a file without them reads as unknown", "[pipeline][io][units]") {
    const auto data = small_data();
    const auto raw = train::bias_correction_dataset(data);
    train::TrainerOptions o;
    o.epochs = 1;
    o.progress = train::ProgressStyle::quiet;
    Rng rng(4);
    auto model = pipeline::train_precip_model<float>(small(), pipeline::Task::bias_correction, 1, raw,
                                                     train::Dataset<float>(), o, rng);
    const std::string path = "precip_model_units_test.ckpt";
    // Unknown units (as files written before units were recorded): no "units" in the extras.
    CHECK(model.units().empty());
    model.save(path);
    CHECK(!io::load_checkpoint<float>(path).extras().contains("units"));
    CHECK(pipeline::PrecipModel<float>::load(path).units().empty());
    // Round trip.
    model.set_units("mm day-1");
    model.save(path);
    CHECK(io::load_checkpoint<float>(path).extras().at("units").as_string() == "mm day-1");
    const auto loaded = pipeline::PrecipModel<float>::load(path);
    CHECK(loaded.units() == "mm day-1");
    // A student takes its teacher's units with its transforms.
    Rng init(5);
    pipeline::PrecipModel<float> student(small(), init, pipeline::Task::bias_correction, 1);
    student.copy_transforms_from(loaded);
    CHECK(student.units() == "mm day-1");
    CHECK_THROWS_WITH(model.set_units(std::string(300, 'm')), Catch::Contains("at most 256 characters, got 300"));
    // A units entry that is not a string is refused naming the file.
    io::Json extras = io::load_checkpoint<float>(path).extras();
    extras.set("units", 42LL);
    io::save_checkpoint(path, model.net(), extras);
    CHECK_THROWS_AS(pipeline::PrecipModel<float>::load(path), FormatError);
    CHECK_THROWS_WITH(pipeline::PrecipModel<float>::load(path),
                      Catch::Contains(path) && Catch::Contains("'units': expected a string"));
    std::remove(path.c_str());
}

TEST_CASE("the comparison table and JSON carry every method and the named scores", "[pipeline]") {
    Tensor<float> obs(Shape{1, 1, 12, 12}), pred(Shape{1, 1, 12, 12});
    for (Index i = 0; i < obs.numel(); ++i) obs[i] = float(i % 7), pred[i] = float(i % 7) + 1.0f;
    std::vector<pipeline::MethodResult> rows;
    rows.push_back(pipeline::score_method<float>("shifted", "downscaling", 10, 1.5, pred, obs, Tensor<float>(), 6.0));
    CHECK(rows[0].report.rmse == Approx(1.0));
    CHECK(rows[0].report.bias == Approx(1.0));
    const std::string table = pipeline::format_table(rows);
    CHECK(table.find("shifted") != std::string::npos);
    const io::Json j = pipeline::to_json(rows);
    const auto& row = j.as_array().at(0);
    for (const char* key : {"name", "task", "parameters", "rmse", "mae", "bias", "r", "psnr", "ssim", "p99_error",
                            "ms_per_field"})
        CHECK(row.contains(key));
    CHECK(row.at("parameters").as_number() == 10);
}

TEST_CASE("PrecipModel errors say what is missing", "[pipeline][errors]") {
    Rng rng(3);
    pipeline::PrecipModel<float> m(small(), rng);
    CHECK_THROWS_WITH(m.predict(Tensor<float>(Shape{1, 1, 8, 8})), Catch::Contains("not fitted"));
    CHECK_THROWS_WITH(pipeline::task_from_string("nowcasting"), Catch::Contains("is not one of downscaling"));
    CHECK_THROWS_WITH(pipeline::PrecipModel<float>(small(), rng, pipeline::Task::downscaling, 0),
                      Catch::Contains("factor must be in [1, 64], got 0"));
}

TEST_CASE("a downscaling PrecipModel regrids coarse fields in apply() and refuses them in predict()",
          "[pipeline][apply][errors]") {
    const auto data = small_data();  // 16 x 16 fine fields, 4 x 4 coarse
    train::Dataset<float> raw;
    for (const auto& f : data.fields) {
        const Tensor<float> input = pipeline::PrecipModel<float>::network_input(f.coarse_biased, pipeline::Task::downscaling, 4);
        raw.add(train::make_sample(input.reshaped(Shape{1, 16, 16}), f.truth));
    }
    train::TrainerOptions o;
    o.epochs = 1;
    o.progress = train::ProgressStyle::quiet;
    Rng rng(4);
    auto model = pipeline::train_precip_model<float>(small(), pipeline::Task::downscaling, 4, raw, train::Dataset<float>(),
                                                     o, rng);
    CHECK(model.grid_height() == 16);
    CHECK(model.grid_width() == 16);

    const Tensor<float>& coarse = data.fields[0].coarse_biased;  // [1, 4, 4]
    const Tensor<float> stack = model.apply(coarse);
    REQUIRE(stack.shape() == Shape{1, 16, 16});
    const Tensor<float> one = model.apply(coarse.reshaped(Shape{4, 4}));
    REQUIRE(one.shape() == Shape{16, 16});
    CHECK(maunet::testing::max_abs_diff(one.reshaped(Shape{1, 16, 16}), stack) == 0.0);
    // apply() is predict() on the regridded field.
    const Tensor<float> direct = model.predict(model.network_input(coarse));
    CHECK(maunet::testing::max_abs_diff(direct.reshaped(Shape{1, 16, 16}), stack) == 0.0);

    // The coarse grid handed to predict() is refused, with the factor and the way out.
    const Tensor<float> coarse_input = coarse.reshaped(Shape{1, 1, 4, 4});
    CHECK_THROWS_AS(model.predict(coarse_input), maunet::ShapeError);
    CHECK_THROWS_WITH(model.predict(coarse_input), Catch::Contains("downscales by a factor of 4") &&
                                                       Catch::Contains("4 x 4, the coarse grid") &&
                                                       Catch::Contains("use apply()"));
    // Other fine grids are fine (a fully convolutional network), and the grid survives save/load.
    CHECK(model.predict(Tensor<float>(Shape{1, 1, 24, 20}, 1.0f)).shape() == Shape{1, 1, 24, 20});
    const std::string path = "precip_model_grid_test.ckpt";
    model.save(path);
    const auto loaded = pipeline::PrecipModel<float>::load(path);
    std::remove(path.c_str());
    CHECK(loaded.grid_height() == 16);
    CHECK(loaded.grid_width() == 16);
    CHECK_THROWS_WITH(loaded.predict(coarse_input), Catch::Contains("factor of 4"));
    CHECK_THROWS_WITH(model.apply(Tensor<float>(Shape{2, 3, 4, 4})), Catch::Contains("expected fields [time, y, x]"));
}

TEST_CASE("a PrecipModel sets amounts below its wet-day threshold to 0, and the threshold travels in its file",
          "[pipeline][wet]") {
    const auto data = small_data();
    const auto raw = train::bias_correction_dataset(data);
    train::TrainerOptions o;
    o.epochs = 2;
    o.progress = train::ProgressStyle::quiet;
    Rng rng(3);
    auto model = pipeline::train_precip_model<float>(small(), pipeline::Task::bias_correction, 1, raw,
                                                     train::Dataset<float>(), o, rng);
    CHECK(model.wet_threshold() == Approx(pipeline::kDefaultWetThreshold));
    Tensor<float> x = raw.stacked().input;
    x[5] = std::numeric_limits<float>::quiet_NaN();
    model.set_wet_threshold(0.0);
    const Tensor<float> raw_out = model.predict(x);
    // A threshold with outputs on both sides of it: the median of the positive outputs.
    std::vector<float> positive;
    for (float v : raw_out)
        if (v > 0.0f) positive.push_back(v);
    REQUIRE(positive.size() > 10);
    std::nth_element(positive.begin(), positive.begin() + positive.size() / 2, positive.end());
    const float thr = positive[positive.size() / 2];
    model.set_wet_threshold(thr);
    const Tensor<float> y = model.predict(x);
    Index drizzle = 0;
    for (Index i = 0; i < y.numel(); ++i) {
        if (std::isnan(raw_out[i])) {
            REQUIRE(std::isnan(y[i]));
            continue;
        }
        if (raw_out[i] > 0.0f && raw_out[i] < thr) ++drizzle;
        REQUIRE(y[i] == (raw_out[i] < thr ? 0.0f : raw_out[i]));
    }
    CHECK(drizzle > 0);
    CHECK(std::isnan(y[5]));

    // Round trip, and a file written before the threshold was recorded loads with the default.
    model.set_wet_threshold(0.5);
    const std::string path = "precip_model_wet_test.ckpt";
    model.save(path);
    auto loaded = pipeline::PrecipModel<float>::load(path);
    CHECK(loaded.wet_threshold() == 0.5f);
    CHECK(maunet::testing::max_abs_diff(loaded.predict(x), model.predict(x)) == 0.0);
    auto ck = io::load_checkpoint<float>(path);
    io::Json old = io::Json::object();
    for (const auto& [k, v] : ck.extras().as_object())
        if (k != "wet_threshold") old.set(k, v);
    io::save_checkpoint(path, *ck.model, old);
    CHECK(pipeline::PrecipModel<float>::load(path).wet_threshold() == Approx(pipeline::kDefaultWetThreshold));
    io::Json bad = old;
    bad.set("wet_threshold", -1.0);
    io::save_checkpoint(path, *ck.model, bad);
    CHECK_THROWS_WITH(pipeline::PrecipModel<float>::load(path),
                      Catch::Contains(path) && Catch::Contains("'wet_threshold': expected a finite number >= 0"));
    std::remove(path.c_str());
    CHECK_THROWS_WITH(model.set_wet_threshold(-0.1), Catch::Contains("wet-day threshold must be a finite number >= 0"));
}

TEST_CASE("a Bernoulli-gamma PrecipModel trains on the likelihood and outputs mean, median or draws",
          "[pipeline][bernoulli_gamma]") {
    const auto data = small_data();
    const auto raw = train::bias_correction_dataset(data);
    const auto split = raw.split(0.7, 0.3, 4);
    nn::UNetConfig c = small();
    c.out_channels = 3;
    c.residual = false;
    train::TrainerOptions o;
    o.epochs = 3;
    o.loss = train::LossKind::bernoulli_gamma;
    o.progress = train::ProgressStyle::quiet;
    Rng rng(4);
    train::TrainResult result;
    auto model = pipeline::train_precip_model<float>(c, pipeline::Task::bias_correction, 1, split.train, split.val, o,
                                                     rng, &result);
    REQUIRE(model.bernoulli_gamma());
    CHECK(result.history.back().train_loss < result.history.front().train_loss);  // the likelihood improved
    Tensor<float> x = split.val.stacked().input;
    x[7] = std::numeric_limits<float>::quiet_NaN();
    model.set_wet_threshold(0.0);
    const Tensor<float> mean = model.predict(x);
    model.set_statistic(pipeline::Statistic::median);
    const Tensor<float> median = model.predict(x);
    model.set_statistic(pipeline::Statistic::sample, 5);
    const Tensor<float> draw = model.predict(x);
    REQUIRE(mean.shape() == Shape{x.dim(0), 1, 16, 16});
    CHECK(std::isnan(mean[7]));
    CHECK(std::isnan(median[7]));
    CHECK(std::isnan(draw[7]));
    // The mean by hand from the network's parameters, cell by cell.
    Tensor<float> xn = model.input_transform().forward(x);
    train::fill_missing(xn, 0.0f);
    const Tensor<float> theta = model.net().predict(xn);
    const Index plane = 16 * 16;
    Index dry = 0, zero_draws = 0;
    for (Index n = 0; n < x.dim(0); ++n)
        for (Index j = 0; j < plane; ++j) {
            const Index i = n * plane + j;
            if (i == 7) continue;
            const auto bg = stats::BernoulliGamma::from_logits(theta[n * 3 * plane + j], theta[(n * 3 + 1) * plane + j],
                                                               theta[(n * 3 + 2) * plane + j]);
            REQUIRE(mean[i] == Approx(bg.mean()).epsilon(1e-5));
            REQUIRE(median[i] >= 0.0f);
            REQUIRE(draw[i] >= 0.0f);
            if (bg.p <= 0.5) {
                ++dry;
                REQUIRE(median[i] == 0.0f);
            }
            zero_draws += draw[i] == 0.0f;
        }
    CHECK(zero_draws > 0);
    INFO("cells with p <= 1/2: " << dry);
    // Draws do not depend on how the fields are batched.
    Tensor<float> second(Shape{1, 1, 16, 16});
    std::copy(x.begin() + plane, x.begin() + 2 * plane, second.begin());
    const Tensor<float> alone = model.predict(second);
    for (Index j = 0; j < plane; ++j) REQUIRE(alone[j] == draw[plane + j]);

    // The statistic travels in the file.
    model.set_statistic(pipeline::Statistic::median);
    const std::string path = "precip_model_bg_test.ckpt";
    model.save(path);
    const auto loaded = pipeline::PrecipModel<float>::load(path);
    std::remove(path.c_str());
    CHECK(loaded.bernoulli_gamma());
    CHECK(loaded.statistic() == pipeline::Statistic::median);
    CHECK(maunet::testing::max_abs_diff(loaded.predict(x), median) == 0.0);

    nn::UNetConfig residual = c;
    residual.residual = true;
    CHECK_THROWS_WITH(pipeline::PrecipModel<float>(residual, rng), Catch::Contains("3 without a residual connection"));
    CHECK_THROWS_WITH(pipeline::statistic_from_string("mode"), Catch::Contains("not one of mean, median, sample"));
}

TEST_CASE("the tail-weighted loss trains a PrecipModel and weights heavy rain", "[pipeline][loss]") {
    const auto data = small_data();
    const auto raw = train::bias_correction_dataset(data);
    const auto split = raw.split(0.7, 0.3, 5);
    train::TrainerOptions o;
    o.epochs = 3;
    o.loss = train::LossKind::tail_mse;
    o.tail_tau = 0.5;
    o.tail_lambda = 2.0;
    o.progress = train::ProgressStyle::quiet;
    Rng rng(5);
    train::TrainResult result;
    auto model = pipeline::train_precip_model<float>(small(), pipeline::Task::bias_correction, 1, split.train,
                                                     split.val, o, rng, &result);
    CHECK(result.history.back().train_loss < result.history.front().train_loss);
    CHECK(std::isfinite(result.best_val_loss));
    CHECK_THROWS_WITH(train::loss_kind_from_string("huber"), Catch::Contains("not one of mse, mae, tail-mse"));
    train::TrainerOptions bad;
    bad.loss = train::LossKind::bernoulli_gamma;
    CHECK_THROWS_WITH(train::Trainer<float>(model.net(), bad), Catch::Contains("needs target_to_amount"));
}

TEST_CASE("a PrecipModel predicts more fields than one batch (8) field by field's values, from its arena",
          "[pipeline]") {
    // 10 fields: batches of 8 and 2, whose tensors come from predict()'s arena; the result, made
    // on the heap, outlives it, and each field equals its prediction alone.
    const auto raw = train::bias_correction_dataset(small_data());
    const auto model = trained_model(raw.split(0.6, 0.2, 1), 1, 2);
    const Tensor<float> x = raw.stacked().input;
    REQUIRE(x.dim(0) == 10);
    const Tensor<float> all = model.predict(x);
    REQUIRE(all.shape() == Shape{10, 1, 16, 16});
    const Index plane = 16 * 16;
    for (Index n = 0; n < 10; ++n) {
        const Tensor<float> one = model.predict(leading_rows(x, n, 1));
        INFO("field " << n);
        for (Index i = 0; i < plane; ++i) REQUIRE(all[n * plane + i] == Approx(one[i]).margin(1e-5));
    }
}
