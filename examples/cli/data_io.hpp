// examples/cli/data_io.hpp: how the data commands of `maunet` read and write fields.
//
// A field is an io::GridField<float>: data [time, y, x] with NaN for missing cells, plus the
// grid and time metadata when it came from NetCDF.
//   .npy   a float array [time, y, x] or [y, x] (one time step); NaN = missing; no coordinates
//          and no time axis (written outputs get time 0, 1, ... in days since 1970-01-01)
//   other  CF-NetCDF through io::NetcdfReader / io::NetcdfWriter (see io/netcdf.hpp)
// Errors are maunet::Error with the file and the variable in the message.
#pragma once

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>

#include <maunet/io/atomic_file.hpp>
#include <maunet/io/netcdf.hpp>
#include <maunet/io/npy.hpp>
#include <maunet/pipeline/compare.hpp>
#include <maunet/pipeline/field_stream.hpp>

#include "cli/parallel.hpp"

namespace maunet::cli {

using Field = io::GridField<float>;

inline bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
inline bool is_npy(const std::string& path) { return ends_with(path, ".npy"); }

// The command line of this process (for the `history` attribute of written files).
inline std::string command_line() {
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::string out;
    for (char c : raw) out += c == '\0' ? ' ' : c;
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out.empty() ? std::string("maunet") : out;
}

// Before anything is written: refuses an output that is an input (by device and inode), that
// exists but is not a regular file, or that is named twice; removes the temporaries an
// interrupted earlier run left next to each output (and says so). Empty paths are ignored.
inline void guard_outputs(const std::vector<std::string>& outputs, const std::vector<std::string>& inputs) {
    std::vector<std::string> earlier;
    for (const std::string& out : outputs) {
        if (out.empty()) continue;
        std::vector<std::string> others = inputs;
        others.insert(others.end(), earlier.begin(), earlier.end());
        io::check_output_path(out, others);
        std::error_code ec;
        const auto canonical = std::filesystem::weakly_canonical(out, ec);
        for (const std::string& e : earlier)
            require(ec || canonical != std::filesystem::weakly_canonical(e, ec), "refusing to write '", out,
                    "' twice (it is given as two outputs)");
        earlier.push_back(out);
        for (const std::string& stale : io::remove_stale_temporaries(out))
            std::fprintf(stderr, "maunet: removed '%s', a temporary left by an interrupted run\n", stale.c_str());
    }
}

// A NetCDF input needs its variable: a usage error naming the flag (exit status 2) when the
// flag was not given.
inline void require_variable(const std::string& path, const std::string& variable, const std::string& flag) {
    if (!path.empty() && !is_npy(path) && variable.empty())
        throw CLI::RequiredError(flag + " is required: the variable to read from the NetCDF file '" + path + "'",
                                 CLI::ExitCodes::RequiredError);
}

// Opens `variable` of NetCDF file `path`; errors that name only the file (it is missing, or
// not NetCDF) are re-thrown naming the variable too.
inline io::NetcdfReader<float> open_reader(const std::string& path, const std::string& variable) {
    const auto add = [&](const Error& e) {
        std::string msg = e.what();
        if (msg.find("variable '") == std::string::npos) msg += " (reading variable '" + variable + "')";
        return msg;
    };
    try {
        return io::NetcdfReader<float>(path, variable);
    } catch (const IOError& e) {
        throw IOError(add(e));
    } catch (const FormatError& e) {
        throw FormatError(add(e));
    }
}

// The metadata of `variable` in `path` (grid, names, time axis; data [1, y, x] stands for the
// shape) and its number of time steps, without reading the data.
inline Field field_layout(const std::string& path, const std::string& variable, Index* num_times = nullptr) {
    if (is_npy(path)) {
        const Tensor<float> t = io::load_npy<float>(path);
        require_shape(t.rank() == 2 || t.rank() == 3, "'", path, "' holds an array of shape ", t.shape(),
                      "; expected [time, y, x] or [y, x]");
        Field f;
        f.variable = variable.empty() ? "pr" : variable;
        if (num_times) *num_times = t.rank() == 3 ? t.dim(0) : 1;
        return pipeline::with_shape(f, t.dim(-2), t.dim(-1));
    }
    const io::NetcdfReader<float> reader = open_reader(path, variable);
    if (num_times) *num_times = reader.num_times();
    return pipeline::grid_of(reader);
}

// The whole field (all time steps) of `variable` in `path`.
inline Field load_field(const std::string& path, const std::string& variable) {
    if (is_npy(path)) {
        Tensor<float> t = io::load_npy<float>(path);
        require_shape(t.rank() == 2 || t.rank() == 3, "'", path, "' holds an array of shape ", t.shape(),
                      "; expected [time, y, x] or [y, x]");
        Field f;
        f.variable = variable.empty() ? "pr" : variable;
        if (t.rank() == 2) t.reshape(Shape{1, t.dim(0), t.dim(1)});
        f.data = std::move(t);
        return f;
    }
    return open_reader(path, variable).read_all();
}

// Writes a whole field: .npy (the data alone) or CF-NetCDF (time 0, 1, ... when it has none).
inline void save_field(const std::string& path, Field field, io::NetcdfWriterOptions options = {}) {
    if (is_npy(path)) {
        io::save_npy(path, field.data);
        return;
    }
    if (field.time.empty() || field.time_units.empty()) {
        field.time.clear();
        for (Index t = 0; t < field.num_times(); ++t) field.time.push_back(static_cast<double>(t));
        field.time_units = pipeline::kDefaultTimeUnits;
        field.calendar = "standard";
    }
    options.command = command_line();
    io::write_netcdf(path, field, std::move(options));
}

// pipeline::score_method, with SSIM left out (NaN) on grids smaller than its 11 x 11 window.
inline pipeline::MethodResult score(std::string name, std::string task, Index parameters, const Tensor<float>& pred,
                                    const Tensor<float>& obs, const Tensor<float>& mask, double data_range) {
    metrics::MetricOptions options(data_range);
    options.compute_ssim = obs.dim(-1) >= 11 && obs.dim(-2) >= 11;
    return pipeline::score_method(std::move(name), std::move(task), parameters, 0.0, pred, obs, mask, options);
}

// A one-line progress bar on a terminal (stderr), nothing otherwise (and on rank 0 only).
class ChunkProgress {
public:
    explicit ChunkProgress(std::string label)
        : label_(std::move(label)), on_(::isatty(::fileno(stderr)) != 0 && is_root()) {}
    void operator()(Index done, Index total) const {
        if (!on_) return;
        const int width = 30;
        const int filled = total > 0 ? static_cast<int>(width * double(done) / double(total)) : width;
        std::string bar(static_cast<std::size_t>(filled), '#');
        bar.resize(width, '.');
        std::fprintf(stderr, "\r%s [%s] %ld/%ld time steps", label_.c_str(), bar.c_str(), static_cast<long>(done),
                     static_cast<long>(total));
        if (done >= total) std::fprintf(stderr, "\n");
        std::fflush(stderr);
    }

private:
    std::string label_;
    bool on_;
};

// How transform_file's output was written, for the summary line: nothing for one process;
// under mpirun "; K ranks, each wrote its own steps (parallel netCDF-4)" or "; K ranks, rank 0
// wrote them in order" (.npy, or a tool built without parallel netCDF).
inline std::string written_by(const std::string& in_path, const std::string& out_path) {
    const int p = communicator().size();
    if (p == 1) return "";
#if defined(MAUNET_HAVE_PARALLEL_NETCDF)
    const bool parallel_netcdf = !is_npy(in_path) && !is_npy(out_path);
#else
    const bool parallel_netcdf = false;
    (void)in_path, (void)out_path;
#endif
    return "; " + std::to_string(p) + " ranks, " +
           (parallel_netcdf ? "each wrote its own steps (parallel netCDF-4)" : "rank 0 wrote them in order");
}

// Applies fn (data [n, y, x] -> [n, y', x'] on out_grid) to `variable` of `in_path` and writes
// `out_path`: NetCDF to NetCDF streams `chunk` time steps at a time (pipeline::map_netcdf);
// when either side is .npy the whole field is read at once. Under mpirun the chunks (of .npy
// too) are spread over the ranks; NetCDF to NetCDF, each rank writes its chunks into the file
// when the tool has parallel netCDF (pipeline::map_netcdf), otherwise rank 0 writes them in
// order (parallel/chunked_map.hpp). Either way the values are one process's, bit for bit.
// With `companions` (variables written beside the data variable, NetCDF to NetCDF only), fn
// returns [n, 1 + companions, y', x']. Returns the time steps written.
inline Index transform_file(const std::string& in_path, const std::string& variable, const std::string& out_path,
                            const Field& out_grid, Index chunk,
                            const std::function<Tensor<float>(const Tensor<float>&)>& fn,
                            std::vector<std::pair<std::string, std::string>> attributes, const std::string& label,
                            std::vector<io::NetcdfCompanion> companions = {}) {
    io::NetcdfWriterOptions options;
    options.command = command_line();
    options.global_attributes = std::move(attributes);
    if (!companions.empty() && (is_npy(in_path) || is_npy(out_path)))
        throw ArgumentError(label + ": writing " + std::to_string(companions.size() + 1) +
                            " variables needs NetCDF in and out; " + (is_npy(in_path) ? in_path : out_path) +
                            " is .npy");
    options.companions = std::move(companions);
    const ChunkProgress progress(label);
    if (!is_npy(in_path) && !is_npy(out_path))
        return pipeline::map_netcdf<float>(in_path, variable, out_path, out_grid, chunk, fn, std::move(options),
                                           [&](Index done, Index total) { progress(done, total); }, &communicator());
    Field field = load_field(in_path, variable);
    Field out = out_grid;
    if (communicator().size() == 1) {
        out.data = fn(field.data);
    } else {
        const Index T = field.num_times();
        const Index h = out_grid.ny(), w = out_grid.nx();
        if (is_root()) out.data = Tensor<float>(Shape{T, h, w});
        parallel::map_chunks<float>(
            communicator(), T, chunk,
            [&](Index t0, Index n) {
                Tensor<float> y = fn(leading_rows(field.data, t0, n));
                require_shape(y.shape() == Shape{n, h, w}, label, ": the transformation returned ", y.shape(),
                              " for ", n, " time steps; expected [", n, ", ", h, ", ", w, "]");
                return y;
            },
            [&](Index t0, Index, Tensor<float>&& y) { std::copy(y.begin(), y.end(), out.data.begin() + t0 * h * w); });
        if (!is_root()) return field.num_times();
    }
    out.time = field.time;
    progress(out.num_times(), out.num_times());
    save_field(out_path, std::move(out), std::move(options));
    return field.num_times();
}

}  // namespace maunet::cli
