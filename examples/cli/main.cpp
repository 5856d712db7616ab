// examples/cli/main.cpp: the `maunet` command-line tool. Exit status (docs/cli.md):
//   0  success (and --help, --version)
//   1  a data or file error: one line, "maunet: error: <what>", naming the file (and the
//      variable or byte offset) and what was expected versus found
//   2  a usage error: a flag missing, unknown or out of its range (CLI11's parse errors)
// Interrupted by SIGINT, SIGTERM or SIGHUP, it removes its temporary files first and then
// dies of the signal (io/atomic_file.hpp).
// Built with -DMAUNET_WITH_MPI=ON and started by mpirun (docs/mpi.md): an error every rank
// knows of (a usage error, or one the ranks agreed on, parallel/agreement.hpp) is printed by
// rank 0 and every rank exits with the status above; an error only one rank knows of is printed
// by that rank, prefixed with its number, and MPI_Abort ends all ranks with the status, so
// that none waits for ever in a collective.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <new>
#include <regex>
#include <string>

#include <maunet/io/atomic_file.hpp>
#include <maunet/maunet.hpp>

#ifdef MAUNET_HAVE_MPI
#include <maunet/parallel/mpi_communicator.hpp>
#endif

#include "cli/commands.hpp"
#include "cli/parallel.hpp"

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

// Ends this command with `status` after `message` (see the top of the file).
int fail(const std::string& message, int status) {
    auto& comm = maunet::cli::communicator();
    if (comm.size() == 1 || maunet::parallel::agreed_failure_rank() >= 0) {
        if (comm.is_root()) std::fprintf(stderr, "%s\n", message.c_str());
        return status;
    }
    comm.abort(message, status);
    return status;  // not reached: abort ends the process
}

}  // namespace

int main(int argc, char** argv) {
#ifdef MAUNET_HAVE_MPI
    maunet::parallel::MpiEnvironment mpi(&argc, &argv);
    {
        auto world = std::make_shared<maunet::parallel::MpiCommunicator>();
        // Without OMP_NUM_THREADS or --threads, the ranks on a node share its cores instead of
        // each taking all of them.
        const int local = world->ranks_on_node();
        if (local > 1 && std::getenv("OMP_NUM_THREADS") == nullptr)
            maunet::set_num_threads(std::max(1, maunet::num_threads() / local));
        maunet::cli::shared_communicator() = std::move(world);
    }
#endif
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
    maunet::cli::add_compare_command(app);
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
        // Every rank parsed the same command line: rank 0 alone prints.
        if (!maunet::cli::is_root()) return e.get_exit_code() == 0 ? 0 : 2;
        return app.exit(e) == 0 ? 0 : 2;
    } catch (const maunet::Error& e) {
        return fail("maunet: error: " + for_user(e.what()), 1);
    } catch (const std::bad_alloc&) {
        return fail("maunet: error: out of memory", 1);
    } catch (const std::exception& e) {
        return fail(std::string("maunet: unexpected error: ") + for_user(e.what()), 1);
    }
    return 0;
}
