// examples/cli/parallel.hpp: the ranks the `maunet` tool runs on. One process unless the tool
// was built with -DMAUNET_WITH_MPI=ON and started by mpirun (docs/mpi.md); main() sets it.
#pragma once

#include <memory>

#include <maunet/parallel/communicator.hpp>

namespace maunet::cli {

inline std::shared_ptr<parallel::Communicator>& shared_communicator() {
    static std::shared_ptr<parallel::Communicator> comm = std::make_shared<parallel::SerialCommunicator>();
    return comm;
}
inline parallel::Communicator& communicator() { return *shared_communicator(); }
// Rank 0 alone prints summaries and writes files.
inline bool is_root() { return communicator().is_root(); }

}  // namespace maunet::cli
