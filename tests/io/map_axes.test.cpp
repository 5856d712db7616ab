#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "maunet/io/map_axes.hpp"

using namespace maunet::io;

TEST_CASE("axis labels: hemispheres, folded longitudes, native numbers", "[io][map_axes]") {
    CHECK(axis_label(-75.5, 0.5, true, false) == "75.5W");
    CHECK(axis_label(285, 5, true, false) == "75W");  // 0..360 longitudes fold into (-180, 180]
    CHECK(axis_label(170, 10, true, false) == "170E");
    CHECK(axis_label(180, 10, true, false) == "180");
    CHECK(axis_label(-180, 10, true, false) == "180");
    CHECK(axis_label(0, 10, true, false) == "0");
    CHECK(axis_label(360, 10, true, false) == "0");
    CHECK(axis_label(35.25, 0.25, true, true) == "35.25N");
    CHECK(axis_label(-12, 2, true, true) == "12S");
    CHECK(axis_label(0, 2, true, true) == "0");
    CHECK(axis_label(-1500, 500, false, false) == "-1500");
    CHECK(axis_label(2.5, 0.5, false, true) == "2.5");
}

TEST_CASE("nice steps: few enough ticks, from the degree or 1-2-5 series", "[io][map_axes]") {
    CHECK(nice_step(-80, -70, 6, true) == 2);
    CHECK(nice_step(-80, -70, 11, true) == 1);
    CHECK(nice_step(33, 34, 5, true) == 0.25);
    CHECK(nice_step(0, 360, 5, true) == 90);
    CHECK(nice_step(0, 360, 8, true) == 60);
    CHECK(nice_step(-2.5e6, 2.5e6, 6, false) == 1e6);
    CHECK(nice_step(0, 7, 4, false) == 2);
    for (double lo : {-13.3, 0.1, 271.7})
        for (int n : {2, 3, 5, 8}) {
            const double s = nice_step(lo, lo + 9.7, n, true);
            CHECK(std::floor((lo + 9.7) / s) - std::ceil(lo / s) + 1 <= n);
        }
}

TEST_CASE("edge ticks: crossings placed by interpolation, either direction, no seams", "[io][map_axes]") {
    // Latitudes north first (descending): 36.0 35.5 35.0 34.5 -> ticks at 36N (cell 0) and 35N (cell 2).
    const auto down = edge_ticks({36.0, 35.5, 35.0, 34.5}, 1.0, true, true);
    REQUIRE(down.size() == 2);
    CHECK(down[0].cell == Approx(0.0));
    CHECK(down[0].label == "36N");
    CHECK(down[1].cell == Approx(2.0));
    // A crossing between cells: 10.2, 10.7, 11.2 -> 11 at 1.6.
    const auto mid = edge_ticks({10.2, 10.7, 11.2}, 1.0, false, false);
    REQUIRE(mid.size() == 1);
    CHECK(mid[0].cell == Approx(1.6));
    CHECK(mid[0].label == "11");
    // A -180..180 grid across the date line: the jump 179 -> -179 is not a crossing of everything.
    const auto seam = edge_ticks({178.0, 179.0, -179.0, -178.0}, 1.0, true, false);
    CHECK(seam.size() == 4);
    // Curved edge values (a curvilinear grid's bottom row) with NaN.
    const auto curved = edge_ticks({-76.3, -76.1, NAN, -75.7, -75.4}, 0.5, true, false);
    REQUIRE(curved.size() == 1);
    CHECK(curved[0].label == "75.5W");
    CHECK(curved[0].cell == Approx(3 + 0.2 / 0.3));
}

TEST_CASE("CellLocator: regular grids in both orders and longitude conventions", "[io][map_axes]") {
    // 0..360 longitudes, latitudes north first.
    CellLocator grid({280.0, 280.5, 281.0, 281.5}, {36.0, 35.5, 35.0});
    auto p = grid.locate(-79.25, 35.25);  // 280.75E
    REQUIRE(p);
    CHECK(p->first == Approx(1.5));
    CHECK(p->second == Approx(1.5));
    CHECK(grid.locate(280.0, 36.2));       // within half a cell of the edge
    CHECK(!grid.locate(280.0, 36.3));      // beyond it
    CHECK(!grid.locate(-70.0, 35.0));
    CellLocator west({-80.0, -79.0}, {30.0, 31.0});
    p = west.locate(280.5, 30.5);  // 0..360 point on a -180..180 grid
    REQUIRE(p);
    CHECK(p->first == Approx(0.5));
}

TEST_CASE("CellLocator: curvilinear grids invert smooth 2-D coordinates", "[io][map_axes]") {
    // A rotated, sheared grid: lon = -80 + 0.1 c + 0.02 r, lat = 30 + 0.1 r - 0.01 c.
    const long rows = 30, cols = 40;
    std::vector<double> lon, lat;
    for (long r = 0; r < rows; ++r)
        for (long c = 0; c < cols; ++c) {
            lon.push_back(-80 + 0.1 * c + 0.02 * r);
            lat.push_back(30 + 0.1 * r - 0.01 * c);
        }
    CellLocator grid(rows, cols, lon, lat);
    for (double c : {0.0, 3.3, 17.8, 38.6})
        for (double r : {0.2, 12.5, 28.9}) {
            const auto p = grid.locate(-80 + 0.1 * c + 0.02 * r, 30 + 0.1 * r - 0.01 * c);
            REQUIRE(p);
            CHECK(p->first == Approx(c).margin(1e-6));
            CHECK(p->second == Approx(r).margin(1e-6));
        }
    CHECK(!grid.locate(-60.0, 30.0));
    // to_cells splits a line where it leaves the grid.
    const std::vector<Polyline> lines{{{-79.5, -79.4, -50.0, -79.3, -79.2}, {31.0, 31.1, 31.1, 31.2, 31.3}}};
    const auto cells = to_cells(lines, grid);
    REQUIRE(cells.size() == 2);  // before and after the point far outside, 2 points each
    CHECK(cells[0].x.size() == 2);
    CHECK(cells[1].x.size() == 2);
    grid.restart();
    const auto third = grid.locate(-79.3, 31.2);
    REQUIRE(third);
    CHECK(cells[1].x[0] == Approx(third->first));
    CHECK(cells[1].y[0] == Approx(third->second));
}
