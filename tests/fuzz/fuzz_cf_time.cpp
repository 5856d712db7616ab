// libFuzzer harness: CF time parsing. Input: the units string, a newline, the calendar name,
// a newline, then up to 8 bytes of a double time value. Parsing must succeed or throw
// maunet::Error; a decoded time must encode back to a finite value.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "maunet/io/cf_time.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const auto first = text.find('\n');
    const std::string units = text.substr(0, first);
    std::string calendar, rest;
    if (first != std::string::npos) {
        const auto second = text.find('\n', first + 1);
        calendar = text.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
        if (second != std::string::npos) rest = text.substr(second + 1);
    }
    double value = 0;
    std::memcpy(&value, rest.data(), std::min<std::size_t>(rest.size(), sizeof value));
    try {
        const maunet::io::TimeUnits u = maunet::io::parse_time_units(units);
        const maunet::io::Calendar c = maunet::io::parse_calendar(calendar);
        (void)maunet::io::format_time_units(u);
        const maunet::io::CivilTime t = maunet::io::decode_time(value, u, c);
        (void)maunet::io::to_string(t);
        (void)maunet::io::day_of_year(t, c);
        const double back = maunet::io::encode_time(t, u, c);
        if (!std::isfinite(back)) std::abort();
    } catch (const maunet::Error&) {
    }
    return 0;
}
