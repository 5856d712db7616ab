#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include <maunet/io/units.hpp>

using namespace maunet;
using namespace maunet::io;

TEST_CASE("units: spellings of precipitation units parse to the same dimensions", "[io][units]") {
    for (const char* s : {"kg m-2 s-1", "kg m^-2 s^-1", "kg m**-2 s**-1", "kg/m2/s", "kg.m-2.s-1", "kg*m-2*s-1"}) {
        const ParsedUnit u = parse_unit(s);
        CHECK(u.kg == 1);
        CHECK(u.m == -2);
        CHECK(u.s == -1);
        CHECK(u.scale == 1.0);
    }
    const ParsedUnit mmday = parse_unit("mm/day");
    CHECK(mmday.m == 1);
    CHECK(mmday.s == -1);
    CHECK(mmday.scale == Approx(1e-3 / 86400).epsilon(1e-15));
    CHECK(parse_unit("mm d-1").scale == Approx(mmday.scale).epsilon(1e-15));
    CHECK(parse_unit("0.001 m").scale == Approx(1e-3));
    CHECK(parse_unit("m of water equivalent").m == 1);
}

TEST_CASE("units: each kind converts to mm/day by the table", "[io][units]") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK(mm_per_day_factor("kg m-2 s-1", "", nan) == Approx(86400.0));
    CHECK(mm_per_day_factor("mm/day", "", nan) == Approx(1.0));
    CHECK(mm_per_day_factor("mm day-1", "time: mean", nan) == Approx(1.0));
    CHECK(mm_per_day_factor("mm/h", "", nan) == Approx(24.0));
    CHECK(mm_per_day_factor("mm hr-1", "", nan) == Approx(24.0));
    CHECK(mm_per_day_factor("m s-1", "", nan) == Approx(86400e3));
    // Amounts: per time step. Daily totals in mm are mm/day; 3-hourly mm are x8; ERA5 daily m are x1000.
    CHECK(mm_per_day_factor("mm", "time: sum", 86400.0) == Approx(1.0));
    CHECK(mm_per_day_factor("mm", "time: sum", 3 * 3600.0) == Approx(8.0));
    CHECK(mm_per_day_factor("m", "", 86400.0) == Approx(1000.0));
    CHECK(mm_per_day_factor("kg m-2", "time: sum", 3600.0) == Approx(24.0));
    // 0.1 mm/day in CMIP units: the threshold the flux must be compared with.
    CHECK(0.1 / mm_per_day_factor("kg m-2 s-1", "", nan) == Approx(1.1574074e-6));
}

TEST_CASE("units: unknown, non-precipitation and period-less units are refused, naming where", "[io][units]") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH(mm_per_day_factor("furlongs", "", nan, "'a.nc' variable 'pr'"),
                      Catch::Contains("'a.nc' variable 'pr'") && Catch::Contains("'furlongs'"));
    CHECK_THROWS_WITH(mm_per_day_factor("K", "", nan, "'t.nc' variable 'tas'"),
                      Catch::Contains("'t.nc' variable 'tas'") && Catch::Contains("not a unit"));
    CHECK_THROWS_WITH(mm_per_day_factor("kg m-2 s-2", "", nan, "x"), Catch::Contains("not a precipitation unit"));
    CHECK_THROWS_WITH(mm_per_day_factor("1", "", nan, "x"), Catch::Contains("not a precipitation unit"));
    CHECK_THROWS_WITH(mm_per_day_factor("", "", nan, "x"), Catch::Contains("empty"));
    CHECK_THROWS_WITH(mm_per_day_factor("mm", "", nan, "'b.nc' variable 'tp'"),
                      Catch::Contains("'b.nc' variable 'tp'") && Catch::Contains("accumulation period"));
    CHECK_THROWS_WITH(mm_per_day_factor("mm", "time: point", 86400.0, "x"), Catch::Contains("time: point"));
    CHECK_THROWS_WITH(parse_unit("mm/"), Catch::Contains("'/' at the end"));
    CHECK_THROWS_WITH(parse_unit("m^x"), Catch::Contains("bad exponent"));
}

TEST_CASE("units: monthly totals as rates; 'mm/m' is not a month", "[io][units]") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK(mm_per_day_factor("mm/month", "", nan) == Approx(1.0 / 30.43685).epsilon(1e-6));
    CHECK(mm_per_day_factor("mm month-1", "", nan) == Approx(1.0 / 30.43685).epsilon(1e-6));
    CHECK_THROWS_WITH(mm_per_day_factor("mm/m", "", nan, "'bcsd.nc' variable 'pr'"),
                      Catch::Contains("not a precipitation unit"));
}

TEST_CASE("units: a huge attribute is quoted in a few characters", "[io][units][errors]") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (const std::string& units : {std::string(3000000, 'm'), "mm/day " + std::string(100000, 'x'),
                                     "mm " + std::string(100000, '/'), "kg m-2 s-" + std::string(100000, '-')}) {
        try {
            (void)mm_per_day_factor(units, "", nan, "'long.nc' variable 'pr'");
            FAIL("accepted units of " << units.size() << " characters");
        } catch (const ArgumentError& e) {
            const std::string message = e.what();
            CHECK(message.find("'long.nc' variable 'pr'") != std::string::npos);
            CHECK(message.find(std::to_string(units.size()) + " characters") != std::string::npos);
            CHECK(message.size() < 600);
        }
    }
}
