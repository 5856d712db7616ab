#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#ifdef MAUNET_HAVE_NETCDF

#include "maunet/pipeline/static_fields.hpp"

using namespace maunet;

namespace {
io::Attribute text(const char* name, const char* value) { return io::Attribute{name, value, {}}; }

// A field on a regular latitude-longitude grid, value f(lat, lon) in each cell.
template <class F>
io::GridField<double> lat_lon_field(const std::vector<double>& lat, const std::vector<double>& lon, F f) {
    io::GridField<double> g;
    g.y = lat, g.x = lon;
    g.y_name = "lat", g.x_name = "lon";
    g.y_attributes = {text("units", "degrees_north")};
    g.x_attributes = {text("units", "degrees_east")};
    const Index ny = static_cast<Index>(lat.size()), nx = static_cast<Index>(lon.size());
    g.data = Tensor<double>(Shape{1, ny, nx});
    for (Index i = 0; i < ny; ++i)
        for (Index j = 0; j < nx; ++j) g.data[i * nx + j] = f(lat[i], lon[j]);
    return g;
}
std::vector<double> range(double first, double step, int n) {
    std::vector<double> v;
    for (int k = 0; k < n; ++k) v.push_back(first + step * k);
    return v;
}
// Elevation-like: linear in latitude and in longitude (0..360 convention), which bilinear
// interpolation reproduces exactly.
double linear(double lat, double lon) { return 100.0 * lat + 10.0 * lon; }
}  // namespace

TEST_CASE("sample_on_grid reproduces a linear field across axis orders and longitude conventions", "[pipeline]") {
    // Source: latitudes north to south, longitudes 250..300 E.
    const auto source = lat_lon_field(range(45.0, -0.5, 31), range(250.0, 0.5, 101), linear);
    // Target: 1-D axes, south to north, longitudes in -180..180 (-100.3 = 259.7 E).
    io::GridField<double> target = lat_lon_field(range(33.1, 0.3, 7), range(-100.3, 0.7, 9), [](double, double) { return 0.0; });
    const Tensor<double> s = pipeline::sample_on_grid(source, "src.nc", target, "obs.nc");
    REQUIRE(s.shape() == Shape{7, 9});
    for (Index i = 0; i < 7; ++i)
        for (Index j = 0; j < 9; ++j)
            CHECK(s[i * 9 + j] == Approx(linear(target.y[i], target.x[j] + 360.0)).epsilon(1e-12));
}

TEST_CASE("sample_on_grid places the cells of a curvilinear grid by their 2-D latitude and longitude", "[pipeline]") {
    const auto source = lat_lon_field(range(30.0, 0.25, 41), range(-90.0, 0.25, 81), linear);
    io::GridField<double> target;  // a rotated 3 x 4 grid in projected x/y with 2-D lat/lon
    target.y = range(0, 4000, 3), target.x = range(0, 4000, 4);
    target.y_name = "y", target.x_name = "x";
    target.data = Tensor<double>(Shape{1, 3, 4});
    target.lat2d = Tensor<double>(Shape{3, 4});
    target.lon2d = Tensor<double>(Shape{3, 4});
    for (Index i = 0; i < 3; ++i)
        for (Index j = 0; j < 4; ++j) {
            target.lat2d[i * 4 + j] = 34.0 + 0.04 * i + 0.01 * j;
            target.lon2d[i * 4 + j] = -78.0 + 0.05 * j - 0.02 * i;
        }
    const Tensor<double> s = pipeline::sample_on_grid(source, "src.nc", target, "stageiv.nc");
    for (Index k = 0; k < 12; ++k) CHECK(s[k] == Approx(linear(target.lat2d[k], target.lon2d[k])).epsilon(1e-12));
}

TEST_CASE("sample_on_grid leaves missing corners out and gives NaN only when all four are missing", "[pipeline]") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    // 2 x 2 source: corner (0, 0) missing.
    auto source = lat_lon_field({10.0, 11.0}, {20.0, 21.0}, [](double lat, double lon) { return lat + lon; });
    source.data[0] = nan;
    io::GridField<double> target = lat_lon_field({10.5}, {20.5}, [](double, double) { return 0.0; });
    Tensor<double> s = pipeline::sample_on_grid(source, "src.nc", target, "obs.nc");
    CHECK(s[0] == Approx((32.0 + 31.0 + 31.0) / 3.0));  // the three valid corners, equal weights
    // On the missing cell's centre: its weight is 1, the others 0, so NaN.
    target = lat_lon_field({10.0}, {20.0}, [](double, double) { return 0.0; });
    s = pipeline::sample_on_grid(source, "src.nc", target, "obs.nc");
    CHECK(std::isnan(s[0]));
}

TEST_CASE("sample_on_grid refuses what it cannot place, naming the files", "[pipeline]") {
    const auto source = lat_lon_field(range(30.0, 1.0, 11), range(-90.0, 1.0, 11), linear);
    // Half a cell beyond the edge is still covered; more is not.
    auto target = lat_lon_field({29.6, 40.4}, {-80.0}, [](double, double) { return 0.0; });
    CHECK_NOTHROW(pipeline::sample_on_grid(source, "src.nc", target, "obs.nc"));
    target = lat_lon_field({29.4}, {-85.0}, [](double, double) { return 0.0; });
    CHECK_THROWS_WITH(pipeline::sample_on_grid(source, "src.nc", target, "obs.nc"),
                      Catch::Contains("'src.nc' (latitude 30 .. 40, longitude -90 .. -80) does not cover the cell at "
                                      "latitude 29.4") &&
                          Catch::Contains("'obs.nc'"));
    // A projected grid without 2-D latitude and longitude.
    io::GridField<double> projected = target;
    projected.y_name = "y", projected.x_name = "x";
    projected.y_attributes = {text("units", "m")};
    projected.x_attributes = {text("units", "m")};
    CHECK_THROWS_WITH(pipeline::sample_on_grid(source, "src.nc", projected, "lambert.nc"),
                      Catch::Contains("'lambert.nc': its cells have no latitude and longitude"));
    // A source on a projected grid.
    io::GridField<double> projected_source = source;
    projected_source.y_name = "y", projected_source.x_name = "x";
    projected_source.y_attributes = {text("units", "m")};
    projected_source.x_attributes = {text("units", "m")};
    CHECK_THROWS_WITH(pipeline::sample_on_grid(projected_source, "elev.nc", target, "obs.nc"),
                      Catch::Contains("'elev.nc': a static field must lie on a regular latitude-longitude grid"));
    // A latitude axis that turns back.
    auto zigzag = source;
    zigzag.y[5] = 33.5;
    CHECK_THROWS_WITH(pipeline::sample_on_grid(zigzag, "zz.nc", target, "obs.nc"),
                      Catch::Contains("'zz.nc': the latitude coordinate is not monotonic"));
}

#endif  // MAUNET_HAVE_NETCDF
