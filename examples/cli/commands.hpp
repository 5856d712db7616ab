// examples/cli/commands.hpp: each subcommand of the `maunet` tool registers itself here.
#pragma once

#include <CLI/CLI.hpp>

namespace maunet::cli {

void add_demo_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_distill_command(CLI::App& app);
void add_compare_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_regrid_command(CLI::App& app);
void add_bc_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_plot_command(CLI::App& app);

}  // namespace maunet::cli
