// libFuzzer harness: the JSON parser (model-file headers). Any input must either parse or
// throw maunet::FormatError; what parses must serialise and parse back to the same text.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "maunet/io/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    maunet::io::Json value;
    try {
        value = maunet::io::Json::parse(text, "fuzz");
    } catch (const maunet::FormatError&) {
        return 0;
    }
    const std::string once = value.dump();
    const std::string twice = maunet::io::Json::parse(once, "fuzz round trip").dump();
    if (once != twice) std::abort();  // the writer and the parser disagree
    return 0;
}
