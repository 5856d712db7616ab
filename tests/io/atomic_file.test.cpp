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

namespace fs = std::filesystem;

namespace {

// A fresh, empty directory per test, removed at the end.
struct ScratchDir {
    fs::path path;
    explicit ScratchDir(const std::string& name)
        : path(fs::temp_directory_path() / ("maunet_atomic_" + name + "_" + std::to_string(::getpid()))) {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~ScratchDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::vector<std::string> entries() const {
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(path)) names.push_back(e.path().filename().string());
        return names;
    }
};

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

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
    ScratchDir dir("commit");
    const std::string target = (dir.path / "out.txt").string();
    {
        std::ofstream(target) << "old";
    }
    maunet::io::write_stream_atomically(target, [](std::ostream& os) { os << "new contents\n"; });
    CHECK(slurp(target) == "new contents\n");
    CHECK(dir.entries() == std::vector<std::string>{"out.txt"});

    maunet::io::write_file_atomically(target, [](const std::string& tmp) {
        CHECK(tmp != tmp.substr(0, tmp.find(".tmp.")));
        std::ofstream(tmp) << "third";
    });
    CHECK(slurp(target) == "third");
    CHECK(dir.entries().size() == 1);

    maunet::io::AtomicFile file(target);
    std::ofstream(file.temporary_path()) << "fourth";
    CHECK(slurp(target) == "third");  // not visible before commit
    file.commit();
    CHECK(file.finished());
    CHECK(slurp(target) == "fourth");
    CHECK(dir.entries().size() == 1);
}

TEST_CASE("atomic_file: an exception leaves the target untouched and no temporary", "[io][atomic_file][errors]") {
    ScratchDir dir("throw");
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
    CHECK(slurp(target) == "good old model");
    CHECK(dir.entries() == std::vector<std::string>{"model.bin"});

    CHECK_THROWS_WITH(maunet::io::write_file_atomically(target,
                                                        [](const std::string& tmp) {
                                                            std::ofstream(tmp) << "partial";
                                                            throw std::runtime_error("boom");
                                                        }),
                      Catch::Contains("boom"));
    CHECK(dir.entries() == std::vector<std::string>{"model.bin"});

    {  // an AtomicFile destroyed without commit removes its temporary
        maunet::io::AtomicFile file(target);
        std::ofstream(file.temporary_path()) << "abandoned";
        CHECK(dir.entries().size() == 2);
    }
    CHECK(dir.entries() == std::vector<std::string>{"model.bin"});
    CHECK(slurp(target) == "good old model");
}

TEST_CASE("atomic_file: failures are IOErrors naming the path", "[io][atomic_file][errors]") {
    ScratchDir dir("fail");
    const std::string missing_dir_target = (dir.path / "no_such_dir" / "x.bin").string();
    CHECK_THROWS_AS(maunet::io::write_stream_atomically(missing_dir_target, [](std::ostream& os) { os << 1; }),
                    maunet::IOError);
    CHECK_THROWS_WITH(maunet::io::write_stream_atomically(missing_dir_target, [](std::ostream& os) { os << 1; }),
                      Catch::Contains("cannot open '" + (dir.path / "no_such_dir" / "x.bin").string() + ".tmp."));
    // commit without having written anything: rename fails
    maunet::io::AtomicFile never_written((dir.path / "y.bin").string());
    CHECK_THROWS_WITH(never_written.commit(), Catch::Contains("cannot rename"));
    CHECK_THROWS_WITH(never_written.commit(), Catch::Contains("already committed or discarded"));
    CHECK_THROWS_AS(maunet::io::AtomicFile(""), maunet::ArgumentError);
    CHECK_THROWS_WITH(maunet::io::AtomicFile(""), Catch::Contains("target path is empty"));
    CHECK(dir.entries().empty());
}
