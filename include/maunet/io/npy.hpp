// maunet/io/npy.hpp: NumPy .npy files (format versions 1.0, 2.0 and 3.0) for Tensor<T>.
//
// The format (numpy.lib.format):
//
//   offset 0   6 bytes   magic "\x93NUMPY"
//   offset 6   1 byte    major version (1, 2 or 3)
//   offset 7   1 byte    minor version (0)
//   offset 8   2 bytes   header length L, little-endian (version 1.0), or
//              4 bytes   header length L, little-endian (versions 2.0 and 3.0)
//   then       L bytes   a Python dict literal, padded with spaces and ended by '\n' so that the
//                        data start on a multiple of 64 bytes:
//                        {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
//   then                 the values, row-major (C order) unless fortran_order is True
//
// Writing: '<f4' for Tensor<float>, '<f8' for Tensor<double>, C order, version 1.0 (2.0 only if
// the header does not fit in 65535 bytes), the header padded as numpy < 1.24 pads it (newer
// numpy adds up to 21 spaces of growth room, which can move the data start by 64 bytes; both
// read the other's files).
//
// Reading: descr '<f4' '<f8' '<i1' '<i2' '<i4' '<i8' '<u1' '<u2' '<u4' '<u8' '|b1' (and '|' or
// '=' for one-byte types), converted to T (64-bit integers beyond 2^53 lose precision, as
// they would in numpy's astype). Big-endian ('>f4') and structured dtypes are rejected.
// fortran_order True is accepted: the values are transposed into maunet's row-major order,
// so load_npy returns the same logical array numpy shows. The header is parsed strictly;
// any deviation throws FormatError naming the file, the byte offset, and what was expected
// versus found. Trailing bytes after the data are an error too (numpy never writes them).
//
// In-memory variants (npy_to_string / npy_from_string) serve the .npz archive reader.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "maunet/core/errors.hpp"
#include "maunet/core/shape.hpp"
#include "maunet/core/tensor.hpp"
#include "maunet/io/atomic_file.hpp"

namespace maunet::io {

namespace npy_detail {

inline constexpr char kMagic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};
inline constexpr std::size_t kAlign = 64;

// Printable rendering of a few bytes for error messages: "PK\x03\x04".
inline std::string printable(const std::string& bytes, std::size_t offset, std::size_t count) {
    std::string out;
    const std::size_t end = std::min(bytes.size(), offset + count);
    for (std::size_t i = offset; i < end; ++i) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        if (c >= 32 && c < 127 && c != '\\') {
            out += static_cast<char>(c);
        } else {
            char buf[5];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    if (offset >= bytes.size()) return "end of data";
    return "\"" + out + "\"";
}

inline std::uint64_t read_le(const char* p, int n) {
    std::uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}

inline void append_le(std::string& out, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFFu);
}

// The element types a .npy file may hold, as far as maunet reads them.
enum class Kind { Float, Signed, Unsigned, Bool };

struct Descr {
    Kind kind;
    int bytes;
};

// Strict parser of the header dict; every failure names source, offset, expected and found.
class HeaderParser {
public:
    HeaderParser(const std::string& source, const std::string& bytes, std::size_t begin, std::size_t end)
        : source_(source), bytes_(bytes), pos_(begin), end_(end) {}

    [[noreturn]] void fail(const std::string& expected) const {
        throw FormatError(maunet::detail::cat(source_, ": .npy header: expected ", expected, " at offset ", pos_,
                                              ", found ", found()));
    }
    [[noreturn]] void fail_at(std::size_t offset, const std::string& message) const {
        throw FormatError(maunet::detail::cat(source_, ": .npy header at offset ", offset, ": ", message));
    }

    void skip_spaces() {
        while (pos_ < end_ && (bytes_[pos_] == ' ' || bytes_[pos_] == '\t')) ++pos_;
    }
    bool peek(char c) {
        skip_spaces();
        return pos_ < end_ && bytes_[pos_] == c;
    }
    void expect(char c, const char* what) {
        if (!peek(c)) fail(what);
        ++pos_;
    }
    // A Python string literal in single or double quotes (no escapes: numpy never writes any).
    std::string string_literal(const char* what) {
        skip_spaces();
        if (pos_ >= end_ || (bytes_[pos_] != '\'' && bytes_[pos_] != '"')) fail(what);
        const char quote = bytes_[pos_];
        const std::size_t start = ++pos_;
        while (pos_ < end_ && bytes_[pos_] != quote) {
            if (bytes_[pos_] == '\\' || bytes_[pos_] == '\n') fail(maunet::detail::cat("the closing quote of ", what));
            ++pos_;
        }
        if (pos_ >= end_) fail(maunet::detail::cat("the closing quote of ", what));
        return bytes_.substr(start, pos_++ - start);
    }
    bool boolean_literal() {
        skip_spaces();
        if (bytes_.compare(pos_, 4, "True") == 0 && pos_ + 4 <= end_) {
            pos_ += 4;
            return true;
        }
        if (bytes_.compare(pos_, 5, "False") == 0 && pos_ + 5 <= end_) {
            pos_ += 5;
            return false;
        }
        fail("True or False for 'fortran_order'");
    }
    // "(2, 3)", "(5,)", "()"; Python 2 long suffixes "(2L, 3L)" are accepted.
    std::vector<Index> shape_tuple() {
        expect('(', "'(' opening the 'shape' tuple");
        std::vector<Index> dims;
        if (peek(')')) {
            ++pos_;
            return dims;
        }
        while (true) {
            skip_spaces();
            const std::size_t start = pos_;
            std::uint64_t v = 0;
            while (pos_ < end_ && bytes_[pos_] >= '0' && bytes_[pos_] <= '9') {
                v = v * 10 + static_cast<std::uint64_t>(bytes_[pos_] - '0');
                if (v > (std::uint64_t(1) << 48)) fail_at(start, "shape extent is implausibly large");
                ++pos_;
            }
            if (pos_ == start) fail("a non-negative integer in the 'shape' tuple");
            if (pos_ < end_ && bytes_[pos_] == 'L') ++pos_;
            dims.push_back(static_cast<Index>(v));
            if (dims.size() > 32) fail_at(start, "shape has more than 32 axes");
            if (peek(')')) {
                if (dims.size() == 1) fail("',' after the only extent of a 1-tuple, as in (5,)");
                ++pos_;
                return dims;
            }
            expect(',', "',' or ')' in the 'shape' tuple");
            if (peek(')')) {
                ++pos_;
                return dims;
            }
        }
    }
    std::size_t offset() const { return pos_; }
    std::size_t end() const { return end_; }

private:
    std::string found() const {
        if (pos_ >= end_) return "the end of the header";
        return printable(bytes_, pos_, std::min<std::size_t>(12, end_ - pos_));
    }

    const std::string& source_;
    const std::string& bytes_;
    std::size_t pos_;
    std::size_t end_;
};

inline Descr parse_descr(const std::string& descr, const HeaderParser& parser, std::size_t offset) {
    auto reject = [&](const std::string& why) {
        parser.fail_at(offset, maunet::detail::cat("descr '", descr, "' ", why));
    };
    if (descr.size() < 3) reject("is not a simple dtype such as '<f4'");
    const char order = descr[0];
    const char kind_char = descr[1];
    int bytes = 0;
    for (std::size_t i = 2; i < descr.size(); ++i) {
        if (descr[i] < '0' || descr[i] > '9' || bytes > 100) reject("is not a simple dtype such as '<f4'");
        bytes = bytes * 10 + (descr[i] - '0');
    }
    Kind kind{};
    switch (kind_char) {
        case 'f': kind = Kind::Float; break;
        case 'i': kind = Kind::Signed; break;
        case 'u': kind = Kind::Unsigned; break;
        case 'b': kind = Kind::Bool; break;
        default:
            reject("is not supported: expected a float ('f'), integer ('i', 'u') or bool ('b') dtype");
    }
    const bool ok_size = (kind == Kind::Float && (bytes == 4 || bytes == 8)) ||
                         ((kind == Kind::Signed || kind == Kind::Unsigned) &&
                          (bytes == 1 || bytes == 2 || bytes == 4 || bytes == 8)) ||
                         (kind == Kind::Bool && bytes == 1);
    if (!ok_size) reject("is not supported: expected f4, f8, i1/i2/i4/i8, u1/u2/u4/u8 or b1");
    if (bytes > 1) {
        if (order == '>') reject("(big-endian) is not supported: save with '<' (little-endian) byte order");
        if (order != '<' && order != '=')
            reject("has no byte order: expected '<' (little-endian) as its first character");
    } else if (order != '|' && order != '<' && order != '>' && order != '=') {
        reject("has an invalid byte-order character: expected '|', '<', '>' or '='");
    }
    return {kind, bytes};
}

// One stored value at p, converted to double-free T where possible.
template <class T>
T decode_value(const char* p, const Descr& d) {
    const std::uint64_t raw = read_le(p, d.bytes);
    switch (d.kind) {
        case Kind::Float:
            if (d.bytes == 4) {
                const auto bits = static_cast<std::uint32_t>(raw);
                float f;
                std::memcpy(&f, &bits, 4);
                return static_cast<T>(f);
            } else {
                double f;
                std::memcpy(&f, &raw, 8);
                return static_cast<T>(f);
            }
        case Kind::Signed: {
            // Sign-extend from d.bytes * 8 bits.
            const int shift = 64 - 8 * d.bytes;
            const auto v = static_cast<std::int64_t>(raw << shift) >> shift;
            return static_cast<T>(v);
        }
        case Kind::Unsigned: return static_cast<T>(raw);
        case Kind::Bool: return raw != 0 ? T(1) : T(0);
    }
    return T(0);
}

// Python repr of a shape tuple: "()", "(5,)", "(2, 3)".
inline std::string shape_repr(const Shape& shape) {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.rank(); ++i) {
        if (i) s += ", ";
        s += std::to_string(shape[i]);
    }
    if (shape.rank() == 1) s += ",";
    return s + ")";
}

inline std::string read_file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw IOError(maunet::detail::cat("cannot open '", path, "' for reading: ", std::strerror(errno)));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw IOError(maunet::detail::cat("reading '", path, "' failed"));
    return ss.str();
}

inline void write_file_bytes(const std::string& path, const std::string& bytes) {
    write_stream_atomically(path, [&](std::ostream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
}

}  // namespace npy_detail

// The header numpy writes for an array of this dtype and shape (magic, version, length,
// dict, padding to 64 bytes and '\n'), in C order. descr is "<f4" or "<f8".
inline std::string npy_header(const std::string& descr, const Shape& shape) {
    const std::string dict =
        "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + npy_detail::shape_repr(shape) + ", }";
    for (int major = 1; major <= 2; ++major) {
        const std::size_t prefix = 6 + 2 + (major == 1 ? 2 : 4);
        const std::size_t unpadded = prefix + dict.size() + 1;  // + '\n'
        const std::size_t pad = (npy_detail::kAlign - unpadded % npy_detail::kAlign) % npy_detail::kAlign;
        const std::size_t header_len = dict.size() + pad + 1;
        if (major == 1 && header_len > 0xFFFF) continue;
        std::string out(npy_detail::kMagic, 6);
        out += static_cast<char>(major);
        out += '\0';
        npy_detail::append_le(out, header_len, major == 1 ? 2 : 4);
        out += dict;
        out.append(pad, ' ');
        out += '\n';
        return out;
    }
    throw ArgumentError("npy_header: a shape of this rank does not fit a .npy header");
}

// The complete .npy file for `t` as a byte string.
template <class T>
std::string npy_to_string(const Tensor<T>& t) {
    static_assert(sizeof(float) == 4 && sizeof(double) == 8, "npy: IEEE float32/float64 expected");
    std::string out = npy_header(sizeof(T) == 4 ? "<f4" : "<f8", t.shape());
    const std::size_t header_size = out.size();
    out.resize(header_size + sizeof(T) * static_cast<std::size_t>(t.numel()));
    char* dst = out.data() + header_size;
    for (Index i = 0; i < t.numel(); ++i, dst += sizeof(T)) {
        std::uint64_t bits = 0;
        if constexpr (sizeof(T) == 4) {
            std::uint32_t b;
            std::memcpy(&b, &t[i], 4);
            bits = b;
        } else {
            std::memcpy(&bits, &t[i], 8);
        }
        for (std::size_t k = 0; k < sizeof(T); ++k) dst[k] = static_cast<char>((bits >> (8 * k)) & 0xFFu);
    }
    return out;
}

// Parses a complete .npy byte string; `source` names it in error messages (a path, or
// "archive.npz:entry.npy").
template <class T>
Tensor<T> npy_from_string(const std::string& bytes, const std::string& source = "<memory>") {
    using npy_detail::printable;
    using maunet::detail::cat;
    auto fail = [&](const std::string& message) { throw FormatError(cat(source, ": ", message)); };
    if (bytes.size() < 6 || bytes.compare(0, 6, npy_detail::kMagic, 6) != 0)
        fail(cat("not a .npy file: expected magic \\x93NUMPY at offset 0, found ", printable(bytes, 0, 6)));
    if (bytes.size() < 8) fail(cat("file is truncated: expected 2 version bytes at offset 6, found end of data"));
    const int major = static_cast<unsigned char>(bytes[6]);
    const int minor = static_cast<unsigned char>(bytes[7]);
    if ((major != 1 && major != 2 && major != 3) || minor != 0)
        fail(cat("expected format version 1.0, 2.0 or 3.0 at offset 6, found ", major, ".", minor));
    const int len_bytes = major == 1 ? 2 : 4;
    const std::size_t prefix = 8 + static_cast<std::size_t>(len_bytes);
    if (bytes.size() < prefix)
        fail(cat("file is truncated: expected a ", len_bytes, "-byte header length at offset 8, found ",
                 bytes.size() - 8, " bytes"));
    const std::uint64_t header_len = npy_detail::read_le(bytes.data() + 8, len_bytes);
    if (header_len > bytes.size() - prefix)
        fail(cat("file is truncated: header length at offset 8 says ", header_len, " bytes, ",
                 bytes.size() - prefix, " found"));
    const std::size_t data_begin = prefix + static_cast<std::size_t>(header_len);
    if (header_len == 0 || bytes[data_begin - 1] != '\n')
        fail(cat("expected the header to end with '\\n' at offset ", data_begin - 1, ", found ",
                 header_len == 0 ? std::string("an empty header") : printable(bytes, data_begin - 1, 1)));

    npy_detail::HeaderParser p(source, bytes, prefix, data_begin - 1);
    bool have_descr = false, have_order = false, have_shape = false;
    npy_detail::Descr descr{};
    bool fortran_order = false;
    std::vector<Index> dims;
    p.expect('{', "'{' opening the header dict");
    while (!p.peek('}')) {
        const std::size_t key_offset = p.offset();
        const std::string key = p.string_literal("a quoted key ('descr', 'fortran_order' or 'shape')");
        p.expect(':', "':' after a key");
        if (key == "descr") {
            if (have_descr) p.fail_at(key_offset, "key 'descr' appears twice");
            p.skip_spaces();
            const std::size_t value_offset = p.offset();
            if (p.peek('[')) p.fail_at(value_offset, "structured dtypes (a list as 'descr') are not supported");
            descr = npy_detail::parse_descr(p.string_literal("a quoted dtype string such as '<f4' for 'descr'"), p,
                                            value_offset);
            have_descr = true;
        } else if (key == "fortran_order") {
            if (have_order) p.fail_at(key_offset, "key 'fortran_order' appears twice");
            fortran_order = p.boolean_literal();
            have_order = true;
        } else if (key == "shape") {
            if (have_shape) p.fail_at(key_offset, "key 'shape' appears twice");
            dims = p.shape_tuple();
            have_shape = true;
        } else {
            p.fail_at(key_offset, maunet::detail::cat("unexpected key '", key,
                                                      "': expected 'descr', 'fortran_order' or 'shape'"));
        }
        if (p.peek('}')) break;
        p.expect(',', "',' or '}' after a value");
    }
    p.expect('}', "'}' closing the header dict");
    p.skip_spaces();
    if (p.offset() != p.end()) p.fail("only spaces between '}' and the final '\\n'");
    if (!have_descr || !have_order || !have_shape)
        fail(cat("the header dict at offset ", prefix, " misses key '",
                 !have_descr ? "descr" : !have_order ? "fortran_order" : "shape", "'"));

    // Size check without overflow, before anything is allocated: the shape must be one a
    // Shape can hold (product of the extents, zeros counted as 1, at most 2^56; so no stride
    // overflows even for a zero-size array) and its bytes must be exactly the data present.
    Shape shape;
    try {
        shape = Shape(dims);
    } catch (const Error& e) {
        std::string repr;
        for (std::size_t i = 0; i < dims.size(); ++i) repr += cat(i ? ", " : "", dims[i]);
        fail(cat("header says shape (", repr, "): ", e.what()));
    }
    const std::size_t available = bytes.size() - data_begin;
    const std::size_t item = static_cast<std::size_t>(descr.bytes);
    const auto count = static_cast<std::uint64_t>(shape.numel());
    if (count * item > available)  // <= 2^56 * 16: no overflow
        fail(cat("file is truncated: header says ", count * item, " bytes of data, ", available,
                 " found (data start at offset ", data_begin, ")"));
    if (count * item < available)
        fail(cat("expected the end of the file at offset ", data_begin + count * item, " after ", count * item,
                 " bytes of data, found ", available - count * item, " more bytes"));

    Tensor<T> out{shape};
    const char* src = bytes.data() + data_begin;
    if (!fortran_order || dims.size() < 2) {
        for (std::uint64_t i = 0; i < count; ++i)
            out[static_cast<Index>(i)] = npy_detail::decode_value<T>(src + i * item, descr);
        return out;
    }
    // Fortran order: element (i0, ..., ik) sits at i0 + d0 * (i1 + d1 * (...)). Walk the output
    // in row-major order with an odometer over the multi-index.
    const std::size_t rank = dims.size();
    std::vector<std::uint64_t> fstride(rank, 1);
    for (std::size_t a = 1; a < rank; ++a) fstride[a] = fstride[a - 1] * static_cast<std::uint64_t>(dims[a - 1]);
    std::vector<Index> idx(rank, 0);
    std::uint64_t foff = 0;
    for (std::uint64_t i = 0; i < count; ++i) {
        out[static_cast<Index>(i)] = npy_detail::decode_value<T>(src + foff * item, descr);
        for (std::size_t a = rank; a-- > 0;) {
            if (++idx[a] < dims[a]) {
                foff += fstride[a];
                break;
            }
            foff -= fstride[a] * static_cast<std::uint64_t>(dims[a] - 1);
            idx[a] = 0;
        }
    }
    return out;
}

// Writes `t` to `path` as a .npy file, atomically (temporary in the same directory, then
// rename). Throws IOError if the file cannot be written.
template <class T>
void save_npy(const std::string& path, const Tensor<T>& t) {
    npy_detail::write_file_bytes(path, npy_to_string(t));
}

// Reads a .npy file into a Tensor<T>. Throws IOError if it cannot be read, FormatError if it
// is not a valid .npy file of a supported dtype.
template <class T>
Tensor<T> load_npy(const std::string& path) {
    return npy_from_string<T>(npy_detail::read_file_bytes(path), path);
}

}  // namespace maunet::io
