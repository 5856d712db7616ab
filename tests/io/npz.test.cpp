#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "maunet/io/checksum.hpp"
#include "maunet/io/npz.hpp"
#include "support/scratch_dir.hpp"

using namespace maunet;
using namespace maunet::io;
using maunet::testing::ScratchDir;
namespace fs = std::filesystem;

namespace {

void put(std::string& out, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}
std::uint32_t get(const std::string& b, std::size_t at, int n) {
    std::uint32_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
    return v;
}

// An archive laid out as Python's zipfile writes it for numpy.savez (zipf.open(name, 'w',
// force_zip64=True) on a seekable file): the local header carries the real sizes AND a ZIP64
// extra field (id 1, 16 bytes: original and compressed size); the central directory has
// plain 32-bit sizes, Unix "version made by", a time stamp. `placeholders` writes 0xFFFFFFFF
// in the local size fields instead (the form used for files over 4 GiB).
std::string python_style_zip(const std::vector<ZipEntry>& entries, bool placeholders = false) {
    std::string out, central;
    for (const auto& e : entries) {
        const auto offset = out.size();
        const auto crc = crc32(e.data.data(), e.data.size());
        const std::uint64_t size = e.data.size();
        put(out, 0x04034b50, 4);
        put(out, 20, 2);
        put(out, 0, 2);
        put(out, 0, 2);
        put(out, 0x6a3b, 2);  // some time
        put(out, 0x5a97, 2);  // some date (2025)
        put(out, crc, 4);
        put(out, placeholders ? 0xFFFFFFFF : size, 4);
        put(out, placeholders ? 0xFFFFFFFF : size, 4);
        put(out, e.name.size(), 2);
        put(out, 20, 2);
        out += e.name;
        put(out, 1, 2);
        put(out, 16, 2);
        put(out, size, 8);
        put(out, size, 8);
        out += e.data;

        put(central, 0x02014b50, 4);
        put(central, (3 << 8) | 20, 2);
        put(central, 20, 2);
        put(central, 0, 2);
        put(central, 0, 2);
        put(central, 0x6a3b, 2);
        put(central, 0x5a97, 2);
        put(central, crc, 4);
        put(central, size, 4);
        put(central, size, 4);
        put(central, e.name.size(), 2);
        put(central, 0, 2);
        put(central, 0, 2);
        put(central, 0, 2);
        put(central, 0, 2);
        put(central, 0600u << 16, 4);
        put(central, offset, 4);
        central += e.name;
    }
    const auto cd_offset = out.size();
    out += central;
    put(out, 0x06054b50, 4);
    put(out, 0, 2);
    put(out, 0, 2);
    put(out, entries.size(), 2);
    put(out, entries.size(), 2);
    put(out, central.size(), 4);
    put(out, cd_offset, 4);
    put(out, 0, 2);
    return out;
}

NamedTensors<float> sample_arrays() {
    Rng rng(3);
    return {{"precip", Tensor<float>::uniform(Shape{3, 4}, rng, 0, 10)},
            {"mask", Tensor<float>(Shape{3, 4}, 1.0f)},
            {"lat", Tensor<float>(Shape{3}, {10, 20, 30})},
            {"scalar", Tensor<float>::scalar(2.5f)}};
}

void check_same(const NamedTensors<float>& a, const NamedTensors<float>& b) {
    REQUIRE(a.size() == b.size());
    for (std::size_t k = 0; k < a.size(); ++k) {
        CHECK(a[k].first == b[k].first);
        REQUIRE(a[k].second.shape() == b[k].second.shape());
        for (Index i = 0; i < a[k].second.numel(); ++i) CHECK(a[k].second[i] == b[k].second[i]);
    }
}

}  // namespace

TEST_CASE("npz round trip keeps names, order and values", "[io][npz]") {
    ScratchDir dir("npz_roundtrip");
    const auto arrays = sample_arrays();
    save_npz(dir.file("a.npz"), arrays);
    CHECK(dir.listing() == std::vector<std::string>{"a.npz"});  // no temporary left behind
    const auto loaded = load_npz<float>(dir.file("a.npz"));
    check_same(arrays, loaded);
    CHECK(npz_get(loaded, "lat")[2] == 30.0f);
    const auto by_name = npz_to_map(loaded);
    CHECK(by_name.size() == 4);
    CHECK(by_name.at("scalar").item() == 2.5f);

    // Double precision, converted on load in both directions.
    NamedTensors<double> d = {{"x", Tensor<double>(Shape{2}, {0.1, 0.2})}};
    save_npz(dir.file("d.npz"), d);
    CHECK(load_npz<double>(dir.file("d.npz"))[0].second[0] == 0.1);
    CHECK(load_npz<float>(dir.file("d.npz"))[0].second[1] == 0.2f);

    // An empty archive is valid.
    save_npz(dir.file("empty.npz"), NamedTensors<float>{});
    CHECK(load_npz<float>(dir.file("empty.npz")).empty());
}

TEST_CASE("npz archive layout: stored entries named <name>.npy, deterministic bytes", "[io][npz]") {
    const auto arrays = sample_arrays();
    const std::string bytes = npz_to_string(arrays);
    CHECK(bytes.compare(0, 4, "PK\x03\x04") == 0);
    CHECK(get(bytes, 8, 2) == 0);  // method: stored
    const auto entries = zip_read(bytes);
    REQUIRE(entries.size() == 4);
    CHECK(entries[0].name == "precip.npy");
    CHECK(entries[3].name == "scalar.npy");
    CHECK(entries[2].data == npy_to_string(arrays[2].second));
    // The same arrays give the same bytes (no time stamps).
    CHECK(npz_to_string(arrays) == bytes);
    // End record: 4 entries, comment length 0, at the very end.
    const std::size_t end = bytes.size() - 22;
    CHECK(get(bytes, end, 4) == 0x06054b50u);
    CHECK(get(bytes, end + 10, 2) == 4);
}

TEST_CASE("npz reads archives laid out as numpy.savez writes them", "[io][npz]") {
    const auto arrays = sample_arrays();
    std::vector<ZipEntry> entries;
    for (const auto& [name, t] : arrays) entries.push_back({name + ".npy", npy_to_string(t)});
    for (bool placeholders : {false, true}) {
        const auto loaded = npz_from_string<float>(python_style_zip(entries, placeholders), "numpy.npz");
        check_same(arrays, loaded);
    }
    // numpy.savez of positional arrays names them arr_0, arr_1; entries without ".npy" keep their name.
    const auto positional = npz_from_string<float>(
        python_style_zip({{"arr_0.npy", npy_to_string(arrays[0].second)}, {"raw", npy_to_string(arrays[2].second)}}));
    CHECK(positional[0].first == "arr_0");
    CHECK(positional[1].first == "raw");
    // A trailing archive comment is allowed.
    std::string with_comment = npz_to_string(arrays);
    with_comment[with_comment.size() - 2] = 5;
    with_comment += "hello";
    check_same(arrays, npz_from_string<float>(with_comment));
}

TEST_CASE("npz rejects deflate (numpy.savez_compressed) naming the entry", "[io][npz][errors]") {
    std::string bytes = npz_to_string(sample_arrays());
    // Mark the second entry as deflated in both its local and its central header.
    const auto entries = zip_read(bytes);
    const std::size_t second_local = 30 + entries[0].name.size() + entries[0].data.size();
    REQUIRE(get(bytes, second_local, 4) == 0x04034b50u);
    bytes[second_local + 8] = 8;
    const std::size_t cd = get(bytes, bytes.size() - 22 + 16, 4);
    const std::size_t second_central = cd + 46 + entries[0].name.size();
    REQUIRE(get(bytes, second_central, 4) == 0x02014b50u);
    bytes[second_central + 10] = 8;
    CHECK_THROWS_AS(npz_from_string<float>(bytes, "c.npz"), FormatError);
    CHECK_THROWS_WITH(npz_from_string<float>(bytes, "c.npz"),
                      Catch::Contains("c.npz") && Catch::Contains("entry 'mask.npy'") &&
                          Catch::Contains("compressed with deflate (numpy.savez_compressed)"));
    bytes[second_central + 10] = 12;  // bzip2
    CHECK_THROWS_WITH(npz_from_string<float>(bytes, "c.npz"), Catch::Contains("compression method 12 is not supported"));
}

TEST_CASE("npz rejects corrupted archives: CRC, headers, entries", "[io][npz][errors]") {
    const auto arrays = sample_arrays();
    const std::string good = npz_to_string(arrays);

    // A flipped data byte of the first entry fails its CRC-32.
    std::string flipped = good;
    flipped[30 + 10 + 130] ^= 0x10;  // inside precip.npy's values
    CHECK_THROWS_WITH(npz_from_string<float>(flipped, "f.npz"),
                      Catch::Contains("entry 'precip.npy'") && Catch::Contains("CRC-32 mismatch"));

    // An entry that is not a .npy file is reported with the archive and entry names.
    const std::string not_npy = zip_store({{"bad.npy", "just text"}});
    CHECK_THROWS_WITH(npz_from_string<float>(not_npy, "x.npz"),
                      Catch::Contains("x.npz:bad.npy") && Catch::Contains("expected magic \\x93NUMPY at offset 0"));

    // Two entries that are the same array name once ".npy" is stripped.
    const std::string npy = npy_to_string(arrays[2].second);
    CHECK_THROWS_WITH(npz_from_string<float>(zip_store({{"a.npy", npy}, {"a", npy}})),
                      Catch::Contains("array name 'a' appears twice"));
    // Duplicate entry names in the directory itself.
    CHECK_THROWS_WITH(npz_from_string<float>(python_style_zip({{"a.npy", npy}, {"a.npy", npy}})),
                      Catch::Contains("the name appears twice"));

    // Not a ZIP at all.
    CHECK_THROWS_WITH(npz_from_string<float>(npy, "n.npz"),
                      Catch::Contains("n.npz") && Catch::Contains("expected an end-of-central-directory record"));
    CHECK_THROWS_WITH(npz_from_string<float>("PK", "s.npz"), Catch::Contains("expected at least 22 bytes"));

    // Local header that disagrees with the central directory.
    std::string renamed = good;
    renamed[30] = 'q';  // first local name "precip.npy" -> "qrecip.npy"
    CHECK_THROWS_WITH(npz_from_string<float>(renamed), Catch::Contains("the local header at offset 0 names 'qrecip.npy'"));
    std::string resized = good;
    resized[22] ^= 1;  // local uncompressed size
    CHECK_THROWS_WITH(npz_from_string<float>(resized), Catch::Contains("disagrees with the central directory"));

    // Central directory offset moved.
    std::string moved = good;
    moved[moved.size() - 22 + 16] ^= 4;
    CHECK_THROWS_WITH(npz_from_string<float>(moved), Catch::Contains("truncated or corrupted"));

    // Multi-disk and ZIP64 markers.
    std::string multi = good;
    multi[multi.size() - 22 + 4] = 1;
    CHECK_THROWS_WITH(npz_from_string<float>(multi), Catch::Contains("multi-disk archives are not supported"));
    std::string zip64 = good;
    for (int k = 0; k < 4; ++k) zip64[zip64.size() - 22 + 16 + k] = static_cast<char>(0xFF);
    CHECK_THROWS_WITH(npz_from_string<float>(zip64), Catch::Contains("ZIP64 is not supported"));
    std::string encrypted = good;
    const std::size_t cd = get(good, good.size() - 22 + 16, 4);
    encrypted[cd + 8] = 1;
    CHECK_THROWS_WITH(npz_from_string<float>(encrypted), Catch::Contains("encrypted entries are not supported"));
}

TEST_CASE("npz: every truncation and every single-byte corruption is caught or harmless", "[io][npz][errors]") {
    const NamedTensors<float> arrays = {{"a", Tensor<float>(Shape{2, 2}, {1, 2, 3, 4})},
                                        {"b", Tensor<float>(Shape{3}, {5, 6, 7})}};
    const std::string good = npz_to_string(arrays);
    for (std::size_t n = 0; n < good.size(); ++n) CHECK_THROWS_AS(npz_from_string<float>(good.substr(0, n)), FormatError);
    // Flipping any byte either throws FormatError or touches a field the reader ignores
    // (time stamps, versions, attributes), in which case the arrays come back unchanged.
    int caught = 0, harmless = 0;
    for (std::size_t k = 0; k < good.size(); ++k) {
        std::string bad = good;
        bad[k] ^= 0x41;
        try {
            check_same(arrays, npz_from_string<float>(bad));
            ++harmless;
        } catch (const FormatError&) {
            ++caught;
        }
    }
    CHECK(caught + harmless == static_cast<int>(good.size()));
    // Per entry: local version, flags, time, date (8 bytes); central versions, flag byte 2,
    // time, date, disk, attributes (17 bytes).
    CHECK(harmless <= 2 * (8 + 17));
}

TEST_CASE("npz writer and lookup errors", "[io][npz][errors]") {
    const Tensor<float> t(Shape{2}, {1, 2});
    CHECK_THROWS_AS(npz_to_string<float>({{"", t}}), ArgumentError);
    CHECK_THROWS_WITH(npz_to_string<float>({{"", t}}), Catch::Contains("expected non-empty array names"));
    CHECK_THROWS_WITH(npz_to_string<float>({{"x", t}, {"x", t}}),
                      Catch::Contains("save_npz") && Catch::Contains("entry name 'x.npy' appears twice"));
    CHECK_THROWS_WITH(zip_store({{"", "data"}}), Catch::Contains("expected a non-empty entry name"));
    CHECK_THROWS_WITH(zip_store({{std::string(70000, 'n'), "data"}}), Catch::Contains("longer than 65535"));
    const NamedTensors<float> arrays = {{"a", t}, {"b", t}};
    CHECK_THROWS_AS(npz_get(arrays, "c"), ArgumentError);
    CHECK_THROWS_WITH(npz_get(arrays, "c"), Catch::Contains("no array named 'c'; the archive holds 'a', 'b'"));
    ScratchDir dir("npz_errors");
    CHECK_THROWS_AS(load_npz<float>(dir.file("missing.npz")), IOError);
    CHECK_THROWS_AS(save_npz(dir.file("missing/dir/x.npz"), arrays), IOError);
    CHECK(dir.listing().empty());
}
