// Runs the libFuzzer harnesses (LLVMFuzzerTestOneInput) over files without libFuzzer:
//   fuzz_replay <harness> FILE|DIR...
// every file given, and every regular file in every directory given. This is how every build
// (GCC too) checks the seed corpora and the regression inputs (each one an input that once
// crashed a parser). A crash, a sanitizer report or an uncaught exception fails the test.
// All harnesses (every tests/fuzz/fuzz_<name>.cpp, through the fuzz_harnesses.inc that
// tests/CMakeLists.txt writes) are compiled into this one program, each renamed, so that the
// parsers they share are compiled once.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_harnesses.inc"  // each fuzz_<name>.cpp, its entry point renamed maunet_fuzz_<name>

namespace {

struct Harness {
    const char* name;
    int (*run)(const std::uint8_t* data, std::size_t size);
};

constexpr Harness harnesses[] = {MAUNET_FUZZ_HARNESSES};

}  // namespace

int main(int argc, char** argv) {
    namespace fs = std::filesystem;
    const Harness* harness = nullptr;
    for (const Harness& h : harnesses)
        if (argc > 1 && std::string(argv[1]) == h.name) harness = &h;
    if (harness == nullptr) {
        std::fprintf(stderr, "usage: fuzz_replay HARNESS FILE|DIR..., HARNESS one of: %s\n", MAUNET_FUZZ_NAMES);
        return 2;
    }
    std::vector<fs::path> files;
    for (int i = 2; i < argc; ++i) {
        const fs::path p(argv[i]);
        if (fs::is_directory(p)) {
            for (const auto& e : fs::directory_iterator(p))
                if (e.is_regular_file()) files.push_back(e.path());
        } else if (fs::is_regular_file(p)) {
            files.push_back(p);
        } else {
            std::fprintf(stderr, "replay: '%s' is neither a file nor a directory\n", argv[i]);
            return 2;
        }
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) {
        std::fprintf(stderr, "replay: no inputs found\n");
        return 2;
    }
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::fprintf(stderr, "replay: %s (%zu bytes)\n", f.filename().string().c_str(), bytes.size());
        harness->run(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    }
    std::printf("replay: %s, %zu inputs, no crash\n", harness->name, files.size());
    return 0;
}
