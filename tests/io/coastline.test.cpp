#include <catch2/catch.hpp>

#ifdef MAUNET_HAVE_NETCDF

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <netcdf.h>

#include "maunet/io/coastline.hpp"
#include "support/scratch_dir.hpp"

using namespace maunet;
using io::LonLatBox;
using io::Polyline;
using maunet::testing::ScratchDir;

namespace {

void coast_ok(int status) { REQUIRE(status == NC_NOERR); }

// One segment of a binned file: its bin (row 0 = 90N..80N with 10-degree bins), level and
// points in degrees (converted to 1/65535 of the bin size from the bin's south-west corner).
struct CoastSegment {
    int bin;
    int level;
    std::vector<double> lon, lat;
};

// A binned GSHHG file in GMT's layout with 10-degree bins (36 x 18) holding `segments`
// (sorted by bin); `omit` names a variable left out, to test the error.
void write_binned_gshhg(const std::string& path, const std::vector<CoastSegment>& segments, const std::string& omit = "") {
    const int minutes = 600, nx = 36, ny = 18, bins = nx * ny;
    std::vector<int> first(bins, 0), info, start;
    std::vector<short> count(bins, 0), dx, dy;
    for (std::size_t s = 0; s < segments.size(); ++s) {
        const CoastSegment& g = segments[s];
        if (count[static_cast<std::size_t>(g.bin)] == 0) first[static_cast<std::size_t>(g.bin)] = static_cast<int>(s);
        ++count[static_cast<std::size_t>(g.bin)];
        const double west = (g.bin % nx) * 10.0, south = 90.0 - (g.bin / nx + 1) * 10.0;
        start.push_back(static_cast<int>(dx.size()));
        info.push_back((static_cast<int>(g.lon.size()) << 9) | (g.level << 6) | (4 << 3) | 4);
        for (std::size_t i = 0; i < g.lon.size(); ++i) {
            dx.push_back(static_cast<short>(static_cast<unsigned short>(std::lround((g.lon[i] - west) / 10.0 * 65535))));
            dy.push_back(static_cast<short>(static_cast<unsigned short>(std::lround((g.lat[i] - south) / 10.0 * 65535))));
        }
    }
    int nc = -1;
    coast_ok(nc_create(path.c_str(), NC_CLOBBER | NC_NETCDF4, &nc));
    int scalar, bin_dim, seg_dim, pt_dim;
    coast_ok(nc_def_dim(nc, "Dimension_of_scalar", 1, &scalar));
    coast_ok(nc_def_dim(nc, "Dimension_of_bin_arrays", bins, &bin_dim));
    coast_ok(nc_def_dim(nc, "Dimension_of_segment_arrays", std::max<std::size_t>(1, info.size()), &seg_dim));
    coast_ok(nc_def_dim(nc, "Dimension_of_point_arrays", std::max<std::size_t>(1, dx.size()), &pt_dim));
    info.resize(std::max<std::size_t>(1, info.size()));
    start.resize(info.size());
    dx.resize(std::max<std::size_t>(1, dx.size()));
    dy.resize(dx.size());
    auto define = [&](const char* name, nc_type type, int dim) {
        int v = -1;
        if (omit != name) coast_ok(nc_def_var(nc, name, type, 1, &dim, &v));
        return v;
    };
    const int v_size = define("Bin_size_in_minutes", NC_INT, scalar);
    const int v_nx = define("N_bins_in_360_longitude_range", NC_INT, scalar);
    const int v_ny = define("N_bins_in_180_degree_latitude_range", NC_INT, scalar);
    const int v_first = define("Id_of_first_segment_in_a_bin", NC_INT, bin_dim);
    const int v_count = define("N_segments_in_a_bin", NC_SHORT, bin_dim);
    const int v_info = define("Embedded_npts_levels_exit_entry_for_a_segment", NC_INT, seg_dim);
    const int v_start = define("Id_of_first_point_in_a_segment", NC_INT, seg_dim);
    const int v_dx = define("Relative_longitude_from_SW_corner_of_bin", NC_SHORT, pt_dim);
    const int v_dy = define("Relative_latitude_from_SW_corner_of_bin", NC_SHORT, pt_dim);
    coast_ok(nc_enddef(nc));
    auto put_int = [&](int v, const std::vector<int>& values) {
        if (v >= 0) coast_ok(nc_put_var_int(nc, v, values.data()));
    };
    auto put_short = [&](int v, const std::vector<short>& values) {
        if (v >= 0) coast_ok(nc_put_var_short(nc, v, values.data()));
    };
    put_int(v_size, {minutes});
    put_int(v_nx, {nx});
    put_int(v_ny, {ny});
    put_int(v_first, first);
    put_short(v_count, count);
    put_int(v_info, info);
    put_int(v_start, start);
    put_short(v_dx, dx);
    put_short(v_dy, dy);
    coast_ok(nc_close(nc));
}

// Bin of the 10-degree cell with south-west corner (west, south), west in 0..350.
int gshhg_bin_of(int west, int south) { return ((90 - south) / 10 - 1) * 36 + west / 10; }

const double kGshhgUnit = 10.0 / 65535;  // the resolution of the stored points

}  // namespace

TEST_CASE("read_coastlines returns the segments written in GMT's binned layout", "[io][coastline]") {
    ScratchDir dir("coastline_roundtrip");
    const std::string path = dir.file("binned_GSHHS_t.nc");
    // A shore at 285-290E (75-70W) near 35N, a lake inside it, a level-3 island (not returned),
    // and a shore in another bin far away.
    write_binned_gshhg(path, {
                           {gshhg_bin_of(280, 30), 1, {284.0, 286.5, 289.0}, {31.0, 35.0, 39.0}},
                           {gshhg_bin_of(280, 30), 2, {282.0, 283.0, 282.5, 282.0}, {32.0, 32.0, 33.0, 32.0}},
                           {gshhg_bin_of(280, 30), 3, {282.2, 282.4, 282.3}, {32.2, 32.2, 32.4}},
                           {gshhg_bin_of(10, 50), 1, {12.0, 13.0}, {55.0, 56.0}},
                       });
    SECTION("a box holding the whole bin gives back both shores, in the box's longitudes") {
        const auto lines = io::read_coastlines(path, {-80, -70, 30, 40});
        REQUIRE(lines.size() == 2);
        const Polyline& shore = lines[0];
        REQUIRE(shore.x.size() == 3);
        CHECK(shore.x[0] == Approx(284.0 - 360).margin(kGshhgUnit));
        CHECK(shore.x[2] == Approx(289.0 - 360).margin(kGshhgUnit));
        CHECK(shore.y[1] == Approx(35.0).margin(kGshhgUnit));
        REQUIRE(lines[1].x.size() == 4);
        CHECK(lines[1].x[2] == Approx(282.5 - 360).margin(kGshhgUnit));
        CHECK(lines[1].y[2] == Approx(33.0).margin(kGshhgUnit));
    }
    SECTION("the same box in 0..360 longitudes") {
        const auto lines = io::read_coastlines(path, {280, 290, 30, 40});
        REQUIRE(lines.size() == 2);
        CHECK(lines[0].x[1] == Approx(286.5).margin(kGshhgUnit));
    }
    SECTION("a smaller box clips the shore at its edge") {
        // Cut at 75W (0.4 of the way along the first piece) and at 37N (half way along the second).
        const auto lines = io::read_coastlines(path, {-75, -70, 30, 37});
        REQUIRE(lines.size() == 1);
        const Polyline& shore = lines[0];
        REQUIRE(shore.x.size() == 3);
        CHECK(shore.x.front() == Approx(-75.0).margin(1e-9));
        CHECK(shore.y.front() == Approx(32.6).margin(2 * kGshhgUnit));
        CHECK(shore.x[1] == Approx(-73.5).margin(kGshhgUnit));
        CHECK(shore.x.back() == Approx(-72.25).margin(2 * kGshhgUnit));
        CHECK(shore.y.back() == Approx(37.0).margin(1e-9));
        for (std::size_t i = 0; i < shore.x.size(); ++i) {
            CHECK(shore.x[i] >= -75.0 - 1e-9);
            CHECK(shore.y[i] <= 37.0 + 1e-9);
        }
    }
    SECTION("a box over open water gives nothing; the far shore comes with its own box") {
        CHECK(io::read_coastlines(path, {-40, -30, 30, 40}).empty());
        const auto far = io::read_coastlines(path, {0, 20, 50, 60});
        REQUIRE(far.size() == 1);
        CHECK(far[0].x[1] == Approx(13.0).margin(kGshhgUnit));
    }
}

TEST_CASE("read_coastlines names the file and what is wrong", "[io][coastline]") {
    ScratchDir dir("coastline_errors");
    const std::string path = dir.file("broken.nc");
    write_binned_gshhg(path, {{gshhg_bin_of(0, 0), 1, {1.0, 2.0}, {1.0, 2.0}}}, "Id_of_first_point_in_a_segment");
    CHECK_THROWS_AS(io::read_coastlines(path, {0, 10, 0, 10}), FormatError);
    CHECK_THROWS_WITH(io::read_coastlines(path, {0, 10, 0, 10}),
                      Catch::Contains("broken.nc") && Catch::Contains("'Id_of_first_point_in_a_segment'"));
    CHECK_THROWS_WITH(io::read_coastlines(dir.file("absent.nc"), {0, 10, 0, 10}), Catch::Contains("absent.nc"));
    CHECK_THROWS_WITH(io::read_coastlines(path, {10, 0, 0, 10}), Catch::Contains("west < east"));
}

TEST_CASE("coastline_file_for picks the resolution from the extent", "[io][coastline]") {
    ScratchDir dir("coastline_choice");
    CHECK(io::coastline_file_for({0, 10, 0, 10}, dir.path.string()).empty());
    write_binned_gshhg(dir.file("binned_GSHHS_l.nc"), {});
    write_binned_gshhg(dir.file("binned_GSHHS_c.nc"), {});
    CHECK(io::coastline_file_for({-80, -70, 30, 40}, dir.path.string()) == dir.file("binned_GSHHS_l.nc"));
    CHECK(io::coastline_file_for({-80, -76, 33, 37}, dir.path.string()) == dir.file("binned_GSHHS_l.nc"));  // no i
    CHECK(io::coastline_file_for({-180, 180, -90, 90}, dir.path.string()) == dir.file("binned_GSHHS_c.nc"));
    write_binned_gshhg(dir.file("binned_GSHHS_i.nc"), {});
    CHECK(io::coastline_file_for({-80, -76, 33, 37}, dir.path.string()) == dir.file("binned_GSHHS_i.nc"));
}

TEST_CASE("the installed GSHHG shoreline runs through Cape Hatteras", "[io][coastline]") {
    const std::string path = std::string(io::default_gshhg_directory()) + "/binned_GSHHS_l.nc";
    if (!std::filesystem::exists(path)) {
        WARN("skipped: " << path << " is absent (Debian package gmt-gshhg-low)");
        return;
    }
    // Cape Hatteras, 35.25N 75.5W: a box of 1 x 1 degree around it holds shoreline, and every
    // returned point is inside the box; the open Atlantic 5 degrees east holds none.
    const LonLatBox box{-76.0, -75.0, 34.75, 35.75};
    const auto lines = io::read_coastlines(path, box);
    REQUIRE(!lines.empty());
    std::size_t points = 0;
    for (const Polyline& line : lines)
        for (std::size_t i = 0; i < line.x.size(); ++i, ++points) {
            CHECK(line.x[i] >= box.west - 1e-9);
            CHECK(line.x[i] <= box.east + 1e-9);
            CHECK(line.y[i] >= box.south - 1e-9);
            CHECK(line.y[i] <= box.north + 1e-9);
        }
    CHECK(points >= 4);
    CHECK(io::read_coastlines(path, {-70.0, -69.0, 34.75, 35.75}).empty());
    // The same place in 0..360 longitudes.
    CHECK(!io::read_coastlines(path, {284.0, 285.0, 34.75, 35.75}).empty());
}

#endif  // MAUNET_HAVE_NETCDF
