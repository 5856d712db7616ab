#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "maunet/train/trainer.hpp"
#include "support/gradcheck.hpp"
#include "support/small_network.hpp"

using namespace maunet;
using nn::UNet;
using nn::UNetConfig;

namespace {

// Fields whose target is a smooth function of the input, with one missing cell each.
train::Dataset<float> smooth_set(int n, std::uint64_t seed) {
    Rng rng(seed);
    train::Dataset<float> d;
    for (int k = 0; k < n; ++k) {
        Tensor<float> x = Tensor<float>::uniform(Shape{1, 8, 8}, rng, -1.0f, 1.0f);
        Tensor<float> y(x.shape());
        for (Index i = 0; i < x.numel(); ++i) y[i] = 0.7f * x[i] + 0.3f;
        Tensor<float> m(x.shape(), 1.0f);
        m[5] = 0;
        y[5] = std::numeric_limits<float>::quiet_NaN();  // missing, and masked: must not matter
        d.add(train::Sample<float>{x, y, m});
    }
    return d;
}

std::vector<float> flat(const UNet<float>& net) {
    std::vector<float> all;
    for (auto& p : net.parameters()) all.insert(all.end(), p.value().begin(), p.value().end());
    return all;
}

}  // namespace

TEST_CASE("the trainer lowers the validation loss and writes its history", "[train][trainer]") {
    const auto data = smooth_set(12, 1);
    const auto split = data.split(0.75, 0.25, 1);
    Rng rng(1);
    UNet<float> net(testing::small_network(), rng);
    train::TrainerOptions o;
    o.epochs = 6;
    o.learning_rate = 3e-3;
    o.loader.batch_size = 3;
    o.progress = train::ProgressStyle::quiet;
    o.history_path = "trainer_history_test.csv";
    train::Trainer<float> trainer(net, o);
    const double before = trainer.evaluate_loss(split.val);
    const auto result = trainer.fit(split.train, split.val);
    REQUIRE(result.history.size() == 6);
    CHECK(std::isfinite(before));
    CHECK(result.best_val_loss < before);
    CHECK(trainer.evaluate_loss(split.val) == Approx(result.best_val_loss).epsilon(1e-5));  // best weights restored
    CHECK_FALSE(net.is_training());
    std::ifstream in(o.history_path);
    std::string header;
    std::getline(in, header);
    CHECK(header == "stage,epoch,train_loss,val_loss,lr,seconds");
    int lines = 0;
    for (std::string line; std::getline(in, line);) ++lines;
    CHECK(lines == 6);
    in.close();
    std::remove(o.history_path.c_str());
}

TEST_CASE("early stopping ends training after `patience` epochs without improvement", "[train][trainer]") {
    const auto data = smooth_set(6, 2);
    Rng rng(2);
    UNet<float> net(testing::small_network(), rng);
    train::TrainerOptions o;
    o.epochs = 50;
    o.learning_rate = 1e-9;  // far too small to improve: the validation loss stalls at once
    o.cosine_schedule = false;
    o.patience = 2;
    o.progress = train::ProgressStyle::quiet;
    const auto result = train::Trainer<float>(net, o).fit(data, data);
    CHECK(result.stopped_early);
    CHECK(result.history.size() < 50);
}

TEST_CASE("a non-finite loss stops training, restores the last good weights and says so", "[train][trainer][errors]") {
    auto data = smooth_set(4, 3);
    // A valid cell with an infinite target makes the loss infinite in the second epoch's data.
    train::Dataset<float> bad;
    for (std::size_t i = 0; i < data.size(); ++i) {
        auto s = data[i];
        s.target[7] = std::numeric_limits<float>::infinity();
        bad.add(s);
    }
    Rng rng(3);
    UNet<float> net(testing::small_network(), rng);
    const auto before = flat(net);
    train::TrainerOptions o;
    o.epochs = 3;
    o.progress = train::ProgressStyle::quiet;
    train::Trainer<float> trainer(net, o);
    CHECK_THROWS_WITH(trainer.fit(bad, data), Catch::Contains("the loss became inf at epoch 1, step 1") &&
                                                  Catch::Contains("were restored"));
    const auto after = flat(net);
    CHECK(std::equal(before.begin(), before.end(), after.begin()));
    for (float v : after) REQUIRE(std::isfinite(v));
}

TEST_CASE("training is bit-identical for the same seeds and thread count", "[train][trainer][determinism]") {
    const auto data = smooth_set(8, 4);
    auto run = [&] {
        Rng rng(4);
        UNet<float> net(testing::small_network(), rng);  // dropout 0.2 on: the trainer's engine is seeded
        train::TrainerOptions o;
        o.epochs = 2;
        o.loader.batch_size = 3;
        o.progress = train::ProgressStyle::quiet;
        train::Trainer<float>(net, o).fit(data, data);
        return flat(net);
    };
    const auto a = run(), b = run();
    CHECK(std::equal(a.begin(), a.end(), b.begin()));
}

TEST_CASE("trainer options are validated", "[train][trainer][errors]") {
    Rng rng(5);
    UNet<float> net(testing::small_network(), rng);
    train::TrainerOptions o;
    o.epochs = 0;
    CHECK_THROWS_WITH(train::Trainer<float>(net, o), Catch::Contains("epochs must be >= 1, got 0"));
    o = {};
    o.learning_rate = -1;
    CHECK_THROWS_WITH(train::Trainer<float>(net, o), Catch::Contains("learning_rate must be > 0"));
    o = {};
    o.patience = -2;
    CHECK_THROWS_WITH(train::Trainer<float>(net, o), Catch::Contains("patience must be >= 0"));
}
