// maunet/parallel/mpi_communicator.hpp: the Communicator over MPI (link maunet::mpi, built with
// -DMAUNET_WITH_MPI=ON). The rest of maunet never includes this header, so it stays MPI-free.
//
// Sums are MPI_Allreduce with MPI_SUM on buckets of at most kBucket elements: MPI counts are
// int, and a bucket of 4 MiB is long enough that the per-call latency (microseconds) is nothing
// next to its transfer. Open MPI picks the reduction algorithm from the message and communicator
// sizes alone, and every algorithm it has for a commutative sum hands all ranks the same bits;
// so a fixed rank count gives the same sums run after run, and the same on every rank (the
// trainer checks the latter, train/trainer.hpp).
#pragma once

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <vector>

#include "maunet/core/errors.hpp"
#include "maunet/parallel/communicator.hpp"

namespace maunet::parallel {

// Initialises MPI for the lifetime of the object (threads: only the main thread calls MPI) and
// finalises it. One per program, in main().
class MpiEnvironment {
public:
    MpiEnvironment(int* argc, char*** argv) {
        int ready = 0;
        MPI_Initialized(&ready);
        if (ready) return;
        int provided = 0;
        if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
            throw Error("MPI_Init_thread failed");
        owner_ = true;
    }
    ~MpiEnvironment() {
        int done = 0;
        MPI_Finalized(&done);
        if (owner_ && !done) MPI_Finalize();
    }
    MpiEnvironment(const MpiEnvironment&) = delete;
    MpiEnvironment& operator=(const MpiEnvironment&) = delete;

private:
    bool owner_ = false;
};

class MpiCommunicator final : public Communicator {
public:
    static constexpr std::size_t kBucket = std::size_t(1) << 20;  // elements per MPI_Allreduce

    explicit MpiCommunicator(MPI_Comm comm = MPI_COMM_WORLD) : comm_(comm) {
        check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
        check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
    }
    int rank() const override { return rank_; }
    int size() const override { return size_; }
    // The communicator itself, for MPI-aware libraries (parallel netCDF: io/netcdf_parallel.hpp).
    MPI_Comm native() const { return comm_; }
    // Ranks on this rank's node (MPI_COMM_TYPE_SHARED): threads per rank = cores / this.
    int ranks_on_node() const {
        MPI_Comm node;
        check(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node), "MPI_Comm_split_type");
        int n = 1;
        MPI_Comm_size(node, &n);
        MPI_Comm_free(&node);
        return n;
    }

    void allreduce_sum(float* data, std::size_t n) override { sum(data, n, MPI_FLOAT); }
    void allreduce_sum(double* data, std::size_t n) override { sum(data, n, MPI_DOUBLE); }
    // MPI_Iallreduce per bucket; MPI_Test on each pending one to make progress, MPI_Waitall.
    void start_allreduce_sum(float* data, std::size_t n) override { start(data, n, MPI_FLOAT); }
    void start_allreduce_sum(double* data, std::size_t n) override { start(data, n, MPI_DOUBLE); }
    void progress() override {
        for (MPI_Request& r : pending_)
            if (r != MPI_REQUEST_NULL) {
                int done = 0;
                check(MPI_Test(&r, &done, MPI_STATUS_IGNORE), "MPI_Test");
            }
    }
    void finish_allreduce_sums() override {
        if (pending_.empty()) return;
        std::vector<MPI_Request> all;
        all.swap(pending_);
        check(MPI_Waitall(static_cast<int>(all.size()), all.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
    }

    void broadcast(void* data, std::size_t n, int root) override {
        auto* p = static_cast<unsigned char*>(data);
        for (std::size_t at = 0; at < n; at += kChunk) {
            const int count = static_cast<int>(std::min(kChunk, n - at));
            check(MPI_Bcast(p + at, count, MPI_BYTE, root, comm_), "MPI_Bcast");
        }
    }
    void barrier() override { check(MPI_Barrier(comm_), "MPI_Barrier"); }

    std::vector<std::vector<unsigned char>> gather(const std::vector<unsigned char>& bytes, int root) override {
        require(bytes.size() <= kChunk, "MpiCommunicator::gather: at most ", kChunk, " bytes per rank, got ",
                bytes.size());
        const int mine = static_cast<int>(bytes.size());
        std::vector<int> counts(rank_ == root ? static_cast<std::size_t>(size_) : 0);
        check(MPI_Gather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, root, comm_), "MPI_Gather");
        std::vector<int> displs(counts.size());
        long long total = 0;
        for (std::size_t r = 0; r < counts.size(); ++r) {
            require(total <= INT_MAX - counts[r], "MpiCommunicator::gather: more than ", INT_MAX, " bytes in all");
            displs[r] = static_cast<int>(total);
            total += counts[r];
        }
        std::vector<unsigned char> all(static_cast<std::size_t>(total));
        check(MPI_Gatherv(bytes.data(), mine, MPI_BYTE, all.data(), counts.data(), displs.data(), MPI_BYTE, root,
                          comm_),
              "MPI_Gatherv");
        std::vector<std::vector<unsigned char>> out;
        for (std::size_t r = 0; r < counts.size(); ++r)
            out.emplace_back(all.begin() + displs[r], all.begin() + displs[r] + counts[r]);
        return out;
    }

    std::vector<unsigned char> scatter(const std::vector<std::vector<unsigned char>>& parts, int root) override {
        std::vector<int> counts, displs;
        std::vector<unsigned char> all;
        if (rank_ == root) {
            require(parts.size() == static_cast<std::size_t>(size_), "MpiCommunicator::scatter: expected one part per "
                    "rank (", size_, "), got ", parts.size());
            long long total = 0;
            for (const auto& part : parts) {
                require(part.size() <= kChunk && total <= INT_MAX - static_cast<long long>(part.size()),
                        "MpiCommunicator::scatter: at most ", kChunk, " bytes per rank and ", INT_MAX,
                        " in all, got a part of ", part.size());
                counts.push_back(static_cast<int>(part.size()));
                displs.push_back(static_cast<int>(total));
                total += static_cast<long long>(part.size());
            }
            all.reserve(static_cast<std::size_t>(total));
            for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
        }
        int mine = 0;
        check(MPI_Scatter(counts.data(), 1, MPI_INT, &mine, 1, MPI_INT, root, comm_), "MPI_Scatter");
        std::vector<unsigned char> out(static_cast<std::size_t>(mine));
        check(MPI_Scatterv(all.data(), counts.data(), displs.data(), MPI_BYTE, out.data(), mine, MPI_BYTE, root,
                           comm_),
              "MPI_Scatterv");
        return out;
    }

    [[noreturn]] void abort(const std::string& message, int status) override {
        if (size_ > 1)
            std::fprintf(stderr, "[rank %d of %d] %s\n", rank_, size_, message.c_str());
        else
            std::fprintf(stderr, "%s\n", message.c_str());
        std::fflush(stderr);
        MPI_Abort(comm_, status);
        std::abort();  // MPI_Abort does not return; this line tells the compiler
    }

private:
    static constexpr std::size_t kChunk = std::size_t(1) << 30;  // bytes per MPI call (int counts)

    template <class T>
    void sum(T* data, std::size_t n, MPI_Datatype type) {
        if (size_ == 1) return;
        for (std::size_t at = 0; at < n; at += kBucket) {
            const int count = static_cast<int>(std::min(kBucket, n - at));
            check(MPI_Allreduce(MPI_IN_PLACE, data + at, count, type, MPI_SUM, comm_), "MPI_Allreduce");
        }
    }
    template <class T>
    void start(T* data, std::size_t n, MPI_Datatype type) {
        if (size_ == 1) return;
        for (std::size_t at = 0; at < n; at += kBucket) {
            const int count = static_cast<int>(std::min(kBucket, n - at));
            pending_.push_back(MPI_REQUEST_NULL);
            check(MPI_Iallreduce(MPI_IN_PLACE, data + at, count, type, MPI_SUM, comm_, &pending_.back()),
                  "MPI_Iallreduce");
        }
    }
    static void check(int code, const char* what) {
        if (code != MPI_SUCCESS) throw Error(std::string(what) + " failed with MPI error code " + std::to_string(code));
    }

    MPI_Comm comm_;
    int rank_ = 0, size_ = 1;
    std::vector<MPI_Request> pending_;  // sums started and not yet finished
};

}  // namespace maunet::parallel
