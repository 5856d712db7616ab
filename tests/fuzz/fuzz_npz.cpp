// libFuzzer harness: the .npz reader (ZIP container of .npy entries). Any input must either
// load or throw maunet::Error.
#include <cstdint>
#include <string>

#include "maunet/io/npz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    try {
        const auto arrays = maunet::io::npz_from_string<float>(bytes, "fuzz.npz");
        (void)arrays.size();
    } catch (const maunet::Error&) {
    }
    return 0;
}
