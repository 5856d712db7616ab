#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "maunet/io/checkpoint.hpp"
#include "maunet/io/weights_npz.hpp"
#include "support/gradcheck.hpp"
#include "support/small_network.hpp"

using namespace maunet;
using nn::UNet;
using nn::UNetConfig;

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}
void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
}

struct TempFile {
    std::string path;
    explicit TempFile(std::string p) : path(std::move(p)) {}
    ~TempFile() { std::remove(path.c_str()); }
};

}  // namespace

TEST_CASE("a checkpoint round trip is bit-exact, modes and buffers included", "[io][checkpoint]") {
    for (UNetConfig c : {testing::small_network(), testing::small_network(UNetConfig::maunet_light()), testing::small_network(UNetConfig::unet())}) {
        c.pool_mode = PoolMode::learned;  // a parameter in the MAU too
        c.batch_norm = true;              // buffers too
        Rng rng(1);
        UNet<float> net(c, rng);
        // Make the buffers non-trivial with a training forward pass.
        net.train();
        (void)net.forward(Var<float>(Tensor<float>::uniform(Shape{2, 1, 8, 8}, rng)), &rng);
        net.eval();
        const Tensor<float> x = Tensor<float>::uniform(Shape{1, 1, 12, 9}, rng);
        TempFile f("checkpoint_roundtrip_test.ckpt");
        io::Json extras = io::Json::object();
        extras.set("note", "hello");
        io::save_checkpoint(f.path, net, extras, &x);
        const auto loaded = io::load_checkpoint<float>(f.path);
        CHECK(loaded.extras().at("note").as_string() == "hello");
        CHECK(loaded.model->config().architecture == c.architecture);
        CHECK(loaded.model->config().pool_mode == PoolMode::learned);
        const auto a = net.named_parameters();
        const auto b = loaded.model->named_parameters();
        REQUIRE(a.size() == b.size());
        for (std::size_t i = 0; i < a.size(); ++i) {
            CHECK(a[i].first == b[i].first);
            CHECK(maunet::testing::max_abs_diff(a[i].second.value(), b[i].second.value()) == 0.0);
        }
        const auto ba = net.named_buffers();
        const auto bb = loaded.model->named_buffers();
        REQUIRE(ba.size() == bb.size());
        REQUIRE_FALSE(ba.empty());
        for (std::size_t i = 0; i < ba.size(); ++i) CHECK(maunet::testing::max_abs_diff(*ba[i].second, *bb[i].second) == 0.0);
        CHECK(maunet::testing::max_abs_diff(net.predict(x), loaded.model->predict(x)) == 0.0);
    }
}

TEST_CASE("a double checkpoint loads into a float model", "[io][checkpoint]") {
    Rng rng(2);
    UNet<double> net(testing::small_network(), rng);
    TempFile f("checkpoint_double_test.ckpt");
    const Tensor<double> x = Tensor<double>::uniform(Shape{1, 1, 8, 8}, rng);
    io::save_checkpoint(f.path, net, io::Json::object(), &x);  // self-test checked in float on load
    const auto loaded = io::load_checkpoint<float>(f.path);
    const auto p = net.named_parameters().front().second.value();
    CHECK(loaded.model->named_parameters().front().second.value()[0] == static_cast<float>(p[0]));
}

TEST_CASE("truncated, corrupted, foreign and mismatched checkpoints are rejected", "[io][checkpoint][errors]") {
    Rng rng(3);
    UNet<float> net(testing::small_network(), rng);
    TempFile good("checkpoint_good_test.ckpt"), bad("checkpoint_bad_test.ckpt");
    const Tensor<float> x = Tensor<float>::uniform(Shape{1, 1, 8, 8}, rng);
    io::save_checkpoint(good.path, net, io::Json::object(), &x);
    const std::string bytes = read_file(good.path);

    SECTION("every truncation is caught") {
        for (std::size_t n : {std::size_t(0), std::size_t(5), std::size_t(12), std::size_t(30), bytes.size() / 2, bytes.size() - 1}) {
            write_file(bad.path, bytes.substr(0, n));
            INFO("truncated to " << n << " bytes");
            CHECK_THROWS_AS(io::load_checkpoint<float>(bad.path), FormatError);
        }
        write_file(bad.path, bytes.substr(0, bytes.size() - 1));
        CHECK_THROWS_WITH(io::load_checkpoint<float>(bad.path), Catch::Contains(bad.path));
    }
    SECTION("a flipped byte anywhere fails the checksum") {
        for (std::size_t at : {std::size_t(20), std::size_t(100), bytes.size() / 2, bytes.size() - 10}) {
            std::string b = bytes;
            b[at] = static_cast<char>(b[at] ^ 0x10);
            write_file(bad.path, b);
            INFO("flipped byte " << at);
            CHECK_THROWS_AS(io::load_checkpoint<float>(bad.path), FormatError);
        }
        std::string b = bytes;
        b[bytes.size() / 2] = static_cast<char>(b[bytes.size() / 2] ^ 1);
        write_file(bad.path, b);
        CHECK_THROWS_WITH(io::load_checkpoint<float>(bad.path), Catch::Contains("checksum mismatch"));
    }
    SECTION("not a checkpoint") {
        write_file(bad.path, "CDF\x01 this is a netCDF file, or pretends to be");
        CHECK_THROWS_WITH(io::load_checkpoint<float>(bad.path), Catch::Contains("at offset 8: expected the magic 'MAUNETCK'"));
        CHECK_THROWS_AS(io::load_checkpoint<float>("no_such_checkpoint.ckpt"), IOError);
    }
    SECTION("another format version") {
        std::string b = bytes;
        b[8] = 2;  // version field; the checksum is then recomputed so only the version is wrong
        const std::uint32_t crc = io::crc32(b.data(), b.size() - 4);
        std::memcpy(&b[b.size() - 4], &crc, 4);
        write_file(bad.path, b);
        CHECK_THROWS_WITH(io::load_checkpoint<float>(bad.path), Catch::Contains("expected format version 1, found 2"));
    }
    SECTION("tensors that do not fit the architecture in the header") {
        // Rewrite the header to claim width 5 while the tensors are for width 4.
        std::string b = bytes;
        const std::string from = "\"base_width\": 4", to = "\"base_width\": 5";
        const auto pos = b.find(from);
        REQUIRE(pos != std::string::npos);
        b.replace(pos, from.size(), to);
        const std::uint32_t crc = io::crc32(b.data(), b.size() - 4);
        std::memcpy(&b[b.size() - 4], &crc, 4);
        write_file(bad.path, b);
        CHECK_THROWS_WITH(io::load_checkpoint<float>(bad.path),
                          Catch::Contains("tensor 'encoder.0.conv1.weight' has shape [4, 1, 3, 3], the model expects [5, 1, 3, 3]"));
    }
    SECTION("a self-test that no longer matches") {
        // Change one weight value and fix the checksum: the file loads but computes something else.
        std::string b = bytes;
        const auto pos = b.find("head.bias");
        REQUIRE(pos != std::string::npos);
        const std::size_t value_at = pos + std::string("head.bias").size() + 4 + 8;  // rank, 1 extent
        float v;
        std::memcpy(&v, &b[value_at], 4);
        v += 0.5f;
        std::memcpy(&b[value_at], &v, 4);
        const std::uint32_t crc = io::crc32(b.data(), b.size() - 4);
        std::memcpy(&b[b.size() - 4], &crc, 4);
        write_file(bad.path, b);
        CHECK_THROWS_WITH(io::load_checkpoint<float>(bad.path), Catch::Contains("self-test failed"));
    }
}

TEST_CASE("a failed save leaves the previous checkpoint intact", "[io][checkpoint]") {
    Rng rng(4);
    UNet<float> net(testing::small_network(), rng);
    TempFile f("checkpoint_atomic_test.ckpt");
    io::save_checkpoint(f.path, net);
    const std::string before = read_file(f.path);
    // A failing save (the self-test input has the wrong channel count) leaves the old file intact.
    const Tensor<float> wrong(Shape{1, 3, 8, 8});
    CHECK_THROWS_AS(io::save_checkpoint(f.path, net, io::Json::object(), &wrong), ShapeError);
    CHECK(read_file(f.path) == before);
}

TEST_CASE("weights round-trip through .npz by parameter name", "[io][npz][checkpoint]") {
    Rng rng(5);
    UNetConfig c = testing::small_network();
    c.batch_norm = true;
    UNet<float> a(c, rng), b(c, rng);
    TempFile f("weights_roundtrip_test.npz");
    io::export_weights_npz(f.path, a);
    const auto arrays = io::load_npz<float>(f.path);
    CHECK(arrays.front().first == "encoder.0.conv1.weight");
    io::import_weights_npz(f.path, b);
    const Tensor<float> x = Tensor<float>::uniform(Shape{1, 1, 8, 8}, rng);
    CHECK(maunet::testing::max_abs_diff(a.predict(x), b.predict(x)) == 0.0);

    UNet<float> other(testing::small_network(UNetConfig::maunet_light()), rng);
    CHECK_THROWS_WITH(io::import_weights_npz(f.path, other), Catch::Contains("has shape") && Catch::Contains("the module expects"));
}

TEST_CASE("a checkpoint keeps the caller's attached tensors by name, bit for bit", "[io][checkpoint]") {
    Rng rng(5);
    UNet<float> model(testing::small_network(), rng);
    Tensor<float> a(Shape{3, 4}), b(Shape{2});
    for (Index k = 0; k < a.numel(); ++k) a[k] = 0.1f * static_cast<float>(k) - 0.3f;
    b[0] = -1.5f, b[1] = 1e30f;
    TempFile file("checkpoint_attached.ckpt");
    io::save_checkpoint(file.path, model, io::Json::object(), nullptr, {{"static.elevation", a}, {"other", b}});
    const auto loaded = io::load_checkpoint<float>(file.path);
    REQUIRE(loaded.attached.size() == 2);
    CHECK(loaded.attached[0].first == "static.elevation");
    CHECK(loaded.attached[1].first == "other");
    REQUIRE(loaded.attached[0].second.shape() == a.shape());
    CHECK(std::memcmp(loaded.attached[0].second.data(), a.data(), sizeof(float) * 12) == 0);
    CHECK(std::memcmp(loaded.attached[1].second.data(), b.data(), sizeof(float) * 2) == 0);
    // A file without attached tensors gives none.
    io::save_checkpoint(file.path, model);
    CHECK(io::load_checkpoint<float>(file.path).attached.empty());
    // Names are unique and not empty.
    CHECK_THROWS_WITH(io::save_checkpoint(file.path, model, io::Json::object(), nullptr, {{"x", a}, {"x", b}}),
                      Catch::Contains("two attached tensors are named 'x'"));
    CHECK_THROWS_WITH(io::save_checkpoint(file.path, model, io::Json::object(), nullptr, {{"", a}}),
                      Catch::Contains("must have 1 to 256 characters"));
}

TEST_CASE("a checkpoint whose header names attached tensors it does not hold is refused", "[io][checkpoint]") {
    Rng rng(6);
    UNet<float> model(testing::small_network(), rng);
    Tensor<float> a(Shape{2, 2});
    a.fill(1.0f);
    TempFile file("checkpoint_attached_bad.ckpt");
    io::save_checkpoint(file.path, model, io::Json::object(), nullptr, {{"elevation", a}});
    std::string bytes = read_file(file.path);
    // Rename the stored tensor (same length, so only the checksum is wrong: recompute it).
    const auto at = bytes.rfind("attached.elevation");
    REQUIRE(at != std::string::npos);
    bytes.replace(at, 18, "attached.elevatioN");
    const std::uint32_t crc = io::crc32(bytes.data(), bytes.size() - 4);
    std::memcpy(&bytes[bytes.size() - 4], &crc, 4);
    write_file(file.path, bytes);
    CHECK_THROWS_WITH(io::load_checkpoint<float>(file.path),
                      Catch::Contains("expected tensor 'attached.elevation', found 'attached.elevatioN'"));
}
