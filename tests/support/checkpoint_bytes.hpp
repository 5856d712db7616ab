// Test helpers that edit a checkpoint's bytes as an attacker would: change the header or a
// tensor, then recompute the CRC so that only the edited content is wrong (io/checkpoint.hpp
// describes the layout).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "maunet/io/checksum.hpp"

namespace maunet::testing {

// Recomputes the trailing CRC-32 of a checkpoint held in `bytes` (at least 4 bytes).
inline void fix_checkpoint_crc(std::string& bytes) {
    const std::uint32_t crc = io::crc32(bytes.data(), bytes.size() - 4);
    std::memcpy(&bytes[bytes.size() - 4], &crc, 4);
}

// The JSON header of a well-formed checkpoint.
inline std::string checkpoint_header(const std::string& bytes) {
    std::uint64_t len = 0;
    std::memcpy(&len, bytes.data() + 16, 8);
    return bytes.substr(24, static_cast<std::size_t>(len));
}

// The checkpoint with its header replaced by `header` (length field and CRC updated).
inline std::string with_checkpoint_header(const std::string& bytes, const std::string& header) {
    std::uint64_t old_len = 0;
    std::memcpy(&old_len, bytes.data() + 16, 8);
    std::string out = bytes.substr(0, 16);
    const std::uint64_t len = header.size();
    out.append(reinterpret_cast<const char*>(&len), 8);
    out += header;
    out += bytes.substr(24 + static_cast<std::size_t>(old_len));
    fix_checkpoint_crc(out);
    return out;
}

// `text` with the first occurrence of `from` replaced by `to` (unchanged if absent).
inline std::string replace_first(std::string text, const std::string& from, const std::string& to) {
    const auto pos = text.find(from);
    if (pos != std::string::npos) text.replace(pos, from.size(), to);
    return text;
}

}  // namespace maunet::testing
