#include <catch2/catch.hpp>

#include "maunet/core/tensor.hpp"
#include "maunet/core/xtensor_bridge.hpp"

using maunet::Index;
using maunet::Rng;
using maunet::Shape;
using maunet::Tensor;

TEST_CASE("Tensor stores row-major NCHW data and indexes it", "[tensor]") {
    Tensor<float> t(Shape{2, 3, 4, 5});
    REQUIRE(t.numel() == 120);
    REQUIRE(t.rank() == 4);
    for (Index i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(i);
    // offset of (n, c, h, w) = ((n*3 + c)*4 + h)*5 + w
    CHECK(t(1, 2, 3, 4) == 119.0f);
    CHECK(t(0, 1, 0, 0) == 20.0f);
    CHECK(t.at(1, 0, 2, 1) == static_cast<float>(((1 * 3 + 0) * 4 + 2) * 5 + 1));
    CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0);
    CHECK(t.shape().strides() == std::vector<Index>{60, 20, 5, 1});
}

TEST_CASE("Tensor checks shapes and indices with clear errors", "[tensor][errors]") {
    Tensor<float> t(Shape{2, 3});
    CHECK_THROWS_AS(t.at(2, 0), maunet::ShapeError);
    CHECK_THROWS_WITH(t.at(0), Catch::Contains("1 indices for shape [2, 3]"));
    CHECK_THROWS_WITH(t.reshape(Shape{4, 2}), Catch::Contains("cannot view [2, 3]"));
    CHECK_THROWS_AS((Tensor<float>(Shape{2, 2}, {1.f, 2.f, 3.f})), maunet::ShapeError);
    CHECK_THROWS_AS(Shape({2, -1}), maunet::ArgumentError);
    CHECK_THROWS_WITH(t.item(), Catch::Contains("expected one element"));
}

TEST_CASE("Tensor random init is reproducible from the seed", "[tensor][random]") {
    Rng a(42), b(42), c(43);
    auto x = Tensor<double>::randn(Shape{1000}, a);
    auto y = Tensor<double>::randn(Shape{1000}, b);
    auto z = Tensor<double>::randn(Shape{1000}, c);
    REQUIRE(maunet::Tensor<double>(x).numel() == 1000);
    bool same = true, differs = false;
    double mean = 0, var = 0;
    for (Index i = 0; i < 1000; ++i) {
        same = same && x[i] == y[i];
        differs = differs || x[i] != z[i];
        mean += x[i] / 1000;
    }
    for (Index i = 0; i < 1000; ++i) var += (x[i] - mean) * (x[i] - mean) / 999;
    CHECK(same);
    CHECK(differs);
    CHECK(std::abs(mean) < 0.1);
    CHECK(std::abs(var - 1) < 0.1);
    auto u = Tensor<float>::uniform(Shape{500}, a, 2.f, 3.f);
    for (float v : u) REQUIRE((v >= 2.f && v < 3.f));
}

TEST_CASE("Tensor reshapes, casts and maps into Eigen", "[tensor]") {
    Tensor<float> t(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
    auto m = t.matrix(2, 3);
    CHECK(m(1, 0) == 4.0f);
    m(0, 2) = 30.0f;
    CHECK(t(0, 2) == 30.0f);
    auto r = t.reshaped(Shape{3, 2});
    CHECK(r(2, 1) == 6.0f);
    CHECK(r.shape() == Shape{3, 2});
    auto d = t.cast<double>();
    CHECK(d(1, 2) == 6.0);
    CHECK(t.array().sum() == Approx(1 + 2 + 30 + 4 + 5 + 6));
}

TEST_CASE("xtensor views share the tensor's buffer; to_tensor copies", "[tensor][xtensor]") {
    Tensor<float> t(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
    auto view = maunet::as_xtensor(t);
    REQUIRE(view.shape()[0] == 2);
    REQUIRE(view.shape()[1] == 3);
    CHECK(view(1, 2) == 6.0f);
    view(0, 0) = 10.0f;  // zero-copy: writes land in t
    CHECK(t(0, 0) == 10.0f);

    xt::xarray<double> a = {{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}};
    auto u = maunet::to_tensor<float>(xt::transpose(a));
    REQUIRE(u.shape() == Shape{2, 3});
    CHECK(u(0, 1) == 3.0f);
    CHECK(u(1, 2) == 6.0f);
    auto back = maunet::to_xarray(u);
    CHECK(back(1, 0) == 2.0f);
}
