// Every non-finite path of training (loss, gradient, weights, batch-norm statistics) rolls
// back to the last finished epoch (parameters and buffers) and throws NumericalError.
#include <catch2/catch.hpp>

#include <limits>

#include "maunet/train/trainer.hpp"
#include "support/small_network.hpp"

using namespace maunet;

namespace {

nn::UNetConfig small(bool batch_norm) {
    nn::UNetConfig c = testing::small_network();
    c.batch_norm = batch_norm;
    c.dropout_rate = 0;
    return c;
}

train::Dataset<float> fields(int n) {
    Rng rng(9);
    train::Dataset<float> d;
    for (int k = 0; k < n; ++k) {
        Tensor<float> x = Tensor<float>::uniform(Shape{1, 8, 8}, rng, -1.0f, 1.0f);
        Tensor<float> y(x.shape());
        for (Index i = 0; i < x.numel(); ++i) y[i] = 0.5f * x[i];
        d.add(train::Sample<float>{x, y, Tensor<float>(x.shape(), 1.0f)});
    }
    return d;
}

train::TrainerOptions options() {
    train::TrainerOptions o;
    o.epochs = 3;
    o.loader.batch_size = 2;
    o.progress = train::ProgressStyle::quiet;
    return o;
}

// The identity, whose backward puts NaN into the gradient: a finite loss with a NaN gradient.
Var<float> nan_gradient(const Var<float>& x) {
    return autograd::record<float>("nan_gradient", x.value(), {x}, [](const autograd::BackwardContext<float>& ctx) {
        ctx.grad(0).array() += std::numeric_limits<float>::quiet_NaN();
    });
}

// Runs `trainer` until it throws; checks that the model then holds the state it had after
// epoch 1 (captured by a first, clean one-epoch run with the same seeds).
void expect_rollback_to_epoch_1(bool batch_norm, const std::function<void(train::Trainer<float>&, nn::UNet<float>&)>& setup,
                                const std::string& message) {
    const auto data = fields(4);
    Rng rng1(2), rng2(2);
    nn::UNet<float> reference(small(batch_norm), rng1), net(small(batch_norm), rng2);
    auto o = options();
    o.epochs = 1;
    o.cosine_schedule = false;  // the learning rate of epoch 1 does not depend on the epoch count
    train::Trainer<float>(reference, o).fit(data, train::Dataset<float>());
    o.epochs = 3;
    train::Trainer<float> trainer(net, o);
    setup(trainer, net);
    std::string error;
    try {
        trainer.fit(data, train::Dataset<float>());
    } catch (const NumericalError& e) {
        error = e.what();
    }
    CHECK_THAT(error, Catch::Contains(message) && Catch::Contains("the weights of epoch 1 were restored"));
    const auto got = net.state(), want = reference.state();
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        INFO(got[i].first);
        CHECK(got[i].second.all_finite());
        CHECK(std::equal(got[i].second.begin(), got[i].second.end(), want[i].second.begin()));
    }
}

}  // namespace

TEST_CASE("Module::state and load_state cover parameters and batch-norm buffers", "[train][nn][state]") {
    Rng rng(1);
    nn::UNet<float> a(small(true), rng), b(small(true), rng);
    a.train();
    (void)a.forward(Var<float>(Tensor<float>::uniform(Shape{2, 1, 8, 8}, rng)), nn::ForwardMode{true, &rng});
    const auto s = a.state();
    bool has_buffer = false;
    for (const auto& [name, t] : s) has_buffer = has_buffer || name.find("running_var") != std::string::npos;
    CHECK(has_buffer);
    b.load_state(s);
    const auto t = b.state();
    for (std::size_t i = 0; i < s.size(); ++i) CHECK(std::equal(s[i].second.begin(), s[i].second.end(), t[i].second.begin()));
    auto wrong = s;
    wrong[0].second = Tensor<float>(Shape{1});
    CHECK_THROWS_WITH(b.load_state(wrong), Catch::Contains("Module::load_state: expected tensor '" + s[0].first + "'"));
    wrong = s;
    wrong.pop_back();
    CHECK_THROWS_AS(b.load_state(wrong), ShapeError);
    nn::UNet<float> c(small(false), rng);
    CHECK_THROWS_AS(c.load_state(s), ShapeError);
}

TEST_CASE("a finite loss with a NaN gradient rolls back instead of throwing in clip_grad_norm", "[train][trainer][errors]") {
    expect_rollback_to_epoch_1(false, [](train::Trainer<float>& trainer, nn::UNet<float>&) {
        auto calls = std::make_shared<int>(0);
        const auto supervised = train::Trainer<float>::supervised_loss(train::LossKind::mse);
        trainer.set_loss([=](const nn::UNet<float>& m, const train::Batch<float>& b, const nn::ForwardMode& mode) {
            Var<float> loss = supervised(m, b, mode);
            if (++*calls <= 2) return loss;  // epoch 1 (two batches) is clean
            return add(loss, mul(sum(nan_gradient(m.named_parameters().back().second)), 0.0f));
        });
    }, "a gradient became non-finite at epoch 2");
}

TEST_CASE("a non-finite loss rolls back parameters and buffers", "[train][trainer][errors]") {
    expect_rollback_to_epoch_1(true, [](train::Trainer<float>& trainer, nn::UNet<float>&) {
        auto calls = std::make_shared<int>(0);
        const auto supervised = train::Trainer<float>::supervised_loss(train::LossKind::mse);
        trainer.set_loss([=](const nn::UNet<float>& m, const train::Batch<float>& b, const nn::ForwardMode& mode) {
            Var<float> loss = supervised(m, b, mode);  // updates the running statistics first
            if (++*calls <= 3) return loss;            // epoch 2's first step changes them
            return mul(loss, std::numeric_limits<float>::infinity());
        });
    }, "the loss became inf at epoch 2, step 2");
}

TEST_CASE("a non-finite batch-norm statistic rolls back", "[train][trainer][errors]") {
    expect_rollback_to_epoch_1(true, [](train::Trainer<float>& trainer, nn::UNet<float>& net) {
        auto calls = std::make_shared<int>(0);
        const auto supervised = train::Trainer<float>::supervised_loss(train::LossKind::mse);
        nn::UNet<float>* model = &net;
        trainer.set_loss([=](const nn::UNet<float>& m, const train::Batch<float>& b, const nn::ForwardMode& mode) {
            Var<float> loss = supervised(m, b, mode);
            // What a batch of huge (finite) values does to a running variance: overflow.
            if (++*calls > 2) *model->named_buffers().front().second = Tensor<float>(
                model->named_buffers().front().second->shape(), std::numeric_limits<float>::infinity());
            return loss;
        });
    }, "a weight or a batch-norm statistic became non-finite at epoch 2, step 1");
}

TEST_CASE("weights that become non-finite in the optimizer step roll back", "[train][trainer][errors]") {
    const auto data = fields(4);
    Rng rng(2);
    nn::UNet<float> net(small(false), rng);
    const auto before = net.state();
    auto o = options();
    o.learning_rate = 1e39;  // beyond float: the step makes the weights infinite
    o.clip_grad_norm = 0;
    train::Trainer<float> trainer(net, o);
    CHECK_THROWS_WITH(trainer.fit(data, train::Dataset<float>()),
                      Catch::Contains("a weight or a batch-norm statistic became non-finite at epoch 1, step 1"));
    const auto after = net.state();
    for (std::size_t i = 0; i < after.size(); ++i)
        CHECK(std::equal(after[i].second.begin(), after[i].second.end(), before[i].second.begin()));
}
