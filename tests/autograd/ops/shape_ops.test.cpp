#include <catch2/catch.hpp>

#include "maunet/autograd/ops/shape_ops.hpp"
#include "support/gradcheck.hpp"
#include "support/random_tensor.hpp"

using namespace maunet;
using maunet::testing::gradcheck;
using maunet::testing::max_abs_diff;

namespace {

using maunet::testing::random;

// 0, 1, 2, ... in row-major order.
template <class T>
Tensor<T> arange(Shape s) {
    Tensor<T> t(std::move(s));
    for (Index i = 0; i < t.numel(); ++i) t[i] = static_cast<T>(i);
    return t;
}

// Naive NCHW padding: reflect (no edge repeat) or zero.
template <class T>
Tensor<T> naive_pad(const Tensor<T>& x, Index top, Index bottom, Index left, Index right, bool reflect) {
    const Index N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
    Tensor<T> y(Shape{N, C, H + top + bottom, W + left + right});
    auto mirror = [](Index r, Index extent) { return r < 0 ? -r : (r >= extent ? 2 * extent - 2 - r : r); };
    for (Index n = 0; n < N; ++n)
        for (Index c = 0; c < C; ++c)
            for (Index i = 0; i < y.dim(2); ++i)
                for (Index j = 0; j < y.dim(3); ++j) {
                    Index r = i - top, q = j - left;
                    if (reflect) {
                        r = mirror(r, H);
                        q = mirror(q, W);
                    } else if (r < 0 || r >= H || q < 0 || q >= W) {
                        continue;
                    }
                    y.at(n, c, i, j) = x.at(n, c, r, q);
                }
    return y;
}

}  // namespace

TEST_CASE("reshape keeps the order and passes the gradient back", "[ops][shape_ops]") {
    using V = std::vector<Var<double>>;
    Var<float> x(arange<float>(Shape{2, 3, 4}));
    const Tensor<float> y = reshape(x, Shape{6, 4}).value();
    CHECK(y.shape() == Shape{6, 4});
    CHECK(y(5, 3) == 23.0f);
    CHECK(y(1, 0) == 4.0f);
    CHECK(gradcheck([](const V& v) { return reshape(v[0], Shape{4, 1, 6}); }, {random(Shape{2, 3, 4}, 1)}).max_error() <
          1e-6);
    CHECK_THROWS_AS(reshape(x, Shape{5, 5}), ShapeError);
    CHECK_THROWS_WITH(reshape(x, Shape{5, 5}),
                      Catch::Contains("reshape: cannot reshape [2, 3, 4] (24 elements) to [5, 5] (25 elements)"));
}

TEST_CASE("concat forward along every axis", "[ops][shape_ops]") {
    Var<float> a(arange<float>(Shape{2, 1, 2, 3}));
    Var<float> b(Tensor<float>(Shape{2, 2, 2, 3}, 100.0f));
    const Tensor<float> y = concat<float>({a, b}).value();  // axis 1, the channels
    REQUIRE(y.shape() == Shape{2, 3, 2, 3});
    for (Index n = 0; n < 2; ++n)
        for (Index c = 0; c < 3; ++c)
            for (Index i = 0; i < 2; ++i)
                for (Index j = 0; j < 3; ++j)
                    CHECK(y.at(n, c, i, j) == (c == 0 ? a.value().at(n, 0, i, j) : 100.0f));

    // Every axis (and negative ones), against element-by-element placement.
    for (int axis = -4; axis < 4; ++axis) {
        const std::size_t ax = static_cast<std::size_t>(axis < 0 ? axis + 4 : axis);
        std::vector<Index> d0{2, 3, 4, 5}, d1{2, 3, 4, 5}, d2{2, 3, 4, 5};
        d1[ax] = 1;
        d2[ax] = 2;
        const Tensor<double> t0 = random(Shape(d0), 1), t1 = random(Shape(d1), 2), t2 = random(Shape(d2), 3);
        const Tensor<double> z = concat<double>({Var<double>(t0), Var<double>(t1), Var<double>(t2)}, axis).value();
        std::vector<Index> dz = d0;
        dz[ax] = d0[ax] + 3;
        REQUIRE(z.shape() == Shape(dz));
        bool ok = true;
        for (Index n = 0; n < dz[0]; ++n)
            for (Index c = 0; c < dz[1]; ++c)
                for (Index i = 0; i < dz[2]; ++i)
                    for (Index j = 0; j < dz[3]; ++j) {
                        Index idx[4] = {n, c, i, j};
                        const Index k = idx[ax];
                        const Tensor<double>* src = &t0;
                        if (k >= d0[ax] + 1) {
                            src = &t2;
                            idx[ax] = k - d0[ax] - 1;
                        } else if (k >= d0[ax]) {
                            src = &t1;
                            idx[ax] = k - d0[ax];
                        }
                        ok = ok && z.at(n, c, i, j) == src->at(idx[0], idx[1], idx[2], idx[3]);
                    }
        INFO("axis " << axis);
        CHECK(ok);
    }
}

TEST_CASE("concat backward splits the gradient", "[ops][shape_ops][gradcheck]") {
    using V = std::vector<Var<double>>;
    for (int axis : {0, 1, 2, 3, -1}) {
        const std::size_t ax = static_cast<std::size_t>(axis < 0 ? axis + 4 : axis);
        std::vector<Index> d0{2, 3, 5, 7}, d1{2, 3, 5, 7};
        d1[ax] = 2;
        auto r = gradcheck([axis](const V& v) { return concat(v, axis); },
                           {random(Shape(d0), 4), random(Shape(d1), 5), random(Shape(d0), 6)});
        INFO("axis " << axis << "\n" << r.summary);
        CHECK(r.max_error() < 1e-6);
    }
    // The same variable twice: both halves of the gradient add up on it.
    Var<double> x(Tensor<double>(Shape{1, 1, 1, 2}, {1, 2}), true);
    Var<double> y = concat<double>({x, x});
    y.backward(Tensor<double>(Shape{1, 2, 1, 2}, {1, 2, 10, 20}));
    CHECK(max_abs_diff(x.grad(), Tensor<double>(Shape{1, 1, 1, 2}, {11, 22})) == 0.0);
    // Only the inputs that want a gradient get one.
    Var<double> p(Tensor<double>(Shape{2, 2}, 1.0), true), q(Tensor<double>(Shape{2, 3}, 1.0), false);
    concat<double>({p, q}, 1).backward(Tensor<double>(Shape{2, 5}, 1.0));
    CHECK(p.has_grad());
    CHECK_FALSE(q.has_grad());
}

TEST_CASE("concat rejects mismatched inputs naming the input and both shapes", "[ops][shape_ops][errors]") {
    Var<float> a(Tensor<float>(Shape{2, 3, 4, 4}));
    Var<float> b(Tensor<float>(Shape{2, 5, 4, 4}));
    Var<float> c(Tensor<float>(Shape{2, 5, 4, 3}));
    Var<float> r3(Tensor<float>(Shape{2, 5, 4}));
    CHECK_THROWS_AS(concat<float>({a, b, c}), ShapeError);
    CHECK_THROWS_WITH(concat<float>({a, b, c}),
                      Catch::Contains("concat: input 2 has shape [2, 5, 4, 3], which does not match input 0's shape "
                                      "[2, 3, 4, 4] on the axes other than axis 1"));
    CHECK_THROWS_WITH(concat<float>({a, r3}), Catch::Contains("input 1 has shape [2, 5, 4]"));
    CHECK_THROWS_AS(concat<float>({}), ArgumentError);
    CHECK_THROWS_WITH(concat<float>({}), Catch::Contains("concat: expected at least one input, got none"));
    CHECK_THROWS_WITH(concat<float>({a, b}, 4), Catch::Contains("concat: axis 4 is out of range for a tensor of rank 4"));
    CHECK_THROWS_WITH(concat<float>({a, Var<float>()}), Catch::Contains("concat: input 1 is an undefined (null) variable"));
}

TEST_CASE("slice forward, backward and errors", "[ops][shape_ops]") {
    using V = std::vector<Var<double>>;
    Var<float> x(arange<float>(Shape{2, 3, 4}));
    const Tensor<float> y = slice(x, 1, 1, 3).value();
    REQUIRE(y.shape() == Shape{2, 2, 4});
    for (Index n = 0; n < 2; ++n)
        for (Index c = 0; c < 2; ++c)
            for (Index j = 0; j < 4; ++j) CHECK(y.at(n, c, j) == x.value().at(n, c + 1, j));
    CHECK(slice(x, -1, 2, 4).value().shape() == Shape{2, 3, 2});
    CHECK(slice(x, -1, 2, 4).value().at(1, 2, 1) == 23.0f);
    CHECK(slice(x, 0, 1, 1).value().shape() == Shape{0, 3, 4});

    for (int axis : {0, 1, 2, -1}) {
        auto r = gradcheck([axis](const V& v) { return slice(v[0], axis, 1, 2); }, {random(Shape{3, 4, 5}, 7)});
        INFO("axis " << axis << "\n" << r.summary);
        CHECK(r.max_error() < 1e-6);
    }
    Var<double> z(Tensor<double>(Shape{1, 4}, {1, 2, 3, 4}), true);
    slice(z, 1, 1, 3).backward(Tensor<double>(Shape{1, 2}, {5, 6}));
    CHECK(max_abs_diff(z.grad(), Tensor<double>(Shape{1, 4}, {0, 5, 6, 0})) == 0.0);

    CHECK_THROWS_AS(slice(x, 1, 2, 4), ArgumentError);
    CHECK_THROWS_WITH(slice(x, 1, 2, 4),
                      Catch::Contains("slice: expected 0 <= begin <= end <= 3 (the extent of axis 1 of [2, 3, 4]), got "
                                      "begin 2, end 4"));
    CHECK_THROWS_WITH(slice(x, 2, 3, 1), Catch::Contains("got begin 3, end 1"));
    CHECK_THROWS_WITH(slice(x, -4, 0, 1), Catch::Contains("slice: axis -4 is out of range"));
}

TEST_CASE("crop2d forward, backward and errors", "[ops][shape_ops]") {
    using V = std::vector<Var<double>>;
    Var<float> x(arange<float>(Shape{2, 3, 5, 7}));
    const Tensor<float> y = crop2d(x, 1, 2, 3, 4).value();
    REQUIRE(y.shape() == Shape{2, 3, 3, 4});
    bool ok = true;
    for (Index n = 0; n < 2; ++n)
        for (Index c = 0; c < 3; ++c)
            for (Index i = 0; i < 3; ++i)
                for (Index j = 0; j < 4; ++j) ok = ok && y.at(n, c, i, j) == x.value().at(n, c, i + 1, j + 2);
    CHECK(ok);

    auto r = gradcheck([](const V& v) { return crop2d(v[0], 1, 2, 3, 4); }, {random(Shape{2, 3, 5, 7}, 8)});
    INFO(r.summary);
    CHECK(r.max_error() < 1e-6);
    Var<double> z(Tensor<double>(Shape{1, 1, 2, 2}), true);
    crop2d(z, 1, 0, 1, 2).backward(Tensor<double>(Shape{1, 1, 1, 2}, {3, 4}));
    CHECK(max_abs_diff(z.grad(), Tensor<double>(Shape{1, 1, 2, 2}, {0, 0, 3, 4})) == 0.0);

    CHECK_THROWS_AS(crop2d(x, 3, 0, 3, 4), ArgumentError);
    CHECK_THROWS_WITH(crop2d(x, 3, 0, 3, 4), Catch::Contains("does not fit in the 5x7 input [2, 3, 5, 7]"));
    CHECK_THROWS_WITH(crop2d(x, -1, 0, 3, 4), Catch::Contains("crop2d: top, left, height and width must be >= 0"));
    Var<float> flat(Tensor<float>(Shape{5, 7}));
    CHECK_THROWS_AS(crop2d(flat, 0, 0, 1, 1), ShapeError);
}

TEST_CASE("pad2d reflect matches PyTorch's ReflectionPad2d", "[ops][shape_ops]") {
    // torch.nn.ReflectionPad2d(2)(torch.arange(9.).reshape(1, 1, 3, 3)), from the PyTorch docs.
    Var<float> x(arange<float>(Shape{1, 1, 3, 3}));
    const Tensor<float> expected(Shape{1, 1, 7, 7}, {8, 7, 6, 7, 8, 7, 6,  //
                                                     5, 4, 3, 4, 5, 4, 3,  //
                                                     2, 1, 0, 1, 2, 1, 0,  //
                                                     5, 4, 3, 4, 5, 4, 3,  //
                                                     8, 7, 6, 7, 8, 7, 6,  //
                                                     5, 4, 3, 4, 5, 4, 3,  //
                                                     2, 1, 0, 1, 2, 1, 0});
    CHECK(max_abs_diff(pad2d(x, 2, 2, 2, 2, PadMode::reflect).value(), expected) == 0.0);
    // ReflectionPad2d((1, 1, 2, 0)): left 1, right 1, top 2, bottom 0.
    const Tensor<float> expected2(Shape{1, 1, 5, 5}, {7, 6, 7, 8, 7,  //
                                                      4, 3, 4, 5, 4,  //
                                                      1, 0, 1, 2, 1,  //
                                                      4, 3, 4, 5, 4,  //
                                                      7, 6, 7, 8, 7});
    CHECK(max_abs_diff(pad2d(x, 2, 0, 1, 1, PadMode::reflect).value(), expected2) == 0.0);
}

TEST_CASE("pad2d forward matches a naive computation", "[ops][shape_ops]") {
    struct Pads {
        Index top, bottom, left, right;
    };
    for (const Pads& p : {Pads{1, 2, 3, 0}, Pads{0, 0, 0, 0}, Pads{4, 4, 6, 6}, Pads{2, 1, 1, 5}}) {
        Rng rng(12);
        const Tensor<float> xf = Tensor<float>::uniform(Shape{2, 3, 5, 7}, rng);
        const Tensor<double> xd = random(Shape{2, 3, 5, 7}, 13);
        for (bool reflect : {false, true}) {
            const PadMode mode = reflect ? PadMode::reflect : PadMode::zero;
            INFO("pads " << p.top << " " << p.bottom << " " << p.left << " " << p.right << " mode " << to_string(mode));
            CHECK(max_abs_diff(pad2d(Var<float>(xf), p.top, p.bottom, p.left, p.right, mode).value(),
                               naive_pad(xf, p.top, p.bottom, p.left, p.right, reflect)) == 0.0);
            CHECK(max_abs_diff(pad2d(Var<double>(xd), p.top, p.bottom, p.left, p.right, mode).value(),
                               naive_pad(xd, p.top, p.bottom, p.left, p.right, reflect)) == 0.0);
        }
    }
}

TEST_CASE("pad2d backward: zero crops, reflect folds the gradient back", "[ops][shape_ops][gradcheck]") {
    using V = std::vector<Var<double>>;
    // A 1x3 row [a b c] padded by 2 on both sides: [c b | a b c | b a].
    Var<double> x(Tensor<double>(Shape{1, 1, 1, 3}), true);
    pad2d(x, 0, 0, 2, 2, PadMode::reflect).backward(Tensor<double>(Shape{1, 1, 1, 7}, {1, 2, 10, 20, 30, 4, 5}));
    CHECK(max_abs_diff(x.grad(), Tensor<double>(Shape{1, 1, 1, 3}, {10 + 5, 20 + 2 + 4, 30 + 1})) == 0.0);
    Var<double> z(Tensor<double>(Shape{1, 1, 1, 2}), true);
    pad2d(z, 0, 0, 1, 1, PadMode::zero).backward(Tensor<double>(Shape{1, 1, 1, 4}, {1, 2, 3, 4}));
    CHECK(max_abs_diff(z.grad(), Tensor<double>(Shape{1, 1, 1, 2}, {2, 3})) == 0.0);

    for (PadMode mode : {PadMode::zero, PadMode::reflect}) {
        auto r = gradcheck([mode](const V& v) { return pad2d(v[0], 2, 1, 3, 4, mode); }, {random(Shape{2, 3, 5, 7}, 14)});
        INFO(to_string(mode) << "\n" << r.summary);
        CHECK(r.max_error() < 1e-6);
        auto r2 = gradcheck([mode](const V& v) { return pad2d(v[0], 4, 4, 1, 0, mode); }, {random(Shape{1, 2, 5, 2}, 15)});
        INFO(to_string(mode) << "\n" << r2.summary);
        CHECK(r2.max_error() < 1e-6);
    }
}

TEST_CASE("pad2d rejects bad pads with a clear message", "[ops][shape_ops][errors]") {
    Var<float> x(Tensor<float>(Shape{1, 2, 3, 4}));
    CHECK_THROWS_AS(pad2d(x, 3, 0, 0, 0, PadMode::reflect), ArgumentError);
    CHECK_THROWS_WITH(pad2d(x, 3, 0, 0, 0, PadMode::reflect),
                      Catch::Contains("pad2d: reflect padding must be smaller than the extent it mirrors (top, bottom < "
                                      "3; left, right < 4 for input [1, 2, 3, 4]), got top 3"));
    CHECK_THROWS_WITH(pad2d(x, 0, 0, 0, 4, PadMode::reflect), Catch::Contains("right 4"));
    CHECK_NOTHROW(pad2d(x, 3, 3, 4, 4, PadMode::zero));
    CHECK_THROWS_WITH(pad2d(x, 0, -1, 0, 0, PadMode::zero), Catch::Contains("pad2d: pads must be >= 0, got top 0, bottom -1"));
    Var<float> flat(Tensor<float>(Shape{3, 4}));
    CHECK_THROWS_AS(pad2d(flat, 1, 1, 1, 1, PadMode::zero), ShapeError);
    CHECK_THROWS_WITH(pad2d(flat, 1, 1, 1, 1, PadMode::zero), Catch::Contains("pad2d: expected an NCHW input of rank 4, got shape [3, 4]"));
}
