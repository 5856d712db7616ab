#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "maunet/pipeline/grid_coordinates.hpp"

using maunet::Index;
using maunet::Shape;
using maunet::Tensor;
using namespace maunet::pipeline;

TEST_CASE("refine_coordinates: uniform axes refine to the uniform fine axis", "[pipeline][coordinates]") {
    // Coarse centres of 0.5-degree cells from 33.25: the 0.125-degree fine centres from 33.0625.
    const std::vector<double> coarse{33.25, 33.75, 34.25};
    const auto fine = refine_coordinates(coarse, 4);
    REQUIRE(fine.size() == 12);
    for (std::size_t i = 0; i < fine.size(); ++i) CHECK(fine[i] == Approx(33.0625 + 0.125 * double(i)).margin(1e-12));
    // Decreasing axes (north to south) and odd factors.
    const auto down = refine_coordinates({10.0, 7.0}, 3);
    const std::vector<double> expected{11.0, 10.0, 9.0, 8.0, 7.0, 6.0};
    for (std::size_t i = 0; i < down.size(); ++i) CHECK(down[i] == Approx(expected[i]).margin(1e-12));
    // Factor 1 is the identity; one cell repeats its centre.
    CHECK(refine_coordinates(coarse, 1) == coarse);
    CHECK(refine_coordinates({5.0}, 3) == std::vector<double>{5.0, 5.0, 5.0});
}

TEST_CASE("refine_coordinates inverts coarsen_coordinates on uniform axes", "[pipeline][coordinates]") {
    for (Index f : {2, 3, 4}) {
        std::vector<double> fine;
        for (int i = 0; i < 7 * f; ++i) fine.push_back(-84.9375 + 0.125 * i);
        const auto coarse = coarsen_coordinates(fine, f);
        REQUIRE(coarse.size() == 7);
        CHECK(coarse[0] == Approx(-84.9375 + 0.125 * double(f - 1) / 2.0));
        const auto back = refine_coordinates(coarse, f);
        REQUIRE(back.size() == fine.size());
        for (std::size_t i = 0; i < fine.size(); ++i) CHECK(back[i] == Approx(fine[i]).margin(1e-10));
    }
}

TEST_CASE("2-D coordinates: refine inverts coarsen for fields affine in the indices", "[pipeline][coordinates]") {
    const Index H = 6, W = 9, f = 3;  // odd sizes, H != W
    Tensor<double> lat(Shape{H, W}), lon(Shape{H, W});
    for (Index r = 0; r < H; ++r)
        for (Index c = 0; c < W; ++c) {
            lat[r * W + c] = 30.0 + 0.04 * r + 0.01 * c;
            lon[r * W + c] = -80.0 + 0.05 * c - 0.02 * r;
        }
    for (const Tensor<double>* field : {&lat, &lon}) {
        const Tensor<double> coarse = coarsen_coordinates_2d(*field, f);
        REQUIRE(coarse.shape() == Shape{H / f, W / f});
        // The coarse value is the block mean (naive check of one block).
        double sum = 0;
        for (Index dy = 0; dy < f; ++dy)
            for (Index dx = 0; dx < f; ++dx) sum += (*field)[(f + dy) * W + f + dx];
        CHECK(coarse[1 * (W / f) + 1] == Approx(sum / double(f * f)));
        const Tensor<double> back = refine_coordinates_2d(coarse, f);
        REQUIRE(back.shape() == field->shape());
        for (Index i = 0; i < back.numel(); ++i) CHECK(back[i] == Approx((*field)[i]).margin(1e-10));
    }
}

TEST_CASE("refine_coordinates_2d interpolates bilinearly between centres", "[pipeline][coordinates]") {
    // A non-affine field: the value at a fine cell is bilinear in the coarse centres around it.
    const Tensor<double> c(Shape{2, 2}, {0.0, 1.0, 2.0, 7.0});
    const Tensor<double> fine = refine_coordinates_2d(c, 2);
    REQUIRE(fine.shape() == Shape{4, 4});
    // Fine (1, 1) sits at coarse index (0.25, 0.25): bilinear weights 9/16, 3/16, 3/16, 1/16.
    CHECK(fine[1 * 4 + 1] == Approx(9.0 / 16 * 0 + 3.0 / 16 * 1 + 3.0 / 16 * 2 + 1.0 / 16 * 7));
    // Fine (2, 2) at (0.75, 0.75).
    CHECK(fine[2 * 4 + 2] == Approx(1.0 / 16 * 0 + 3.0 / 16 * 1 + 3.0 / 16 * 2 + 9.0 / 16 * 7));
}

TEST_CASE("grid coordinates: bad arguments", "[pipeline][coordinates][errors]") {
    CHECK_THROWS_WITH(refine_coordinates({1.0, 2.0}, 0), Catch::Contains("expected a factor >= 1, got 0"));
    CHECK_THROWS_WITH(refine_coordinates({}, 2), Catch::Contains("at least one coordinate"));
    CHECK_THROWS_WITH(refine_coordinates({1.0, std::nan("")}, 2), Catch::Contains("coordinate 1 is not finite"));
    CHECK_THROWS_WITH(coarsen_coordinates({1.0, 2.0, 3.0}, 2), Catch::Contains("positive multiple of the factor 2, got 3"));
    CHECK_THROWS_AS(coarsen_coordinates_2d(Tensor<double>(Shape{3, 4}), 2), maunet::ShapeError);
    CHECK_THROWS_WITH(coarsen_coordinates_2d(Tensor<double>(Shape{3, 4}), 2), Catch::Contains("multiples of the factor 2"));
    CHECK_THROWS_AS(refine_coordinates_2d(Tensor<double>(Shape{4}), 2), maunet::ShapeError);
}
