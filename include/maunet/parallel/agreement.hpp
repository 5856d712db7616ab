// maunet/parallel/agreement.hpp: an exception on one rank becomes the same exception on all.
//
// A rank that throws between two collectives would leave the others waiting in the next one
// for ever. So the code between collectives catches, and every rank then calls
// rethrow_on_all_ranks, itself collective: one allreduce of a flag per rank tells everyone who
// failed, the lowest failed rank broadcasts its message, and every rank throws (the failed one
// its own exception, the others an Error naming the rank and quoting the message). Nobody hangs,
// nobody calls exit; a program's main can then end the way it likes (the CLI: MPI_Abort).
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "maunet/core/errors.hpp"
#include "maunet/parallel/communicator.hpp"

namespace maunet::parallel {

// The lowest rank whose failure rethrow_on_all_ranks last spread (-1: none). A program's main
// reads it to tell an error every rank knows of (rank 0 reports it, all end normally) from one
// only this rank knows of (report it here and end every rank: MPI_Abort).
inline int& agreed_failure_rank() {
    static int rank = -1;
    return rank;
}

inline std::string what_of(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return x.what();
    } catch (...) {
        return "an exception that is not a std::exception";
    }
}

// Collective. Returns only when no rank failed.
inline void rethrow_on_all_ranks(Communicator& comm, const std::exception_ptr& failure) {
    if (comm.size() == 1) {
        if (failure) std::rethrow_exception(failure);
        return;
    }
    std::vector<double> failed(static_cast<std::size_t>(comm.size()), 0.0);
    failed[static_cast<std::size_t>(comm.rank())] = failure ? 1.0 : 0.0;
    comm.allreduce_sum(failed.data(), failed.size());
    int first = -1;
    for (std::size_t r = 0; r < failed.size() && first < 0; ++r)
        if (failed[r] != 0) first = static_cast<int>(r);
    if (first < 0) return;
    std::string message = comm.rank() == first ? what_of(failure) : std::string();
    std::uint64_t length = message.size();
    comm.broadcast(&length, sizeof length, first);
    message.resize(static_cast<std::size_t>(length));
    if (length > 0) comm.broadcast(&message[0], message.size(), first);
    agreed_failure_rank() = first;
    if (failure) std::rethrow_exception(failure);
    throw Error(maunet::detail::cat("rank ", first, " of ", comm.size(), " failed: ", message));
}

// Runs fn() and agrees with the other ranks on the outcome (see above).
template <class F>
void run_collectively(Communicator& comm, F&& fn) {
    std::exception_ptr failure;
    try {
        fn();
    } catch (...) {
        failure = std::current_exception();
    }
    rethrow_on_all_ranks(comm, failure);
}

}  // namespace maunet::parallel
