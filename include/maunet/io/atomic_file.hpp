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
// Durability: commit() fsyncs the temporary before the rename and the directory after it, so
// after a power cut the target is the old file or the complete new one, never empty.
//
// Interruption: every live temporary is listed in a fixed-size, signal-safe registry.
// remove_temporaries_on_signals() installs handlers for SIGINT, SIGTERM and SIGHUP that unlink
// the listed temporaries, then re-raise the signal with its default action (so the exit
// status still says "killed by SIGINT"). A run killed by SIGKILL (or a power cut) cannot clean
// up: remove_stale_temporaries(target) recognises its leftovers by their name,
// "<target>.tmp.<pid>.<16 hex digits>" with a pid that no longer runs, and removes them.
//
// On Windows std::rename does not replace an existing file (not supported).
#pragma once

#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
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

namespace detail {

// The registry of live temporaries: fixed slots of fixed size, so the signal handler touches
// no heap and no lock. A slot is claimed with a compare-exchange on `state` (0 free, 1 being
// written, 2 live); the handler unlinks the paths of live slots.
inline constexpr std::size_t kTemporarySlots = 64;
inline constexpr std::size_t kTemporaryPathMax = 4096;
struct TemporarySlot {
    std::atomic<int> state{0};
    char path[kTemporaryPathMax];
};
inline std::array<TemporarySlot, kTemporarySlots>& temporary_slots() {
    static std::array<TemporarySlot, kTemporarySlots> slots;
    return slots;
}
// Returns the slot index, or -1 when the registry is full or the path too long (the
// temporary is then only removed by the normal paths, not by a signal).
inline int register_temporary(const std::string& path) noexcept {
    if (path.size() >= kTemporaryPathMax) return -1;
    auto& slots = temporary_slots();
    for (std::size_t i = 0; i < slots.size(); ++i) {
        int expected = 0;
        if (slots[i].state.compare_exchange_strong(expected, 1)) {
            std::memcpy(slots[i].path, path.c_str(), path.size() + 1);
            slots[i].state.store(2);
            return static_cast<int>(i);
        }
    }
    return -1;
}
inline void unregister_temporary(int slot) noexcept {
    if (slot >= 0) temporary_slots()[static_cast<std::size_t>(slot)].state.store(0);
}
inline void remove_temporaries_and_reraise(int sig) {
    for (auto& slot : temporary_slots())
        if (slot.state.load() == 2) ::unlink(slot.path);
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

}  // namespace detail

// Installs the handlers described at the top for SIGINT, SIGTERM and SIGHUP (call once, from
// a program's main; a library does not take signals over on its own).
inline void remove_temporaries_on_signals() {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
        struct sigaction action {};
        action.sa_handler = detail::remove_temporaries_and_reraise;
        sigemptyset(&action.sa_mask);
        action.sa_flags = 0;
        ::sigaction(sig, &action, nullptr);
    }
}

// Temporaries of `target` left by a process that no longer runs (killed, or power cut):
// removes them and returns their paths. Temporaries of running processes are left alone.
inline std::vector<std::string> remove_stale_temporaries(const std::string& target) {
    namespace fs = std::filesystem;
    std::vector<std::string> removed;
    const fs::path t(target);
    const fs::path dir = t.has_parent_path() ? t.parent_path() : fs::path(".");
    const std::string prefix = t.filename().string() + ".tmp.";
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
        // <pid>.<16 hex digits>
        const std::string rest = name.substr(prefix.size());
        const auto dot = rest.find('.');
        if (dot == 0 || dot == std::string::npos || rest.size() - dot - 1 != 16) continue;
        bool digits = true;
        for (std::size_t i = 0; i < dot; ++i) digits = digits && rest[i] >= '0' && rest[i] <= '9';
        for (std::size_t i = dot + 1; i < rest.size(); ++i) digits = digits && std::isxdigit(static_cast<unsigned char>(rest[i]));
        if (!digits || dot > 9) continue;
        const long pid = std::stol(rest.substr(0, dot));
        if (pid == static_cast<long>(::getpid())) continue;
        if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // still running (or not ours)
        if (fs::remove(it->path(), ec)) removed.push_back(it->path().string());
    }
    return removed;
}

// Refuses (ArgumentError) to write `output` when that would destroy something else: when it is
// the same file as one of `inputs` (same device and inode, so another name, a hard link or a
// symbolic link to an input is caught too), or when it exists but is not a regular file (a
// symbolic link, whose replacement would silently turn the link into a file; a FIFO, a device,
// a directory, a socket). A missing output, or an existing regular file that is no input, is
// fine (it is replaced atomically).
inline void check_output_path(const std::string& output, const std::vector<std::string>& inputs,
                              const std::string& what = "output") {
    require(!output.empty(), "the ", what, " path is empty");
    struct stat out {};
    if (::lstat(output.c_str(), &out) != 0) return;  // does not exist yet
    if (S_ISLNK(out.st_mode))
        throw ArgumentError(maunet::detail::cat("refusing to write the ", what, " '", output,
                                                "': it is a symbolic link (give the path of the file itself)"));
    if (!S_ISREG(out.st_mode)) {
        const char* kind = S_ISDIR(out.st_mode)    ? "a directory"
                           : S_ISFIFO(out.st_mode) ? "a FIFO"
                           : S_ISCHR(out.st_mode) || S_ISBLK(out.st_mode) ? "a device"
                           : S_ISSOCK(out.st_mode) ? "a socket"
                                                   : "not a regular file";
        throw ArgumentError(maunet::detail::cat("refusing to write the ", what, " '", output, "': it exists and is ",
                                                kind, ", not a regular file"));
    }
    for (const std::string& input : inputs) {
        struct stat in {};
        if (input.empty() || ::stat(input.c_str(), &in) != 0) continue;
        if (in.st_dev == out.st_dev && in.st_ino == out.st_ino)
            throw ArgumentError(maunet::detail::cat("refusing to write the ", what, " '", output,
                                                    "': it is the same file as the input '", input,
                                                    "', which would be destroyed"));
    }
}

// Flushes `path` (a file or a directory) to the disk. Throws IOError on failure.
inline void fsync_path(const std::string& path, bool directory) {
    const int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
    if (fd < 0) throw IOError(maunet::detail::cat("cannot open '", path, "' to flush it: ", std::strerror(errno)));
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    // Some file systems cannot sync a directory (EINVAL): atomicity still holds.
    if (rc != 0 && !(directory && (err == EINVAL || err == ENOTSUP)))
        throw IOError(maunet::detail::cat("cannot flush '", path, "' to the disk: ", std::strerror(err)));
}

class AtomicFile {
public:
    // Chooses the temporary name and registers it for removal on a signal; creates nothing.
    // The caller writes `temporary_path()`.
    explicit AtomicFile(std::string target_path)
        : target_(std::move(target_path)), temporary_(temporary_path_for(target_)) {
        require(!target_.empty(), "AtomicFile: the target path is empty");
        slot_ = detail::register_temporary(temporary_);
    }
    // The same with a temporary name chosen by the caller (one that temporary_path_for gave,
    // e.g. on rank 0 of an MPI job that writes one file from every rank).
    AtomicFile(std::string target_path, std::string temporary_path)
        : target_(std::move(target_path)), temporary_(std::move(temporary_path)) {
        require(!target_.empty(), "AtomicFile: the target path is empty");
        require(temporary_ != target_ && !temporary_.empty(), "AtomicFile: the temporary path '", temporary_,
                "' must differ from the target '", target_, "'");
        slot_ = detail::register_temporary(temporary_);
    }
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    AtomicFile(AtomicFile&& other) noexcept
        : target_(std::move(other.target_)), temporary_(std::move(other.temporary_)), done_(other.done_),
          slot_(other.slot_) {
        other.done_ = true;
        other.slot_ = -1;
    }
    AtomicFile& operator=(AtomicFile&&) = delete;
    ~AtomicFile() { discard(); }

    const std::string& target_path() const { return target_; }
    const std::string& temporary_path() const { return temporary_; }
    bool finished() const { return done_; }

    // Flushes the temporary to the disk, renames it onto the target, flushes the directory.
    // Throws IOError (and removes the temporary) if any step fails, or if called twice.
    void commit() {
        if (done_) throw IOError(maunet::detail::cat("AtomicFile: '", target_, "' was already committed or discarded"));
        try {
            fsync_path(temporary_, false);
        } catch (...) {
            discard();
            throw;
        }
        if (std::rename(temporary_.c_str(), target_.c_str()) != 0) {
            const int err = errno;
            discard();
            throw IOError(maunet::detail::cat("cannot rename '", temporary_, "' to '", target_,
                                      "': ", std::strerror(err)));
        }
        done_ = true;
        detail::unregister_temporary(slot_);
        slot_ = -1;
        const std::filesystem::path parent = std::filesystem::path(target_).parent_path();
        fsync_path(parent.empty() ? std::string(".") : parent.string(), true);
    }

    // Removes the temporary (if it exists); the target stays untouched.
    void discard() noexcept {
        if (done_) return;
        std::remove(temporary_.c_str());
        detail::unregister_temporary(slot_);
        slot_ = -1;
        done_ = true;
    }

private:
    std::string target_;
    std::string temporary_;
    bool done_ = false;
    int slot_ = -1;  // in the signal registry
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
