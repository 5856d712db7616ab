// maunet/parallel/communicator.hpp: the few collective operations data-parallel training and
// the distributed CLI need, behind an interface, so that the core stays free of MPI.
//
// SerialCommunicator (size 1) is the process alone: every collective is the identity. The MPI
// implementation (maunet/parallel/mpi_communicator.hpp, target maunet::mpi) is included only
// by programs built with MAUNET_WITH_MPI. Every call is collective: all ranks make the same
// calls in the same order with the same counts, or the program hangs (MPI's rule).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "maunet/core/errors.hpp"

namespace maunet::parallel {

class Communicator {
public:
    virtual ~Communicator() = default;
    virtual int rank() const = 0;
    virtual int size() const = 0;

    // data[i] = sum over ranks of data[i], the same bits on every rank.
    virtual void allreduce_sum(float* data, std::size_t n) = 0;
    virtual void allreduce_sum(double* data, std::size_t n) = 0;
    // Sums that overlap computation: start_allreduce_sum begins data[i] = sum over ranks of
    // data[i] and returns at once; `data` must not be touched until finish_allreduce_sums(),
    // which waits for every sum started. progress() lets started sums advance (MPI moves
    // data only inside its calls); call it now and then while computing. Collective like the
    // others: every rank starts the same sums in the same order. The results are those of
    // allreduce_sum. Here: summed at once (one process; a communicator without them).
    virtual void start_allreduce_sum(float* data, std::size_t n) { allreduce_sum(data, n); }
    virtual void start_allreduce_sum(double* data, std::size_t n) { allreduce_sum(data, n); }
    virtual void progress() {}
    virtual void finish_allreduce_sums() {}
    // Root's n bytes copied to every rank's `data`.
    virtual void broadcast(void* data, std::size_t n, int root) = 0;
    virtual void barrier() = 0;
    // Every rank's bytes, in rank order, on `root` (empty elsewhere). Sizes may differ.
    virtual std::vector<std::vector<unsigned char>> gather(const std::vector<unsigned char>& bytes, int root) = 0;
    // The inverse: root's parts[r] (one per rank, sizes may differ) to rank r; `parts` is read on
    // root only.
    virtual std::vector<unsigned char> scatter(const std::vector<std::vector<unsigned char>>& parts, int root) = 0;
    // Prints "<message>" on stderr (prefixed by the rank when size > 1) and ends every rank
    // with `status`. For a fatal error on one rank that the others cannot know of: they may
    // be waiting in a collective, and only ending them all avoids a hang. Never returns.
    [[noreturn]] virtual void abort(const std::string& message, int status) = 0;

    bool is_root() const { return rank() == 0; }
};

// One process: collectives are identities, abort throws (a library never exits).
class SerialCommunicator final : public Communicator {
public:
    int rank() const override { return 0; }
    int size() const override { return 1; }
    void allreduce_sum(float*, std::size_t) override {}
    void allreduce_sum(double*, std::size_t) override {}
    void broadcast(void*, std::size_t, int root) override { check_root(root); }
    void barrier() override {}
    std::vector<std::vector<unsigned char>> gather(const std::vector<unsigned char>& bytes, int root) override {
        check_root(root);
        return {bytes};
    }
    std::vector<unsigned char> scatter(const std::vector<std::vector<unsigned char>>& parts, int root) override {
        check_root(root);
        require(parts.size() == 1, "SerialCommunicator::scatter: expected one part (one rank), got ", parts.size());
        return parts[0];
    }
    [[noreturn]] void abort(const std::string& message, int) override { throw Error(message); }

private:
    static void check_root(int root) {
        require(root == 0, "SerialCommunicator: root must be 0 (the only rank), got ", root);
    }
};

// The rows [begin, end) of `n` that `rank` of `size` takes: contiguous blocks in rank order,
// the first n % size ranks one row more. Depends only on (n, rank, size), so every rank
// computes every other's share without communicating; ranks beyond n get empty ranges.
struct Share {
    std::size_t begin = 0, end = 0;
    std::size_t count() const { return end - begin; }
};
inline Share share_of(std::size_t n, int rank, int size) {
    require(size >= 1 && rank >= 0 && rank < size, "share_of: rank ", rank, " is not in [0, ", size, ")");
    const auto p = static_cast<std::size_t>(size), r = static_cast<std::size_t>(rank);
    const std::size_t base = n / p, extra = n % p;
    Share s;
    s.begin = r * base + (r < extra ? r : extra);
    s.end = s.begin + base + (r < extra ? 1 : 0);
    return s;
}

// Sums that must not depend on how ranks are grouped: each rank fills only its own entries of
// `values` (zeros elsewhere) and the allreduce adds zeros to them, which is exact (x + 0 == x),
// so every rank ends with every entry exactly as the rank that computed it had it. Summing the
// entries afterwards in index order gives the single-process result bit for bit.
inline void exchange_exact(Communicator& comm, std::vector<double>& values) {
    if (comm.size() > 1 && !values.empty()) comm.allreduce_sum(values.data(), values.size());
}

// 64-bit FNV-1a of bytes: the replicas' weights compared across ranks.
inline std::uint64_t fnv1a(const void* data, std::size_t n, std::uint64_t h = 1469598103934665603ULL) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

}  // namespace maunet::parallel
