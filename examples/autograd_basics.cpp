// examples/autograd_basics.cpp: the autograd on its own. A convolution, a ReLU and a mean;
// backward() gives the gradient of every input that asked for one.
#include <cstdio>

#include <maunet/maunet.hpp>

int main() {
    using namespace maunet;
    Rng rng(1);
    Var<double> x(Tensor<double>::randn(Shape{1, 2, 8, 8}, rng), /*requires_grad=*/true);
    Var<double> w = Var<double>::parameter(Tensor<double>::randn(Shape{4, 2, 3, 3}, rng, 0.0, 0.1));
    Var<double> y = relu(conv2d(x, w, Var<double>(), Conv2dOptions{1, 1}));
    Var<double> loss = mean(y * y);
    loss.backward();
    std::printf("loss %.6f, dL/dw[0] %.6f, dL/dx[0] %.6f\n", loss.value().item(), w.grad()[0], x.grad()[0]);
    return 0;
}
