#include <catch2/catch.hpp>

#ifdef MAUNET_HAVE_NETCDF

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <unistd.h>

#include "maunet/pipeline/apply_model.hpp"
#include "maunet/pipeline/field_stream.hpp"
#include "support/scratch_dir.hpp"

namespace fs = std::filesystem;
using maunet::Index;
using maunet::Rng;
using maunet::Shape;
using maunet::Tensor;
using maunet::io::GridField;
using maunet::io::NetcdfReader;
using namespace maunet::pipeline;
using maunet::testing::ScratchDir;

namespace {

// A [T, H, W] field with 1-D (or, with curvilinear, 2-D) coordinates and a daily time axis.
GridField<float> make_field(Index T, Index H, Index W, bool curvilinear) {
    GridField<float> f;
    f.variable = "pr";
    f.units = "mm/day";
    f.data = Tensor<float>(Shape{T, H, W});
    Rng rng(5);
    for (Index i = 0; i < f.data.numel(); ++i) f.data[i] = static_cast<float>(10.0 * rng.uniform());
    f.data[2] = std::numeric_limits<float>::quiet_NaN();
    if (curvilinear) {
        f.lat2d = Tensor<double>(Shape{H, W});
        f.lon2d = Tensor<double>(Shape{H, W});
        for (Index r = 0; r < H; ++r)
            for (Index c = 0; c < W; ++c) {
                f.lat2d[r * W + c] = 30.0 + 0.5 * r + 0.1 * c;
                f.lon2d[r * W + c] = -80.0 + 0.5 * c - 0.05 * r;
            }
    } else {
        for (Index r = 0; r < H; ++r) f.y.push_back(40.0 - 0.5 * r);  // north to south
        for (Index c = 0; c < W; ++c) f.x.push_back(10.0 + 0.5 * c);
    }
    for (Index t = 0; t < T; ++t) f.time.push_back(100.0 + t);
    f.time_units = "days since 2000-01-01";
    f.calendar = "noleap";
    return f;
}

PrecipModel<float> downscaling_model(Index factor, Index H, Index W) {
    maunet::nn::UNetConfig c = maunet::nn::UNetConfig::maunet();
    c.levels = 2;
    c.base_width = 4;
    Rng rng(3);
    PrecipModel<float> m(c, rng, Task::downscaling, factor);
    maunet::train::Dataset<float> d;
    for (int t = 0; t < 3; ++t) {
        Tensor<float> x(Shape{1, H, W}), y(Shape{1, H, W});
        for (Index j = 0; j < H * W; ++j) x[j] = float(j % 7 + t), y[j] = float(j % 5 + t);
        d.add(maunet::train::make_sample(x, y));
    }
    m.fit_transforms(d);
    return m;
}

bool same(float a, float b) { return a == b || (std::isnan(a) && std::isnan(b)); }

}  // namespace

TEST_CASE("map_netcdf: chunked downscaling equals downscaling the whole field", "[pipeline][netcdf]") {
    ScratchDir dir("field_stream_chunks");
    const Index T = 5, h = 4, w = 6, f = 2;
    const GridField<float> coarse = make_field(T, h, w, false);
    maunet::io::write_netcdf(dir.file("coarse.nc"), coarse);
    const PrecipModel<float> model = downscaling_model(f, h * f, w * f);
    const Tensor<float> whole = apply_precip_model(model, NetcdfReader<float>(dir.file("coarse.nc"), "pr").read_all().data);
    const GridField<float> grid = refined_grid(grid_of(NetcdfReader<float>(dir.file("coarse.nc"), "pr")), f);
    for (Index chunk : {1, 2, 5, 9}) {
        const std::string out = dir.file("fine_" + std::to_string(chunk) + ".nc");
        std::vector<Index> seen;
        const Index n = map_netcdf<float>(dir.file("coarse.nc"), "pr", out, grid, chunk,
                                          [&](const Tensor<float>& x) { return apply_precip_model(model, x); }, {},
                                          [&](Index done, Index total) {
                                              CHECK(total == T);
                                              seen.push_back(done);
                                          });
        CHECK(n == T);
        CHECK(seen.back() == T);
        CHECK(static_cast<Index>(seen.size()) == (T + chunk - 1) / chunk);
        const GridField<float> back = NetcdfReader<float>(out, "pr").read_all();
        REQUIRE(back.data.shape() == Shape{T, h * f, w * f});
        for (Index i = 0; i < whole.numel(); ++i) CHECK(same(back.data[i], whole[i]));
        CHECK(back.time == coarse.time);
        CHECK(back.time_units == coarse.time_units);
        CHECK(back.calendar == "noleap");
        CHECK(back.units == "mm/day");
        // Fine latitude: the coarse 0.5-degree centres 40.0, 39.5, ... refined to 0.25-degree cells.
        REQUIRE(back.y.size() == static_cast<std::size_t>(h * f));
        CHECK(back.y[0] == Approx(40.125));
        CHECK(back.y[1] == Approx(39.875));
        CHECK(back.x[0] == Approx(9.875));
        CHECK(back.x.back() == Approx(12.625));
    }
}

TEST_CASE("refined_grid and coarsened_grid: curvilinear coordinates and cropping", "[pipeline][netcdf]") {
    const GridField<float> fine = make_field(1, 9, 10, true);  // 9 x 10: 2x blocks leave a row and no column
    const GridField<float> coarse = coarsened_grid(fine, 2);
    REQUIRE(coarse.ny() == 4);
    REQUIRE(coarse.nx() == 5);
    REQUIRE(coarse.lat2d.shape() == Shape{4, 5});
    // Block (1, 2): rows 2-3, columns 4-5 of the affine field.
    CHECK(coarse.lat2d[1 * 5 + 2] == Approx(30.0 + 0.5 * 2.5 + 0.1 * 4.5));
    const GridField<float> back = refined_grid(coarse, 2);
    REQUIRE(back.lat2d.shape() == Shape{8, 10});
    for (Index r = 0; r < 8; ++r)
        for (Index c = 0; c < 10; ++c) {
            CHECK(back.lat2d[r * 10 + c] == Approx(fine.lat2d[r * 10 + c]));
            CHECK(back.lon2d[r * 10 + c] == Approx(fine.lon2d[r * 10 + c]));
        }
    const GridField<float> rect = coarsened_grid(make_field(1, 5, 4, false), 2);
    CHECK(rect.y == std::vector<double>{39.75, 38.75});
    CHECK(rect.x == std::vector<double>{10.25, 11.25});
    const Tensor<float> data = crop_rows_cols(make_field(2, 5, 4, false).data, 4, 3);
    CHECK(data.shape() == Shape{2, 4, 3});
}

TEST_CASE("map_netcdf: errors name the file and leave no output", "[pipeline][netcdf][errors]") {
    ScratchDir dir("field_stream_errors");
    const GridField<float> f = make_field(3, 4, 4, false);
    maunet::io::write_netcdf(dir.file("in.nc"), f);
    const GridField<float> grid = grid_of(NetcdfReader<float>(dir.file("in.nc"), "pr"));
    CHECK(grid.time == f.time);
    CHECK_THROWS_WITH(refined_grid(NetcdfReader<float>(dir.file("in.nc"), "pr").metadata(), 2),
                      Catch::Contains("the grid of 'pr' has no shape"));
    const auto identity = [](const Tensor<float>& x) { return x; };
    CHECK_THROWS_WITH(map_netcdf<float>(dir.file("in.nc"), "tas", dir.file("out.nc"), grid, 2, identity),
                      Catch::Contains("variable 'tas' not found in") && Catch::Contains("in.nc"));
    const auto wrong = [](const Tensor<float>& x) { return maunet::stats::block_mean(x, 2); };
    CHECK_THROWS_AS(map_netcdf<float>(dir.file("in.nc"), "pr", dir.file("out.nc"), grid, 2, wrong), maunet::ShapeError);
    CHECK_THROWS_WITH(map_netcdf<float>(dir.file("in.nc"), "pr", dir.file("out.nc"), grid, 2, wrong),
                      Catch::Contains("in.nc' (variable 'pr') returned [2, 2, 2]"));
    CHECK_FALSE(fs::exists(dir.file("out.nc")));
    CHECK_THROWS_WITH(map_netcdf<float>(dir.file("in.nc"), "pr", dir.file("out.nc"), grid, 0, identity),
                      Catch::Contains("at least one time step, got 0"));
    CHECK_THROWS_WITH(coarsened_grid(f, 5), Catch::Contains("smaller than one 5 x 5 block"));
    CHECK_THROWS_WITH(cropped_grid(f, 5, 4), Catch::Contains("cannot crop the 4 x 4 grid of 'pr' to 5 x 4"));
}

#endif  // MAUNET_HAVE_NETCDF
