// maunet/io/npz.hpp: NumPy .npz archives (what numpy.savez writes) of named tensors.
//
// An .npz file is a ZIP archive (maunet/io/zip.hpp) whose entries are .npy files
// (maunet/io/npy.hpp) named "<name>.npy". save_npz stores each tensor under "<name>.npy",
// uncompressed, exactly as numpy.savez does, so `numpy.load(path)[name]` reads it back;
// load_npz reads archives written by numpy.savez (and by save_npz), strips the ".npy"
// suffix from the names as numpy.load does, and returns the arrays in archive order.
//
// numpy.savez_compressed archives (deflate) are rejected with a FormatError naming the entry:
// maunet has no zlib dependency. Every entry's CRC-32 is checked on load; an entry that is
// not a valid .npy file is reported as "<path>:<entry>: ...".
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "maunet/core/errors.hpp"
#include "maunet/core/tensor.hpp"
#include "maunet/io/npy.hpp"
#include "maunet/io/zip.hpp"

namespace maunet::io {

// Named tensors in a fixed order, as stored in an .npz archive.
template <class T>
using NamedTensors = std::vector<std::pair<std::string, Tensor<T>>>;

// The .npz archive for `arrays` as a byte string. Throws ArgumentError for an empty or
// duplicate name (and for sizes that would need ZIP64).
template <class T>
std::string npz_to_string(const NamedTensors<T>& arrays) {
    std::vector<ZipEntry> entries;
    entries.reserve(arrays.size());
    for (const auto& [name, tensor] : arrays) {
        require(!name.empty(), "save_npz: expected non-empty array names, found an empty one");
        entries.push_back({name + ".npy", npy_to_string(tensor)});
    }
    try {
        return zip_store(entries);
    } catch (const ArgumentError& e) {
        throw ArgumentError(std::string("save_npz: ") + e.what());
    }
}

// Parses an .npz archive held in `bytes`; `source` names it in error messages.
template <class T>
NamedTensors<T> npz_from_string(const std::string& bytes, const std::string& source = "<memory>") {
    NamedTensors<T> out;
    for (auto& entry : zip_read(bytes, source)) {
        const std::string entry_source = source + ":" + entry.name;
        std::string name = entry.name;
        if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
        for (const auto& earlier : out)
            if (earlier.first == name)
                throw FormatError(maunet::detail::cat(entry_source, ": array name '", name,
                                                      "' appears twice in the archive"));
        out.emplace_back(std::move(name), npy_from_string<T>(entry.data, entry_source));
    }
    return out;
}

// Writes `arrays` to `path` as an .npz archive (stored, as numpy.savez), atomically.
template <class T>
void save_npz(const std::string& path, const NamedTensors<T>& arrays) {
    npy_detail::write_file_bytes(path, npz_to_string(arrays));
}

// Reads an .npz archive: (name, tensor) pairs in archive order, names without ".npy".
// Throws IOError if the file cannot be read, FormatError if it is not a valid archive.
template <class T>
NamedTensors<T> load_npz(const std::string& path) {
    return npz_from_string<T>(npy_detail::read_file_bytes(path), path);
}

// The tensor called `name`; throws ArgumentError listing the names present if it is absent.
template <class T>
const Tensor<T>& npz_get(const NamedTensors<T>& arrays, const std::string& name) {
    for (const auto& [n, t] : arrays)
        if (n == name) return t;
    std::string names;
    for (const auto& entry : arrays) names += (names.empty() ? "'" : ", '") + entry.first + "'";
    throw ArgumentError(maunet::detail::cat("npz_get: no array named '", name, "'; the archive holds ",
                                            names.empty() ? std::string("no arrays") : names));
}

// The same arrays keyed by name, for lookups by name.
template <class T>
std::map<std::string, Tensor<T>> npz_to_map(NamedTensors<T> arrays) {
    std::map<std::string, Tensor<T>> out;
    for (auto& [name, tensor] : arrays) out.emplace(std::move(name), std::move(tensor));
    return out;
}

}  // namespace maunet::io
