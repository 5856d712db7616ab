// maunet/pipeline/field_stream.hpp: NetCDF in, NetCDF out, a chunk of time steps at a time
// (needs netCDF: link maunet::netcdf). Used by `maunet predict` and `maunet regrid`.
//
// Grids (io::GridField metadata: names, units, coordinates, time attributes; data ignored):
//   refined_grid(g, f)   the grid refined by f: 1-D coordinates by refine_coordinates, 2-D
//                        lat/lon by refine_coordinates_2d (pipeline/grid_coordinates.hpp)
//   coarsened_grid(g, f) the grid coarsened by f (block means of the coordinates); the rows
//                        and columns beyond the last whole block are dropped
//   cropped_grid(g, h, w) the first h rows and w columns
//   crop_rows_cols(x, h, w) the same crop of the data [time, H, W]
//   grid_of(reader)      the grid of an open file (data [1, y, x] stands for the shape)
//
// map_netcdf(in, variable, out, out_grid, chunk, fn, options, progress) reads `chunk` time
// steps of `variable` at a time, calls fn(data [n, H, W]) -> [n, H', W'] on out_grid's shape
// (or [n, 1 + V, H', W'] when options declare V companion variables), and appends the result
// with the same time values, units and calendar. A file without a time
// coordinate gets time = 0, 1, ... in "days since 1970-01-01 00:00:00" (the writer needs an
// axis). At most one chunk of input and one of output are in memory at any time. The output
// appears only when everything has been written (io::NetcdfWriter is atomic).
// With a communicator of p > 1 ranks, the chunks are spread over the ranks: in round k, rank r
// transforms chunk k p + r. In a program built with parallel netCDF (maunet::netcdf_mpi) and an
// MpiCommunicator, every rank writes its own chunk into the one output file
// (io/netcdf_parallel.hpp); otherwise an ordered gather brings each round to rank 0, which
// writes it (parallel/chunked_map.hpp). Either way the file holds the values one process
// writes, bit for bit; the gather also gives the same bytes.
#pragma once

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "maunet/io/netcdf.hpp"
#include "maunet/parallel/chunked_map.hpp"
#include "maunet/pipeline/grid_coordinates.hpp"
#if defined(MAUNET_HAVE_PARALLEL_NETCDF)
#include "maunet/io/netcdf_parallel.hpp"
#include "maunet/parallel/mpi_communicator.hpp"
#endif

namespace maunet::pipeline {

inline constexpr const char* kDefaultTimeUnits = "days since 1970-01-01 00:00:00";

// The first h rows and w columns of data [time, H, W].
template <class T>
Tensor<T> crop_rows_cols(const Tensor<T>& x, Index h, Index w) {
    require_shape(x.rank() == 3, "crop_rows_cols: expected data [time, y, x], got ", x.shape());
    require(h >= 1 && w >= 1 && h <= x.dim(1) && w <= x.dim(2), "crop_rows_cols: cannot crop ", x.shape(), " to ", h,
            " x ", w);
    if (h == x.dim(1) && w == x.dim(2)) return x;
    Tensor<T> out(Shape{x.dim(0), h, w});
    for (Index t = 0; t < x.dim(0); ++t)
        for (Index r = 0; r < h; ++r) {
            const T* src = x.data() + (t * x.dim(1) + r) * x.dim(2);
            std::copy(src, src + w, out.data() + (t * h + r) * w);
        }
    return out;
}

// Grid metadata with data [1, h, w] (all NaN) standing for the shape.
template <class T>
io::GridField<T> with_shape(io::GridField<T> g, Index h, Index w) {
    g.data = Tensor<T>(Shape{1, h, w});
    std::fill(g.data.begin(), g.data.end(), std::numeric_limits<T>::quiet_NaN());
    g.time.clear();
    return g;
}

// The grid of an open file: its metadata with data [1, y, x] standing for the shape, and the
// whole time coordinate (NetcdfReader::metadata() carries no data, hence no shape).
template <class T>
io::GridField<T> grid_of(const io::NetcdfReader<T>& reader) {
    io::GridField<T> g = with_shape(reader.metadata(), reader.ny(), reader.nx());
    g.time = reader.times();
    return g;
}

namespace detail {
// What map_netcdf's fn must return for n steps: [n, H', W'], or [n, 1 + V, H', W'] when the
// output carries V companion variables (io::NetcdfWriterOptions::companions).
template <class T>
void require_chunk_shape(const Tensor<T>& y, Index n, const io::GridField<T>& out_grid, Index companions,
                         const std::string& in_path, const std::string& variable) {
    const Shape want = companions == 0 ? Shape{n, out_grid.ny(), out_grid.nx()}
                                       : Shape{n, 1 + companions, out_grid.ny(), out_grid.nx()};
    require_shape(y.shape() == want, "map_netcdf: the transformation of '", in_path, "' (variable '", variable,
                  "') returned ", y.shape(), " for ", n, " time steps; expected ", want);
}

template <class T>
void require_grid_shape(const io::GridField<T>& g, const char* op) {
    require(g.ny() >= 1 && g.nx() >= 1, op, ": the grid of '", g.variable, "' has no shape (its data ", g.data.shape(),
            " must be [time, y, x]; pipeline::grid_of(reader) gives one)");
}
}  // namespace detail

// The first h rows and w columns of a grid.
template <class T>
io::GridField<T> cropped_grid(const io::GridField<T>& g, Index h, Index w) {
    detail::require_grid_shape(g, "cropped_grid");
    require(h >= 1 && w >= 1 && h <= g.ny() && w <= g.nx(), "cropped_grid: cannot crop the ", g.ny(), " x ", g.nx(),
            " grid of '", g.variable, "' to ", h, " x ", w);
    io::GridField<T> out = with_shape(g, h, w);
    if (!g.y.empty()) out.y.resize(static_cast<std::size_t>(h));
    if (!g.x.empty()) out.x.resize(static_cast<std::size_t>(w));
    if (g.curvilinear()) {
        out.lat2d = crop_rows_cols(g.lat2d.reshaped(Shape{1, g.ny(), g.nx()}), h, w).reshaped(Shape{h, w});
        out.lon2d = crop_rows_cols(g.lon2d.reshaped(Shape{1, g.ny(), g.nx()}), h, w).reshaped(Shape{h, w});
    }
    return out;
}

// The grid refined by `factor` (see the top of the file).
template <class T>
io::GridField<T> refined_grid(const io::GridField<T>& g, Index factor) {
    require(factor >= 1, "refined_grid: expected a factor >= 1, got ", factor);
    detail::require_grid_shape(g, "refined_grid");
    io::GridField<T> out = with_shape(g, g.ny() * factor, g.nx() * factor);
    if (!g.y.empty()) out.y = refine_coordinates(g.y, factor);
    if (!g.x.empty()) out.x = refine_coordinates(g.x, factor);
    if (g.curvilinear()) {
        out.lat2d = refine_coordinates_2d(g.lat2d, factor);
        out.lon2d = refine_coordinates_2d(g.lon2d, factor);
    }
    return out;
}

// The grid coarsened by `factor`; rows and columns beyond the last whole block are dropped.
template <class T>
io::GridField<T> coarsened_grid(const io::GridField<T>& g, Index factor) {
    require(factor >= 1, "coarsened_grid: expected a factor >= 1, got ", factor);
    detail::require_grid_shape(g, "coarsened_grid");
    const Index h = g.ny() / factor * factor, w = g.nx() / factor * factor;
    require(h >= factor && w >= factor, "coarsened_grid: the ", g.ny(), " x ", g.nx(), " grid of '", g.variable,
            "' is smaller than one ", factor, " x ", factor, " block");
    const io::GridField<T> crop = cropped_grid(g, h, w);
    io::GridField<T> out = with_shape(g, h / factor, w / factor);
    if (!crop.y.empty()) out.y = coarsen_coordinates(crop.y, factor);
    if (!crop.x.empty()) out.x = coarsen_coordinates(crop.x, factor);
    if (crop.curvilinear()) {
        out.lat2d = coarsen_coordinates_2d(crop.lat2d, factor);
        out.lon2d = coarsen_coordinates_2d(crop.lon2d, factor);
    }
    return out;
}

#if defined(MAUNET_HAVE_PARALLEL_NETCDF)
namespace detail {
// map_netcdf on p > 1 MPI ranks writing one file together: in round k, rank r reads and
// transforms chunk k p + r and writes it at its place; a rank past the last chunk writes no
// steps (every write is collective). A failure on any rank is agreed before the round's write,
// so all ranks leave the loop together and the writer's destructor closes the file on every
// rank and removes the temporary.
template <class T>
Index map_netcdf_parallel(const io::NetcdfReader<T>& reader, const std::string& in_path, const std::string& variable,
                          const std::string& out_path, const io::GridField<T>& out_grid, Index chunk,
                          const std::function<Tensor<T>(const Tensor<T>&)>& fn, io::NetcdfWriterOptions options,
                          const std::function<void(Index, Index)>& progress, parallel::MpiCommunicator& comm) {
    const Index total = reader.num_times(), p = comm.size(), num_chunks = (total + chunk - 1) / chunk;
    const bool has_time = !reader.times().empty();
    const auto companions = static_cast<Index>(options.companions.size());
    std::unique_ptr<io::ParallelNetcdfWriter> writer;  // made on every rank, or on none
    parallel::run_collectively(comm, [&] {
        writer = std::make_unique<io::ParallelNetcdfWriter>(out_path, out_grid, std::move(options), comm.native());
    });
    for (Index round = 0; round * p < num_chunks; ++round) {
        io::GridField<T> mine = out_grid;
        mine.data = companions == 0 ? Tensor<T>(Shape{0, out_grid.ny(), out_grid.nx()})
                                    : Tensor<T>(Shape{0, 1 + companions, out_grid.ny(), out_grid.nx()});
        mine.time.clear();
        Index t0 = 0;
        parallel::run_collectively(comm, [&] {
            const Index c = round * p + comm.rank();
            if (c >= num_chunks) return;
            t0 = c * chunk;
            const Index n = std::min(chunk, total - t0);
            Tensor<T> y = fn(reader.read(t0, n).data);
            require_chunk_shape(y, n, out_grid, companions, in_path, variable);
            mine.data = std::move(y);
            for (Index k = 0; k < n; ++k)
                mine.time.push_back(has_time ? reader.times()[static_cast<std::size_t>(t0 + k)]
                                             : static_cast<double>(t0 + k));
        });
        writer->write_at(t0, mine);
        if (progress && comm.is_root()) progress(std::min(total, (round + 1) * p * chunk), total);
    }
    parallel::run_collectively(comm, [&] { writer->close(); });
    return total;
}
}  // namespace detail
#endif

// Chunk-by-chunk transformation of one variable into a new file (see the top of the file).
// fn: Tensor<T> [n, H, W] -> Tensor<T> [n, out_grid.ny(), out_grid.nx()].
// progress(done, total), if set, is called after each chunk. Returns the time steps written.
template <class T>
Index map_netcdf(const std::string& in_path, const std::string& variable, const std::string& out_path,
                 io::GridField<T> out_grid, Index chunk, const std::function<Tensor<T>(const Tensor<T>&)>& fn,
                 io::NetcdfWriterOptions options = {},
                 const std::function<void(Index, Index)>& progress = nullptr,
                 parallel::Communicator* comm = nullptr) {
    require(chunk >= 1, "map_netcdf: expected a chunk of at least one time step, got ", chunk);
    detail::require_grid_shape(out_grid, "map_netcdf");
    parallel::SerialCommunicator alone;
    parallel::Communicator& c = comm ? *comm : alone;
    const bool root = c.is_root();
    const io::NetcdfReader<T> reader(in_path, variable);
    const bool has_time = !reader.times().empty();
    if (!has_time) out_grid.time_units = kDefaultTimeUnits, out_grid.calendar = "standard";
    const Index out_h = out_grid.ny(), out_w = out_grid.nx();
    out_grid = with_shape(std::move(out_grid), out_h, out_w);
    const Index total = reader.num_times();
    const auto companions = static_cast<Index>(options.companions.size());
#if defined(MAUNET_HAVE_PARALLEL_NETCDF)
    if (auto* mpi = dynamic_cast<parallel::MpiCommunicator*>(&c); mpi && c.size() > 1)
        return detail::map_netcdf_parallel(reader, in_path, variable, out_path, out_grid, chunk, fn,
                                           std::move(options), progress, *mpi);
#endif
    std::unique_ptr<io::NetcdfWriter> writer;
    parallel::run_collectively(c, [&] {
        if (root) writer = std::make_unique<io::NetcdfWriter>(out_path, out_grid, std::move(options));
    });
    const std::vector<double> times = reader.times();
    const auto transform = [&](Index t0, Index n, io::GridField<T>& in) {
        Tensor<T> y = fn(in.data);
        detail::require_chunk_shape(y, n, out_grid, companions, in_path, variable);
        (void)t0;
        return y;
    };
    const auto write = [&](Index t0, Index n, Tensor<T>&& y) {
        io::GridField<T> out = out_grid;
        out.data = std::move(y);
        out.time.clear();
        for (Index k = 0; k < n; ++k)
            out.time.push_back(has_time ? times[static_cast<std::size_t>(t0 + k)] : static_cast<double>(t0 + k));
        writer->append(out);
        if (progress) progress(t0 + n, total);
    };
    if (c.size() == 1) {
        for (Index t0 = 0; t0 < total; t0 += chunk) {
            const Index n = std::min(chunk, total - t0);
            io::GridField<T> in = reader.read(t0, n);
            write(t0, n, transform(t0, n, in));
        }
    } else {
        parallel::map_chunks<T>(
            c, total, chunk,
            [&](Index t0, Index n) {
                io::GridField<T> in = reader.read(t0, n);
                return transform(t0, n, in);
            },
            write);
    }
    parallel::run_collectively(c, [&] {
        if (root) writer->close();
    });
    return total;
}

}  // namespace maunet::pipeline
