#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include "maunet/io/atomic_file.hpp"
#include "support/scratch_dir.hpp"

namespace fs = std::filesystem;

using maunet::testing::ScratchDir;
using maunet::testing::read_bytes;

TEST_CASE("atomic_file: temporary names sit next to the target and are unique", "[io][atomic_file]") {
    const std::string target = "/some/dir/model.ckpt";
    std::set<std::string> names;
    for (int i = 0; i < 100; ++i) {
        const std::string tmp = maunet::io::temporary_path_for(target);
        CHECK(tmp.rfind(target + ".tmp." + std::to_string(::getpid()) + ".", 0) == 0);
        CHECK(tmp.size() == target.size() + 5 + std::to_string(::getpid()).size() + 1 + 16);
        names.insert(tmp);
    }
    CHECK(names.size() == 100);
}

TEST_CASE("atomic_file: a committed write replaces the target and leaves nothing else", "[io][atomic_file]") {
    ScratchDir dir("atomic_commit");
    const std::string target = (dir.path / "out.txt").string();
    {
        std::ofstream(target) << "old";
    }
    maunet::io::write_stream_atomically(target, [](std::ostream& os) { os << "new contents\n"; });
    CHECK(read_bytes(target) == "new contents\n");
    CHECK(dir.listing() == std::vector<std::string>{"out.txt"});

    maunet::io::write_file_atomically(target, [](const std::string& tmp) {
        CHECK(tmp != tmp.substr(0, tmp.find(".tmp.")));
        std::ofstream(tmp) << "third";
    });
    CHECK(read_bytes(target) == "third");
    CHECK(dir.listing().size() == 1);

    maunet::io::AtomicFile file(target);
    std::ofstream(file.temporary_path()) << "fourth";
    CHECK(read_bytes(target) == "third");  // not visible before commit
    file.commit();
    CHECK(file.finished());
    CHECK(read_bytes(target) == "fourth");
    CHECK(dir.listing().size() == 1);
}

TEST_CASE("atomic_file: an exception leaves the target untouched and no temporary", "[io][atomic_file][errors]") {
    ScratchDir dir("atomic_throw");
    const std::string target = (dir.path / "model.bin").string();
    {
        std::ofstream(target) << "good old model";
    }
    CHECK_THROWS_WITH(maunet::io::write_stream_atomically(target,
                                                          [](std::ostream& os) {
                                                              os << "half a model";
                                                              throw std::runtime_error("crash while writing");
                                                          }),
                      Catch::Contains("crash while writing"));
    CHECK(read_bytes(target) == "good old model");
    CHECK(dir.listing() == std::vector<std::string>{"model.bin"});

    CHECK_THROWS_WITH(maunet::io::write_file_atomically(target,
                                                        [](const std::string& tmp) {
                                                            std::ofstream(tmp) << "partial";
                                                            throw std::runtime_error("boom");
                                                        }),
                      Catch::Contains("boom"));
    CHECK(dir.listing() == std::vector<std::string>{"model.bin"});

    {  // an AtomicFile destroyed without commit removes its temporary
        maunet::io::AtomicFile file(target);
        std::ofstream(file.temporary_path()) << "abandoned";
        CHECK(dir.listing().size() == 2);
    }
    CHECK(dir.listing() == std::vector<std::string>{"model.bin"});
    CHECK(read_bytes(target) == "good old model");
}

TEST_CASE("atomic_file: failures are IOErrors naming the path", "[io][atomic_file][errors]") {
    ScratchDir dir("atomic_fail");
    const std::string missing_dir_target = (dir.path / "no_such_dir" / "x.bin").string();
    CHECK_THROWS_AS(maunet::io::write_stream_atomically(missing_dir_target, [](std::ostream& os) { os << 1; }),
                    maunet::IOError);
    CHECK_THROWS_WITH(maunet::io::write_stream_atomically(missing_dir_target, [](std::ostream& os) { os << 1; }),
                      Catch::Contains("cannot open '" + (dir.path / "no_such_dir" / "x.bin").string() + ".tmp."));
    // commit without having written anything: flushing the temporary (before the rename) fails
    maunet::io::AtomicFile never_written((dir.path / "y.bin").string());
    CHECK_THROWS_WITH(never_written.commit(), Catch::Contains("cannot open '" + never_written.temporary_path() +
                                                              "' to flush it"));
    CHECK_THROWS_WITH(never_written.commit(), Catch::Contains("already committed or discarded"));
    CHECK_THROWS_AS(maunet::io::AtomicFile(""), maunet::ArgumentError);
    CHECK_THROWS_WITH(maunet::io::AtomicFile(""), Catch::Contains("target path is empty"));
    CHECK(dir.listing().empty());
}
