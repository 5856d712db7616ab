// Whole steps of the U-Net family on [B, 1, 128, 128]: a train step (zero grads, forward, MSE,
// backward, Adam) and an inference step (predict: no graph recorded). The same step as
// `maunet bench`. Arguments: model (0 unet, 1 maunet, 2 maunet-light), batch, threads.
// Counters: GFLOP/s (convolution FLOPs, a train step counted as 3x the forward) and fields/s.
#include <maunet/autograd/ops/loss.hpp>
#include <maunet/nn/models/unet.hpp>
#include <maunet/optim/adam.hpp>

#include "bench_common.hpp"

namespace {

using namespace maunet;
using maunet::bench::set_rate_counters;
using maunet::bench::threads_arg;

nn::UNetConfig config(int model) {
    return model == 0 ? nn::UNetConfig::unet() : model == 1 ? nn::UNetConfig::maunet() : nn::UNetConfig::maunet_light();
}

const char* model_name(int model) { return model == 0 ? "unet" : model == 1 ? "maunet" : "maunet-light"; }

void BM_train_step(benchmark::State& state) {
    const int model = static_cast<int>(state.range(0));
    const Index B = state.range(1);
    threads_arg(state, 2);
    state.SetLabel(model_name(model));
    Rng rng(1);
    nn::UNet<float> net(config(model), rng);
    const Tensor<float> x = Tensor<float>::uniform(Shape{B, 1, 128, 128}, rng);
    const Tensor<float> target = Tensor<float>::uniform(Shape{B, 1, 128, 128}, rng);
    optim::Adam<float> adam(net.parameters(), 1e-4);
    net.train();
    for (auto _ : state) {
        adam.zero_grad();
        Var<float> loss = mse_loss(net.forward(Var<float>(x), &rng), Var<float>(target));
        loss.backward();
        adam.step();
    }
    set_rate_counters(state, 3.0 * net.forward_flops(B, 128, 128), double(B));
}

void BM_inference_step(benchmark::State& state) {
    const int model = static_cast<int>(state.range(0));
    const Index B = state.range(1);
    threads_arg(state, 2);
    state.SetLabel(model_name(model));
    Rng rng(1);
    nn::UNet<float> net(config(model), rng);
    net.eval();
    const Tensor<float> x = Tensor<float>::uniform(Shape{B, 1, 128, 128}, rng);
    for (auto _ : state) benchmark::DoNotOptimize(net.predict(x).data());
    set_rate_counters(state, net.forward_flops(B, 128, 128), double(B));
}

BENCHMARK(BM_train_step)->ArgsProduct({{0, 1, 2}, {1, 8}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_inference_step)->ArgsProduct({{0, 1, 2}, {1, 8}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
