#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "maunet/stats/sample_summary.hpp"

using maunet::Index;
using maunet::Shape;
using maunet::Tensor;
using maunet::stats::summarize_samples;

TEST_CASE("summarize_samples: mean, sample standard deviation and Hazen quantiles per cell", "[stats][samples]") {
    // Two fields of 1 x 2 cells, K = 4 samples. Field 0, cell 0: 1, 2, 3, 10 (in a shuffled order).
    Tensor<double> s(Shape{2, 4, 1, 2});
    const double a[4] = {3, 10, 1, 2};
    for (Index k = 0; k < 4; ++k) {
        s[k * 2 + 0] = a[k];
        s[k * 2 + 1] = 5.0;                                      // constant cell
        s[8 + k * 2 + 0] = k == 2 ? std::nan("") : 1.0;          // one missing sample: cell missing
        s[8 + k * 2 + 1] = static_cast<double>(k);               // 0, 1, 2, 3
    }
    const Tensor<double> out = summarize_samples(s, {0.0, 0.25, 0.5, 0.9, 1.0});
    REQUIRE(out.shape() == Shape{2, 7, 1, 2});
    // Mean 4; sd sqrt(((-3)^2 + (-2)^2 + (-1)^2 + 6^2) / 3) = sqrt(50 / 3).
    CHECK(out[0] == Approx(4.0));
    CHECK(out[2] == Approx(std::sqrt(50.0 / 3.0)));
    // Hazen: h = 4 p - 1/2 into the sorted 1, 2, 3, 10: p = 0.25 -> h = 0.5 -> 1.5; p = 0.5 -> 2.5;
    // p = 0.9 -> h = 3.1 >= 3 -> 10; p = 0 -> 1; p = 1 -> 10.
    CHECK(out[4] == 1.0);
    CHECK(out[6] == Approx(1.5));
    CHECK(out[8] == Approx(2.5));
    CHECK(out[10] == 10.0);
    CHECK(out[12] == 10.0);
    // The constant cell: sd 0, every quantile 5.
    for (Index o = 0; o < 7; ++o) CHECK(out[o * 2 + 1] == (o == 1 ? 0.0 : 5.0));
    // Field 1: the cell with a missing sample is missing everywhere; 0..3 gives mean 1.5,
    // sd sqrt(5/3), median 1.5.
    for (Index o = 0; o < 7; ++o) CHECK(std::isnan(out[14 + o * 2]));
    CHECK(out[14 + 1] == Approx(1.5));
    CHECK(out[14 + 3] == Approx(std::sqrt(5.0 / 3.0)));
    CHECK(out[14 + 9] == Approx(1.5));
}

TEST_CASE("summarize_samples: one sample has no spread; refusals", "[stats][samples][errors]") {
    Tensor<float> one(Shape{1, 1, 2, 2});
    for (Index i = 0; i < 4; ++i) one[i] = static_cast<float>(i);
    const Tensor<float> out = summarize_samples(one, {0.5});
    REQUIRE(out.shape() == Shape{1, 3, 2, 2});
    for (Index i = 0; i < 4; ++i) {
        CHECK(out[i] == one[i]);
        CHECK(out[4 + i] == 0.f);
        CHECK(out[8 + i] == one[i]);
    }
    CHECK_THROWS_AS(summarize_samples(Tensor<float>(Shape{2, 2, 2}), {0.5}), maunet::ShapeError);
    CHECK_THROWS_WITH(summarize_samples(Tensor<float>(Shape{2, 2, 2}), {0.5}),
                      Catch::Contains("expected samples [N, K, H, W]"));
    CHECK_THROWS_WITH(summarize_samples(one, {1.5}), Catch::Contains("must be in [0, 1], got 1.5"));
}
