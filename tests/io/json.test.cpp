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
        CHECK(back.at("exact").as_number() == 0.1);  // shortest form: exact round trip
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
    CHECK_THROWS_WITH(Json::parse("{\"a\": 1,}"), Catch::Contains("at offset 8: expected a key string, found '}'"));
    CHECK_THROWS_WITH(Json::parse("[1 2]"), Catch::Contains("expected ',' or ']'"));
    CHECK_THROWS_WITH(Json::parse("{} x"), Catch::Contains("at offset 3: expected the end of the input, found 'x'"));
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

TEST_CASE("JSON refuses hostile nesting without recursing deeply", "[json][errors][hostile]") {
    // 100,000 nested '[' once overflowed the stack.
    CHECK_THROWS_WITH(Json::parse(std::string(100000, '[')),
                      Catch::Contains("at offset 128: expected at most 128 nested arrays and objects"));
    std::string deep_ok = std::string(128, '[') + std::string(128, ']');
    CHECK(Json::parse(deep_ok).is_array());
    std::string objects;
    for (int i = 0; i < 200; ++i) objects += "{\"a\":";
    CHECK_THROWS_AS(Json::parse(objects), FormatError);
}

TEST_CASE("JSON numbers are strict and locale-independent", "[json][errors][hostile]") {
    for (const char* bad : {"nan", "NaN", "inf", "-inf", "Infinity", "+1", "01", "-01", ".5", "1.", "1e", "1e+", "-",
                            "0x10", "1e400", "-1e400", "1.5.2"}) {
        INFO(bad);
        CHECK_THROWS_AS(Json::parse(bad), FormatError);
    }
    CHECK_THROWS_WITH(Json::parse("[nan]"), Catch::Contains("JSON: at offset 1: expected a value, found 'n'"));
    CHECK_THROWS_WITH(Json::parse("1e400"), Catch::Contains("expected a number within the range of a double"));
    CHECK(Json::parse("-0").as_number() == 0.0);
    CHECK(Json::parse("1e-400").as_number() == 0.0);  // underflow is harmless
    CHECK(Json::parse("2.5E+3").as_number() == 2500.0);
    CHECK(Json::parse("-12.125e-1").as_number() == -1.2125);
    // Writing: shortest exact form, a '.' whatever the locale.
    CHECK(Json(0.1).dump() == "0.1");
    CHECK(Json(1e300).dump() == "1e+300");
    CHECK(Json::parse(Json(1.0 / 3.0).dump()).as_number() == 1.0 / 3.0);
}

TEST_CASE("JSON escapes are strict; surrogate pairs give one code point", "[json][errors][hostile]") {
    // "\uZZZZ" once escaped as "unexpected error: stoul" without a file or an offset.
    CHECK_THROWS_WITH(Json::parse("\"\\uZZZZ\"", "model.mnet"),
                      Catch::Contains("model.mnet: at offset 3: expected a hex digit in a \\u escape, found 'Z'"));
    CHECK_THROWS_AS(Json::parse("\"\\u12\""), FormatError);
    CHECK_THROWS_AS(Json::parse("\"\\u12"), FormatError);
    CHECK_THROWS_WITH(Json::parse("\"\\x\""), Catch::Contains("expected a valid escape"));
    CHECK_THROWS_WITH(Json::parse(std::string("\"a\nb\"")), Catch::Contains("control characters must be escaped"));
    CHECK(Json::parse("\"\\ud83d\\ude00\"").as_string() == "\xf0\x9f\x98\x80");  // U+1F600
    CHECK(Json::parse("\"\\u20AC\"").as_string() == "\xe2\x82\xac");
    CHECK_THROWS_WITH(Json::parse("\"\\ud83d\""), Catch::Contains("a low surrogate"));
    CHECK_THROWS_WITH(Json::parse("\"\\ud83d\\u0041\""), Catch::Contains("a low surrogate"));
    CHECK_THROWS_WITH(Json::parse("\"\\ude00\""), Catch::Contains("lone low surrogate"));
    // Round trip of every escape the writer produces.
    const std::string all = std::string("\x01\x1f\"\\/\b\f\n\r\t") + "\xe2\x82\xac";
    CHECK(Json::parse(Json(all).dump()).as_string() == all);
}
