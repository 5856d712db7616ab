// The one main() of every maunet test program. Each program holds the tests of one folder;
// every test case is tagged [#<file name>] (Catch's --filenames-as-tags, always on) so that
// ctest can run the cases of one file: tests/CMakeLists.txt names them "<file>: <case>".
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

int main(int argc, char* argv[]) {
    Catch::Session session;
    const int status = session.applyCommandLine(argc, argv);
    if (status != 0) return status;
    session.configData().filenamesAsTags = true;
    return session.run();
}
