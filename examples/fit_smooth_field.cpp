// examples/fit_smooth_field.cpp: train a tiny convolutional network with the autograd and
// watch the loss fall. The network learns to map a noisy field to the smooth field it came
// from (a denoiser): three 3x3 convolutions with ReLU, Adam, masked MSE.
#include <cmath>
#include <cstdio>

#include <maunet/maunet.hpp>

int main() {
    using namespace maunet;
    Rng rng(7);
    const Index N = 8, H = 24, W = 24;
    // Smooth fields: sums of two random sinusoids; inputs: the same plus noise.
    Tensor<float> clean(Shape{N, 1, H, W}), noisy(Shape{N, 1, H, W});
    for (Index n = 0; n < N; ++n) {
        const double fx = rng.uniform(1, 3), fy = rng.uniform(1, 3), phase = rng.uniform(0, 6.28);
        for (Index i = 0; i < H; ++i)
            for (Index j = 0; j < W; ++j) {
                const double v = std::sin(fx * 6.28 * j / W + phase) * std::cos(fy * 6.28 * i / H);
                clean(n, 0, i, j) = static_cast<float>(v);
                noisy(n, 0, i, j) = static_cast<float>(v + 0.3 * rng.normal());
            }
    }
    nn::Conv2d<float> c1(1, 16, 3, rng, {1, 1}), c2(16, 16, 3, rng, {1, 1}), c3(16, 1, 3, rng, {1, 1});
    std::vector<Var<float>> params;
    for (auto* layer : {&c1, &c2, &c3})
        for (auto& p : layer->parameters()) params.push_back(p);
    optim::Adam<float> adam(params, 1e-2);
    float first = 0, last = 0;
    for (int step = 0; step <= 300; ++step) {
        adam.zero_grad();
        Var<float> h = relu(c1.forward(Var<float>(noisy)));
        h = relu(c2.forward(h));
        Var<float> loss = mse_loss(c3.forward(h), Var<float>(clean));
        loss.backward();
        adam.step();
        last = loss.value().item();
        if (step == 0) first = last;
        if (step % 50 == 0) std::printf("step %3d  loss %.5f\n", step, last);
    }
    // The test suite runs this example: it fails unless the loss fell at least tenfold.
    if (!(last < first / 10)) {
        std::fprintf(stderr, "fit_smooth_field: the loss fell only from %.5f to %.5f\n", first, last);
        return 1;
    }
    return 0;
}
