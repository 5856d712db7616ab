// maunet/io/checkpoint.hpp: maunet's own versioned model file.
//
// Layout (all integers little-endian; see docs/model-format.md):
//   offset 0   8 bytes   magic "MAUNETCK"
//          8   u32       format version (1)
//         12   u32       bytes per stored value: 4 (float32) or 8 (float64)
//         16   u64       length J of the header
//         24   J bytes   header, UTF-8 JSON: {"format", "maunet_version", "model": UNetConfig,
//                        "extras": caller data (input transform statistics, training metadata),
//                        "tensors": count, "selftest": bool, "attached": [names]}
//              u32       tensor count N
//              N times   u32 name length, name, u32 rank, rank x u64 extents, values
//              u32       CRC-32 of every byte before it
// Tensors are the model's parameters and buffers by their dotted names, then, when a self-test
// is embedded, "selftest.input" and "selftest.output": an input and the output the saved model
// gave for it, checked again on load (so a file that loads but computes something else, e.g.
// after a change of the code, is caught at once), then the caller's attached tensors, named
// in the header's "attached" (PrecipModel's static predictors), each "attached.<name>".
//
// Files are written atomically. Loading validates everything and throws FormatError naming
// the path, the byte offset, and what was expected versus found.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "maunet/io/atomic_file.hpp"
#include "maunet/io/checksum.hpp"
#include "maunet/io/json.hpp"
#include "maunet/io/model_config.hpp"
#include "maunet/nn/models/unet.hpp"
#include "maunet/version.hpp"

namespace maunet::io {

inline constexpr char kCheckpointMagic[8] = {'M', 'A', 'U', 'N', 'E', 'T', 'C', 'K'};
inline constexpr std::uint32_t kCheckpointVersion = 1;

template <class T>
struct LoadedCheckpoint {
    std::unique_ptr<nn::UNet<T>> model;  // in eval mode
    Json header;                         // the whole header; header.at("extras") is the caller's data
    std::vector<std::pair<std::string, Tensor<T>>> attached;  // the caller's tensors, by name
    const Json& extras() const { return header.at("extras"); }
};

// Longest name of an attached tensor.
inline constexpr std::size_t kMaxAttachedNameLength = 256;

namespace detail {

// Keeps a parameter out of template argument deduction (std::type_identity of C++20), so that
// save_checkpoint takes nullptr and a braced list of attached tensors.
template <class T>
struct NotDeduced {
    using type = T;
};

class ByteWriter {
public:
    template <class U>
    void put(U v) {
        static_assert(std::is_trivially_copyable_v<U>);
        const auto* p = reinterpret_cast<const char*>(&v);
        bytes_.append(p, sizeof(U));  // x86-64 and aarch64 are little-endian
    }
    void put_bytes(const void* data, std::size_t n) { bytes_.append(static_cast<const char*>(data), n); }
    template <class T>
    void put_tensor(const std::string& name, const Tensor<T>& t) {
        put(static_cast<std::uint32_t>(name.size()));
        put_bytes(name.data(), name.size());
        put(static_cast<std::uint32_t>(t.rank()));
        for (Index d : t.shape()) put(static_cast<std::uint64_t>(d));
        put_bytes(t.data(), sizeof(T) * static_cast<std::size_t>(t.numel()));
    }
    std::string& bytes() { return bytes_; }

private:
    std::string bytes_;
};

class ByteReader {
public:
    ByteReader(std::string path, std::string bytes) : path_(std::move(path)), bytes_(std::move(bytes)) {}

    [[noreturn]] void fail(const std::string& what) const {
        throw FormatError(maunet::detail::cat(path_, ": at offset ", pos_, ": ", what));
    }
    void need(std::size_t n, const char* what) const {
        if (bytes_.size() - pos_ < n)
            fail(maunet::detail::cat("file is truncated: expected ", n, " bytes of ", what, ", found ",
                                     bytes_.size() - pos_));
    }
    template <class U>
    U get(const char* what) {
        need(sizeof(U), what);
        U v;
        std::memcpy(&v, bytes_.data() + pos_, sizeof(U));
        pos_ += sizeof(U);
        return v;
    }
    std::string get_string(std::size_t n, const char* what) {
        need(n, what);
        std::string s = bytes_.substr(pos_, n);
        pos_ += n;
        return s;
    }
    // A tensor stored with `stored_bytes` per value, converted to T.
    template <class T>
    std::pair<std::string, Tensor<T>> get_tensor(std::uint32_t stored_bytes) {
        const auto name_len = get<std::uint32_t>("a tensor name length");
        if (name_len == 0 || name_len > 4096) fail(maunet::detail::cat("expected a tensor name length in [1, 4096], found ", name_len));
        std::string name = get_string(name_len, "a tensor name");
        const auto rank = get<std::uint32_t>("a tensor rank");
        if (rank > 8) fail(maunet::detail::cat("tensor '", name, "': expected rank <= 8, found ", rank));
        std::vector<Index> dims;
        // Overflow-checked element count, bounded by what the rest of the file can hold, before
        // anything is allocated.
        Index count = 1;
        for (std::uint32_t i = 0; i < rank; ++i) {
            const std::size_t at = pos_;
            const auto d = get<std::uint64_t>("a tensor extent");
            if (d > (std::uint64_t(1) << 40)) fail(maunet::detail::cat("tensor '", name, "': implausible extent ", d));
            dims.push_back(static_cast<Index>(d));
            if (!checked_mul(count, static_cast<Index>(d), count, kMaxElements))
                throw FormatError(maunet::detail::cat(path_, ": at offset ", at, ": tensor '", name,
                                                      "': the product of its extents overflows (more than 2^56 elements)"));
        }
        // Values the rest of the file can hold (after the extents, before the trailing CRC).
        const Index available = static_cast<Index>((bytes_.size() - pos_ - std::min<std::size_t>(4, bytes_.size() - pos_)) / stored_bytes);
        Shape checked_shape;  // a zero extent gives no data but must not hide a huge stride

        try {
            checked_shape = Shape(dims);
        } catch (const Error& e) {
            fail(maunet::detail::cat("tensor '", name, "': ", e.what()));
        }
        if (count > available)
            fail(maunet::detail::cat("file is truncated: tensor '", name, "' of shape ", checked_shape, " needs ",
                                     count, " values of ", stored_bytes, " bytes, the file has ",
                                     bytes_.size() - pos_, " bytes left"));
        Tensor<T> t{checked_shape};
        const char* src = bytes_.data() + pos_;
        for (Index i = 0; i < count; ++i) {
            if (stored_bytes == 4) {
                float v;
                std::memcpy(&v, src + 4 * i, 4);
                t[i] = static_cast<T>(v);
            } else {
                double v;
                std::memcpy(&v, src + 8 * i, 8);
                t[i] = static_cast<T>(v);
            }
        }
        pos_ += static_cast<std::size_t>(count) * stored_bytes;
        return {std::move(name), std::move(t)};
    }
    std::size_t offset() const { return pos_; }
    std::size_t size() const { return bytes_.size(); }
    const std::string& bytes() const { return bytes_; }

private:
    std::string path_;
    std::string bytes_;
    std::size_t pos_ = 0;
};

inline std::string read_whole_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw IOError("cannot open '" + path + "' for reading");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Largest |a - b| relative to the scale of b, for the self-test.
template <class T>
double selftest_error(const Tensor<T>& got, const Tensor<T>& expected) {
    double worst = 0, scale = 1;
    for (Index i = 0; i < expected.numel(); ++i) scale = std::max(scale, std::abs(double(expected[i])));
    for (Index i = 0; i < expected.numel(); ++i) worst = std::max(worst, std::abs(double(got[i]) - double(expected[i])));
    return worst / scale;
}

}  // namespace detail

// Writes `model` to `path` atomically. `extras` is stored verbatim in the header (use it for the
// input transform's statistics and training metadata). With `selftest_input`, the model's
// output for it is stored too and re-checked on load. `attached`: tensors of the caller's kept
// with the model (names unique, at most kMaxAttachedNameLength characters), given back by
// load_checkpoint in LoadedCheckpoint::attached.
template <class T>
void save_checkpoint(const std::string& path, const nn::UNet<T>& model, const Json& extras = Json::object(),
                     const Tensor<typename detail::NotDeduced<T>::type>* selftest_input = nullptr,
                     const std::vector<std::pair<std::string, Tensor<typename detail::NotDeduced<T>::type>>>& attached = {}) {
    std::vector<std::pair<std::string, Tensor<T>>> tensors;
    for (const auto& [name, p] : model.named_parameters()) tensors.emplace_back(name, p.value());
    for (const auto& [name, b] : model.named_buffers()) tensors.emplace_back(name, *b);
    if (selftest_input) {
        tensors.emplace_back("selftest.input", *selftest_input);
        tensors.emplace_back("selftest.output", model.predict(*selftest_input));
    }
    Json attached_names = Json::array();
    for (std::size_t i = 0; i < attached.size(); ++i) {
        const std::string& name = attached[i].first;
        require(!name.empty() && name.size() <= kMaxAttachedNameLength, "save_checkpoint: an attached tensor's name "
                "must have 1 to ", kMaxAttachedNameLength, " characters, got ", name.size());
        for (std::size_t j = 0; j < i; ++j)
            require(attached[j].first != name, "save_checkpoint: two attached tensors are named '", name, "'");
        attached_names.push_back(name);
        tensors.emplace_back("attached." + name, attached[i].second);
    }
    Json header = Json::object();
    header.set("format", "maunet-checkpoint")
        .set("maunet_version", MAUNET_VERSION_STRING)
        .set("model", to_json(model.config()))
        .set("extras", extras.is_null() ? Json::object() : extras)
        .set("tensors", static_cast<long long>(tensors.size()))
        .set("selftest", selftest_input != nullptr);
    if (!attached.empty()) header.set("attached", attached_names);
    const std::string json = header.dump(2);

    detail::ByteWriter w;
    w.put_bytes(kCheckpointMagic, sizeof kCheckpointMagic);
    w.put(kCheckpointVersion);
    w.put(static_cast<std::uint32_t>(sizeof(T)));
    w.put(static_cast<std::uint64_t>(json.size()));
    w.put_bytes(json.data(), json.size());
    w.put(static_cast<std::uint32_t>(tensors.size()));
    for (const auto& [name, t] : tensors) w.put_tensor(name, t);
    w.put(crc32(w.bytes().data(), w.bytes().size()));
    write_stream_atomically(path, [&](std::ostream& out) { out.write(w.bytes().data(), static_cast<std::streamsize>(w.bytes().size())); });
}

// Reads and validates a checkpoint and rebuilds the model it holds (in eval mode), converting
// stored values to T. Throws FormatError for a file that is truncated, corrupted, of another
// version, or whose tensors do not fit the architecture its header describes.
//
// load_checkpoint_from_bytes does the same for the bytes of a file; `path` names it in
// messages.
template <class T>
LoadedCheckpoint<T> load_checkpoint_from_bytes(std::string bytes, const std::string& path) {
    detail::ByteReader r(path, std::move(bytes));
    const std::string magic = r.get_string(8, "the magic number");
    if (magic != std::string(kCheckpointMagic, 8)) r.fail("expected the magic 'MAUNETCK' of a maunet checkpoint, found other bytes");
    // The checksum covers everything; check it before interpreting the content further.
    if (r.size() < 12) r.fail("file is truncated: too short for a checkpoint");
    std::uint32_t stored_crc;
    std::memcpy(&stored_crc, r.bytes().data() + r.size() - 4, 4);
    const auto version = r.get<std::uint32_t>("the format version");
    if (version != kCheckpointVersion)
        r.fail(maunet::detail::cat("expected format version ", kCheckpointVersion, ", found ", version,
                                   " (written by another maunet version)"));
    const auto value_bytes = r.get<std::uint32_t>("the scalar size");
    if (value_bytes != 4 && value_bytes != 8) r.fail(maunet::detail::cat("expected 4 or 8 bytes per value, found ", value_bytes));
    const auto json_len = r.get<std::uint64_t>("the header length");
    if (json_len > r.size()) r.fail(maunet::detail::cat("file is truncated: header length ", json_len, " exceeds the file size ", r.size()));
    const std::size_t crc_end = r.size() - 4;
    const std::uint32_t actual_crc = crc32(r.bytes().data(), crc_end);
    if (actual_crc != stored_crc) {
        throw FormatError(maunet::detail::cat(path, ": at offset ", crc_end, ": checksum mismatch (stored ", stored_crc,
                                              ", computed ", actual_crc, "): the file is corrupted or truncated"));
    }
    const std::size_t header_offset = r.offset();
    const Json header = Json::parse(r.get_string(static_cast<std::size_t>(json_len), "the header"),
                                    maunet::detail::cat(path, ": header (starting at byte ", header_offset, ")"));
    nn::UNetConfig config;
    try {
        if (header.at("format").as_string() != "maunet-checkpoint") r.fail("header 'format' is not 'maunet-checkpoint'");
        config = unet_config_from_json(header.at("model"));
    } catch (const Error& e) {
        throw FormatError(maunet::detail::cat(path, ": header at offset ", header_offset, ": invalid model description: ", e.what()));
    }

    // The smallest network this configuration describes must fit in the rest of the file:
    // checked before the network is built, so a small file cannot make it allocate gigabytes.
    const Index min_params = minimal_parameter_count(config);
    if (static_cast<std::uint64_t>(min_params) > (r.size() - r.offset()) / value_bytes)
        throw FormatError(maunet::detail::cat(path, ": header at offset ", header_offset, ": the model described has at least ",
                                              min_params, " parameters (", min_params * Index(value_bytes),
                                              " bytes), but only ", r.size() - r.offset(), " bytes follow the header"));
    Rng rng(0);  // initial values are overwritten below
    auto model = std::make_unique<nn::UNet<T>>(config, rng);
    model->eval();
    auto params = model->named_parameters();
    auto buffers = model->named_buffers();
    const auto count = r.get<std::uint32_t>("the tensor count");
    const bool selftest = header.bool_or("selftest", false);
    std::vector<std::string> attached_names;
    if (header.contains("attached")) {
        const Json& names = header.at("attached");
        if (!names.is_array() || names.as_array().size() > count)
            r.fail("header 'attached': expected an array of at most as many names as there are tensors, found " +
                   names.dump().substr(0, 200));
        for (const Json& n : names.as_array()) {
            if (!n.is_string() || n.as_string().empty() || n.as_string().size() > kMaxAttachedNameLength)
                r.fail(maunet::detail::cat("header 'attached': expected names of 1 to ", kMaxAttachedNameLength,
                                           " characters, found ", n.dump().substr(0, 200)));
            attached_names.push_back(n.as_string());
        }
    }
    const std::size_t expected = params.size() + buffers.size() + (selftest ? 2 : 0) + attached_names.size();
    if (count != expected)
        r.fail(maunet::detail::cat("expected ", expected, " tensors for a ", config.architecture, " with this configuration, found ", count));

    Tensor<T> selftest_input, selftest_output;
    std::vector<std::pair<std::string, Tensor<T>>> attached;
    const std::size_t first_attached = params.size() + buffers.size() + (selftest ? 2 : 0);
    for (std::uint32_t i = 0; i < count; ++i) {
        const std::size_t at = r.offset();
        auto [name, t] = r.template get_tensor<T>(value_bytes);
        Tensor<T>* dst = nullptr;
        if (i < params.size()) {
            if (name != params[i].first) r.fail(maunet::detail::cat("expected tensor '", params[i].first, "', found '", name, "' (wrong architecture?)"));
            dst = &params[i].second.mutable_value();
        } else if (i < params.size() + buffers.size()) {
            const auto& b = buffers[i - params.size()];
            if (name != b.first) r.fail(maunet::detail::cat("expected buffer '", b.first, "', found '", name, "'"));
            dst = b.second;
        } else if (i < first_attached) {
            const char* wanted = i == params.size() + buffers.size() ? "selftest.input" : "selftest.output";
            if (name != wanted) r.fail(maunet::detail::cat("expected tensor '", wanted, "', found '", name, "'"));
            (i == params.size() + buffers.size() ? selftest_input : selftest_output) = std::move(t);
            continue;
        } else {
            const std::string& wanted = attached_names[i - first_attached];
            if (name != "attached." + wanted)
                r.fail(maunet::detail::cat("expected tensor 'attached.", wanted, "', found '", name, "'"));
            attached.emplace_back(wanted, std::move(t));
            continue;
        }
        if (t.shape() != dst->shape())
            throw FormatError(maunet::detail::cat(path, ": at offset ", at, ": tensor '", name, "' has shape ", t.shape(),
                                                  ", the model expects ", dst->shape(), " (wrong architecture?)"));
        *dst = std::move(t);
    }
    if (r.offset() != crc_end) r.fail(maunet::detail::cat("expected the checksum here, found ", crc_end - r.offset(), " extra bytes"));
    // Non-finite weights would give an all-missing prediction with success: refused, self-test or not.
    for (const auto& [name, t] : model->state())
        if (!t.all_finite())
            throw FormatError(maunet::detail::cat(path, ": tensor '", name,
                                                  "' holds non-finite values (NaN or infinity): the model is unusable"));

    if (selftest) {
        const auto& c = model->config();
        if (selftest_input.rank() != 4 || selftest_input.dim(1) != c.in_channels || selftest_input.numel() == 0)
            throw FormatError(maunet::detail::cat(path, ": self-test input has shape ", selftest_input.shape(),
                                                  ", expected [N, ", c.in_channels, ", H, W] with N, H, W >= 1"));
        const Tensor<T> got = model->predict(selftest_input);
        const double tolerance = std::is_same_v<T, float> || value_bytes == 4 ? 1e-4 : 1e-10;
        const double err = got.shape() == selftest_output.shape() ? detail::selftest_error(got, selftest_output) : 1e300;
        if (!(err <= tolerance))
            throw FormatError(maunet::detail::cat(path, ": self-test failed: the loaded model's output differs from the "
                                                  "stored output by ", err, " (relative; tolerance ", tolerance, ")"));
    }
    return LoadedCheckpoint<T>{std::move(model), std::move(header), std::move(attached)};
}

template <class T>
LoadedCheckpoint<T> load_checkpoint(const std::string& path) {
    return load_checkpoint_from_bytes<T>(detail::read_whole_file(path), path);
}

}  // namespace maunet::io
