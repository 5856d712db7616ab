// libFuzzer harness: the .npy reader. Any input must either load or throw maunet::Error
// (FormatError naming the source and offset); never crash, leak or allocate more than the
// input can describe.
#include <cstdint>
#include <string>

#include "maunet/io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    try {
        const auto t = maunet::io::npy_from_string<float>(bytes, "fuzz.npy");
        (void)t.numel();
    } catch (const maunet::Error&) {
    }
    return 0;
}
