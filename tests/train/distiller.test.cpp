#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "maunet/io/checkpoint.hpp"
#include "maunet/train/distiller.hpp"
#include "maunet/train/synthetic.hpp"
#include "support/gradcheck.hpp"
#include "support/small_network.hpp"

using namespace maunet;
using nn::UNet;
using nn::UNetConfig;

namespace {

UNetConfig small(UNetConfig c) {
    c = testing::small_network(c);
    c.dropout_rate = 0.0;  // deterministic forward passes for the finite differences
    return c;
}

template <class T>
train::Batch<T> random_batch(Rng& rng, Index n = 2, Index h = 8, Index w = 8) {
    train::Batch<T> b;
    b.input = Tensor<T>::uniform(Shape{n, 1, h, w}, rng, T(-1), T(1));
    b.target = Tensor<T>::uniform(Shape{n, 1, h, w}, rng, T(-1), T(1));
    b.mask = Tensor<T>(Shape{n, 1, h, w}, T(1));
    b.mask[3] = 0;  // one missing cell
    for (Index i = 0; i < n; ++i) b.indices.push_back(static_cast<std::size_t>(i));
    return b;
}

double mse(const Tensor<double>& a, const Tensor<double>& b, const Tensor<double>& m) {
    double s = 0, n = 0;
    for (Index i = 0; i < a.numel(); ++i)
        if (m.empty() || m[i] != 0) s += (a[i] - b[i]) * (a[i] - b[i]), n += 1;
    return s / n;
}

train::Dataset<float> synthetic_set(int fields, std::uint64_t seed) {
    train::SyntheticConfig sc;
    sc.height = sc.width = 16;
    sc.num_fields = fields;
    sc.seed = seed;
    auto data = train::generate_synthetic<float>(sc);
    auto raw = train::bias_correction_dataset(data);
    // Normalise roughly (log1p) so training is well conditioned.
    train::Dataset<float> out;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        auto s = raw[i];
        for (auto& v : s.input) v = std::log1p(v);
        for (auto& v : s.target) v = std::isfinite(v) ? std::log1p(v) : 0.0f;
        out.add(s);
    }
    return out;
}

}  // namespace

TEST_CASE("the distillation loss is a*obs + (1-a)*teacher + b*hints", "[train][distill]") {
    Rng rng(1);
    UNet<double> teacher(small(UNetConfig::maunet()), rng);
    UNet<double> student(small(UNetConfig::maunet_light()), rng);
    auto batch = random_batch<double>(rng);
    for (double a : {0.0, 0.3, 1.0}) {
        train::DistillerOptions o;
        o.alpha = a;
        o.hint_weight = 0.0;
        train::Distiller<double> d(teacher, student, o);
        const double got = d.loss(student, batch, nn::ForwardMode{false, nullptr}).value().item();
        const auto s = student.predict(batch.input);
        const auto t = teacher.predict(batch.input);
        const double expected = a * mse(s, batch.target, batch.mask) + (1 - a) * mse(s, t, batch.mask);
        CHECK(got == Approx(expected).epsilon(1e-12));
    }
    // With hints the loss grows by b * the adapters' feature errors (positive).
    train::DistillerOptions o;
    o.alpha = 0.5;
    o.hint_weight = 0.1;
    train::Distiller<double> d(teacher, student, o);
    CHECK(d.adapter_parameters().size() == 2 * 3);  // levels 0..2: one 1x1 conv (weight, bias) each
    const double with_hints = d.loss(student, batch, nn::ForwardMode{false, nullptr}).value().item();
    o.hint_weight = 0.0;
    train::Distiller<double> plain(teacher, student, o);
    CHECK(with_hints > plain.loss(student, batch, nn::ForwardMode{false, nullptr}).value().item());
}

TEST_CASE("the distillation loss's gradient matches finite differences; the teacher gets none",
          "[train][distill][gradcheck]") {
    Rng rng(2);
    UNet<double> teacher(small(UNetConfig::maunet()), rng);
    UNet<double> student(small(UNetConfig::maunet_light()), rng);
    auto batch = random_batch<double>(rng, 2, 6, 5);
    train::DistillerOptions o;
    o.alpha = 0.4;
    o.hint_weight = 0.2;
    o.cache_teacher = false;
    train::Distiller<double> d(teacher, student, o);
    teacher.set_requires_grad(false);

    std::vector<Var<double>> params = student.parameters();
    for (auto& p : d.adapter_parameters()) params.push_back(p);
    for (auto& p : params) p.clear_grad();
    Var<double> loss = d.loss(student, batch, nn::ForwardMode{false, nullptr});
    loss.backward();
    for (const auto& [name, p] : teacher.named_parameters()) {
        INFO(name);
        CHECK_FALSE(p.has_grad());
    }
    auto value = [&] {
        NoGradGuard ng;
        return d.loss(student, batch, nn::ForwardMode{false, nullptr}).value().item();
    };
    double worst = 0;
    for (auto& p : params) {
        const Tensor<double> analytic = p.grad();
        Tensor<double>& w = p.mutable_value();
        double scale = 1e-3, err = 0;
        const Index step = std::max<Index>(1, w.numel() / 8);
        for (Index j = 0; j < w.numel(); j += step) {
            const double w0 = w[j], eps = 1e-6;
            w[j] = w0 + eps;
            const double lp = value();
            w[j] = w0 - eps;
            const double lm = value();
            w[j] = w0;
            const double numeric = (lp - lm) / (2 * eps);
            scale = maunet::testing::max_or_nan(scale, std::abs(numeric));
            err = maunet::testing::max_or_nan(err, std::abs(numeric - analytic[j]));
        }
        worst = maunet::testing::max_or_nan(worst, err / scale);
    }
    CHECK(worst < 1e-6);
}

TEST_CASE("distillation leaves the teacher unchanged and trains the student", "[train][distill]") {
    const auto data = synthetic_set(12, 3);
    const auto split = data.split(0.75, 0.25, 3);
    Rng rng(3);
    UNetConfig tc = small(UNetConfig::maunet());
    tc.dropout_rate = 0.2;
    UNet<float> teacher(tc, rng);
    UNet<float> student(small(UNetConfig::maunet_light()), rng);
    std::vector<Tensor<float>> before;
    for (auto& p : teacher.parameters()) before.push_back(p.value());

    train::DistillerOptions o;
    o.hint_weight = 0.05;
    o.trainer.epochs = 3;
    o.trainer.loader.batch_size = 4;
    o.trainer.progress = train::ProgressStyle::quiet;
    o.refine_epochs = 2;
    train::Distiller<float> d(teacher, student, o);
    const double start = train::Trainer<float>(student, o.trainer).evaluate_loss(split.val);
    const auto result = d.fit(split.train, split.val);
    CHECK(result.distillation.history.size() == 3);
    CHECK(result.refinement.history.size() == 2);
    CHECK(result.refinement.history[0].lr < o.trainer.learning_rate * 0.11);  // a tenth of the rate
    CHECK(train::Trainer<float>(student, o.trainer).evaluate_loss(split.val) < start);
    const auto after = teacher.parameters();
    for (std::size_t i = 0; i < before.size(); ++i) CHECK(maunet::testing::max_abs_diff(before[i], after[i].value()) == 0.0);
    CHECK(after.front().requires_grad());  // unfrozen again
}

TEST_CASE("a distilled student saves without adapters and reloads to identical predictions", "[train][distill][io]") {
    const auto data = synthetic_set(8, 4);
    Rng rng(4);
    UNet<float> teacher(small(UNetConfig::maunet()), rng);
    UNet<float> student(small(UNetConfig::maunet_light()), rng);
    train::DistillerOptions o;
    o.hint_weight = 0.1;
    o.trainer.epochs = 1;
    o.trainer.progress = train::ProgressStyle::quiet;
    train::Distiller<float> d(teacher, student, o);
    d.fit(data, train::Dataset<float>());
    const std::string path = "distilled_student_test.ckpt";
    const Tensor<float> x = data.stacked().input;
    io::save_checkpoint(path, student, io::Json::object(), &x);
    auto loaded = io::load_checkpoint<float>(path);
    std::remove(path.c_str());
    CHECK(loaded.model->config().architecture == "maunet-light");
    CHECK(loaded.model->num_parameters() == student.num_parameters());
    for (const auto& [name, p] : loaded.model->named_parameters()) CHECK(name.find("adapter") == std::string::npos);
    const auto a = student.predict(x);
    const auto b = loaded.model->predict(x);
    CHECK(maunet::testing::max_abs_diff(a, b) == 0.0);
}

TEST_CASE("with a = 1 and b = 0 distillation is exactly plain training", "[train][distill][determinism]") {
    const auto data = synthetic_set(8, 5);
    const auto split = data.split(0.75, 0.25, 5);
    auto weights_after = [&](bool distill) {
        Rng rng(5);
        UNet<float> teacher(small(UNetConfig::maunet()), rng);
        Rng srng(6);
        UNetConfig sc = small(UNetConfig::maunet_light());
        sc.dropout_rate = 0.2;  // dropout on: the engines must line up too
        UNet<float> student(sc, srng);
        train::TrainerOptions t;
        t.epochs = 2;
        t.loader.batch_size = 3;
        t.progress = train::ProgressStyle::quiet;
        if (distill) {
            train::DistillerOptions o;
            o.alpha = 1.0;
            o.hint_weight = 0.0;
            o.trainer = t;
            train::Distiller<float>(teacher, student, o).fit(split.train, split.val);
        } else {
            train::Trainer<float>(student, t).fit(split.train, split.val);
        }
        std::vector<float> all;
        for (auto& p : student.parameters()) all.insert(all.end(), p.value().begin(), p.value().end());
        return all;
    };
    const auto a = weights_after(true);
    const auto b = weights_after(false);
    REQUIRE(a.size() == b.size());
    CHECK(std::equal(a.begin(), a.end(), b.begin()));
}

TEST_CASE("distiller errors say what was expected", "[train][distill][errors]") {
    Rng rng(7);
    UNet<float> teacher(small(UNetConfig::maunet()), rng);
    UNet<float> student(small(UNetConfig::maunet_light()), rng);
    train::DistillerOptions o;
    o.alpha = 1.5;
    CHECK_THROWS_WITH(train::Distiller<float>(teacher, student, o), Catch::Contains("alpha must be in [0, 1], got 1.5"));
    o.alpha = 0.5;
    o.hint_weight = 0.1;
    o.hint_levels = {3};
    CHECK_THROWS_WITH(train::Distiller<float>(teacher, student, o), Catch::Contains("hint level 3 is not in [0, 2]"));
    UNetConfig deeper = small(UNetConfig::maunet_light());
    deeper.levels = 3;
    UNet<float> other(deeper, rng);
    o.hint_levels = {};
    CHECK_THROWS_WITH(train::Distiller<float>(teacher, other, o), Catch::Contains("same number of levels"));
}

TEST_CASE("a refinement that does not improve on distillation is undone", "[train][distill]") {
    // The validation targets are the teacher's own outputs, and distillation with a = 0 imitates
    // the teacher, so it lowers the validation loss; the training targets are noise, so the
    // refinement on them (observations alone) can only raise it and must be undone.
    const auto data = synthetic_set(8, 8);
    Rng rng(8);
    UNet<float> teacher(small(UNetConfig::maunet()), rng);
    UNet<float> student(small(UNetConfig::maunet_light()), rng);
    train::Dataset<float> noisy, imitate;
    for (std::size_t i = 0; i < data.size(); ++i) {
        auto s = data[i];
        s.target = teacher.predict(s.input.reshaped(Shape{1, 1, 16, 16})).reshaped(s.target.shape());
        imitate.add(s);
        s.target = Tensor<float>::uniform(s.target.shape(), rng, -3.0f, 3.0f);
        noisy.add(s);
    }
    train::DistillerOptions o;
    o.alpha = 0.0;
    o.trainer.epochs = 3;
    o.trainer.learning_rate = 3e-3;
    o.trainer.loader.batch_size = 4;
    o.trainer.progress = train::ProgressStyle::quiet;
    o.trainer.history_path = "distiller_history_test.csv";
    o.refine_epochs = 2;
    o.refine_lr_factor = 1.0;
    train::Distiller<float> d(teacher, student, o);
    const auto result = d.fit(noisy, imitate);
    REQUIRE(result.refinement.history.size() == 2);
    CHECK(result.refined_loss > result.distilled_loss);
    CHECK(result.kept == "distillation");
    // The student has the distilled weights again: its loss is the distilled one, exactly.
    CHECK(train::Trainer<float>(student, o.trainer).evaluate_loss(imitate) == result.distilled_loss);
    CHECK(result.distilled_loss == Approx(result.distillation.best_val_loss).epsilon(1e-6));

    // The history holds both stages, distillation first.
    std::ifstream in(o.trainer.history_path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    in.close();
    std::remove(o.trainer.history_path.c_str());
    REQUIRE(lines.size() == 1 + 3 + 2);
    CHECK(lines[0] == "stage,epoch,train_loss,val_loss,lr,seconds");
    CHECK(lines[1].rfind("distillation,1,", 0) == 0);
    CHECK(lines[3].rfind("distillation,3,", 0) == 0);
    CHECK(lines[4].rfind("refinement,1,", 0) == 0);
    CHECK(lines[5].rfind("refinement,2,", 0) == 0);
}

TEST_CASE("a refinement that improves is kept", "[train][distill]") {
    const auto data = synthetic_set(12, 9);
    const auto split = data.split(0.75, 0.25, 9);
    Rng rng(9);
    UNet<float> teacher(small(UNetConfig::maunet()), rng);  // untrained: a poor teacher
    UNet<float> student(small(UNetConfig::maunet_light()), rng);
    train::DistillerOptions o;
    o.alpha = 0.2;
    o.trainer.epochs = 2;
    o.trainer.learning_rate = 3e-3;
    o.trainer.loader.batch_size = 3;
    o.trainer.progress = train::ProgressStyle::quiet;
    o.refine_epochs = 3;
    o.refine_lr_factor = 1.0;
    const auto result = train::Distiller<float>(teacher, student, o).fit(split.train, split.val);
    CHECK(result.refined_loss < result.distilled_loss);
    CHECK(result.kept == "refinement");
    CHECK(train::Trainer<float>(student, o.trainer).evaluate_loss(split.val) == result.refined_loss);
}
