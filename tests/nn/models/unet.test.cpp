#include <catch2/catch.hpp>

#include <cmath>
#include <memory>

#include "maunet/autograd/ops/loss.hpp"
#include "maunet/autograd/ops/reduction.hpp"
#include "maunet/nn/models/unet.hpp"
#include "maunet/optim/adam.hpp"
#include "support/gradcheck.hpp"
#include "support/small_network.hpp"

using namespace maunet;
using nn::UNet;
using nn::UNetConfig;

TEST_CASE("the benchmark U-Net has exactly PyTorch's 7,759,521 parameters", "[nn][models]") {
    Rng rng(1);
    UNet<float> unet(UNetConfig::unet(), rng);
    CHECK(unet.num_parameters() == 7759521);
    // Names follow PyTorch's state_dict for the same structure.
    const auto named = unet.named_parameters();
    CHECK(named.front().first == "encoder.0.conv1.weight");
    CHECK(named.front().second.shape() == Shape{32, 1, 3, 3});
    CHECK(named.back().first == "head.bias");
    bool has_up = false;
    for (const auto& [name, p] : named) has_up = has_up || name == "decoder.0.up.weight";
    CHECK(has_up);
}

TEST_CASE("MAUNet-Light has about 60% of MAUNet's parameters", "[nn][models]") {
    Rng rng(1);
    UNet<float> teacher(UNetConfig::maunet(), rng);
    UNet<float> student(UNetConfig::maunet_light(), rng);
    CHECK(UNetConfig::maunet_light().first_width() == 25);
    const double ratio = double(student.num_parameters()) / double(teacher.num_parameters());
    INFO("teacher " << teacher.num_parameters() << ", student " << student.num_parameters());
    CHECK(ratio > 0.55);
    CHECK(ratio < 0.65);
}

TEST_CASE("every architecture keeps the input's height and width, odd sizes included", "[nn][models]") {
    Rng rng(2);
    for (UNetConfig c : {UNetConfig::maunet(), UNetConfig::maunet_light(), UNetConfig::unet()}) {
        c.levels = 3;
        c.base_width = 4;
        c.in_channels = 2;
        UNet<float> net(c, rng);
        for (auto [h, w] : {std::pair<Index, Index>{16, 16}, {13, 21}, {9, 8}, {5, 7}}) {
            auto x = Tensor<float>::uniform(Shape{2, 2, h, w}, rng);
            auto y = net.predict(x);
            CHECK(y.shape() == Shape{2, 1, h, w});
            CHECK(y.all_finite());
        }
    }
    for (PoolMode m : {PoolMode::mean, PoolMode::concat, PoolMode::learned, PoolMode::max, PoolMode::avg}) {
        UNetConfig c = testing::small_network(UNetConfig::maunet());
        c.pool_mode = m;
        UNet<float> net(c, rng);
        CHECK(net.predict(Tensor<float>(Shape{1, 1, 12, 12}, 1.0f)).shape() == Shape{1, 1, 12, 12});
    }
    for (auto m : {nn::UpsampleMode::mean, nn::UpsampleMode::transposed, nn::UpsampleMode::resize_conv}) {
        UNetConfig c = testing::small_network(UNetConfig::maunet());
        c.upsample_mode = m;
        c.batch_norm = true;
        UNet<float> net(c, rng);
        CHECK(net.predict(Tensor<float>(Shape{1, 1, 8, 8}, 1.0f)).shape() == Shape{1, 1, 8, 8});
    }
}

TEST_CASE("a whole small MAUNet backpropagates exactly (finite differences, double)", "[nn][models][gradcheck]") {
    for (PoolMode pool : {PoolMode::mean, PoolMode::learned}) {
        UNetConfig c = testing::small_network(UNetConfig::maunet());
        c.pool_mode = pool;
        c.dropout_rate = 0.0;  // dropout is checked on its own; here every evaluation must be identical
        c.in_channels = 2;
        Rng rng(3);
        UNet<double> net(c, rng);
        net.eval();
        auto params = net.named_parameters();
        auto x = Tensor<double>::uniform(Shape{2, 2, 6, 5}, rng, 0.0, 1.0);
        // Parameter gradients from backward() against central differences of the same
        // objective, perturbing the module's own parameter values in place.
        Var<double> xv(x, true);
        for (auto& [name, p] : params) p.zero_grad();
        Var<double> y = net.forward(xv, nn::ForwardMode{false, nullptr});
        Rng rr(9);
        auto r = Tensor<double>::uniform(y.shape(), rr, -1.0, 1.0);
        y.backward(r);
        auto loss_at = [&]() {
            NoGradGuard ng;
            auto out = net.forward(Var<double>(x), nn::ForwardMode{false, nullptr}).value();
            return maunet::testing::weighted_sum(out, r);
        };
        double worst = 0;
        std::string worst_name;
        for (auto& [name, p] : params) {
            const Tensor<double> analytic = p.grad();
            Tensor<double>& w = p.mutable_value();
            double scale = 1e-3, err = 0;
            // Probe a spread of elements of each parameter (all of the small ones).
            const Index n = w.numel();
            const Index step = std::max<Index>(1, n / 12);
            for (Index j = 0; j < n; j += step) {
                const double w0 = w[j], eps = 1e-6;
                w[j] = w0 + eps;
                const double lp = loss_at();
                w[j] = w0 - eps;
                const double lm = loss_at();
                w[j] = w0;
                const double numeric = (lp - lm) / (2 * eps);
                scale = maunet::testing::max_or_nan(scale, std::abs(numeric));
                err = maunet::testing::max_or_nan(err, std::abs(numeric - analytic[j]));
            }
            if (err / scale > worst) {
                worst = err / scale;
                worst_name = name;
            }
        }
        INFO("pool mode " << to_string(pool) << ": worst parameter " << worst_name << " relative error " << worst);
        CHECK(worst < 1e-6);
        // And the input gradient through gradcheck's own machinery.
        auto report = maunet::testing::gradcheck(
            [&](const std::vector<Var<double>>& v) { return net.forward(v[0], nn::ForwardMode{false, nullptr}); }, {x});
        INFO(report.summary);
        CHECK(report.max_error() < 1e-6);
    }
}

TEST_CASE("training on one batch drives the loss down by 100x", "[nn][models][training]") {
    UNetConfig c = testing::small_network(UNetConfig::maunet());
    c.dropout_rate = 0.0;
    c.residual = false;  // learn the whole map, not a small correction
    Rng rng(4);
    UNet<float> net(c, rng);
    auto x = Tensor<float>::uniform(Shape{2, 1, 8, 8}, rng, 0.0f, 1.0f);
    Tensor<float> target(x.shape());
    for (Index i = 0; i < x.numel(); ++i) target[i] = 0.5f * x[i] * x[i] + 0.2f;  // a smooth nonlinear map
    optim::Adam<float> adam(net.parameters(), 3e-3);
    float first = 0, last = 0;
    for (int step = 0; step < 500; ++step) {
        adam.zero_grad();
        Var<float> loss = mse_loss(net.forward(Var<float>(x), &rng), Var<float>(target));
        if (step == 0) first = loss.value().item();
        last = loss.value().item();
        loss.backward();
        adam.step();
    }
    INFO("loss " << first << " -> " << last);
    CHECK(last < first / 100);
}

TEST_CASE("same seed and one thread give bit-identical weights after training steps", "[nn][models][determinism]") {
    auto run = [] {
        UNetConfig c = testing::small_network(UNetConfig::maunet());  // dropout on: the engine must be reproducible too
        Rng rng(5);
        UNet<float> net(c, rng);
        net.train();
        auto x = Tensor<float>::uniform(Shape{2, 1, 8, 8}, rng);
        optim::Adam<float> adam(net.parameters(), 1e-3);
        for (int step = 0; step < 5; ++step) {
            adam.zero_grad();
            Var<float> loss = mse_loss(net.forward(Var<float>(x), &rng), Var<float>(x));
            loss.backward();
            adam.step();
        }
        std::vector<float> all;
        for (auto& [name, p] : net.named_parameters()) all.insert(all.end(), p.value().begin(), p.value().end());
        return all;
    };
    set_num_threads(1);
    const auto a = run();
    const auto b = run();
    set_num_threads(max_hardware_threads());
    REQUIRE(a.size() == b.size());
    CHECK(std::equal(a.begin(), a.end(), b.begin()));  // bitwise, not approximately
}

TEST_CASE("model errors name the model and the shapes", "[nn][models][errors]") {
    Rng rng(6);
    UNetConfig c = testing::small_network(UNetConfig::maunet());
    UNet<float> net(c, rng);
    CHECK_THROWS_WITH(net.predict(Tensor<float>(Shape{1, 2, 8, 8})),
                      Catch::Contains("maunet: expected input [N, 1, H, W], got [1, 2, 8, 8]"));
    net.train();
    CHECK_THROWS_WITH(net.forward(Var<float>(Tensor<float>(Shape{1, 1, 8, 8}))),
                      Catch::Contains("needs a random engine"));
    UNetConfig bad = c;
    bad.levels = 0;
    CHECK_THROWS_WITH(UNet<float>(bad, rng), Catch::Contains("levels must be in [1, 8]"));
    bad = c;
    bad.residual_channel = 3;
    CHECK_THROWS_WITH(UNet<float>(bad, rng), Catch::Contains("residual_channel 3 is not an input channel"));
    bad = c;
    bad.dropout_rate = 1.0;
    CHECK_THROWS_WITH(UNet<float>(bad, rng), Catch::Contains("dropout_rate must be in [0, 1)"));
}

TEST_CASE("MC dropout: predict_sampled draws masks, keeps batch norm in inference and changes no state",
          "[nn][models][mc_dropout]") {
    UNetConfig c = testing::small_network(UNetConfig::maunet());
    c.batch_norm = true;
    // A network with batch norm whose running statistics are away from their initial values, so
    // that a pass on batch statistics (or an update of them) would show.
    const auto warmed_up = [](const UNetConfig& config) {
        Rng rng(5);
        auto net = std::make_unique<UNet<float>>(config, rng);
        net->train();
        for (int step = 0; step < 3; ++step)
            (void)net->forward(Var<float>(Tensor<float>::uniform(Shape{2, 1, 8, 8}, rng, 0.f, 3.f)), &rng);
        net->eval();
        return net;
    };
    const auto owned = warmed_up(c);
    UNet<float>& net = *owned;
    Rng rng(6);
    const Tensor<float> x = Tensor<float>::uniform(Shape{1, 1, 8, 8}, rng, 0.f, 1.f);
    const Tensor<float> before = net.predict(x);
    std::vector<Tensor<float>> buffers;
    for (auto& [name, b] : net.named_buffers()) buffers.push_back(*b);
    REQUIRE_FALSE(buffers.empty());

    Rng a(11), b(11), other(12);
    const Tensor<float> s1 = net.predict_sampled(x, a), s2 = net.predict_sampled(x, b);
    const Tensor<float> s3 = net.predict_sampled(x, other), s4 = net.predict_sampled(x, a);
    CHECK(maunet::testing::max_abs_diff(s1, s2) == 0.0);  // the same engine state, the same masks
    CHECK(maunet::testing::max_abs_diff(s1, s3) > 1e-4);   // another seed, other masks
    CHECK(maunet::testing::max_abs_diff(s1, s4) > 1e-4);   // the engine moved on
    CHECK(maunet::testing::max_abs_diff(s1, before) > 1e-4);
    // No buffer changed, and inference afterwards is what it was.
    std::size_t i = 0;
    for (auto& [name, buf] : net.named_buffers()) CHECK(maunet::testing::max_abs_diff(*buf, buffers[i++]) == 0.0);
    CHECK(maunet::testing::max_abs_diff(net.predict(x), before) == 0.0);
    // Batch norm runs on its running statistics: with a rate so small that every element is
    // kept (and 1 / (1 - p) rounds to 1 in float), a sampled pass is exactly the inference pass
    // (on the statistics of this one field it would differ).
    UNetConfig keep_all = c;
    keep_all.dropout_rate = 1e-12;
    const auto kept = warmed_up(keep_all);
    Rng d(3);
    CHECK(maunet::testing::max_abs_diff(kept->predict_sampled(x, d), kept->predict(x)) == 0.0);

    UNetConfig no_dropout = c;
    no_dropout.dropout_rate = 0.0;
    Rng r2(5);
    UNet<float> plain(no_dropout, r2);
    CHECK_FALSE(plain.has_dropout());
    CHECK(net.has_dropout());
    CHECK_THROWS_WITH(plain.predict_sampled(x, a), Catch::Contains("MC dropout needs dropout layers"));
    maunet::nn::ForwardMode sampling{false, nullptr};
    sampling.sample_dropout = true;
    CHECK_THROWS_WITH(net.forward(Var<float>(x), sampling), Catch::Contains("Dropout: sampling with rate 0.2 needs a random engine"));
}
