#include <catch2/catch.hpp>

#ifdef MAUNET_HAVE_NETCDF

#include <string>
#include <vector>

#include "maunet/io/grid_axes.hpp"

using namespace maunet;
using io::Attribute;
using io::GridField;

namespace {

// A [1, 3, 4] field with 1-D coordinates x (4 values) and y (3 values) and their attributes.
GridField<float> grid_with_axes(std::vector<double> x, std::vector<double> y, std::vector<Attribute> xa,
                      std::vector<Attribute> ya, std::string xn = "lon", std::string yn = "lat") {
    GridField<float> f;
    f.data = Tensor<float>(Shape{1, 3, 4}, 1.0f);
    f.x = std::move(x);
    f.y = std::move(y);
    f.x_attributes = std::move(xa);
    f.y_attributes = std::move(ya);
    f.x_name = std::move(xn);
    f.y_name = std::move(yn);
    return f;
}

Attribute text_attribute_for(const std::string& name, const std::string& value) { return Attribute{name, value, {}}; }

}  // namespace

TEST_CASE("grid_axes: degrees for longitude/latitude, native units otherwise", "[io][grid_axes]") {
    SECTION("1-D longitudes and latitudes, 0..360, north first") {
        const auto f = grid_with_axes({280, 281, 282, 283}, {36, 35, 34}, {text_attribute_for("units", "degrees_east")},
                            {text_attribute_for("units", "degrees_north")});
        CHECK(io::has_lonlat_axes(f));
        const io::MapAxes axes = io::grid_axes(f, 2);
        CHECK(axes.degrees);
        CHECK(axes.caption.empty());
        CHECK(axes.bottom == f.x);
        CHECK(axes.left == f.y);
        const auto g = io::grid_geography(f);
        REQUIRE(g.locator);
        CHECK(g.box.west == Approx(279));
        CHECK(g.box.east == Approx(284));
        CHECK(g.box.south == Approx(33));
        CHECK(g.box.north == Approx(37));
    }
    SECTION("projected x/y in metres: km and a caption, no geography") {
        const auto f = grid_with_axes({-3e5, -2e5, -1e5, 0}, {5e5, 6e5, 7e5}, {text_attribute_for("units", "m"), text_attribute_for("standard_name", "projection_x_coordinate")},
                            {text_attribute_for("units", "m")}, "x", "y");
        CHECK(!io::has_lonlat_axes(f));
        const io::MapAxes axes = io::grid_axes(f, 0);
        CHECK(!axes.degrees);
        CHECK(axes.caption == "x, y [km]");
        CHECK(axes.bottom == std::vector<double>{-300, -200, -100, 0});
        CHECK(axes.left == std::vector<double>{500, 600, 700});
        CHECK(!io::grid_geography(f).locator);
    }
    SECTION("rotated pole: degrees, but native, never labelled N/S/E/W") {
        const auto f = grid_with_axes({-2, -1.5, -1, -0.5}, {0, 0.5, 1}, {text_attribute_for("units", "degrees"), text_attribute_for("standard_name", "grid_longitude")},
                            {text_attribute_for("units", "degrees"), text_attribute_for("standard_name", "grid_latitude")}, "rlon", "rlat");
        CHECK(!io::has_lonlat_axes(f));
        const io::MapAxes axes = io::grid_axes(f, 0);
        CHECK(!axes.degrees);
        CHECK(axes.caption == "rlon, rlat [degrees]");
        CHECK(axes.bottom == f.x);
    }
    SECTION("curvilinear without 1-D coordinates: the bottom row's longitudes, the first column's latitudes") {
        GridField<float> f;
        f.data = Tensor<float>(Shape{1, 3, 4}, 1.0f);
        f.lon2d = Tensor<double>(Shape{3, 4}, std::vector<double>{-80, -79, -78, -77, -80.1, -79.1, -78.1, -77.1,
                                                                   -80.2, -79.2, -78.2, -77.2});
        f.lat2d = Tensor<double>(Shape{3, 4}, std::vector<double>{30, 30.1, 30.2, 30.3, 31, 31.1, 31.2, 31.3, 32,
                                                                   32.1, 32.2, 32.3});
        const io::MapAxes axes = io::grid_axes(f, 0);
        CHECK(axes.degrees);
        CHECK(axes.bottom == std::vector<double>{-80, -79, -78, -77});
        CHECK(axes.left == std::vector<double>{30, 31, 32});
        CHECK(io::grid_axes(f, 2).bottom == std::vector<double>{-80.2, -79.2, -78.2, -77.2});
        const auto g = io::grid_geography(f);
        REQUIRE(g.locator);
        CHECK(g.box.west == Approx(-81.2));
        CHECK(g.box.north == Approx(33.3));
    }
    SECTION("no coordinates: no axes") {
        GridField<float> f;
        f.data = Tensor<float>(Shape{1, 3, 4}, 1.0f);
        CHECK(io::grid_axes(f, 0).empty());
        CHECK(!io::grid_geography(f).locator);
    }
}

#endif  // MAUNET_HAVE_NETCDF
