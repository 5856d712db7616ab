// Builds against the installed maunet package and takes one gradient step.
#include <cstdio>

#include <maunet/maunet.hpp>

int main() {
    using namespace maunet;
    Var<float> w = Var<float>::parameter(Tensor<float>(Shape{1}, {3.0f}));
    Var<float> loss = w * w;  // d(w^2)/dw = 2w = 6
    loss.backward();
    const float g = w.grad()[0];
    std::printf("consumer: maunet %s, d(w^2)/dw at 3 = %g\n", MAUNET_VERSION_STRING, g);
    return g == 6.0f ? 0 : 1;
}
