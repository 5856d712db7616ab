#include <catch2/catch.hpp>

#ifdef MAUNET_HAVE_NETCDF

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "maunet/io/netcdf.hpp"
#include "maunet/pipeline/day_of_year.hpp"
#include "maunet/pipeline/precip_field.hpp"
#include "maunet/stats/linear_scaling.hpp"
#include "maunet/stats/quantile_delta_mapping.hpp"
#include "maunet/stats/quantile_mapping.hpp"
#include "support/scratch_dir.hpp"

using namespace maunet;
using io::GridField;
using maunet::testing::ScratchDir;

namespace {

const float kNaNf = std::numeric_limits<float>::quiet_NaN();

// Observed precipitation in mm/day at step t (days since 2020-01-01), row r (south to north), column c:
// dry (0) or at least 1.7 mm/day, with one cell (43.5N, column 1) missing throughout.
float observed(Index t, Index r, Index c) {
    if (r == 3 && c == 1) return kNaNf;
    const Index k = (t * 7 + r * 3 + c * 5) % 11;
    return k < 3 ? 0.f : 1.7f * static_cast<float>(k);
}

const std::vector<double> kLatSouthToNorth{40.0, 41.0, 42.0, 43.5};

// Observations: 2020-01-01 .. 2022-12-31 (1096 days, standard calendar), mm/day, south to north.
GridField<float> observations() {
    GridField<float> f;
    f.variable = "pr";
    f.units = "mm/day";
    f.y = kLatSouthToNorth;
    f.x = {10, 11, 12};
    f.time_units = "days since 2020-01-01";
    f.calendar = "standard";
    const Index T = 1096;
    f.data = Tensor<float>(Shape{T, 4, 3});
    for (Index t = 0; t < T; ++t) {
        f.time.push_back(static_cast<double>(t));
        for (Index r = 0; r < 4; ++r)
            for (Index c = 0; c < 3; ++c) f.data[(t * 4 + r) * 3 + c] = observed(t, r, c);
    }
    return f;
}

// The model: 2021-01-01 .. 2022-12-31 (730 days, noleap, at 12:00), twice the observations, in
// kg m-2 s-1, north to south; valid everywhere.
GridField<float> model() {
    GridField<float> f;
    f.variable = "pr";
    f.units = "kg m-2 s-1";
    f.standard_name = "precipitation_flux";
    f.y = {43.5, 42.0, 41.0, 40.0};
    f.x = {10, 11, 12};
    f.time_units = "days since 2021-01-01 12:00:00";
    f.calendar = "noleap";
    const Index T = 730, obs_offset = 366;  // 2021-01-01 is obs step 366 (2020 is a leap year)
    f.data = Tensor<float>(Shape{T, 4, 3});
    for (Index t = 0; t < T; ++t) {
        f.time.push_back(static_cast<double>(t));
        for (Index r = 0; r < 4; ++r)
            for (Index c = 0; c < 3; ++c) {
                const float o = observed(t + obs_offset, 3 - r, c);
                f.data[(t * 4 + r) * 3 + c] = (std::isnan(o) ? 3.f : 2.f * o) / 86400.f;
            }
    }
    return f;
}

template <class T>
GridField<T> steps(GridField<T> f, Index first, Index last) {
    const Index plane = f.ny() * f.nx();
    f.data = Tensor<T>(Shape{last - first + 1, f.ny(), f.nx()},
                       std::vector<T>(f.data.begin() + first * plane, f.data.begin() + (last + 1) * plane));
    f.time = std::vector<double>(f.time.begin() + first, f.time.begin() + last + 1);
    return f;
}

}  // namespace

TEST_CASE("precip_field: units to mm/day with relabelled metadata; missing units name the file", "[pipeline][units]") {
    GridField<float> f = model();
    f.cell_methods = "time: mean";
    const double factor = pipeline::to_mm_per_day(f, "model.nc", "");
    CHECK(factor == Approx(86400.0));
    CHECK(f.units == "mm day-1");
    CHECK(f.standard_name == "lwe_precipitation_rate");
    CHECK(f.data[0] == Approx(2.0 * observed(366, 3, 0)).epsilon(1e-5));
    // Daily totals in m (ERA5) with time: sum: x1000, and the cell method becomes a mean rate.
    GridField<float> era = observations();
    era.units = "m";
    era.cell_methods = "time: sum";
    era.data = Tensor<float>::full(Shape{3, 4, 3}, 0.002f);
    era.time = {0, 1, 2};
    pipeline::to_mm_per_day(era, "era5.nc", "");
    CHECK(era.data[0] == Approx(2.0f));
    CHECK(era.cell_methods == "time: mean");
    GridField<float> bare = observations();
    bare.units.clear();
    CHECK_THROWS_WITH(pipeline::precip_factor(bare, "obs.nc", ""),
                      Catch::Contains("'obs.nc' variable 'pr'") && Catch::Contains("--units"));
    CHECK(pipeline::precip_factor(bare, "obs.nc", "mm/h") == Approx(24.0));
    bare.units = "degC";
    CHECK_THROWS_WITH(pipeline::precip_factor(bare, "obs.nc", ""), Catch::Contains("'obs.nc' variable 'pr'"));
}

TEST_CASE("precip_field: units converted to a model's units; units that do not convert are refused naming both",
          "[pipeline][units]") {
    GridField<float> f = model();  // kg m-2 s-1
    CHECK(pipeline::precip_factor_to(f, "model.nc", "", "mm day-1", "the model 'm.mnet'") == Approx(86400.0));
    CHECK(pipeline::precip_factor_to(f, "model.nc", "", "mm/h", "the model 'm.mnet'") == Approx(3600.0));
    CHECK(pipeline::precip_factor_to(f, "model.nc", "mm/day", "mm h-1", "the model 'm.mnet'") == Approx(1.0 / 24.0));
    CHECK(pipeline::precip_factor_to(f, "model.nc", "kg m-2 s-1", "kg m-2 s-1", "the model 'm.mnet'") == 1.0);
    // Input units that are not precipitation: the file, its units and the model's units.
    f.units = "K";
    CHECK_THROWS_AS(pipeline::precip_factor_to(f, "tas.nc", "", "mm day-1", "the model 'm.mnet'"), ArgumentError);
    CHECK_THROWS_WITH(pipeline::precip_factor_to(f, "tas.nc", "", "mm day-1", "the model 'm.mnet'"),
                      Catch::Contains("units 'K'") && Catch::Contains("'tas.nc' variable 'pr'") &&
                          Catch::Contains("cannot convert to the model 'm.mnet' units 'mm day-1'"));
    // A model whose units are not a precipitation rate.
    f.units = "mm/day";
    CHECK_THROWS_WITH(pipeline::precip_factor_to(f, "obs.nc", "", "mm", "the model 'm.mnet'"),
                      Catch::Contains("the model 'm.mnet': units 'mm' are an amount per time step, not a rate") &&
                          Catch::Contains("cannot convert 'obs.nc'"));
    CHECK_THROWS_WITH(pipeline::precip_factor_to(f, "obs.nc", "", "W m-2", "the model 'm.mnet'"),
                      Catch::Contains("units 'W m-2' (the model 'm.mnet')") && Catch::Contains("cannot convert 'obs.nc'"));
    // The output is labelled with the model's units.
    pipeline::label_precip_rate(f, "mm h-1");
    CHECK(f.units == "mm h-1");
}

TEST_CASE("precip_field: a field of another quantity is told from precipitation", "[pipeline][units]") {
    const auto field = [](std::string units, std::string standard_name) {
        GridField<float> f;
        f.units = std::move(units);
        f.standard_name = std::move(standard_name);
        return f;
    };
    CHECK(pipeline::is_other_quantity(field("m", "surface_altitude")));  // elevation: metres, named
    CHECK(pipeline::is_other_quantity(field("m2", "")));                 // a unit, not precipitation's
    CHECK_FALSE(pipeline::is_other_quantity(field("m", "")));            // ERA5's precipitation in m
    CHECK_FALSE(pipeline::is_other_quantity(field("kg m-2 s-1", "precipitation_flux")));
    CHECK_FALSE(pipeline::is_other_quantity(field("mm/day", "")));
    CHECK_FALSE(pipeline::is_other_quantity(field("", "")));              // no units: for the caller to ask
    CHECK_FALSE(pipeline::is_other_quantity(field("not a unit at all", "")));  // unreadable: reported later
}

TEST_CASE("precip_field: a target mask blanks exactly the missing cells of the target grid", "[pipeline][grid]") {
    GridField<float> grid = observations();
    GridField<float> mask = grid;  // the mask stored north to south, 0 = sea, NaN = outside
    mask.y = {43.5, 42.0, 41.0, 40.0};
    mask.data = Tensor<float>(Shape{1, 4, 3}, {1, 1, 0, 1, 100, 50, kNaNf, 1, 1, 1, 1, 1});
    const Tensor<float> m = pipeline::target_mask(mask, "lsm.nc", grid, "out.nc");
    Tensor<float> data = Tensor<float>::full(Shape{2, 4, 3}, 5.f);
    pipeline::apply_mask(data, m);
    // Target rows run south to north: mask row 0 (43.5N) is target row 3; its column 2 is sea.
    for (Index t = 0; t < 2; ++t)
        for (Index r = 0; r < 4; ++r)
            for (Index c = 0; c < 3; ++c) {
                const bool missing = (r == 3 && c == 2) || (r == 1 && c == 0);
                CHECK(std::isnan(data[(t * 4 + r) * 3 + c]) == missing);
            }
    GridField<float> elsewhere = mask;
    elsewhere.y = {53.5, 52.0, 51.0, 50.0};
    CHECK_THROWS_WITH(pipeline::target_mask(elsewhere, "lsm.nc", grid, "out.nc"),
                      Catch::Contains("'lsm.nc'") && Catch::Contains("'out.nc'"));
}

TEST_CASE("end to end: a noleap kg m-2 s-1 north-to-south model corrected against standard mm/day "
          "south-to-north observations gives the known answer",
          "[pipeline][units][grid][time]") {
    ScratchDir dir("real_pair");
    const std::string obs_path = dir.file("obs.nc"), model_path = dir.file("model.nc");
    io::write_netcdf(obs_path, observations());
    io::write_netcdf(model_path, model());

    // What `maunet bc` does with the two files (examples/cli/cmd_bc.cpp).
    GridField<float> obs = io::NetcdfReader<float>(obs_path, "pr").read_all();
    GridField<float> hist = io::NetcdfReader<float>(model_path, "pr").read_all();
    pipeline::to_mm_per_day(obs, obs_path, "");
    pipeline::to_mm_per_day(hist, model_path, "");
    const std::string note = pipeline::align_to_grid(obs, obs_path, hist, model_path);
    CHECK(note.find("rows reordered") != std::string::npos);
    const auto axis = [](const GridField<float>& f, const std::string& name) {
        return pipeline::TimeAxis{f.time, f.time_units, f.calendar, name};
    };
    const pipeline::CommonPeriod p =
        pipeline::common_period(pipeline::match_dates(axis(obs, obs_path), axis(hist, model_path)), obs_path, model_path);
    CHECK(p.a_first == 366);
    CHECK(p.a_last == 1095);
    CHECK(p.b_first == 0);
    CHECK(p.b_last == 729);
    obs = steps(obs, p.a_first, p.a_last);
    hist = steps(hist, p.b_first, p.b_last);

    // The known answer: the model is twice the observations, so every method must return the
    // observations (on the model's north-to-south grid), dry days dry, the missing cell at 43.5N.
    const auto check_known_answer = [&](const Tensor<float>& out, const char* what) {
        INFO(what);
        REQUIRE(out.shape() == Shape{730, 4, 3});
        Index wet_out = 0, wet_obs = 0;
        for (Index t = 0; t < 730; ++t)
            for (Index r = 0; r < 4; ++r)
                for (Index c = 0; c < 3; ++c) {
                    const float expected = observed(t + 366, 3 - r, c);  // model row r is obs row 3 - r
                    const float got = out[(t * 4 + r) * 3 + c];
                    if (std::isnan(expected)) {
                        CHECK(r == 0);  // 43.5N is the model's first row
                        CHECK(std::isnan(got));
                        continue;
                    }
                    CHECK(got == Approx(expected).epsilon(1e-4).margin(1e-5));
                    wet_out += got >= 0.1f;
                    wet_obs += expected >= 0.1f;
                }
        CHECK(wet_obs > 0);
        CHECK(wet_out == wet_obs);
    };
    stats::BiasCorrectionConfig config;  // wet-day threshold 0.1 mm/day
    for (int window : {0, 15}) {
        config.window_half_width_days = window;
        const int days = pipeline::days_in_year_of(hist.calendar);
        const auto od = pipeline::day_of_year_series(obs.time, obs.time_units, obs.calendar, days);
        const auto hd = pipeline::day_of_year_series(hist.time, hist.time_units, hist.calendar, days);
        const auto run = [&](auto method) {
            if (window == 0) {
                method.fit(obs.data, hist.data);
                return method.apply(hist.data);
            }
            method.fit(obs.data, od.doy, hist.data, hd.doy, days);
            return method.apply(hist.data, hd.doy, days);
        };
        check_known_answer(run(stats::LinearScaling<float>(stats::Kind::multiplicative, config)), "linear");
        check_known_answer(run(stats::QuantileMapping<float>(stats::Kind::multiplicative, config, 50)), "qm");
        check_known_answer(run(stats::QuantileDeltaMapping<float>(stats::Kind::multiplicative, config, 50)), "qdm");
    }
}

#endif  // MAUNET_HAVE_NETCDF
