#include <catch2/catch.hpp>

#ifdef MAUNET_HAVE_NETCDF

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <netcdf.h>
#include <unistd.h>

#include "maunet/io/netcdf.hpp"
#include "support/scratch_dir.hpp"

namespace fs = std::filesystem;
using maunet::Index;
using maunet::Shape;
using maunet::Tensor;
using maunet::io::GridField;
using maunet::io::NetcdfReader;
using maunet::io::NetcdfWriter;
using maunet::testing::ScratchDir;

namespace {

const std::string kDataDir = MAUNET_TEST_DATA_DIR;
const std::string kBcsd = kDataDir + "/bcsd_obs_1999.nc";
const std::string kStageIv = kDataDir + "/stageiv_florence_2018.nc";
const std::string kStageIvVar = "Total_precipitation_surface_1_Hour_Accumulation";

// Fails the test with nc_strerror's text unless status is NC_NOERR.
void nc_ok(int status) {
    INFO(nc_strerror(status));
    REQUIRE(status == NC_NOERR);
}

std::string raw_text_attribute(int ncid, int varid, const char* name) {
    std::size_t len = 0;
    nc_ok(nc_inq_attlen(ncid, varid, name, &len));
    std::string s(len, '\0');
    nc_ok(nc_get_att_text(ncid, varid, name, s.data()));
    return s;
}

Index count_nan(const float* p, Index n) {
    Index k = 0;
    for (Index i = 0; i < n; ++i) k += std::isnan(p[i]) ? 1 : 0;
    return k;
}

// Values equal, or both NaN.
template <class A, class B>
bool same_values(const Tensor<A>& a, const Tensor<B>& b) {
    if (a.shape() != b.shape()) return false;
    for (Index i = 0; i < a.numel(); ++i) {
        const bool na = std::isnan(a[i]), nb = std::isnan(b[i]);
        if (na != nb) return false;
        if (!na && static_cast<double>(a[i]) != static_cast<double>(b[i])) return false;
    }
    return true;
}

// A small regular field: 4 steps, 5 rows, 7 columns, some NaN cells, latitude as given.
GridField<float> make_regular_field(bool north_to_south) {
    GridField<float> f;
    f.variable = "pr";
    f.units = "mm/day";
    f.long_name = "precipitation";
    f.standard_name = "lwe_precipitation_rate";
    f.data = Tensor<float>(Shape{4, 5, 7});
    for (Index t = 0; t < 4; ++t)
        for (Index i = 0; i < 5; ++i)
            for (Index j = 0; j < 7; ++j)
                f.data(t, i, j) = (i + j) % 4 == 0 ? std::numeric_limits<float>::quiet_NaN()
                                                   : static_cast<float>(t * 100 + i * 10 + j) + 0.25f;
    for (Index i = 0; i < 5; ++i) f.y.push_back(north_to_south ? 40.0 - 0.5 * i : 38.0 + 0.5 * i);
    for (Index j = 0; j < 7; ++j) f.x.push_back(-80.0 + 0.25 * j);
    f.time = {0.5, 1.5, 2.5, 3.5};
    f.time_units = "days since 2000-01-01 00:00:00";
    f.calendar = "noleap";
    return f;
}

GridField<float> steps(const GridField<float>& f, Index t0, Index n) {
    GridField<float> out = f;
    out.data = Tensor<float>(Shape{n, f.ny(), f.nx()});
    std::copy(f.data.data() + t0 * f.ny() * f.nx(), f.data.data() + (t0 + n) * f.ny() * f.nx(), out.data.data());
    out.time.assign(f.time.begin() + t0, f.time.begin() + t0 + n);
    return out;
}

}  // namespace

TEST_CASE("netcdf reads the BCSD observations: 1-D coordinates, 1e20 fill, monthly time", "[io][netcdf]") {
    NetcdfReader<float> reader(kBcsd, "pr");
    REQUIRE(reader.num_times() == 12);
    REQUIRE(reader.ny() == 33);
    REQUIRE(reader.nx() == 81);
    const GridField<float> f = reader.read_all();
    REQUIRE(f.data.shape() == Shape{12, 33, 81});
    CHECK(f.variable == "pr");
    CHECK(f.units == "mm/m");
    CHECK(f.long_name == "monthly_sum_pr");
    CHECK(f.y_name == "latitude");
    CHECK(f.x_name == "longitude");
    CHECK(f.time_name == "time");
    CHECK_FALSE(f.curvilinear());
    REQUIRE(f.y.size() == 33);
    REQUIRE(f.x.size() == 81);
    CHECK(f.y.front() == Approx(33.0625));
    CHECK(f.y.back() == Approx(37.0625));
    for (std::size_t i = 1; i < f.y.size(); ++i) CHECK(f.y[i] > f.y[i - 1]);  // stored south to north
    CHECK(f.x.front() == Approx(-84.9375));
    CHECK(f.x.back() == Approx(-74.9375));
    CHECK(f.time_units == "days since 1950-01-01 00:00:00");
    CHECK(f.calendar == "standard");
    REQUIRE(f.time.size() == 12);
    const auto dates = maunet::io::civil_times(f);
    for (int m = 0; m < 12; ++m) {
        CHECK(dates[static_cast<std::size_t>(m)].year == 1999);
        CHECK(dates[static_cast<std::size_t>(m)].month == m + 1);
    }
    // 593 of 2673 cells are ocean (_FillValue 1e20) in every month; the rest is >= 0 mm.
    const Index plane = 33 * 81;
    for (Index t = 0; t < 12; ++t) {
        CHECK(count_nan(f.data.data() + t * plane, plane) == 593);
        for (Index i = 0; i < plane; ++i) {
            const float v = f.data[t * plane + i];
            if (!std::isnan(v)) CHECK((v >= 0.0f && v < 2000.0f));
        }
    }
    // Independent check against netCDF's own read of the raw floats.
    int ncid = -1, varid = -1;
    nc_ok(nc_open(kBcsd.c_str(), NC_NOWRITE, &ncid));
    nc_ok(nc_inq_varid(ncid, "pr", &varid));
    std::vector<float> raw(static_cast<std::size_t>(12 * plane));
    nc_ok(nc_get_var_float(ncid, varid, raw.data()));
    nc_close(ncid);
    Index mismatches = 0;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const float v = f.data[static_cast<Index>(i)];
        if (raw[i] == 1e20f ? !std::isnan(v) : v != raw[i]) ++mismatches;
    }
    CHECK(mismatches == 0);

    // tas has _FillValue and missing_value, both 1e20.
    const GridField<double> tas = NetcdfReader<double>(kBcsd, "tas").read(3, 2);
    REQUIRE(tas.data.shape() == Shape{2, 33, 81});
    CHECK(tas.units == "C");
    Index nan_tas = 0;
    for (double v : tas.data) nan_tas += std::isnan(v) ? 1 : 0;
    CHECK(nan_tas == 2 * 593);
}

TEST_CASE("netcdf reads Stage IV: 2-D lat/lon, NaN fill, hourly time", "[io][netcdf]") {
    NetcdfReader<float> reader(kStageIv, kStageIvVar);
    REQUIRE(reader.num_times() == 23);
    REQUIRE(reader.ny() == 118);
    REQUIRE(reader.nx() == 87);
    CHECK(reader.calendar() == "proleptic_gregorian");
    const GridField<float> f = reader.read(0, 3);
    REQUIRE(f.data.shape() == Shape{3, 118, 87});
    CHECK(f.units == "kg m^-2");
    CHECK(f.standard_name == "precipitation_amount");
    CHECK(f.y_name == "y");
    CHECK(f.x_name == "x");
    CHECK(f.y.empty());
    CHECK(f.x.empty());
    REQUIRE(f.curvilinear());
    REQUIRE(f.lat2d.shape() == Shape{118, 87});
    REQUIRE(f.lon2d.shape() == Shape{118, 87});
    for (double v : f.lat2d) CHECK((v > 25.0 && v < 45.0));
    for (double v : f.lon2d) CHECK((v > -90.0 && v < -70.0));
    const auto dates = maunet::io::civil_times(f);
    REQUIRE(dates.size() == 3);
    CHECK(maunet::io::to_string(dates[0]) == "2018-09-13T19:00:00");
    CHECK(maunet::io::to_string(dates[2]) == "2018-09-13T21:00:00");
    const auto last = maunet::io::decode_time(reader.times().back(), reader.time_units(), reader.calendar());
    CHECK(maunet::io::to_string(last) == "2018-09-14T17:00:00");

    // Against the raw floats: NaN stays NaN, every other value is identical and >= 0.
    const GridField<float> all = reader.read_all();
    int ncid = -1, varid = -1;
    nc_ok(nc_open(kStageIv.c_str(), NC_NOWRITE, &ncid));
    nc_ok(nc_inq_varid(ncid, kStageIvVar.c_str(), &varid));
    std::vector<float> raw(static_cast<std::size_t>(all.data.numel()));
    nc_ok(nc_get_var_float(ncid, varid, raw.data()));
    nc_close(ncid);
    Index mismatches = 0, missing = 0, negative = 0;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const float v = all.data[static_cast<Index>(i)];
        if (std::isnan(raw[i]) != std::isnan(v) || (!std::isnan(v) && v != raw[i])) ++mismatches;
        missing += std::isnan(v) ? 1 : 0;
        negative += v < 0.0f ? 1 : 0;
    }
    CHECK(mismatches == 0);
    CHECK(negative == 0);
    CHECK(missing == 0);  // the mosaic covers this window completely; NaN fill is tested below
}

TEST_CASE("netcdf chunked reading equals whole reading", "[io][netcdf]") {
    NetcdfReader<float> bcsd(kBcsd, "pr");
    const auto whole = bcsd.read_all();
    Index t = 0;
    for (Index n : {5, 1, 6}) {
        const auto chunk = bcsd.read(t, n);
        CHECK(chunk.time == std::vector<double>(whole.time.begin() + t, whole.time.begin() + t + n));
        CHECK(same_values(chunk.data, steps(whole, t, n).data));
        t += n;
    }
    NetcdfReader<float> stage(kStageIv, kStageIvVar);
    const auto stage_whole = stage.read_all();
    bool all_same = true;
    for (Index s = 0; s < stage.num_times(); ++s)
        all_same = all_same && same_values(stage.read(s, 1).data, steps(stage_whole, s, 1).data);
    CHECK(all_same);
}

TEST_CASE("netcdf reader errors name the file, the variable and the cause", "[io][netcdf][errors]") {
    CHECK_THROWS_AS(NetcdfReader<float>(kBcsd, "precip"), maunet::FormatError);
    CHECK_THROWS_WITH(NetcdfReader<float>(kBcsd, "precip"),
                      Catch::Contains("variable 'precip' not found in '" + kBcsd + "'; it has: pr, tas, latitude"));
    CHECK_THROWS_AS(NetcdfReader<float>(kBcsd, "latitude"), maunet::FormatError);
    CHECK_THROWS_WITH(NetcdfReader<float>(kBcsd, "latitude"),
                      Catch::Contains("has rank 1 with dimensions (latitude); expected (time, y, x) or (y, x)"));

    ScratchDir dir("netcdf_errors");
    const std::string text_file = dir.file("not_netcdf.nc");
    {
        std::ofstream(text_file) << "this is a text file, not a NetCDF file\n";
    }
    CHECK_THROWS_AS(NetcdfReader<float>(text_file, "pr"), maunet::FormatError);
    CHECK_THROWS_WITH(NetcdfReader<float>(text_file, "pr"), Catch::Contains("cannot open '" + text_file + "': NetCDF:"));
    const std::string missing = dir.file("missing.nc");
    CHECK_THROWS_AS(NetcdfReader<float>(missing, "pr"), maunet::IOError);
    CHECK_THROWS_WITH(NetcdfReader<float>(missing, "pr"), Catch::Contains("No such file"));

    NetcdfReader<float> reader(kBcsd, "pr");
    CHECK_THROWS_AS(reader.read(10, 5), maunet::ArgumentError);
    CHECK_THROWS_WITH(reader.read(10, 5), Catch::Contains("time steps [10, 15) are out of range"));
    CHECK_THROWS_WITH(reader.read(10, 5), Catch::Contains("has 12 time steps"));
    CHECK_THROWS_WITH(reader.read(-1, 1), Catch::Contains("out of range"));
    CHECK_THROWS_WITH(reader.read(0, 0), Catch::Contains("count must be >= 1, found 0"));
}

TEST_CASE("netcdf write-then-read round trip keeps values, NaN cells and metadata", "[io][netcdf]") {
    ScratchDir dir("netcdf_roundtrip");
    const std::string path = dir.file("out.nc");
    const GridField<float> f = make_regular_field(/*north_to_south=*/true);
    maunet::io::NetcdfWriterOptions options;
    options.command = "maunet test --round-trip";
    options.global_attributes = {{"model", "MAUNet-Light"}, {"method", "distillation"}};
    maunet::io::write_netcdf(path, f, options);
    CHECK(dir.listing() == std::vector<std::string>{"out.nc"});

    NetcdfReader<float> reader(path, "pr");
    const GridField<float> g = reader.read_all();
    CHECK(same_values(g.data, f.data));
    CHECK(g.y == f.y);  // file order: north to south, as written
    CHECK(g.x == f.x);
    CHECK(g.time == f.time);
    CHECK(g.units == f.units);
    CHECK(g.long_name == f.long_name);
    CHECK(g.standard_name == f.standard_name);
    CHECK(g.time_units == f.time_units);
    CHECK(g.calendar == "noleap");
    CHECK(g.y_name == "lat");
    CHECK(g.x_name == "lon");
    CHECK_FALSE(g.curvilinear());

    // The file itself, through raw netCDF calls.
    int ncid = -1, varid = -1, latid = -1, timeid = -1;
    nc_ok(nc_open(path.c_str(), NC_NOWRITE, &ncid));
    nc_ok(nc_inq_varid(ncid, "pr", &varid));
    nc_type type = NC_NAT;
    nc_ok(nc_inq_vartype(ncid, varid, &type));
    CHECK(type == NC_FLOAT);
    float fill = 0;
    nc_ok(nc_get_att_float(ncid, varid, "_FillValue", &fill));
    CHECK(fill == 1e20f);
    int shuffle = 0, deflate = 0, level = 0;
    nc_ok(nc_inq_var_deflate(ncid, varid, &shuffle, &deflate, &level));
    CHECK(shuffle == 1);
    CHECK(deflate == 1);
    CHECK(level == 1);  // NetcdfWriterOptions::deflate_level: speed over 2% of size
    int storage = 0;
    std::size_t chunks[3] = {0, 0, 0};
    nc_ok(nc_inq_var_chunking(ncid, varid, &storage, chunks));
    CHECK(storage == NC_CHUNKED);
    CHECK(chunks[0] == 1);
    CHECK(chunks[1] == 5);
    CHECK(chunks[2] == 7);
    int unlimited = -1, time_dim = -1;
    nc_ok(nc_inq_unlimdim(ncid, &unlimited));
    nc_ok(nc_inq_dimid(ncid, "time", &time_dim));
    CHECK(unlimited == time_dim);
    std::vector<float> raw(4 * 5 * 7);
    nc_ok(nc_get_var_float(ncid, varid, raw.data()));
    CHECK(raw[0] == 1e20f);  // (0, 0, 0) is NaN in the field
    CHECK(raw[1] == 1.25f);
    nc_ok(nc_inq_varid(ncid, "lat", &latid));
    CHECK(raw_text_attribute(ncid, latid, "units") == "degrees_north");
    CHECK(raw_text_attribute(ncid, latid, "standard_name") == "latitude");
    nc_ok(nc_inq_varid(ncid, "time", &timeid));
    CHECK(raw_text_attribute(ncid, timeid, "calendar") == "noleap");
    CHECK(raw_text_attribute(ncid, NC_GLOBAL, "Conventions") == "CF-1.8");
    CHECK(raw_text_attribute(ncid, NC_GLOBAL, "source") == std::string("maunet ") + MAUNET_VERSION_STRING);
    CHECK(raw_text_attribute(ncid, NC_GLOBAL, "model") == "MAUNet-Light");
    CHECK(raw_text_attribute(ncid, NC_GLOBAL, "method") == "distillation");
    const std::string history = raw_text_attribute(ncid, NC_GLOBAL, "history");
    CHECK_THAT(history, Catch::EndsWith("Z: maunet test --round-trip"));
    CHECK(history.size() == 20 + 2 + std::string("maunet test --round-trip").size());
    nc_close(ncid);

    // Double precision in, float stored, double out: values rounded to float.
    GridField<double> d;
    d.variable = "tas";
    d.data = Tensor<double>(Shape{2, 5, 7});
    for (Index i = 0; i < d.data.numel(); ++i) d.data[i] = 0.1 * static_cast<double>(i) - 3.0;
    d.data[3] = std::numeric_limits<double>::quiet_NaN();
    d.y = f.y;
    d.x = f.x;
    d.time = {10, 20};
    d.time_units = "hours since 1979-01-01";
    const std::string dpath = dir.file("double.nc");
    maunet::io::write_netcdf(dpath, d);
    const GridField<double> e = NetcdfReader<double>(dpath, "tas").read_all();
    CHECK(std::isnan(e.data[3]));
    CHECK(e.calendar == "standard");
    bool rounded_to_float = true;
    for (Index i = 0; i < d.data.numel(); ++i)
        if (i != 3) rounded_to_float = rounded_to_float && e.data[i] == static_cast<double>(static_cast<float>(d.data[i]));
    CHECK(rounded_to_float);
}

TEST_CASE("netcdf latitude in both orders and make_south_to_north", "[io][netcdf]") {
    ScratchDir dir("netcdf_orientation");
    const GridField<float> north_first = make_regular_field(true);
    const GridField<float> south_first = make_regular_field(false);
    maunet::io::write_netcdf(dir.file("n.nc"), north_first);
    maunet::io::write_netcdf(dir.file("s.nc"), south_first);

    GridField<float> n = NetcdfReader<float>(dir.file("n.nc"), "pr").read_all();
    GridField<float> s = NetcdfReader<float>(dir.file("s.nc"), "pr").read_all();
    CHECK(n.y.front() > n.y.back());  // the reader keeps the file's order
    CHECK(s.y.front() < s.y.back());

    CHECK_FALSE(maunet::io::make_south_to_north(s));
    CHECK(same_values(s.data, south_first.data));
    REQUIRE(maunet::io::make_south_to_north(n));
    CHECK(n.y == std::vector<double>{38.0, 38.5, 39.0, 39.5, 40.0});
    bool rows_reversed = true;
    for (Index t = 0; t < 4; ++t)
        for (Index i = 0; i < 5; ++i)
            for (Index j = 0; j < 7; ++j) {
                const float a = n.data(t, i, j), b = north_first.data(t, 4 - i, j);
                rows_reversed = rows_reversed && ((std::isnan(a) && std::isnan(b)) || a == b);
            }
    CHECK(rows_reversed);
    CHECK_FALSE(maunet::io::make_south_to_north(n));  // idempotent

    GridField<float> no_lat = north_first;
    no_lat.y.clear();
    CHECK_THROWS_AS(maunet::io::make_south_to_north(no_lat), maunet::ArgumentError);
    CHECK_THROWS_WITH(maunet::io::make_south_to_north(no_lat), Catch::Contains("has no 1-D latitude"));
    GridField<float> zigzag = north_first;
    zigzag.y = {1, 3, 2, 4, 5};
    CHECK_THROWS_WITH(maunet::io::make_south_to_north(zigzag), Catch::Contains("not strictly monotonic"));
    GridField<float> wrong = north_first;
    wrong.y.pop_back();
    CHECK_THROWS_AS(maunet::io::make_south_to_north(wrong), maunet::ShapeError);
}

TEST_CASE("netcdf writer streams time steps and writes curvilinear grids", "[io][netcdf]") {
    ScratchDir dir("netcdf_stream");
    const GridField<float> f = make_regular_field(false);
    {
        NetcdfWriter writer(dir.file("stream.nc"), f);
        writer.append(steps(f, 0, 2));
        CHECK(writer.num_times_written() == 2);
        CHECK_FALSE(fs::exists(dir.file("stream.nc")));  // only the temporary exists until close
        writer.append(steps(f, 2, 1));
        writer.append(steps(f, 3, 1));
        CHECK(writer.num_times_written() == 4);
        writer.close();
    }
    CHECK(dir.listing() == std::vector<std::string>{"stream.nc"});
    NetcdfReader<float> reader(dir.file("stream.nc"), "pr");
    CHECK(reader.num_times() == 4);
    const auto g = reader.read_all();
    CHECK(same_values(g.data, f.data));
    CHECK(g.time == f.time);

    // Curvilinear: the Stage IV grid, two hours, written and read back.
    const GridField<float> stage = NetcdfReader<float>(kStageIv, kStageIvVar).read(5, 2);
    maunet::io::write_netcdf(dir.file("stage.nc"), stage);
    const GridField<float> back = NetcdfReader<float>(dir.file("stage.nc"), kStageIvVar).read_all();
    CHECK(same_values(back.data, stage.data));
    REQUIRE(back.curvilinear());
    CHECK(same_values(back.lat2d, stage.lat2d));
    CHECK(same_values(back.lon2d, stage.lon2d));
    CHECK(back.y_name == "y");
    CHECK(back.x_name == "x");
    CHECK(back.time == stage.time);
    CHECK(back.calendar == "proleptic_gregorian");
    CHECK(maunet::io::to_string(maunet::io::civil_times(back)[0]) == "2018-09-14T00:00:00");
    int ncid = -1, varid = -1;
    nc_ok(nc_open(dir.file("stage.nc").c_str(), NC_NOWRITE, &ncid));
    nc_ok(nc_inq_varid(ncid, kStageIvVar.c_str(), &varid));
    CHECK(raw_text_attribute(ncid, varid, "coordinates") == "lat lon");
    nc_close(ncid);
}

TEST_CASE("netcdf writer writes companion variables beside the data variable", "[io][netcdf]") {
    ScratchDir dir("netcdf_companions");
    GridField<float> f = make_regular_field(false);
    f.grid_mapping = "crs";
    f.grid_mapping_attributes = {{"grid_mapping_name", "latitude_longitude", {}}};
    maunet::io::NetcdfWriterOptions options;
    options.companions = {{"pr_sd", "standard deviation", "", ""}, {"pr_q95", "0.95 quantile", "mm/h", "x: max"}};
    // Layer l of step t: the field's values plus 1000 l (NaN stays NaN).
    const auto stacked = [&](Index t0, Index n) {
        GridField<float> out = steps(f, t0, n);
        const Index plane = f.ny() * f.nx();
        out.data = Tensor<float>(Shape{n, 3, f.ny(), f.nx()});
        for (Index t = 0; t < n; ++t)
            for (Index l = 0; l < 3; ++l)
                for (Index j = 0; j < plane; ++j)
                    out.data[(t * 3 + l) * plane + j] = f.data[(t0 + t) * plane + j] + 1000.0f * static_cast<float>(l);
        return out;
    };
    {
        NetcdfWriter writer(dir.file("ens.nc"), f, options);
        writer.append(stacked(0, 3));
        writer.append(stacked(3, 1));
        CHECK_THROWS_AS(writer.append(steps(f, 0, 1)), maunet::ShapeError);  // one layer where three are declared
        CHECK_THROWS_WITH(writer.append(steps(f, 0, 1)), Catch::Contains("3 variables, 5, 7]"));
        writer.close();
    }
    const GridField<float> mean = NetcdfReader<float>(dir.file("ens.nc"), "pr").read_all();
    CHECK(same_values(mean.data, f.data));
    CHECK(mean.time == f.time);
    CHECK(mean.grid_mapping == "crs");
    for (Index l = 1; l < 3; ++l) {
        const GridField<float> c = NetcdfReader<float>(dir.file("ens.nc"), l == 1 ? "pr_sd" : "pr_q95").read_all();
        Tensor<float> want = f.data;
        for (float& v : want) v += 1000.0f * static_cast<float>(l);
        CHECK(same_values(c.data, want));  // NaN cells written as _FillValue, read back as NaN
        CHECK(c.y == f.y);
        CHECK(c.grid_mapping == "crs");
        CHECK(c.units == (l == 1 ? "mm/day" : "mm/h"));  // the data variable's units unless given
        CHECK(c.long_name == (l == 1 ? "standard deviation" : "0.95 quantile"));
        CHECK(c.cell_methods == (l == 1 ? "" : "x: max"));
    }

    maunet::io::NetcdfWriterOptions clash;
    clash.companions = {{"lat", "", "", ""}};
    CHECK_THROWS_WITH(NetcdfWriter(dir.file("bad.nc"), f, clash),
                      Catch::Contains("companion variable 'lat' has the name of another variable"));
    clash.companions = {{"pr_sd", "", "", ""}, {"pr_sd", "", "", ""}};
    CHECK_THROWS_WITH(NetcdfWriter(dir.file("bad.nc"), f, clash), Catch::Contains("'pr_sd' has the name"));
    clash.companions = {{"", "", "", ""}};
    CHECK_THROWS_WITH(NetcdfWriter(dir.file("bad.nc"), f, clash), Catch::Contains("empty name"));
    CHECK(dir.listing() == std::vector<std::string>{"ens.nc"});
}

TEST_CASE("netcdf reads packed shorts, ints with missing_value lists, valid ranges and default fills",
          "[io][netcdf]") {
    ScratchDir dir("netcdf_packed");
    const std::string path = dir.file("packed.nc");
    // Written with raw netCDF calls, independently of NetcdfWriter.
    int ncid = -1, dt = -1, dy = -1, dx = -1, v_short = -1, v_int = -1, v_double = -1, v_nofill = -1, v_lat = -1;
    nc_ok(nc_create(path.c_str(), NC_NETCDF4 | NC_CLOBBER, &ncid));
    nc_ok(nc_def_dim(ncid, "time", NC_UNLIMITED, &dt));
    nc_ok(nc_def_dim(ncid, "lat", 2, &dy));
    nc_ok(nc_def_dim(ncid, "lon", 3, &dx));
    const int tyx[3] = {dt, dy, dx};
    const int yx[2] = {dy, dx};
    nc_ok(nc_def_var(ncid, "pr", NC_SHORT, 3, tyx, &v_short));
    const short fill_short = -32767;
    const float scale = 0.01f, offset = 10.0f;
    nc_ok(nc_def_var_fill(ncid, v_short, NC_FILL, &fill_short));
    nc_ok(nc_put_att_float(ncid, v_short, "scale_factor", NC_FLOAT, 1, &scale));
    nc_ok(nc_put_att_float(ncid, v_short, "add_offset", NC_FLOAT, 1, &offset));
    nc_ok(nc_def_var(ncid, "count", NC_INT, 2, yx, &v_int));
    const int missing_ints[2] = {-1, -2};
    nc_ok(nc_put_att_int(ncid, v_int, "missing_value", NC_INT, 2, missing_ints));
    nc_ok(nc_def_var(ncid, "frac", NC_DOUBLE, 3, tyx, &v_double));
    const double valid_range[2] = {0.0, 100.0};
    nc_ok(nc_put_att_double(ncid, v_double, "valid_range", NC_DOUBLE, 2, valid_range));
    nc_ok(nc_def_var(ncid, "nofill", NC_FLOAT, 2, yx, &v_nofill));
    nc_ok(nc_def_var(ncid, "lat", NC_FLOAT, 1, &dy, &v_lat));
    int v_nan = -1;
    nc_ok(nc_def_var(ncid, "nanfill", NC_FLOAT, 2, yx, &v_nan));
    const float nan_fill = std::numeric_limits<float>::quiet_NaN();
    nc_ok(nc_def_var_fill(ncid, v_nan, NC_FILL, &nan_fill));
    nc_ok(nc_enddef(ncid));
    const float with_nan[6] = {0.f, nan_fill, 2.f, 3.f, nan_fill, 1e20f};
    nc_ok(nc_put_var_float(ncid, v_nan, with_nan));
    const short packed[2 * 2 * 3] = {0, 100, -32767, 2500, -1000, 1, 5, -32767, -32767, 32000, 0, -5};
    const std::size_t start[3] = {0, 0, 0}, count[3] = {2, 2, 3};
    nc_ok(nc_put_vara_short(ncid, v_short, start, count, packed));
    const int ints[6] = {3, -1, 7, -2, 0, 12};
    nc_ok(nc_put_var_int(ncid, v_int, ints));
    const double doubles[12] = {0, 50, 100, -0.5, 100.5, 1e30, 1, 2, 3, 4, 5, 6};
    nc_ok(nc_put_vara_double(ncid, v_double, start, count, doubles));
    const float nofill[6] = {1.5f, NC_FILL_FLOAT, 2.5f, 3.5f, 4.5f, NC_FILL_FLOAT};
    nc_ok(nc_put_var_float(ncid, v_nofill, nofill));
    const float lats[2] = {10.f, 20.f};
    nc_ok(nc_put_var_float(ncid, v_lat, lats));
    nc_ok(nc_close(ncid));

    const GridField<double> pr = NetcdfReader<double>(path, "pr").read_all();
    REQUIRE(pr.data.shape() == Shape{2, 2, 3});
    CHECK(pr.y == std::vector<double>{10.0, 20.0});
    CHECK(pr.x.empty());
    CHECK(pr.time.empty());  // no time coordinate variable
    const double s = static_cast<double>(scale), o = static_cast<double>(offset);
    for (int i = 0; i < 12; ++i) {
        INFO("element " << i << " packed " << packed[i]);
        if (packed[i] == -32767)
            CHECK(std::isnan(pr.data[i]));
        else
            CHECK(pr.data[i] == Approx(packed[i] * s + o).epsilon(1e-12));
    }
    CHECK(pr.data[1] == Approx(11.0));
    CHECK(pr.data[3] == Approx(35.0));
    CHECK(pr.data[4] == Approx(0.0).margin(1e-6));  // -1000 * 0.01f + 10, unpacked in double

    const GridField<float> cnt = NetcdfReader<float>(path, "count").read_all();  // rank 2 = one step
    REQUIRE(cnt.data.shape() == Shape{1, 2, 3});
    CHECK(cnt.time_name.empty());
    CHECK(cnt.data[0] == 3.0f);
    CHECK(std::isnan(cnt.data[1]));
    CHECK(cnt.data[2] == 7.0f);
    CHECK(std::isnan(cnt.data[3]));
    CHECK(cnt.data[4] == 0.0f);
    CHECK(cnt.data[5] == 12.0f);
    NetcdfReader<float> cnt_reader(path, "count");
    CHECK(cnt_reader.num_times() == 1);
    CHECK_THROWS_WITH(cnt_reader.read(1, 1), Catch::Contains("out of range"));

    const GridField<double> frac = NetcdfReader<double>(path, "frac").read(0, 1);
    CHECK(frac.data[0] == 0.0);
    CHECK(frac.data[1] == 50.0);
    CHECK(frac.data[2] == 100.0);
    CHECK(std::isnan(frac.data[3]));  // below valid_range
    CHECK(std::isnan(frac.data[4]));  // above
    CHECK(std::isnan(frac.data[5]));  // netCDF's default fill of doubles is 9.97e36, above anyway
    const GridField<float> nf = NetcdfReader<float>(path, "nofill").read_all();
    CHECK(nf.data[0] == 1.5f);
    CHECK(std::isnan(nf.data[1]));  // default fill of floats without _FillValue
    CHECK(std::isnan(nf.data[5]));
    CHECK(nf.data[4] == 4.5f);
    const GridField<float> nanf = NetcdfReader<float>(path, "nanfill").read_all();
    CHECK(nanf.data[0] == 0.0f);
    CHECK(std::isnan(nanf.data[1]));
    CHECK(std::isnan(nanf.data[4]));
    CHECK(nanf.data[5] == 1e20f);  // only the declared fill (NaN) is missing here
}

TEST_CASE("netcdf writer rejects bad input with a sentence", "[io][netcdf][errors]") {
    ScratchDir dir("netcdf_writer_errors");
    const GridField<float> f = make_regular_field(false);

    GridField<float> no_units = f;
    no_units.time_units.clear();
    CHECK_THROWS_AS(NetcdfWriter(dir.file("a.nc"), no_units), maunet::ArgumentError);
    CHECK_THROWS_WITH(NetcdfWriter(dir.file("a.nc"), no_units), Catch::Contains("needs time_units"));
    GridField<float> bad_cal = f;
    bad_cal.calendar = "julian";
    CHECK_THROWS_WITH(NetcdfWriter(dir.file("a.nc"), bad_cal), Catch::Contains("calendar 'julian' is not supported"));
    GridField<float> bad_rank = f;
    bad_rank.data = Tensor<float>(Shape{5, 7});
    CHECK_THROWS_AS(NetcdfWriter(dir.file("a.nc"), bad_rank), maunet::ShapeError);
    CHECK_THROWS_WITH(NetcdfWriter(dir.file("a.nc"), bad_rank), Catch::Contains("[time, y, x], found [5, 7]"));
    GridField<float> bad_y = f;
    bad_y.y.push_back(1.0);
    CHECK_THROWS_WITH(NetcdfWriter(dir.file("a.nc"), bad_y), Catch::Contains("6 y coordinates for 5 rows"));
    GridField<float> bad_2d = f;
    bad_2d.lat2d = Tensor<double>(Shape{5, 6});
    bad_2d.lon2d = Tensor<double>(Shape{5, 7});
    CHECK_THROWS_AS(NetcdfWriter(dir.file("a.nc"), bad_2d), maunet::ShapeError);
    GridField<float> no_name = f;
    no_name.variable.clear();
    CHECK_THROWS_WITH(NetcdfWriter(dir.file("a.nc"), no_name), Catch::Contains("no variable name"));
    maunet::io::NetcdfWriterOptions bad_level;
    bad_level.deflate_level = 12;
    CHECK_THROWS_WITH(NetcdfWriter(dir.file("a.nc"), f, bad_level), Catch::Contains("deflate_level must be in 0..9"));
    CHECK(dir.listing().empty());

    const std::string unwritable = dir.file("no_such_dir/out.nc");
    CHECK_THROWS_AS(NetcdfWriter(unwritable, f), maunet::IOError);
    CHECK_THROWS_WITH(NetcdfWriter(unwritable, f), Catch::Contains("cannot create '" + unwritable + "'"));

    NetcdfWriter writer(dir.file("b.nc"), f);
    GridField<float> wrong_grid = f;
    wrong_grid.data = Tensor<float>(Shape{1, 5, 6});
    wrong_grid.x.pop_back();
    wrong_grid.time = {0};
    CHECK_THROWS_AS(writer.append(wrong_grid), maunet::ShapeError);
    CHECK_THROWS_WITH(writer.append(wrong_grid), Catch::Contains("[1, 5, 6] does not fit the file's grid [time, 5, 7]"));
    GridField<float> wrong_times = steps(f, 0, 2);
    wrong_times.time.pop_back();
    CHECK_THROWS_WITH(writer.append(wrong_times), Catch::Contains("2 time steps but 1 time values"));
    GridField<float> other_units = steps(f, 0, 1);
    other_units.time_units = "hours since 2000-01-01";
    CHECK_THROWS_WITH(writer.append(other_units), Catch::Contains("differ from the file's"));
    GridField<float> other_lat = steps(f, 0, 1);
    other_lat.y[0] += 1.0;
    CHECK_THROWS_WITH(writer.append(other_lat), Catch::Contains("y coordinate differs"));
    GridField<float> nan_time = steps(f, 0, 1);
    nan_time.time[0] = std::nan("");
    CHECK_THROWS_WITH(writer.append(nan_time), Catch::Contains("time values must be finite"));
    writer.append(f);
    writer.close();
    CHECK_THROWS_AS(writer.append(f), maunet::IOError);
    CHECK_THROWS_WITH(writer.append(f), Catch::Contains("already closed"));
    CHECK_THROWS_WITH(writer.close(), Catch::Contains("already closed"));
    CHECK(dir.listing() == std::vector<std::string>{"b.nc"});
}

TEST_CASE("netcdf writer leaves no temporary and no target when unwinding", "[io][netcdf][errors]") {
    ScratchDir dir("netcdf_unwind");
    const GridField<float> f = make_regular_field(false);
    const std::string path = dir.file("out.nc");
    try {
        NetcdfWriter writer(path, f);
        writer.append(steps(f, 0, 2));
        CHECK(dir.listing().size() == 1);  // the temporary
        CHECK(dir.listing()[0].rfind("out.nc.tmp.", 0) == 0);
        throw std::runtime_error("crash in the middle of a run");
    } catch (const std::runtime_error&) {
    }
    CHECK(dir.listing().empty());

    // An existing output survives a failed rewrite unchanged.
    maunet::io::write_netcdf(path, steps(f, 0, 1));
    try {
        NetcdfWriter writer(path, f);
        writer.append(f);
        throw std::runtime_error("crash before close");
    } catch (const std::runtime_error&) {
    }
    CHECK(dir.listing() == std::vector<std::string>{"out.nc"});
    CHECK(NetcdfReader<float>(path, "pr").num_times() == 1);
}

TEST_CASE("netcdf files written by NetcdfWriter pass ncdump -h", "[io][netcdf]") {
    if (!fs::exists("/usr/bin/ncdump")) {
        WARN("SKIPPED: /usr/bin/ncdump not found");
        return;
    }
    ScratchDir dir("netcdf_ncdump");
    const std::string path = dir.file("out.nc");
    maunet::io::NetcdfWriterOptions options;
    options.global_attributes = {{"model", "MAUNet"}};
    maunet::io::write_netcdf(path, make_regular_field(true), options);
    const std::string listing = dir.file("header.txt");
    const int rc = std::system(("/usr/bin/ncdump -h '" + path + "' > '" + listing + "' 2>&1").c_str());
    std::ifstream in(listing);
    const std::string header{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    INFO(header);
    CHECK(rc == 0);
    CHECK_THAT(header, Catch::Contains("time = UNLIMITED ; // (4 currently)"));
    CHECK_THAT(header, Catch::Contains("float pr(time, lat, lon)"));
    CHECK_THAT(header, Catch::Contains("pr:_FillValue = 1.e+20f"));
    CHECK_THAT(header, Catch::Contains("lat:units = \"degrees_north\""));
    CHECK_THAT(header, Catch::Contains(":Conventions = \"CF-1.8\""));
    CHECK_THAT(header, Catch::Contains(":model = \"MAUNet\""));
}

#else

TEST_CASE("netcdf support not built", "[io][netcdf]") { WARN("SKIPPED: maunet was built without netCDF-C"); }

#endif
