// maunet/io/scratch_file.hpp: an anonymous scratch file for data that does not fit in memory
// (io/tile_spool.hpp, train/sample_spool.hpp).
//
// The file is created in the given directory (mkstemp) and unlinked at once, so it disappears
// when the object is destroyed or the process dies, whatever happens. Reads and writes are
// positional (pread/pwrite): concurrent reads of one file from several threads are safe.
// Errors: IOError naming the directory and errno's text (a write that makes no progress is
// reported as a full disk).
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <unistd.h>

#include "maunet/core/errors.hpp"

namespace maunet::io {

class ScratchFile {
public:
    explicit ScratchFile(const std::string& directory) : dir_(directory.empty() ? std::string(".") : directory) {
        std::string name = dir_ + "/.maunet-spool-XXXXXX";
        fd_ = ::mkstemp(name.data());
        if (fd_ < 0)
            throw IOError(maunet::detail::cat("cannot create a scratch file in '", dir_, "': ", std::strerror(errno)));
        ::unlink(name.c_str());
    }
    ScratchFile(const ScratchFile&) = delete;
    ScratchFile& operator=(const ScratchFile&) = delete;
    ~ScratchFile() {
        if (fd_ >= 0) ::close(fd_);
    }

    const std::string& directory() const { return dir_; }

    // Writes `bytes` bytes at byte offset `at`.
    void put(const void* data, std::size_t bytes, off_t at) {
        const char* b = static_cast<const char*>(data);
        while (bytes > 0) {
            const ssize_t w = ::pwrite(fd_, b, bytes, at);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0)
                throw IOError(maunet::detail::cat("writing a scratch file in '", dir_, "' failed: ",
                                                  w < 0 ? std::strerror(errno) : "no progress (disk full?)"));
            b += w, bytes -= static_cast<std::size_t>(w), at += w;
        }
    }
    // Reads `bytes` bytes at byte offset `at` (they must have been written).
    void get(void* data, std::size_t bytes, off_t at) const {
        char* b = static_cast<char*>(data);
        while (bytes > 0) {
            const ssize_t r = ::pread(fd_, b, bytes, at);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0)
                throw IOError(maunet::detail::cat("reading a scratch file in '", dir_, "' failed: ",
                                                  r < 0 ? std::strerror(errno) : "unexpected end"));
            b += r, bytes -= static_cast<std::size_t>(r), at += r;
        }
    }

private:
    std::string dir_;
    int fd_ = -1;
};

}  // namespace maunet::io
