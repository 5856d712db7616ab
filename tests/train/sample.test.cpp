#include <catch2/catch.hpp>

#include <limits>

#include "maunet/train/sample.hpp"

using namespace maunet;
using namespace maunet::train;

namespace {
// A sample whose every value encodes (tag, channel, row, col), so stacking errors show.
Sample<float> tagged(int tag, Index c, Index h, Index w) {
    Sample<float> s{Tensor<float>(Shape{c, h, w}), Tensor<float>(Shape{1, h, w}), Tensor<float>(Shape{1, h, w}, 1.0f)};
    for (Index k = 0; k < c; ++k)
        for (Index i = 0; i < h; ++i)
            for (Index j = 0; j < w; ++j) s.input(k, i, j) = static_cast<float>(tag * 1000 + k * 100 + i * 10 + j);
    for (Index i = 0; i < h; ++i)
        for (Index j = 0; j < w; ++j) s.target(0, i, j) = static_cast<float>(-tag * 1000 - i * 10 - j);
    s.mask(0, 1, 2) = 0.0f;
    return s;
}
}  // namespace

TEST_CASE("stack copies the chosen samples in order", "[train][sample]") {
    std::vector<Sample<float>> samples{tagged(0, 2, 3, 5), tagged(1, 2, 3, 5), tagged(2, 2, 3, 5)};
    Batch<float> b = stack(samples, {2, 0});
    CHECK(b.input.shape() == Shape{2, 2, 3, 5});
    CHECK(b.target.shape() == Shape{2, 1, 3, 5});
    CHECK(b.mask.shape() == Shape{2, 1, 3, 5});
    CHECK(b.size() == 2);
    CHECK(b.indices == std::vector<std::size_t>{2, 0});
    for (Index r = 0; r < 2; ++r) {
        const int tag = r == 0 ? 2 : 0;
        for (Index k = 0; k < 2; ++k)
            for (Index i = 0; i < 3; ++i)
                for (Index j = 0; j < 5; ++j) {
                    CHECK(b.input(r, k, i, j) == static_cast<float>(tag * 1000 + k * 100 + i * 10 + j));
                    if (k == 0) {
                        CHECK(b.target(r, 0, i, j) == static_cast<float>(-tag * 1000 - i * 10 - j));
                        CHECK(b.mask(r, 0, i, j) == ((i == 1 && j == 2) ? 0.0f : 1.0f));
                    }
                }
    }
}

TEST_CASE("make_sample masks cells missing in target or any input channel", "[train][sample]") {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    Tensor<float> input(Shape{2, 2, 2}, {1, 2, 3, 4, 5, nan, 7, 8});
    Tensor<float> target(Shape{1, 2, 2}, {1, 1, nan, 1});
    const Sample<float> s = make_sample(input, target);
    CHECK(s.mask[0] == 1.0f);
    CHECK(s.mask[1] == 0.0f);  // input channel 1 missing
    CHECK(s.mask[2] == 0.0f);  // target missing
    CHECK(s.mask[3] == 1.0f);
}

TEST_CASE("stack and sample errors", "[train][sample][errors]") {
    std::vector<Sample<float>> samples{tagged(0, 2, 3, 5), tagged(1, 1, 3, 5)};
    CHECK_THROWS_WITH(stack(samples, {}), Catch::Contains("at least one sample index"));
    CHECK_THROWS_WITH(stack(samples, {0, 7}), Catch::Contains("sample index 7 is out of range for 2"));
    CHECK_THROWS_WITH(stack(samples, {0, 1}), Catch::Contains("sample 1 has input [1, 3, 5]"));
    CHECK_THROWS_AS(stack(samples, {0, 1}), ShapeError);
    Sample<float> bad = tagged(0, 1, 3, 5);
    bad.target = Tensor<float>(Shape{1, 3, 4});
    CHECK_THROWS_WITH(validate_sample(bad, "test"), Catch::Contains("target has shape [1, 3, 4]"));
    bad = tagged(0, 1, 3, 5);
    bad.mask = Tensor<float>(Shape{2, 3, 5});
    CHECK_THROWS_WITH(validate_sample(bad, "test"), Catch::Contains("mask has shape [2, 3, 5]"));
    CHECK_THROWS_WITH(make_sample(Tensor<float>(Shape{3, 5}), Tensor<float>(Shape{1, 3, 5})),
                      Catch::Contains("expected input [C_in, H, W]"));
}
