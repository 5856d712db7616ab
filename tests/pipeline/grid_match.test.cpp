#include <catch2/catch.hpp>

#include <algorithm>

#ifdef MAUNET_HAVE_NETCDF

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "maunet/pipeline/grid_match.hpp"

using namespace maunet;
using io::GridField;
using pipeline::align_to_grid;
using pipeline::crop_to_grid;

namespace {

// [1, ny, nx] with value 100 * lat + lon (a unique value per location), lat/lon 1-D.
GridField<double> lat_lon_field(std::vector<double> lat, std::vector<double> lon) {
    GridField<double> f;
    f.variable = "pr";
    f.y_name = "lat";
    f.x_name = "lon";
    f.y = std::move(lat);
    f.x = std::move(lon);
    const Index H = static_cast<Index>(f.y.size()), W = static_cast<Index>(f.x.size());
    f.data = Tensor<double>(Shape{1, H, W});
    for (Index r = 0; r < H; ++r)
        for (Index c = 0; c < W; ++c) {
            double lon180 = std::fmod(f.x[static_cast<std::size_t>(c)] + 540.0, 360.0) - 180.0;
            f.data[r * W + c] = 1000.0 * f.y[static_cast<std::size_t>(r)] + lon180;
        }
    return f;
}

void check_same_values(const GridField<double>& a, const GridField<double>& b) {
    REQUIRE(a.data.shape() == b.data.shape());
    for (Index i = 0; i < a.data.numel(); ++i) CHECK(a.data[i] == Approx(b.data[i]));
}

}  // namespace

TEST_CASE("align_to_grid: north-to-south rows are flipped onto a south-to-north grid", "[pipeline][grid]") {
    const auto ref = lat_lon_field({40, 41, 42, 43.5}, {0, 1, 2});
    auto obs = lat_lon_field({43.5, 42, 41, 40}, {0, 1, 2});
    const std::string note = align_to_grid(obs, "obs.nc", ref, "model.nc");
    CHECK(note.find("rows reordered") != std::string::npos);
    check_same_values(obs, ref);
    CHECK(obs.y == ref.y);
}

TEST_CASE("align_to_grid: 0..360 longitudes are reconciled with -180..180 and rolled", "[pipeline][grid]") {
    const auto ref = lat_lon_field({10, 11}, {-20, -10, 0, 10, 20});
    auto other = lat_lon_field({10, 11}, {0, 10, 20, 340, 350});
    align_to_grid(other, "a.nc", ref, "b.nc");
    check_same_values(other, ref);
    // Decreasing longitudes too, and a global 0..357.5 against -180..177.5 grid.
    auto desc = lat_lon_field({11, 10}, {20, 10, 0, -10, -20});
    align_to_grid(desc, "c.nc", ref, "b.nc");
    check_same_values(desc, ref);
    std::vector<double> g360, g180;
    for (int i = 0; i < 144; ++i) g360.push_back(2.5 * i), g180.push_back(-180 + 2.5 * i);
    auto global = lat_lon_field({0}, g360);
    const auto ref_global = lat_lon_field({0}, g180);
    align_to_grid(global, "era.nc", ref_global, "cmip.nc");
    check_same_values(global, ref_global);
}

TEST_CASE("align_to_grid: the same grid gets no note, a rolled one says its columns moved", "[pipeline][grid]") {
    // Longitudes that wrapping to -180..180 rounds in the last bit (-9.95 + 180 - 180 != -9.95).
    std::vector<double> lon;
    for (int i = 0; i < 8; ++i) lon.push_back(-9.95 + 0.1 * i);
    const auto ref = lat_lon_field({40.05, 40.15}, lon);
    auto same = lat_lon_field({40.05, 40.15}, lon);
    CHECK(align_to_grid(same, "pred.nc", ref, "obs.nc").empty());
    // Across the prime meridian, a 0..360 file stored from 0 up (0.05 .. 0.35, 359.65 .. 359.95)
    // against -180..180: its columns are rolled.
    std::vector<double> across, across360;
    for (int i = 0; i < 8; ++i) across.push_back(-0.35 + 0.1 * i), across360.push_back(across.back() < 0 ? across.back() + 360 : across.back());
    std::sort(across360.begin(), across360.end());
    const auto ref_across = lat_lon_field({40.05, 40.15}, across);
    auto rolled = lat_lon_field({40.05, 40.15}, across360);
    CHECK(align_to_grid(rolled, "pred.nc", ref_across, "obs.nc").find("columns reordered") != std::string::npos);
    check_same_values(rolled, ref_across);
}

TEST_CASE("align_to_grid: mismatched grids are refused, naming both files", "[pipeline][grid]") {
    const auto ref = lat_lon_field({40, 41, 42}, {0, 1, 2});
    auto shifted = lat_lon_field({40.5, 41.5, 42.5}, {0, 1, 2});
    CHECK_THROWS_WITH(align_to_grid(shifted, "obs.nc", ref, "model.nc"),
                      Catch::Contains("'obs.nc'") && Catch::Contains("'model.nc'") && Catch::Contains("lat[0]"));
    auto smaller = lat_lon_field({40, 41}, {0, 1, 2});
    CHECK_THROWS_WITH(align_to_grid(smaller, "obs.nc", ref, "model.nc"), Catch::Contains("different shapes"));
    // Within tolerance (a thousandth of a cell): accepted.
    auto close = lat_lon_field({40.0005, 41, 42}, {0, 1, 2});
    CHECK_NOTHROW(align_to_grid(close, "obs.nc", ref, "model.nc"));
    // Projected x/y are not longitudes: no wrapping, values must agree.
    GridField<double> p = lat_lon_field({0, 1}, {0, 50000});
    p.x_attributes = {{"units", "m", {}}};
    GridField<double> q = p;
    q.x = {10000, 60000};  // 0.2 cell off
    CHECK_THROWS_AS(align_to_grid(q, "q.nc", p, "p.nc"), ShapeError);
}

TEST_CASE("align_to_grid: 2-D coordinates in any orientation; no coordinates: shape only", "[pipeline][grid]") {
    auto ref = lat_lon_field({40, 41, 42}, {0, 1});
    ref.lat2d = Tensor<double>(Shape{3, 2}, {40, 40.1, 41, 41.1, 42, 42.1});
    ref.lon2d = Tensor<double>(Shape{3, 2}, {0, 1, 0.1, 1.1, 0.2, 1.2});
    ref.y.clear();
    ref.x.clear();
    auto flipped = ref;
    pipeline::detail::reverse_axis(flipped, true);
    pipeline::detail::reverse_axis(flipped, false);
    for (Index i = 0; i < flipped.lon2d.numel(); ++i) flipped.lon2d[i] += 360.0;  // 0..360 convention
    align_to_grid(flipped, "a.nc", ref, "b.nc");
    check_same_values(flipped, ref);
    auto wrong = ref;
    wrong.lat2d[0] = 39;
    CHECK_THROWS_WITH(align_to_grid(wrong, "a.nc", ref, "b.nc"), Catch::Contains("every orientation"));
    GridField<double> bare;
    bare.variable = "pr";
    bare.data = Tensor<double>(Shape{1, 3, 2});
    CHECK_NOTHROW(align_to_grid(bare, "x.npy", ref, "b.nc"));
}

TEST_CASE("crop_to_grid: the larger grid is cut by coordinates, not by index", "[pipeline][grid]") {
    // The small grid is the middle of the big one, and the big one runs north to south.
    const auto small = lat_lon_field({41, 42}, {1, 2});
    auto big = lat_lon_field({43, 42, 41, 40}, {0, 1, 2, 3});
    const std::string note = crop_to_grid(big, "obs.nc", small, "pred.nc");
    CHECK(note.find("matched by coordinates") != std::string::npos);
    check_same_values(big, small);
    // A regional grid reaching west of the small one's first longitude: no wrapping, columns 2..3 kept.
    auto west = lat_lon_field({41, 42}, {-1, 0, 1, 2, 3});
    CHECK(crop_to_grid(west, "obs.nc", small, "pred.nc").find("columns 2..3") != std::string::npos);
    check_same_values(west, small);
    auto elsewhere = lat_lon_field({50, 51, 52}, {0, 1, 2, 3});
    CHECK_THROWS_WITH(crop_to_grid(elsewhere, "obs.nc", small, "pred.nc"),
                      Catch::Contains("'obs.nc'") && Catch::Contains("'pred.nc'"));
}

TEST_CASE("align_to_grid: on a rotated 2-D grid the tolerance is a fraction of the cell size", "[pipeline][grid]") {
    // Cells 0.04 degrees apart along a line tilted so that longitude changes only 0.0004 from
    // row to row (as in Stage IV): coordinates 0.0002 degrees off (regridded ones) still match,
    // half a cell off do not.
    auto ref = lat_lon_field({40, 41, 42}, {0, 1});
    ref.y.clear();
    ref.x.clear();
    ref.lat2d = Tensor<double>(Shape{3, 2}, {35.0, 35.0004, 35.04, 35.0404, 35.08, 35.0804});
    ref.lon2d = Tensor<double>(Shape{3, 2}, {-80.0, -79.96, -80.0004, -79.9604, -80.0008, -79.9608});
    auto near = ref;
    for (Index i = 0; i < near.lon2d.numel(); ++i) near.lon2d[i] += 0.0002;
    CHECK_NOTHROW(align_to_grid(near, "refined.nc", ref, "obs.nc"));
    auto off = ref;
    for (Index i = 0; i < off.lat2d.numel(); ++i) off.lat2d[i] += 0.02;
    CHECK_THROWS_WITH(align_to_grid(off, "refined.nc", ref, "obs.nc"), Catch::Contains("every orientation"));
}

#endif  // MAUNET_HAVE_NETCDF
