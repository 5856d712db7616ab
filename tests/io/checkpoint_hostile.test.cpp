// Crafted model files (valid CRC, hostile content) give a FormatError naming the file, never a
// crash or a huge allocation.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <limits>

#include "maunet/io/checkpoint.hpp"
#include "maunet/pipeline/precip_model.hpp"
#include "maunet/train/synthetic.hpp"
#include "support/checkpoint_bytes.hpp"
#include "support/scratch_dir.hpp"
#include "support/small_network.hpp"

using namespace maunet;
using maunet::testing::read_bytes;
using maunet::testing::replace_first;
using maunet::testing::with_checkpoint_header;
using maunet::testing::write_bytes;

namespace {

// The bytes of a small checkpoint, with a self-test when `selftest`.
std::string small_checkpoint(const maunet::testing::ScratchDir& dir, bool selftest) {
    Rng rng(3);
    nn::UNet<float> net(testing::small_network(), rng);
    const Tensor<float> x = Tensor<float>::uniform(Shape{1, 1, 8, 8}, rng);
    const std::string path = dir.file("source.mnet");
    io::save_checkpoint(path, net, io::Json::object(), selftest ? &x : nullptr);
    return read_bytes(path);
}

// Loads `bytes` written to a file; returns the FormatError message (fails the test otherwise).
std::string load_error(const maunet::testing::ScratchDir& dir, const std::string& bytes) {
    const std::string path = dir.file("hostile.mnet");
    write_bytes(path, bytes);
    try {
        (void)io::load_checkpoint<float>(path);
    } catch (const FormatError& e) {
        const std::string msg = e.what();
        CHECK(msg.find(path) != std::string::npos);  // every message names the file
        return msg;
    }
    FAIL("the hostile checkpoint loaded");
    return {};
}

}  // namespace

TEST_CASE("a self-test tensor whose extents multiply past 2^64 is refused", "[io][checkpoint][hostile]") {
    maunet::testing::ScratchDir dir("ck_extents");
    std::string b = small_checkpoint(dir, true);
    // extents (2^40, 1, 2^24, 1): the product wraps to 0 in 64 bits.
    const auto pos = b.find("selftest.input");
    REQUIRE(pos != std::string::npos);
    const std::size_t extents = pos + std::string("selftest.input").size() + 4;
    const std::uint64_t dims[4] = {std::uint64_t(1) << 40, 1, std::uint64_t(1) << 24, 1};
    std::memcpy(&b[extents], dims, sizeof dims);
    maunet::testing::fix_checkpoint_crc(b);
    CHECK_THAT(load_error(dir, b), Catch::Contains("tensor 'selftest.input': the product of its extents overflows"));
}

TEST_CASE("a self-test input of the wrong layout is refused naming the file", "[io][checkpoint][hostile]") {
    maunet::testing::ScratchDir dir("ck_selftest_shape");
    std::string b = small_checkpoint(dir, true);
    // [1, 1, 8, 8] -> [1, 8, 1, 8]: the same number of values, 8 channels for a 1-channel model.
    const auto pos = b.find("selftest.input");
    const std::size_t extents = pos + std::string("selftest.input").size() + 4;
    const std::uint64_t dims[4] = {1, 8, 1, 8};
    std::memcpy(&b[extents], dims, sizeof dims);
    maunet::testing::fix_checkpoint_crc(b);
    CHECK_THAT(load_error(dir, b), Catch::Contains("self-test input has shape [1, 8, 1, 8], expected [N, 1, H, W]"));
}

TEST_CASE("network sizes in the header are checked before the network is built", "[io][checkpoint][hostile]") {
    maunet::testing::ScratchDir dir("ck_sizes");
    const std::string b = small_checkpoint(dir, false);
    const std::string header = maunet::testing::checkpoint_header(b);
    REQUIRE(header.find("\"base_width\": 4") != std::string::npos);
    const auto with = [&](const std::string& from, const std::string& to) {
        return with_checkpoint_header(b, replace_first(header, from, to));
    };
    // Width 3000 once built a 2.2 GB network from a 4 KB file.
    CHECK_THAT(load_error(dir, with("\"base_width\": 4", "\"base_width\": 3000")),
               Catch::Contains("'base_width': expected an integer in [1, 1024], found 3000"));
    CHECK_THAT(load_error(dir, with("\"base_width\": 4", "\"base_width\": 1000")),
               Catch::Contains("the model described has at least 189000000 parameters"));
    CHECK_THAT(load_error(dir, with("\"base_width\": 4", "\"base_width\": 1e30")),
               Catch::Contains("'base_width': expected an integer in [1, 1024], found 1e+30"));
    CHECK_THAT(load_error(dir, with("\"base_width\": 4", "\"base_width\": 2.5")),
               Catch::Contains("'base_width': expected an integer in [1, 1024], found 2.5"));
    CHECK_THAT(load_error(dir, with("\"levels\": 2", "\"levels\": NaN")),
               Catch::Contains("at offset"));
    CHECK_THAT(load_error(dir, with("\"levels\": 2", "\"levels\": 9")),
               Catch::Contains("'levels': expected an integer in [1, 8], found 9"));
    CHECK_THAT(load_error(dir, with("\"levels\": 2", "\"levels\": -2147483648")),
               Catch::Contains("'levels': expected an integer in [1, 8], found -2147483648"));
    CHECK_THAT(load_error(dir, with("\"levels\": 2", "\"levels\": \"2\"")),
               Catch::Contains("'levels': expected an integer in [1, 8], found \"2\""));
    CHECK_THAT(load_error(dir, with("\"width_multiplier\": 1", "\"width_multiplier\": 1e300")),
               Catch::Contains("'width_multiplier': expected a number in"));
    CHECK_THAT(load_error(dir, with("\"in_channels\": 1", "\"in_channels\": 100000")),
               Catch::Contains("'in_channels': expected an integer in [1, 256], found 100000"));
    CHECK_THAT(load_error(dir, with("\"dropout_rate\": 0.2", "\"dropout_rate\": 1")),
               Catch::Contains("'dropout_rate': expected a number in [0, 1)"));
    // A hostile header: deep nesting and a bad escape name the file and the offset.
    CHECK_THAT(load_error(dir, with("\"extras\": {}", "\"extras\": " + std::string(100000, '['))),
               Catch::Contains("nested arrays and objects"));
    CHECK_THAT(load_error(dir, with("\"extras\": {}", "\"extras\": \"\\uZZZZ\"")),
               Catch::Contains("expected a hex digit in a \\u escape"));
}

TEST_CASE("a model whose weights are not all finite is refused, self-test or not", "[io][checkpoint][hostile]") {
    maunet::testing::ScratchDir dir("ck_nan");
    for (bool selftest : {false, true}) {
        Rng rng(4);
        nn::UNet<float> net(testing::small_network(), rng);
        net.named_parameters().back().second.mutable_value()[0] = std::numeric_limits<float>::quiet_NaN();
        const std::string path = dir.file("nan.mnet");
        const Tensor<float> x = Tensor<float>::uniform(Shape{1, 1, 8, 8}, rng);
        io::save_checkpoint(path, net, io::Json::object(), selftest ? &x : nullptr);
        INFO("selftest " << selftest);
        CHECK_THROWS_WITH(io::load_checkpoint<float>(path), Catch::Contains(path) && Catch::Contains("tensor 'head.bias' holds non-finite values"));
    }
}

TEST_CASE("a precipitation model's factor must be an integer in [1, 64]", "[io][checkpoint][hostile]") {
    maunet::testing::ScratchDir dir("ck_factor");
    train::SyntheticConfig sc;
    sc.height = sc.width = 8;
    sc.num_fields = 3;
    const auto data = train::generate_synthetic<float>(sc);
    Rng rng(5);
    nn::UNetConfig c = testing::small_network();
    pipeline::PrecipModel<float> model(c, rng, pipeline::Task::downscaling, 4);
    model.fit_transforms(train::bias_correction_dataset(data));
    const std::string good = dir.file("good.mnet");
    model.save(good);
    CHECK(pipeline::PrecipModel<float>::load(good).factor() == 4);
    const std::string b = read_bytes(good);
    const std::string header = maunet::testing::checkpoint_header(b);
    REQUIRE(header.find("\"factor\": 4") != std::string::npos);
    for (const char* factor : {"0", "-3", "1e6", "2.5", "1e300", "65", "\"4\"", "null"}) {
        INFO("factor " << factor);
        const std::string path = dir.file("bad.mnet");
        write_bytes(path, with_checkpoint_header(b, replace_first(header, "\"factor\": 4", std::string("\"factor\": ") + factor)));
        CHECK_THROWS_WITH(pipeline::PrecipModel<float>::load(path),
                          Catch::Contains(path) && Catch::Contains("'factor': expected an integer in [1, 64]"));
    }
    // NaN is not JSON: the header itself is refused.
    const std::string path = dir.file("nan.mnet");
    write_bytes(path, with_checkpoint_header(b, replace_first(header, "\"factor\": 4", "\"factor\": NaN")));
    CHECK_THROWS_WITH(pipeline::PrecipModel<float>::load(path), Catch::Contains(path) && Catch::Contains("expected a value"));
}
