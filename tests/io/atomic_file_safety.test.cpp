// Outputs never destroy inputs or special files; temporaries never outlive their writer (error
// paths, SIGINT/SIGTERM/SIGHUP, and a SIGKILLed run whose leftovers the next run removes).
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "maunet/io/atomic_file.hpp"
#include "support/scratch_dir.hpp"

namespace fs = std::filesystem;
using maunet::ArgumentError;
using maunet::io::check_output_path;
using maunet::testing::read_bytes;
using maunet::testing::ScratchDir;

namespace {

// Forks a child that starts an atomic write of `target`, signals the parent through a pipe
// once the temporary exists, and then waits forever; the parent sends `sig`. Returns the
// child's wait status.
int kill_during_write(const std::string& target, int sig, bool install_handlers) {
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(ready[0]);
        if (install_handlers) maunet::io::remove_temporaries_on_signals();
        try {
            maunet::io::write_stream_atomically(target, [&](std::ostream& out) {
                out << "half written";
                out.flush();
                const char byte = 1;
                (void)!::write(ready[1], &byte, 1);
                for (;;) ::pause();
            });
        } catch (...) {
        }
        ::_exit(3);  // not reached
    }
    ::close(ready[1]);
    char byte = 0;
    REQUIRE(::read(ready[0], &byte, 1) == 1);
    ::close(ready[0]);
    ::kill(child, sig);
    int status = 0;
    ::waitpid(child, &status, 0);
    return status;
}

}  // namespace

TEST_CASE("an output that is the same file as an input is refused, by inode not by name", "[io][atomic_file][hostile]") {
    ScratchDir dir("out_same");
    const std::string input = dir.file("in.nc"), other = dir.file("other.nc");
    std::ofstream(input) << "precious";
    std::ofstream(other) << "x";
    CHECK_THROWS_WITH(check_output_path(input, {other, input}),
                      Catch::Contains("refusing to write the output '" + input + "': it is the same file as the input '" +
                                      input + "'"));
    // Another name for the same file: ./in.nc, a hard link.
    CHECK_THROWS_AS(check_output_path((dir.path / "." / "in.nc").string(), {input}), ArgumentError);
    const std::string hard = dir.file("hard.nc");
    fs::create_hard_link(input, hard);
    CHECK_THROWS_WITH(check_output_path(hard, {input}), Catch::Contains("is the same file as the input"));
    // The input given through a symbolic link.
    const std::string link = dir.file("link.nc");
    fs::create_symlink(input, link);
    CHECK_THROWS_WITH(check_output_path(input, {link}), Catch::Contains("is the same file as the input"));
    CHECK(read_bytes(input) == "precious");
    // Fine: a new file, or an existing regular file that is no input.
    CHECK_NOTHROW(check_output_path(dir.file("new.nc"), {input}));
    CHECK_NOTHROW(check_output_path(other, {input}));
}

TEST_CASE("an output that exists but is not a regular file is refused", "[io][atomic_file][hostile]") {
    ScratchDir dir("out_special");
    const std::string target = dir.file("target.nc");
    std::ofstream(target) << "kept";
    const std::string link = dir.file("link.nc");
    fs::create_symlink(target, link);
    CHECK_THROWS_WITH(check_output_path(link, {}), Catch::Contains("'" + link + "': it is a symbolic link"));
    const std::string fifo = dir.file("fifo");
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK_THROWS_WITH(check_output_path(fifo, {}), Catch::Contains("it exists and is a FIFO, not a regular file"));
    CHECK_THROWS_WITH(check_output_path("/dev/null", {}), Catch::Contains("it exists and is a device"));
    CHECK_THROWS_WITH(check_output_path(dir.path.string(), {}), Catch::Contains("it exists and is a directory"));
    CHECK(read_bytes(target) == "kept");
    CHECK(fs::is_symlink(link));
}

TEST_CASE("SIGINT, SIGTERM and SIGHUP remove the live temporaries, then kill the process", "[io][atomic_file][signals]") {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
        ScratchDir dir("signal_cleanup");
        const std::string target = dir.file("model.mnet");
        std::ofstream(target) << "previous";
        const int status = kill_during_write(target, sig, true);
        INFO("signal " << sig);
        CHECK(WIFSIGNALED(status));
        CHECK(WTERMSIG(status) == sig);  // re-raised: the exit status still says which signal
        CHECK(dir.listing() == std::vector<std::string>{"model.mnet"});
        CHECK(read_bytes(target) == "previous");
    }
}

TEST_CASE("temporaries of a SIGKILLed run are recognised and removed by the next run", "[io][atomic_file][signals]") {
    ScratchDir dir("stale_cleanup");
    const std::string target = dir.file("out.nc");
    const int status = kill_during_write(target, SIGKILL, true);
    CHECK(WIFSIGNALED(status));
    const auto left = dir.listing();
    REQUIRE(left.size() == 1);  // the temporary: SIGKILL cannot be caught
    CHECK(left[0].rfind("out.nc.tmp.", 0) == 0);
    // Names that only look similar, and a temporary of a process that still runs, stay.
    std::ofstream(dir.file("out.nc.tmp.notapid.0123456789abcdef")) << "x";
    const std::string mine = dir.file("out.nc.tmp." + std::to_string(::getppid()) + ".0123456789abcdef");
    std::ofstream(mine) << "x";
    const auto removed = maunet::io::remove_stale_temporaries(target);
    REQUIRE(removed.size() == 1);
    CHECK(fs::path(removed[0]).filename() == left[0]);
    CHECK(dir.listing().size() == 2);
    CHECK(fs::exists(mine));
}

TEST_CASE("a failed write leaves no temporary and the target untouched", "[io][atomic_file][hostile]") {
    ScratchDir dir("error_cleanup");
    const std::string target = dir.file("out.npy");
    std::ofstream(target) << "old";
    CHECK_THROWS_AS(maunet::io::write_stream_atomically(target, [](std::ostream& out) {
                        out << "partial";
                        throw maunet::NumericalError("fails half way");
                    }),
                    maunet::NumericalError);
    CHECK(dir.listing() == std::vector<std::string>{"out.npy"});
    CHECK(read_bytes(target) == "old");
}
