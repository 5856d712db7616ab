#include <catch2/catch.hpp>

#include "maunet/io/checksum.hpp"
#include "maunet/io/json.hpp"

using maunet::FormatError;
using maunet::io::Json;

TEST_CASE("JSON round-trips objects, arrays, strings and numbers", "[json]") {
    Json j = Json::object();
    j.set("name", "maunet").set("levels", 4).set("lr", 1e-3).set("exact", 0.1).set("on", true).set("none", nullptr);
    j.set("list", Json(Json::Array{1, 2.5, "x"}));
    j.set("text", "quote \" backslash \\ newline \n tab \t");
    for (int indent : {-1, 2}) {
        const Json back = Json::parse(j.dump(indent));
        CHECK(back.at("name").as_string() == "maunet");
        CHECK(back.at("levels").as_number() == 4);
        CHECK(back.at("lr").as_number() == 1e-3);
        CHECK(back.at("exact").as_number() == 0.1);  // 17 digits: exact round trip
        CHECK(back.at("on").as_bool());
        CHECK(back.at("none").is_null());
        CHECK(back.at("list").as_array().size() == 3);
        CHECK(back.at("list").as_array()[2].as_string() == "x");
        CHECK(back.at("text").as_string() == j.at("text").as_string());
    }
    // Keys keep insertion order, so output is stable.
    CHECK(j.dump().rfind("{\"name\": \"maunet\", \"levels\": 4", 0) == 0);
    CHECK(Json::parse("\"\\u00e9\"").as_string() == "\xc3\xa9");
    CHECK(Json(std::nan("")).dump() == "null");
}

TEST_CASE("JSON errors name the offset and what was expected", "[json][errors]") {
    CHECK_THROWS_WITH(Json::parse("{\"a\": 1,}"), Catch::Contains("expected a key string at offset 8"));
    CHECK_THROWS_WITH(Json::parse("[1 2]"), Catch::Contains("expected ',' or ']'"));
    CHECK_THROWS_WITH(Json::parse("{} x"), Catch::Contains("end of input"));
    CHECK_THROWS_AS(Json::parse("\"open"), FormatError);
    const Json j = Json::parse("{\"a\": 1}");
    CHECK_THROWS_WITH(j.at("b"), Catch::Contains("missing key 'b'"));
    CHECK_THROWS_WITH(j.at("a").as_string(), Catch::Contains("expected a string, found a number"));
    CHECK(j.number_or("b", 7) == 7);
}

TEST_CASE("CRC-32 matches the standard check value", "[checksum]") {
    const char* s = "123456789";
    CHECK(maunet::io::crc32(s, 9) == 0xCBF43926u);
    // Incremental use gives the same result.
    CHECK(maunet::io::crc32(s + 4, 5, maunet::io::crc32(s, 4)) == 0xCBF43926u);
    CHECK(maunet::io::crc32(s, 0) == 0u);
}
