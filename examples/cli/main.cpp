// examples/cli/main.cpp: the `maunet` command-line tool. Exit status (docs/cli.md):
//   0  success (and --help, --version)
//   1  a data or file error: one line, "maunet: error: <what>", naming the file (and the
//      variable or byte offset) and what was expected versus found
//   2  a usage error: a flag missing, unknown or out of its range (CLI11's parse errors)
// Interrupted by SIGINT, SIGTERM or SIGHUP, it removes its temporary files first and then
// dies of the signal (io/atomic_file.hpp).
#include <cstdio>
#include <exception>
#include <new>
#include <regex>
#include <string>

#include <maunet/io/atomic_file.hpp>
#include <maunet/maunet.hpp>

#include "cli/commands.hpp"

namespace {

// A library message for a user: drops the prefixes that locate an error for a programmer, the
// names of classes and functions ("PrecipModel::predict: ", "NetcdfReader: ",
// "day_of_year_series: "), keeping what the message says about the files and values.
std::string for_user(const std::string& message) {
    static const std::regex internal_name(
        R"((^|[ (;])([A-Z][A-Za-z0-9]*(::[A-Za-z_][A-Za-z0-9_]*)+|[A-Z][A-Za-z0-9]*[a-z][A-Z][A-Za-z0-9]*)"
        R"(|[a-z][a-z0-9]*(_[a-z0-9]+)+): )");
    return std::regex_replace(message, internal_name, "$1");
}

}  // namespace

int main(int argc, char** argv) {
    maunet::io::remove_temporaries_on_signals();
    CLI::App app{"maunet " MAUNET_VERSION_STRING
                 ": bias correction and downscaling of precipitation with MAUNet and MAUNet-Light"};
    app.require_subcommand(1);
    app.set_version_flag("--version", MAUNET_VERSION_STRING);
    app.failure_message([](const CLI::App*, const CLI::Error& e) {
        return std::string("maunet: usage error: ") + e.what() + "\nRun with --help for more information.\n";
    });
    maunet::cli::add_demo_command(app);
    maunet::cli::add_info_command(app);
    maunet::cli::add_bench_command(app);
#ifdef MAUNET_CLI_DATA_COMMANDS
    maunet::cli::add_train_command(app);
    maunet::cli::add_distill_command(app);
    maunet::cli::add_predict_command(app);
    maunet::cli::add_regrid_command(app);
    maunet::cli::add_bc_command(app);
    maunet::cli::add_eval_command(app);
    maunet::cli::add_plot_command(app);
#endif
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // CLI11's own codes (104-114) would tell a script nothing more: every usage error is 2.
        return app.exit(e) == 0 ? 0 : 2;
    } catch (const maunet::Error& e) {
        std::fprintf(stderr, "maunet: error: %s\n", for_user(e.what()).c_str());
        return 1;
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "maunet: error: out of memory\n");
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "maunet: unexpected error: %s\n", for_user(e.what()).c_str());
        return 1;
    }
    return 0;
}
