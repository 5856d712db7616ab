// maunet/io/zip.hpp: a minimal ZIP container, "stored" (uncompressed) entries only.
//
// Enough for .npz files: numpy.savez writes stored entries; numpy.savez_compressed uses
// deflate, which this reader rejects with a message naming the entry (maunet has no zlib).
//
// Layout written (PKWARE APPNOTE 6.3, little-endian throughout):
//
//   for each entry:   local file header (30 bytes: signature 0x04034b50, version 2.0,
//                     flags, method 0, DOS time/date, CRC-32, sizes, name length, extra
//                     length 0), the name, the bytes
//   central directory: one 46-byte header (signature 0x02014b50) + name per entry
//   end record:       22 bytes (signature 0x06054b50): entry counts, directory size and
//                     offset, comment length 0
//
// Time stamps are fixed at 1980-01-01 00:00 so the same arrays give the same bytes.
// ZIP64 is not written; sizes and offsets that would need it (>= 4 GiB, >= 65535 entries)
// are refused with ArgumentError. The reader takes the central directory as the truth,
// checks each local header against it (numpy's writer puts ZIP64 extra fields with the real
// sizes in its local headers: those are understood), and checks the CRC-32 of every entry.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "maunet/core/errors.hpp"
#include "maunet/io/checksum.hpp"

namespace maunet::io {

struct ZipEntry {
    std::string name;
    std::string data;
};

namespace zip_detail {

inline constexpr std::uint32_t kLocalSignature = 0x04034b50u;
inline constexpr std::uint32_t kCentralSignature = 0x02014b50u;
inline constexpr std::uint32_t kEndSignature = 0x06054b50u;
inline constexpr std::uint32_t kZip64EndSignature = 0x06064b50u;
inline constexpr std::uint16_t kVersion = 20;     // 2.0: what Python's zipfile writes for stored entries
inline constexpr std::uint16_t kDosDate = 0x21;   // 1980-01-01
inline constexpr std::uint64_t kMax32 = 0xFFFFFFFFu;

inline void put16(std::string& out, std::uint32_t v) {
    out += static_cast<char>(v & 0xFFu);
    out += static_cast<char>((v >> 8) & 0xFFu);
}
inline void put32(std::string& out, std::uint32_t v) {
    put16(out, v & 0xFFFFu);
    put16(out, v >> 16);
}
inline std::uint32_t get(const std::string& b, std::size_t at, int n) {
    std::uint32_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<std::size_t>(i)]);
    return v;
}
inline std::uint64_t get64(const std::string& b, std::size_t at) {
    return (static_cast<std::uint64_t>(get(b, at + 4, 4)) << 32) | get(b, at, 4);
}
inline bool is_utf8_name(const std::string& name) {
    for (char c : name)
        if (static_cast<unsigned char>(c) >= 0x80) return true;
    return false;
}

}  // namespace zip_detail

// The bytes of a ZIP archive holding `entries` stored (uncompressed), in the given order.
// Throws ArgumentError for an empty or duplicate name, or sizes that would need ZIP64.
inline std::string zip_store(const std::vector<ZipEntry>& entries) {
    using namespace zip_detail;
    using maunet::detail::cat;
    require(entries.size() < 0xFFFFu, "zip_store: ", entries.size(), " entries need ZIP64, which is not supported");
    std::set<std::string> seen;
    std::string out, central;
    for (const auto& e : entries) {
        require(!e.name.empty(), "zip_store: expected a non-empty entry name, found an empty one");
        require(e.name.size() <= 0xFFFFu, "zip_store: entry name of ", e.name.size(), " bytes is longer than 65535");
        require(seen.insert(e.name).second, "zip_store: entry name '", e.name, "' appears twice");
        require(e.data.size() < kMax32, "zip_store: entry '", e.name, "' has ", e.data.size(),
                " bytes; entries of 4 GiB or more need ZIP64, which is not supported");
        require(out.size() < kMax32, "zip_store: the archive grows past 4 GiB before entry '", e.name,
                "'; ZIP64 is not supported");
        const auto offset = static_cast<std::uint32_t>(out.size());
        const std::uint32_t crc = crc32(e.data.data(), e.data.size());
        const auto size = static_cast<std::uint32_t>(e.data.size());
        const std::uint32_t flags = is_utf8_name(e.name) ? 0x0800u : 0u;  // bit 11: UTF-8 name

        put32(out, kLocalSignature);
        put16(out, kVersion);
        put16(out, flags);
        put16(out, 0);  // method: stored
        put16(out, 0);  // time 00:00:00
        put16(out, kDosDate);
        put32(out, crc);
        put32(out, size);  // compressed size
        put32(out, size);  // uncompressed size
        put16(out, static_cast<std::uint32_t>(e.name.size()));
        put16(out, 0);  // extra field length
        out += e.name;
        out += e.data;

        put32(central, kCentralSignature);
        put16(central, kVersion);  // version made by: 2.0, MS-DOS attributes
        put16(central, kVersion);  // version needed
        put16(central, flags);
        put16(central, 0);
        put16(central, 0);
        put16(central, kDosDate);
        put32(central, crc);
        put32(central, size);
        put32(central, size);
        put16(central, static_cast<std::uint32_t>(e.name.size()));
        put16(central, 0);  // extra length
        put16(central, 0);  // comment length
        put16(central, 0);  // disk number start
        put16(central, 0);  // internal attributes
        put32(central, 0);  // external attributes
        put32(central, offset);
        central += e.name;
    }
    require(out.size() + central.size() < kMax32, "zip_store: the archive would be ", out.size() + central.size(),
            " bytes; 4 GiB or more needs ZIP64, which is not supported");
    const auto central_offset = static_cast<std::uint32_t>(out.size());
    const auto central_size = static_cast<std::uint32_t>(central.size());
    out += central;
    put32(out, kEndSignature);
    put16(out, 0);  // this disk
    put16(out, 0);  // disk with the central directory
    put16(out, static_cast<std::uint32_t>(entries.size()));
    put16(out, static_cast<std::uint32_t>(entries.size()));
    put32(out, central_size);
    put32(out, central_offset);
    put16(out, 0);  // comment length
    return out;
}

// The entries of a ZIP archive held in `bytes`, in central-directory order; `source` names
// the archive in error messages. Throws FormatError for anything that is not a well-formed,
// single-disk, non-ZIP64 archive of stored entries with matching CRC-32s.
inline std::vector<ZipEntry> zip_read(const std::string& bytes, const std::string& source = "<memory>") {
    using namespace zip_detail;
    using maunet::detail::cat;
    auto fail = [&](const std::string& message) { throw FormatError(cat(source, ": ", message)); };

    // The end record is the last 22 bytes plus a comment of up to 65535 bytes: search back.
    if (bytes.size() < 22)
        fail(cat("not a ZIP archive: expected at least 22 bytes (the end-of-central-directory record), found ",
                 bytes.size()));
    std::size_t end_at = std::string::npos;
    const std::size_t lowest = bytes.size() >= 22 + 0xFFFF ? bytes.size() - 22 - 0xFFFF : 0;
    for (std::size_t at = bytes.size() - 22 + 1; at-- > lowest;) {
        if (get(bytes, at, 4) == kEndSignature && at + 22 + get(bytes, at + 20, 2) == bytes.size()) {
            end_at = at;
            break;
        }
    }
    if (end_at == std::string::npos)
        fail(cat("not a ZIP archive, or truncated: expected an end-of-central-directory record (PK\\x05\\x06) "
                 "in the last 65557 bytes, found none"));
    if (end_at >= 20 && get(bytes, end_at - 20, 4) == 0x07064b50u)
        fail(cat("ZIP64 archive (locator at offset ", end_at - 20, "): ZIP64 is not supported"));
    const std::uint32_t this_disk = get(bytes, end_at + 4, 2);
    const std::uint32_t cd_disk = get(bytes, end_at + 6, 2);
    const std::uint32_t count_here = get(bytes, end_at + 8, 2);
    const std::uint32_t count = get(bytes, end_at + 10, 2);
    const std::uint32_t cd_size = get(bytes, end_at + 12, 4);
    const std::uint32_t cd_offset = get(bytes, end_at + 16, 4);
    if (this_disk != 0 || cd_disk != 0 || count_here != count)
        fail(cat("multi-disk archives are not supported (end record at offset ", end_at, ")"));
    if (count == 0xFFFFu || cd_size == kMax32 || cd_offset == kMax32)
        fail(cat("ZIP64 archive (end record at offset ", end_at, "): ZIP64 is not supported"));
    if (static_cast<std::uint64_t>(cd_offset) + cd_size != end_at)
        fail(cat("expected the central directory (offset ", cd_offset, ", ", cd_size,
                 " bytes, from the end record) to end at offset ", end_at, " where the end record starts; the "
                 "archive is truncated or corrupted"));

    std::vector<ZipEntry> entries;
    std::set<std::string> seen;
    std::size_t at = cd_offset;
    for (std::uint32_t k = 0; k < count; ++k) {
        if (at + 46 > end_at)
            fail(cat("central directory header ", k, " at offset ", at, " runs past the directory end at offset ",
                     end_at));
        if (get(bytes, at, 4) != kCentralSignature)
            fail(cat("expected a central directory header (PK\\x01\\x02) at offset ", at, ", found 0x", std::hex,
                     get(bytes, at, 4)));
        const std::uint32_t flags = get(bytes, at + 8, 2);
        const std::uint32_t method = get(bytes, at + 10, 2);
        const std::uint32_t crc = get(bytes, at + 16, 4);
        const std::uint32_t packed = get(bytes, at + 20, 4);
        const std::uint32_t size = get(bytes, at + 24, 4);
        const std::size_t name_len = get(bytes, at + 28, 2);
        const std::size_t extra_len = get(bytes, at + 30, 2);
        const std::size_t comment_len = get(bytes, at + 32, 2);
        const std::uint32_t local_at = get(bytes, at + 42, 4);
        if (at + 46 + name_len + extra_len + comment_len > end_at)
            fail(cat("central directory header ", k, " at offset ", at, " runs past the directory end at offset ",
                     end_at));
        std::string name = bytes.substr(at + 46, name_len);
        const std::string where = cat("entry '", name, "' (central directory offset ", at, ")");
        if (name.empty()) fail(cat("expected a non-empty entry name at offset ", at + 46));
        if (!seen.insert(name).second) fail(cat(where, ": the name appears twice"));
        if (flags & 0x0001u) fail(cat(where, ": encrypted entries are not supported"));
        if (method == 8)
            fail(cat(where, " is compressed with deflate (numpy.savez_compressed); maunet reads only stored "
                            "archives (numpy.savez): re-save with numpy.savez, or unzip and re-zip with -0"));
        if (method != 0) fail(cat(where, ": compression method ", method, " is not supported; expected 0 (stored)"));
        if (packed == kMax32 || size == kMax32 || local_at == kMax32)
            fail(cat(where, ": ZIP64 sizes are not supported"));
        if (packed != size)
            fail(cat(where, ": a stored entry must have equal sizes, found ", packed, " compressed and ", size,
                     " uncompressed"));

        // The local header: same name; sizes and CRC either equal, or deferred (flag bit 3,
        // zeros), or placeholders 0xFFFFFFFF with a ZIP64 extra field holding the real sizes.
        if (static_cast<std::uint64_t>(local_at) + 30 > cd_offset)
            fail(cat(where, ": local header offset ", local_at, " lies past the central directory at offset ",
                     cd_offset));
        if (get(bytes, local_at, 4) != kLocalSignature)
            fail(cat(where, ": expected a local file header (PK\\x03\\x04) at offset ", local_at, ", found 0x",
                     std::hex, get(bytes, local_at, 4)));
        const std::uint32_t local_method = get(bytes, local_at + 8, 2);
        const std::uint32_t local_crc = get(bytes, local_at + 14, 4);
        const std::uint32_t local_packed = get(bytes, local_at + 18, 4);
        const std::uint32_t local_size = get(bytes, local_at + 22, 4);
        const std::size_t local_name_len = get(bytes, local_at + 26, 2);
        const std::size_t local_extra_len = get(bytes, local_at + 28, 2);
        const std::size_t data_at = local_at + 30 + local_name_len + local_extra_len;
        if (data_at > cd_offset)
            fail(cat(where, ": local header at offset ", local_at, " runs into the central directory"));
        if (bytes.compare(local_at + 30, local_name_len, name) != 0 || local_name_len != name_len)
            fail(cat(where, ": the local header at offset ", local_at, " names '",
                     bytes.substr(local_at + 30, local_name_len), "'"));
        if (local_method != method)
            fail(cat(where, ": the local header at offset ", local_at, " says method ", local_method));
        const bool deferred = (get(bytes, local_at + 6, 2) & 0x0008u) != 0;
        std::uint64_t local_size64 = local_size, local_packed64 = local_packed;
        if (local_size == kMax32 || local_packed == kMax32) {
            // Find the ZIP64 extended information (id 0x0001) in the local extra field.
            std::size_t x = local_at + 30 + local_name_len;
            const std::size_t x_end = x + local_extra_len;
            bool found = false;
            while (x + 4 <= x_end) {
                const std::uint32_t id = get(bytes, x, 2);
                const std::size_t len = get(bytes, x + 2, 2);
                if (x + 4 + len > x_end) break;
                if (id == 0x0001u && len >= 16) {
                    local_size64 = get64(bytes, x + 4);  // original size, then compressed size
                    local_packed64 = get64(bytes, x + 12);
                    found = true;
                    break;
                }
                x += 4 + len;
            }
            if (!found)
                fail(cat(where, ": the local header at offset ", local_at,
                         " has ZIP64 placeholder sizes but no ZIP64 extra field"));
        }
        if (!(deferred && local_size64 == 0 && local_packed64 == 0 && local_crc == 0) &&
            (local_size64 != size || local_packed64 != packed || local_crc != crc))
            fail(cat(where, ": the local header at offset ", local_at, " disagrees with the central directory (size ",
                     local_size64, " vs ", size, ", CRC-32 0x", std::hex, local_crc, " vs 0x", crc, ")"));
        if (static_cast<std::uint64_t>(data_at) + size > cd_offset)
            fail(cat(where, ": expected ", size, " bytes of data at offset ", data_at, ", found ",
                     cd_offset - data_at, " before the central directory; the archive is truncated or corrupted"));
        std::string data = bytes.substr(data_at, size);
        const std::uint32_t actual = crc32(data.data(), data.size());
        if (actual != crc)
            fail(cat(where, ": CRC-32 mismatch for the data at offset ", data_at, ": expected 0x", std::hex, crc,
                     ", found 0x", actual, "; the archive is corrupted"));
        entries.push_back({std::move(name), std::move(data)});
        at += 46 + name_len + extra_len + comment_len;
    }
    if (at != end_at)
        fail(cat("expected the central directory of ", count, " entries to end at offset ", end_at, ", it ends at ",
                 at));
    return entries;
}

}  // namespace maunet::io
