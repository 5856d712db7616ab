// `maunet regrid`: index-space regridding by an integer factor, a chunk of time steps at a time.
//   nearest | bilinear | bicubic   refine: [y, x] -> [y K, x K] (stats/regrid.hpp, cell-centre
//                                  convention; bicubic clamps negative overshoot to 0)
//   block_mean (or --coarsen)      coarsen: NaN-aware mean of K x K blocks, [y, x] -> [y / K, x / K];
//                                  rows and columns beyond the last whole block are dropped
// Coordinates follow (pipeline/field_stream.hpp): refined linearly or block-averaged; their
// CF attributes, grid_mapping, cell_methods and global attributes are kept. The values keep
// their units (interpolation is linear), which must be a known precipitation unit (or given
// with --units, which the output then states). --mask FILE[:VAR] blanks the output where the
// target grid's land-sea mask is 0 or missing. Under mpirun the chunks are spread over the
// ranks and rank 0 writes the file (docs/mpi.md).
#include <cstdio>
#include <memory>
#include <string>

#include <maunet/stats/regrid.hpp>

#include "cli/commands.hpp"
#include "cli/data_io.hpp"
#include "cli/limits.hpp"
#include "cli/precip_inputs.hpp"

namespace maunet::cli {
namespace {

struct RegridSettings {
    std::string in, var, out, method = "bilinear", units, mask;
    Index factor = 4;
    Index chunk = 16;
    bool coarsen = false;
};

void run_regrid(RegridSettings s) {
    if (s.coarsen) s.method = "block_mean";
    require(s.method == "nearest" || s.method == "bilinear" || s.method == "bicubic" || s.method == "block_mean",
            "regrid: method '", s.method, "' is not one of nearest, bilinear, bicubic, block_mean");
    require_variable(s.in, s.var, "--var");
    if (is_root()) guard_outputs({s.out}, {s.in, s.mask, mask_file(s.mask)});
    Field layout = field_layout(s.in, s.var);
    (void)precip_factor_of(layout, s.in, s.units);  // refuses unknown or missing units
    if (!units_for(s.in, s.units).empty()) layout.units = units_for(s.in, s.units);
    const Index K = s.factor;
    const bool coarsen = s.method == "block_mean";
    Field out_grid;
    std::function<Tensor<float>(const Tensor<float>&)> fn;
    if (coarsen) {
        out_grid = pipeline::coarsened_grid(layout, K);
        const Index h = layout.ny() / K * K, w = layout.nx() / K * K;
        if ((h != layout.ny() || w != layout.nx()) && is_root())
            std::fprintf(stderr, "maunet regrid: the %ld x %ld grid of '%s' is not a multiple of %ld; using its first "
                         "%ld rows and %ld columns\n", static_cast<long>(layout.ny()), static_cast<long>(layout.nx()),
                         s.in.c_str(), static_cast<long>(K), static_cast<long>(h), static_cast<long>(w));
        fn = [h, w, K](const Tensor<float>& x) { return stats::block_mean(pipeline::crop_rows_cols(x, h, w), K); };
    } else {
        out_grid = pipeline::refined_grid(layout, K);
        const Index H = layout.ny() * K, W = layout.nx() * K;
        const std::string m = s.method;
        fn = [m, H, W](const Tensor<float>& x) {
            if (m == "nearest") return stats::regrid_nearest(x, H, W);
            if (m == "bilinear") return stats::regrid_bilinear(x, H, W);
            return stats::regrid_bicubic(x, H, W, /*clamp_negative=*/true);
        };
    }
    const Tensor<float> mask = load_target_mask(s.mask, out_grid, s.out);
    if (mask.numel() > 0)
        fn = [inner = fn, &mask](const Tensor<float>& x) {
            Tensor<float> y = inner(x);
            pipeline::apply_mask(y, mask);
            return y;
        };
    const std::string method = s.method + (coarsen ? " coarsening by " : " interpolation by ") + std::to_string(K) +
                               " in index space (maunet regrid)";
    const Index n = transform_file(s.in, s.var, s.out, out_grid, s.chunk, fn,
                                   {{"method", method}, {"input", s.in + " (variable " + layout.variable + ")"}},
                                   "regrid");
    if (!is_root()) return;
    std::printf("%s: %ld time steps, %ld x %ld -> %ld x %ld (%s), in %s%s\n", s.out.c_str(), static_cast<long>(n),
                static_cast<long>(layout.ny()), static_cast<long>(layout.nx()), static_cast<long>(out_grid.ny()),
                static_cast<long>(out_grid.nx()), s.method.c_str(), layout.units.c_str(),
                written_by(s.in, s.out).c_str());
}

}  // namespace

void add_regrid_command(CLI::App& app) {
    auto s = std::make_shared<RegridSettings>();
    CLI::App* cmd = app.add_subcommand(
        "regrid", "regrid a field by an integer factor in index space (refine by interpolation, or coarsen by block mean)");
    cmd->add_option("--in", s->in, "input field: NetCDF file, or .npy array [time, y, x]")->required();
    cmd->add_option("--var", s->var, "variable to read (NetCDF; ignored for .npy)");
    cmd->add_option("--out", s->out, "output file (.nc, or .npy)")->required();
    cmd->add_option("--factor", s->factor, "integer factor K, 1 to " + std::to_string(kMaxFactor))
        ->check(CLI::Range(Index(1), kMaxFactor))
        ->capture_default_str();
    cmd->add_option("--method", s->method, "nearest, bilinear or bicubic (refine by K); block_mean (coarsen by K)")
        ->capture_default_str();
    cmd->add_flag("--coarsen", s->coarsen, "same as --method block_mean");
    cmd->add_option("--chunk", s->chunk, "time steps per chunk (NetCDF streaming)")
        ->check(CLI::Range(Index(1), Index(100000)))
        ->capture_default_str();
    cmd->add_option("--units", s->units, "units of --in when its attribute is missing or wrong (.npy: mm/day)");
    cmd->add_option("--mask", s->mask, "target land-sea mask FILE[:VAR]: output missing where it is 0 or missing");
    cmd->callback([s] { run_regrid(*s); });
}

}  // namespace maunet::cli
