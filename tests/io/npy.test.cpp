#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <unistd.h>

#include "maunet/io/npy.hpp"
#include "support/scratch_dir.hpp"

using namespace maunet;
using namespace maunet::io;
using maunet::testing::ScratchDir;
using maunet::testing::write_bytes;
using maunet::testing::read_bytes;
namespace fs = std::filesystem;

namespace {

void put_le(std::string& out, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

// A .npy file built by hand, independently of npy_header: `dict` is the header text without
// padding; the padding to 64 bytes and '\n' are added here.
std::string hand_npy(const std::string& dict, const std::string& data, int major = 1) {
    const std::size_t prefix = major == 1 ? 10 : 12;
    std::size_t total = prefix + dict.size() + 1;
    const std::size_t padded = (total + 63) / 64 * 64;
    std::string out = std::string("\x93NUMPY", 6);
    out += static_cast<char>(major);
    out += '\0';
    put_le(out, padded - prefix, major == 1 ? 2 : 4);
    out += dict;
    out.append(padded - total, ' ');
    out += '\n';
    return out + data;
}

template <class U>
std::string raw(const std::vector<U>& values) {
    std::string s(values.size() * sizeof(U), '\0');
    std::memcpy(s.data(), values.data(), s.size());  // the test machine is little-endian
    return s;
}

}  // namespace

TEST_CASE("npy header bytes are exactly numpy's for float32 [2, 3]", "[io][npy]") {
    const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    std::string expected = std::string("\x93NUMPY\x01\x00", 8);
    expected += static_cast<char>(118);  // header length 118, little-endian: 10 + 118 = 128
    expected += '\0';
    expected += dict;
    expected.append(128 - 10 - dict.size() - 1, ' ');
    expected += '\n';
    REQUIRE(expected.size() == 128);

    Tensor<float> t(Shape{2, 3}, {1, 2, 3, 4, 5, -0.5f});
    const std::string bytes = npy_to_string(t);
    REQUIRE(bytes.size() == 128 + 6 * 4);
    CHECK(bytes.substr(0, 128) == expected);
    CHECK(npy_header("<f4", Shape{2, 3}) == expected);
    // 1.0f is 0x3F800000, little-endian 00 00 80 3F; -0.5f is 0xBF000000.
    CHECK(bytes.substr(128, 4) == std::string("\x00\x00\x80\x3f", 4));
    CHECK(bytes.substr(148, 4) == std::string("\x00\x00\x00\xbf", 4));
}

TEST_CASE("npy header: shapes of rank 0 and 1 use Python tuple syntax", "[io][npy]") {
    CHECK(npy_header("<f8", Shape{}).find("'shape': (), }") != std::string::npos);
    CHECK(npy_header("<f8", Shape{7}).find("'shape': (7,), }") != std::string::npos);
    CHECK(npy_header("<f8", Shape{2, 0, 4}).find("'shape': (2, 0, 4), }") != std::string::npos);
    for (const Shape& s : {Shape{}, Shape{1}, Shape{123456, 7, 8}, Shape{1, 2, 3, 4, 5, 6, 7, 8}}) {
        const std::string h = npy_header("<f8", s);
        CHECK(h.size() % 64 == 0);
        CHECK(h.back() == '\n');
    }
}

TEST_CASE("npy round trip through files, float and double, several shapes", "[io][npy]") {
    ScratchDir dir("npy_roundtrip");
    Rng rng(7);
    for (const Shape& s : {Shape{}, Shape{1}, Shape{5}, Shape{2, 3}, Shape{3, 1, 4, 5}, Shape{0, 3}, Shape{2, 0}}) {
        auto f = Tensor<float>::randn(s, rng);
        auto d = Tensor<double>::randn(s, rng);
        save_npy(dir.file("f.npy"), f);
        save_npy(dir.file("d.npy"), d);
        auto f2 = load_npy<float>(dir.file("f.npy"));
        auto d2 = load_npy<double>(dir.file("d.npy"));
        REQUIRE(f2.shape() == s);
        REQUIRE(d2.shape() == s);
        for (Index i = 0; i < f.numel(); ++i) CHECK(f2[i] == f[i]);  // bit-exact
        for (Index i = 0; i < d.numel(); ++i) CHECK(d2[i] == d[i]);
        // Cross-type loads convert.
        auto fd = load_npy<double>(dir.file("f.npy"));
        for (Index i = 0; i < f.numel(); ++i) CHECK(fd[i] == double(f[i]));
    }
    // Special values survive.
    Tensor<float> special(Shape{4}, {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                                     -0.0f, std::numeric_limits<float>::denorm_min()});
    save_npy(dir.file("s.npy"), special);
    auto s2 = load_npy<float>(dir.file("s.npy"));
    CHECK(std::isnan(s2[0]));
    CHECK(s2[1] == std::numeric_limits<float>::infinity());
    CHECK(std::signbit(s2[2]));
    CHECK(s2[3] == std::numeric_limits<float>::denorm_min());
    // Atomic writes leave no temporary behind; overwriting replaces the file.
    save_npy(dir.file("f.npy"), Tensor<float>(Shape{2}, {9, 8}));
    CHECK(load_npy<float>(dir.file("f.npy"))[1] == 8.0f);
    CHECK(dir.listing() == std::vector<std::string>{"d.npy", "f.npy", "s.npy"});
}

TEST_CASE("npy load converts integer, bool and float64 dtypes", "[io][npy]") {
    auto load = [](const std::string& descr, const std::string& data, const std::string& shape) {
        return npy_from_string<double>(hand_npy("{'descr': '" + descr + "', 'fortran_order': False, 'shape': " +
                                                    shape + ", }",
                                                data));
    };
    auto i2 = load("<i2", raw<std::int16_t>({-32768, -1, 0, 32767}), "(4,)");
    CHECK(i2[0] == -32768);
    CHECK(i2[1] == -1);
    CHECK(i2[3] == 32767);
    auto i4 = load("<i4", raw<std::int32_t>({-2147483647 - 1, 5, -7}), "(3,)");
    CHECK(i4[0] == -2147483648.0);
    CHECK(i4[2] == -7);
    auto i8 = load("<i8", raw<std::int64_t>({-(std::int64_t(1) << 40), 3}), "(2,)");
    CHECK(i8[0] == -1099511627776.0);
    CHECK(i8[1] == 3);
    auto u1 = load("|u1", raw<std::uint8_t>({0, 200, 255}), "(3,)");
    CHECK(u1[1] == 200);
    CHECK(u1[2] == 255);
    auto u1b = load("<u1", raw<std::uint8_t>({7}), "(1,)");
    CHECK(u1b[0] == 7);
    auto i1 = load("|i1", raw<std::int8_t>({-128, 127}), "(2,)");
    CHECK(i1[0] == -128);
    auto u4 = load("<u4", raw<std::uint32_t>({4294967295u}), "(1,)");
    CHECK(u4[0] == 4294967295.0);
    auto b1 = load("|b1", raw<std::uint8_t>({0, 1, 1}), "(3,)");
    CHECK(b1[0] == 0);
    CHECK(b1[2] == 1);
    auto f8 = npy_from_string<float>(hand_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1), }",
                                              raw<double>({0.25, -3.5})));
    CHECK(f8.shape() == Shape{2, 1});
    CHECK(f8(1, 0) == -3.5f);
    // Python 2 long suffixes and double-quoted keys are legal Python literals.
    auto py2 = npy_from_string<float>(
        hand_npy("{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (1L, 2L), }", raw<float>({1, 2})));
    CHECK(py2.shape() == Shape{1, 2});
    // Keys in another order, no trailing comma.
    auto reordered = npy_from_string<float>(hand_npy("{'shape': (2,), 'fortran_order': False, 'descr': '<f4'}",
                                                     raw<float>({3, 4})));
    CHECK(reordered[1] == 4.0f);
}

TEST_CASE("npy format versions 2.0 and 3.0 are read", "[io][npy]") {
    const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
    for (int major : {2, 3}) {
        std::string bytes = hand_npy(dict, raw<float>({1, 2, 3}), 2);
        bytes[6] = static_cast<char>(major);
        auto t = npy_from_string<float>(bytes);
        CHECK(t.shape() == Shape{3});
        CHECK(t[2] == 3.0f);
    }
}

TEST_CASE("npy fortran_order True is transposed into row-major order", "[io][npy]") {
    // Logical 2x3 array a(i, j) = 10 i + j, stored column-major: a00 a10 a01 a11 a02 a12.
    auto t = npy_from_string<float>(hand_npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                                             raw<float>({0, 10, 1, 11, 2, 12})));
    REQUIRE(t.shape() == Shape{2, 3});
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 3; ++j) CHECK(t(i, j) == float(10 * i + j));
    // Rank 3, shape (2, 3, 4): column-major offset i + 2 j + 6 k holds 100 i + 10 j + k.
    std::vector<float> stored(24);
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 3; ++j)
            for (int k = 0; k < 4; ++k) stored[i + 2 * j + 6 * k] = float(100 * i + 10 * j + k);
    auto u = npy_from_string<double>(hand_npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3, 4), }",
                                              raw<float>(stored)));
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 3; ++j)
            for (int k = 0; k < 4; ++k) CHECK(u(i, j, k) == 100 * i + 10 * j + k);
    // Rank 1 in Fortran order is the same as C order.
    auto v = npy_from_string<float>(hand_npy("{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }",
                                             raw<float>({1, 2, 3})));
    CHECK(v[2] == 3.0f);
}

TEST_CASE("npy rejects malformed files with the path, the offset and expected vs found", "[io][npy][errors]") {
    const std::string good_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    const std::string data6 = raw<float>({1, 2, 3, 4, 5, 6});
    auto bad = [](const std::string& bytes) { return npy_from_string<float>(bytes, "bad.npy"); };

    CHECK_THROWS_AS(bad("PK\x03\x04 not numpy"), FormatError);
    CHECK_THROWS_WITH(bad("PK\x03\x04 not numpy"), Catch::Contains("bad.npy") &&
                                                       Catch::Contains("expected magic \\x93NUMPY at offset 0") &&
                                                       Catch::Contains("found \"PK\\x03\\x04 n\""));
    CHECK_THROWS_WITH(bad(""), Catch::Contains("expected magic \\x93NUMPY at offset 0, found end of data"));
    CHECK_THROWS_WITH(bad(std::string("\x93NUMPY", 6)), Catch::Contains("file is truncated"));

    std::string v4 = hand_npy(good_dict, data6);
    v4[6] = 4;
    CHECK_THROWS_WITH(bad(v4), Catch::Contains("expected format version 1.0, 2.0 or 3.0 at offset 6, found 4.0"));

    CHECK_THROWS_WITH(bad(hand_npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", data6)),
                      Catch::Contains("descr '>f4' (big-endian) is not supported") &&
                          Catch::Contains("at offset 20"));
    CHECK_THROWS_WITH(bad(hand_npy("{'descr': '<c8', 'fortran_order': False, 'shape': (2, 3), }", data6)),
                      Catch::Contains("descr '<c8' is not supported"));
    CHECK_THROWS_WITH(bad(hand_npy("{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }", data6)),
                      Catch::Contains("descr '<f2' is not supported"));
    CHECK_THROWS_WITH(bad(hand_npy("{'descr': 'f4', 'fortran_order': False, 'shape': (2, 3), }", data6)),
                      Catch::Contains("descr 'f4'"));
    CHECK_THROWS_WITH(bad(hand_npy("{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (2,), }", data6)),
                      Catch::Contains("structured dtypes"));

    // Truncated data: 300 float32 values = 1200 bytes, 800 present.
    CHECK_THROWS_WITH(bad(hand_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (300,), }",
                                   std::string(800, '\0'))),
                      Catch::Contains("file is truncated: header says 1200 bytes of data, 800 found") &&
                          Catch::Contains("offset 128"));
    CHECK_THROWS_WITH(bad(hand_npy(good_dict, data6 + "xx")),
                      Catch::Contains("expected the end of the file at offset 152") &&
                          Catch::Contains("found 2 more bytes"));
    // Absurd shapes do not overflow, they are refused before any allocation.
    CHECK_THROWS_WITH(
        bad(hand_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (281474976710656, 281474976710656), }", "")),
        Catch::Contains("exceeds 2^56"));

    // Header length pointing past the end of the file.
    std::string long_header = hand_npy(good_dict, data6);
    long_header[8] = static_cast<char>(0xFF);
    long_header[9] = static_cast<char>(0x7F);
    CHECK_THROWS_WITH(bad(long_header), Catch::Contains("header length at offset 8 says 32767 bytes"));

    // Header not ending with '\n'.
    std::string no_newline = hand_npy(good_dict, data6);
    no_newline[127] = ' ';
    CHECK_THROWS_WITH(bad(no_newline), Catch::Contains("expected the header to end with '\\n' at offset 127"));

    CHECK_THROWS_WITH(bad(hand_npy("{'descr': '<f4', 'shape': (2, 3), }", data6)),
                      Catch::Contains("misses key 'fortran_order'"));
    CHECK_THROWS_WITH(bad(hand_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", data6)),
                      Catch::Contains("unexpected key 'x'"));
    CHECK_THROWS_WITH(bad(hand_npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}",
                                   data6)),
                      Catch::Contains("key 'descr' appears twice"));
    CHECK_THROWS_WITH(bad(hand_npy("{'descr': '<f4', 'fortran_order': false, 'shape': (2, 3), }", data6)),
                      Catch::Contains("expected True or False for 'fortran_order' at offset 44"));
    CHECK_THROWS_WITH(bad(hand_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }", data6)),
                      Catch::Contains("expected ',' or ')' in the 'shape' tuple at offset 63, found \"3), }"));
    CHECK_THROWS_WITH(bad(hand_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-6,), }", data6)),
                      Catch::Contains("expected a non-negative integer in the 'shape' tuple"));
    CHECK_THROWS_WITH(bad(hand_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6), }", data6)),
                      Catch::Contains("1-tuple"));
    CHECK_THROWS_WITH(bad(hand_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } x", data6)),
                      Catch::Contains("expected only spaces between '}' and the final '\\n'"));
    CHECK_THROWS_WITH(bad(hand_npy("'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data6)),
                      Catch::Contains("expected '{' opening the header dict at offset 10"));
    CHECK_THROWS_WITH(bad(hand_npy("{'descr: '<f4', 'fortran_order': False, 'shape': (2, 3), }", data6)),
                      Catch::Contains("expected ':' after a key"));
    CHECK_THROWS_WITH(bad(hand_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", data6)),
                      Catch::Contains("expected ',' or '}' after a value"));

    // Every prefix of a valid file is rejected with FormatError, never accepted or crashing.
    const std::string whole = npy_to_string(Tensor<float>(Shape{2, 3}, 1.0f));
    for (std::size_t n = 0; n < whole.size(); ++n) CHECK_THROWS_AS(bad(whole.substr(0, n)), FormatError);
}

TEST_CASE("npy file errors name the path", "[io][npy][errors]") {
    ScratchDir dir("npy_errors");
    CHECK_THROWS_AS(load_npy<float>(dir.file("missing.npy")), IOError);
    CHECK_THROWS_WITH(load_npy<float>(dir.file("missing.npy")), Catch::Contains("missing.npy"));
    write_bytes(dir.file("text.npy"), "hello");
    CHECK_THROWS_WITH(load_npy<float>(dir.file("text.npy")),
                      Catch::Contains(dir.file("text.npy")) && Catch::Contains("expected magic"));
    CHECK_THROWS_AS(save_npy(dir.file("no/such/dir/x.npy"), Tensor<float>(Shape{1})), IOError);
    CHECK(read_bytes(dir.file("text.npy")) == "hello");
}

TEST_CASE("npy: a zero-size array whose other extents overflow every stride is refused", "[io][npy][hostile]") {
    // 128 bytes declaring shape (0, 2^47, 2^47): no data, but [y, x] = 2^94 cells once ended
    // in std::bad_alloc far from the reader, with no file named.
    std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 140737488355328, 140737488355328), }";
    while ((10 + dict.size() + 1) % 64 != 0) dict += ' ';
    dict += '\n';
    std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
    bytes += static_cast<char>(dict.size() & 0xFF);
    bytes += static_cast<char>(dict.size() >> 8);
    bytes += dict;
    CHECK_THROWS_WITH(npy_from_string<float>(bytes, "huge.npy"),
                      Catch::Contains("huge.npy") && Catch::Contains("2^56"));
    CHECK_THROWS_AS(npy_from_string<float>(bytes, "huge.npy"), FormatError);
}

TEST_CASE("Shape: element counts and strides are overflow-checked", "[core][shape][hostile]") {
    const Index big = Index(1) << 40;
    CHECK_THROWS_WITH(Shape({big, 1, Index(1) << 24, 1}), Catch::Contains("exceeds 2^56"));
    CHECK_THROWS_AS(Shape({0, Index(1) << 47, Index(1) << 47}), ShapeError);
    CHECK(Shape({0, Index(1) << 20, Index(1) << 20}).numel() == 0);
    CHECK(Shape({Index(1) << 28, Index(1) << 28}).numel() == Index(1) << 56);
    Index out = 0;
    CHECK_FALSE(checked_mul(Index(1) << 40, Index(1) << 24, out));
    CHECK(checked_mul(Index(3), Index(5), out));
    CHECK(out == 15);
}
