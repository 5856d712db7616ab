// examples/cli/main.cpp: the `maunet` command-line tool. Every error of the library reaches
// the user as one line, "maunet: error: <what>", and exit status 1; usage errors exit 2
// (CLI11's convention, with its own message).
#include <cstdio>
#include <exception>

#include <maunet/maunet.hpp>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
    CLI::App app{"maunet " MAUNET_VERSION_STRING
                 ": bias correction and downscaling of precipitation with MAUNet and MAUNet-Light"};
    app.require_subcommand(1);
    app.set_version_flag("--version", MAUNET_VERSION_STRING);
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
        return app.exit(e);
    } catch (const maunet::Error& e) {
        std::fprintf(stderr, "maunet: error: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "maunet: unexpected error: %s\n", e.what());
        return 1;
    }
    return 0;
}
