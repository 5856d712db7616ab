// main() of test_mpi, run under mpirun: every rank runs every test case (they are collective);
// the program fails on every rank when a case failed on any.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <mpi.h>

#include "maunet/parallel/mpi_communicator.hpp"

int main(int argc, char* argv[]) {
    maunet::parallel::MpiEnvironment mpi(&argc, &argv);
    Catch::Session session;
    int status = session.applyCommandLine(argc, argv);
    if (status == 0) status = session.run();
    int worst = 0;
    MPI_Allreduce(&status, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return worst;
}
