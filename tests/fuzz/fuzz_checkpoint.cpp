// libFuzzer harness: the model-file (checkpoint) reader. The harness first rewrites the
// trailing CRC-32 to match the content, as an attacker crafting a file would, so the fuzzer
// reaches everything behind the checksum: header JSON, configuration limits, tensor records,
// the self-test. Any input must load or throw maunet::Error.
#include <cstdint>
#include <cstring>
#include <string>

#include "maunet/io/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string bytes(reinterpret_cast<const char*>(data), size);
    if (bytes.size() >= 12) {
        const std::uint32_t crc = maunet::io::crc32(bytes.data(), bytes.size() - 4);
        std::memcpy(&bytes[bytes.size() - 4], &crc, 4);
    }
    try {
        const auto loaded = maunet::io::load_checkpoint_from_bytes<float>(std::move(bytes), "fuzz.mnet");
        (void)loaded.model->num_parameters();
    } catch (const maunet::Error&) {
    }
    return 0;
}
