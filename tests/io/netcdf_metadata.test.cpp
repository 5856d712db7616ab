#include <catch2/catch.hpp>

#ifdef MAUNET_HAVE_NETCDF

#include <string>
#include <vector>

#include <netcdf.h>

#include "maunet/io/netcdf.hpp"
#include "maunet/pipeline/field_stream.hpp"
#include "support/scratch_dir.hpp"

using namespace maunet;
using io::GridField;
using io::NetcdfReader;
using maunet::testing::ScratchDir;

namespace {

void ok(int status) { REQUIRE(status == NC_NOERR); }
void text(int nc, int var, const char* name, const std::string& value) {
    ok(nc_put_att_text(nc, var, name, value.size(), value.c_str()));
}
std::string read_text(int nc, int var, const char* name) {
    std::size_t len = 0;
    if (nc_inq_attlen(nc, var, name, &len) != NC_NOERR) return "<absent>";
    std::string s(len, '\0');
    ok(nc_get_att_text(nc, var, name, s.data()));
    return s;
}
double read_number(int nc, int var, const char* name) {
    double v = 0;
    ok(nc_get_att_double(nc, var, name, &v));
    return v;
}

// A CORDEX-like file: (time, y, x) on x/y in metres (projected) or rlat/rlon (rotated pole),
// 2-D lat/lon, a grid-mapping variable, cell_methods, and global attributes with a history.
void write_source(const std::string& path, bool rotated) {
    int nc = -1;
    ok(nc_create(path.c_str(), NC_NETCDF4 | NC_CLOBBER, &nc));
    const char* yn = rotated ? "rlat" : "y";
    const char* xn = rotated ? "rlon" : "x";
    int dt, dy, dx, vt, vy, vx, vlat, vlon, vmap, vpr;
    ok(nc_def_dim(nc, "time", NC_UNLIMITED, &dt));
    ok(nc_def_dim(nc, yn, 3, &dy));
    ok(nc_def_dim(nc, xn, 4, &dx));
    ok(nc_def_var(nc, "time", NC_DOUBLE, 1, &dt, &vt));
    text(nc, vt, "units", "days since 2000-01-01");
    text(nc, vt, "calendar", "noleap");
    ok(nc_def_var(nc, yn, NC_DOUBLE, 1, &dy, &vy));
    ok(nc_def_var(nc, xn, NC_DOUBLE, 1, &dx, &vx));
    if (rotated) {
        text(nc, vy, "standard_name", "grid_latitude");
        text(nc, vy, "units", "degrees");
        text(nc, vx, "standard_name", "grid_longitude");
        text(nc, vx, "units", "degrees");
    } else {
        text(nc, vy, "standard_name", "projection_y_coordinate");
        text(nc, vy, "units", "m");
        text(nc, vx, "standard_name", "projection_x_coordinate");
        text(nc, vx, "units", "m");
    }
    const int yx[2] = {dy, dx};
    ok(nc_def_var(nc, "lat", NC_DOUBLE, 2, yx, &vlat));
    text(nc, vlat, "units", "degrees_north");
    ok(nc_def_var(nc, "lon", NC_DOUBLE, 2, yx, &vlon));
    text(nc, vlon, "units", "degrees_east");
    const char* mapping = rotated ? "rotated_pole" : "Lambert_Conformal";
    ok(nc_def_var(nc, mapping, NC_INT, 0, nullptr, &vmap));
    if (rotated) {
        text(nc, vmap, "grid_mapping_name", "rotated_latitude_longitude");
        const double plat = 39.25, plon = -162.0;
        ok(nc_put_att_double(nc, vmap, "grid_north_pole_latitude", NC_DOUBLE, 1, &plat));
        ok(nc_put_att_double(nc, vmap, "grid_north_pole_longitude", NC_DOUBLE, 1, &plon));
    } else {
        text(nc, vmap, "grid_mapping_name", "lambert_conformal_conic");
        const double par[2] = {30.0, 65.0};
        ok(nc_put_att_double(nc, vmap, "standard_parallel", NC_DOUBLE, 2, par));
    }
    const int tyx[3] = {dt, dy, dx};
    ok(nc_def_var(nc, "pr", NC_FLOAT, 3, tyx, &vpr));
    text(nc, vpr, "units", "kg m-2 s-1");
    text(nc, vpr, "standard_name", "precipitation_flux");
    text(nc, vpr, "long_name", "Precipitation");
    text(nc, vpr, "cell_methods", "time: mean");
    text(nc, vpr, "grid_mapping", mapping);
    text(nc, vpr, "coordinates", "lat lon");
    text(nc, NC_GLOBAL, "history", "2020-01-01T00:00:00Z: cdo sellonlatbox");
    text(nc, NC_GLOBAL, "institution", "Somewhere");
    text(nc, NC_GLOBAL, "source", "RCM-X");
    const double version = 3;
    ok(nc_put_att_double(nc, NC_GLOBAL, "product_version", NC_DOUBLE, 1, &version));
    ok(nc_enddef(nc));
    const double yv[3] = {-100000, 0, 100000}, xv[4] = {0, 50000, 100000, 150000};
    const double yr[3] = {-1, 0, 1}, xr[4] = {10, 11, 12, 13};
    ok(nc_put_var_double(nc, vy, rotated ? yr : yv));
    ok(nc_put_var_double(nc, vx, rotated ? xr : xv));
    std::vector<double> lat(12), lon(12);
    for (int i = 0; i < 12; ++i) lat[static_cast<std::size_t>(i)] = 45 + i / 4, lon[static_cast<std::size_t>(i)] = 5 + i % 4;
    ok(nc_put_var_double(nc, vlat, lat.data()));
    ok(nc_put_var_double(nc, vlon, lon.data()));
    const double t[2] = {0, 1};
    std::size_t start = 0, count = 2;
    ok(nc_put_vara_double(nc, vt, &start, &count, t));
    std::vector<float> pr(24, 1e-5f);
    const std::size_t s3[3] = {0, 0, 0}, c3[3] = {2, 3, 4};
    ok(nc_put_vara_float(nc, vpr, s3, c3, pr.data()));
    ok(nc_close(nc));
}

}  // namespace

TEST_CASE("netcdf metadata: projected and rotated grids keep their CF attributes through read, refine, write",
          "[io][netcdf]") {
    ScratchDir dir("nc_meta");
    for (bool rotated : {false, true}) {
        const std::string in = dir.file(rotated ? "rot.nc" : "proj.nc"), out = dir.file("out.nc");
        write_source(in, rotated);
        const NetcdfReader<float> reader(in, "pr");
        const GridField<float> meta = reader.metadata();
        CHECK(meta.cell_methods == "time: mean");
        CHECK(meta.grid_mapping == (rotated ? "rotated_pole" : "Lambert_Conformal"));
        CHECK(io::detail::find_attribute(meta.global_attributes, "institution") != nullptr);
        // Refined by 2, as regrid and predict write it.
        GridField<float> grid = pipeline::refined_grid(pipeline::grid_of(reader), 2);
        grid.data = Tensor<float>::full(Shape{2, 6, 8}, 1.f);
        grid.time = reader.times();
        io::NetcdfWriterOptions options;
        options.command = "maunet regrid --in x.nc";
        io::write_netcdf(out, grid, options);

        int nc = -1;
        ok(nc_open(out.c_str(), NC_NOWRITE, &nc));
        int vy = -1, vx = -1, vpr = -1, vmap = -1;
        ok(nc_inq_varid(nc, rotated ? "rlat" : "y", &vy));
        ok(nc_inq_varid(nc, rotated ? "rlon" : "x", &vx));
        ok(nc_inq_varid(nc, "pr", &vpr));
        CHECK(read_text(nc, vy, "standard_name") == (rotated ? "grid_latitude" : "projection_y_coordinate"));
        CHECK(read_text(nc, vx, "units") == (rotated ? "degrees" : "m"));
        CHECK(read_text(nc, vpr, "cell_methods") == "time: mean");
        CHECK(read_text(nc, vpr, "standard_name") == "precipitation_flux");
        CHECK(read_text(nc, vpr, "long_name") == "Precipitation");
        CHECK(read_text(nc, vpr, "grid_mapping") == (rotated ? "rotated_pole" : "Lambert_Conformal"));
        ok(nc_inq_varid(nc, rotated ? "rotated_pole" : "Lambert_Conformal", &vmap));
        if (rotated) {
            CHECK(read_text(nc, vmap, "grid_mapping_name") == "rotated_latitude_longitude");
            CHECK(read_number(nc, vmap, "grid_north_pole_latitude") == 39.25);
        } else {
            CHECK(read_text(nc, vmap, "grid_mapping_name") == "lambert_conformal_conic");
            double par[2] = {0, 0};
            ok(nc_get_att_double(nc, vmap, "standard_parallel", par));
            CHECK(par[1] == 65.0);
        }
        // Global attributes kept; history appended newest first; the input's source kept.
        const std::string history = read_text(nc, NC_GLOBAL, "history");
        CHECK(history.find(": maunet regrid --in x.nc\n2020-01-01T00:00:00Z: cdo sellonlatbox") != std::string::npos);
        CHECK(read_text(nc, NC_GLOBAL, "institution") == "Somewhere");
        CHECK(read_text(nc, NC_GLOBAL, "source") == "RCM-X");
        CHECK(read_number(nc, NC_GLOBAL, "product_version") == 3.0);
        CHECK(read_text(nc, NC_GLOBAL, "Conventions") == "CF-1.8");
        ok(nc_close(nc));

        // Refined coordinates, read back: x in metres halves its spacing.
        const NetcdfReader<float> back(out, "pr");
        REQUIRE(back.metadata().x.size() == 8);
        const double dx = back.metadata().x[1] - back.metadata().x[0];
        CHECK(dx == Approx(rotated ? 0.5 : 25000.0));
        CHECK(back.metadata().lat2d.shape() == Shape{6, 8});
    }
}

#endif  // MAUNET_HAVE_NETCDF
