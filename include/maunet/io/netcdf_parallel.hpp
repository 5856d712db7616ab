// maunet/io/netcdf_parallel.hpp: one CF-NetCDF file written by every rank of an MPI job
// (optional; link maunet::netcdf_mpi, which needs netCDF-C built for MPI: Debian's
// libnetcdf-mpi-dev, or any netCDF-C whose netcdf_meta.h says NC_HAS_PARALLEL4 1).
//
// ParallelNetcdfWriter is NetcdfWriter (io/netcdf.hpp: the same dimensions, variables,
// attributes, compression and one-step chunks) opened with nc_create_par on a communicator.
// Each rank writes its own time steps where they belong, write_at(t0, steps), instead of
// sending them to rank 0: with p ranks, rank 0 no longer receives and writes p times what it
// computes. The values are the same bits wherever they were written; the bytes of the file
// are not those of a serial write (HDF5 places chunks in the order they arrive).
//
// Every call is collective: all ranks construct the writer with the same path, layout and
// options, call write_at the same number of times (a rank with nothing to write passes no
// steps) and close it together. Compressed variables need collective writes in parallel HDF5,
// so every variable is set to NC_COLLECTIVE; the unlimited time dimension then grows to the
// largest step any rank writes. A time step written by two ranks holds the last write; one
// written by none holds _FillValue.
//
// Atomic as NetcdfWriter: rank 0 chooses the temporary name ("<target>.tmp.<pid>.<hex>") and
// broadcasts it with the history's timestamp, so every rank opens the same file and writes the
// same header; close() closes the file on every rank, agrees that every rank succeeded, and
// then rank 0 alone renames it onto the target. A writer destroyed without close() (an
// exception agreed by every rank, parallel/agreement.hpp) closes the file and rank 0 removes
// the temporary.
#pragma once

#if !defined(MAUNET_HAVE_PARALLEL_NETCDF)
#error "maunet/io/netcdf_parallel.hpp needs netCDF-C built for MPI: link maunet::netcdf_mpi (Debian: libnetcdf-mpi-dev)"
#endif

#include <string>
#include <utility>
#include <vector>

#include <mpi.h>

#include "maunet/io/netcdf.hpp"  // netcdf.h, which netcdf_par.h needs first

#include <netcdf_meta.h>
#include <netcdf_par.h>

#if !NC_HAS_PARALLEL4
#error "maunet/io/netcdf_parallel.hpp: this netcdf.h is of a netCDF-C built without parallel netCDF-4 (NC_HAS_PARALLEL4 is 0)"
#endif

namespace maunet::io {

class ParallelNetcdfWriter {
public:
    // Collective. Defines the file as NetcdfWriter does, opened by every rank of `comm`.
    template <class T>
    ParallelNetcdfWriter(std::string path, const GridField<T>& layout, NetcdfWriterOptions options, MPI_Comm comm)
        : comm_(comm), writer_(path, layout, std::move(options), creation(path, comm)) {}
    ParallelNetcdfWriter(const ParallelNetcdfWriter&) = delete;
    ParallelNetcdfWriter& operator=(const ParallelNetcdfWriter&) = delete;

    const std::string& path() const { return writer_.path(); }
    const std::string& temporary_path() const { return writer_.temporary_path(); }

    // Collective. Writes steps.data [n, ny, nx] and steps.time (n values, n may be 0) at time
    // steps t0 .. t0 + n - 1.
    template <class T>
    void write_at(Index t0, const GridField<T>& steps) {
        writer_.put_steps(t0, steps, true);
    }

    // Collective. Closes the file on every rank; if all succeeded, rank 0 renames it onto the
    // target. Throws IOError on every rank if any rank failed (the temporary is then removed).
    void close() {
        if (!writer_.nc_.open())
            throw IOError(maunet::detail::cat("ParallelNetcdfWriter::close: '", path(), "' is already closed"));
        const int status = nc_close(writer_.nc_.release());
        int failed = status != NC_NOERR ? 1 : 0, any_failed = 0;
        MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, comm_);
        if (any_failed) {
            if (writer_.file_) writer_.file_->discard();
            if (failed) writer_.check(status, "cannot close");
            throw IOError(maunet::detail::cat("ParallelNetcdfWriter: another rank could not close '", path(), "'"));
        }
        std::string error;
        if (writer_.file_) {
            try {
                writer_.file_->commit();
            } catch (const std::exception& e) {
                error = e.what();
            }
        }
        int renamed = error.empty() ? 1 : 0;
        MPI_Bcast(&renamed, 1, MPI_INT, 0, comm_);
        if (!error.empty()) throw IOError(error);
        if (!renamed) throw IOError(maunet::detail::cat("ParallelNetcdfWriter: rank 0 could not rename the finished '",
                                                        path(), "' into place"));
    }

private:
    // Rank 0's temporary name and timestamp, broadcast; rank 0 owns the temporary.
    static detail::NetcdfCreation creation(const std::string& target, MPI_Comm comm) {
        int rank = 0;
        MPI_Comm_rank(comm, &rank);
        detail::NetcdfCreation c;
        c.owner = rank == 0;
        std::string shared[2];
        if (rank == 0) shared[0] = temporary_path_for(target), shared[1] = NetcdfWriter::utc_timestamp();
        for (std::string& s : shared) {
            unsigned long long n = s.size();
            MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, comm);
            s.resize(static_cast<std::size_t>(n));
            MPI_Bcast(s.data(), static_cast<int>(n), MPI_CHAR, 0, comm);
        }
        c.temporary = shared[0];
        c.timestamp = shared[1];
        c.create = [comm](const std::string& path, int* ncid) {
            return nc_create_par(path.c_str(), NC_NETCDF4 | NC_CLOBBER, comm, MPI_INFO_NULL, ncid);
        };
        c.after_enddef = [](int ncid) {
            int nvars = 0;
            int status = nc_inq_nvars(ncid, &nvars);
            for (int v = 0; v < nvars && status == NC_NOERR; ++v) status = nc_var_par_access(ncid, v, NC_COLLECTIVE);
            return status;
        };
        return c;
    }

    MPI_Comm comm_;
    NetcdfWriter writer_;
};

}  // namespace maunet::io
