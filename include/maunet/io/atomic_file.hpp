// maunet/io/atomic_file.hpp: write a file under a temporary name, then rename it into place.
//
// Every writer of maunet (checkpoints, .npy, NetCDF) writes through this, so a crash or an
// exception never leaves a half-written file under the target name: readers see either the
// old file or the complete new one.
//
//   target  = "out/model.ckpt"
//   working = "out/model.ckpt.tmp.<pid>.<16 random hex digits>"   (same directory, so the
//             final std::rename is atomic on POSIX file systems)
//
// AtomicFile owns the temporary: commit() renames it onto the target (replacing an existing
// file); the destructor of an uncommitted AtomicFile removes it (exception unwinding, early
// return). write_file_atomically() and write_stream_atomically() wrap the pattern for a
// callback that writes to a path or to a std::ostream.
//
// Not done: fsync of the file and its directory (durability after a power cut, as opposed to
// atomicity); on Windows std::rename does not replace an existing file.
#pragma once

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <utility>

#include <unistd.h>

#include "maunet/core/errors.hpp"

namespace maunet::io {

// "<target>.tmp.<pid>.<random hex>": unique per process and per call.
inline std::string temporary_path_for(const std::string& target) {
    static std::atomic<std::uint64_t> counter{0};
    std::uint64_t bits = 0;
    try {
        std::random_device device;
        bits = (static_cast<std::uint64_t>(device()) << 32) ^ device();
    } catch (const std::exception&) {
        bits = 0x9e3779b97f4a7c15ULL;
    }
    // The counter makes two calls in one process differ even if random_device is deterministic.
    bits ^= (counter.fetch_add(1) + 1) * 0xbf58476d1ce4e5b9ULL;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(bits));
    return target + ".tmp." + std::to_string(static_cast<long long>(::getpid())) + "." + hex;
}

class AtomicFile {
public:
    // Chooses the temporary name; creates nothing. The caller writes `temporary_path()`.
    explicit AtomicFile(std::string target_path)
        : target_(std::move(target_path)), temporary_(temporary_path_for(target_)) {
        require(!target_.empty(), "AtomicFile: the target path is empty");
    }
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    AtomicFile(AtomicFile&& other) noexcept
        : target_(std::move(other.target_)), temporary_(std::move(other.temporary_)), done_(other.done_) {
        other.done_ = true;
    }
    AtomicFile& operator=(AtomicFile&&) = delete;
    ~AtomicFile() { discard(); }

    const std::string& target_path() const { return target_; }
    const std::string& temporary_path() const { return temporary_; }
    bool finished() const { return done_; }

    // Renames the temporary onto the target. Throws IOError (and removes the temporary) if
    // the rename fails, or if called twice.
    void commit() {
        if (done_) throw IOError(maunet::detail::cat("AtomicFile: '", target_, "' was already committed or discarded"));
        if (std::rename(temporary_.c_str(), target_.c_str()) != 0) {
            const int err = errno;
            discard();
            throw IOError(maunet::detail::cat("AtomicFile: cannot rename '", temporary_, "' to '", target_,
                                      "': ", std::strerror(err)));
        }
        done_ = true;
    }

    // Removes the temporary (if it exists); the target stays untouched.
    void discard() noexcept {
        if (done_) return;
        std::remove(temporary_.c_str());
        done_ = true;
    }

private:
    std::string target_;
    std::string temporary_;
    bool done_ = false;
};

// Calls write(temporary_path), then renames the temporary onto `target`. If `write` throws,
// the temporary is removed and the exception propagates; the target is untouched.
template <class WriteToPath>
void write_file_atomically(const std::string& target, WriteToPath&& write) {
    AtomicFile file(target);
    std::forward<WriteToPath>(write)(file.temporary_path());
    file.commit();
}

// Opens the temporary as a binary std::ofstream, calls write(stream), checks the stream,
// closes it and renames it onto `target`. Throws IOError if the file cannot be opened or a
// write fails.
template <class WriteToStream>
void write_stream_atomically(const std::string& target, WriteToStream&& write) {
    write_file_atomically(target, [&](const std::string& temporary) {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        if (!out) throw IOError(maunet::detail::cat("cannot open '", temporary, "' for writing: ", std::strerror(errno)));
        std::forward<WriteToStream>(write)(out);
        out.flush();
        if (!out) throw IOError(maunet::detail::cat("writing '", target, "' failed (disk full?)"));
        out.close();
        if (out.fail()) throw IOError(maunet::detail::cat("closing '", target, "' failed"));
    });
}

}  // namespace maunet::io
