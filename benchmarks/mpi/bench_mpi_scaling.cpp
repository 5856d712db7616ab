// bench_mpi_scaling: the measured points of docs/scaling.md. A timed program, not a test.
//
//   bench_mpi_scaling step [--size S] [--batch B] [--steps N] [--threads T] [--unet 1] [--overlap 0]
//       data-parallel training steps of the MAUNet teacher (L = 4, F = 32; with --unet 1 the
//       plain U-Net of `maunet bench --model unet`) on S x S fields, global batch B, over the
//       ranks it runs on; prints milliseconds per step (rank 0); --overlap 0 sums the gradient
//       buckets after backward instead of during it
//   bench_mpi_scaling allreduce [--floats N] [--repeat R] [--unet 1]
//       MPI_Allreduce (MpiCommunicator::allreduce_sum) of N floats, default the network's
//       parameter count; prints the median and the minimum over R calls, and GB/s of the
//       ring model's 2 (p - 1) / p N 4 bytes
//
// Run: mpirun -np 2 bench_mpi_scaling step --threads 1   vs   mpirun -np 1 bench_mpi_scaling step --threads 2
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <maunet/core/heap.hpp>
#include <maunet/core/threading.hpp>
#include <maunet/parallel/mpi_communicator.hpp>
#include <maunet/train/trainer.hpp>

using namespace maunet;
using Clock = std::chrono::steady_clock;

namespace {

long arg(int argc, char** argv, const std::string& name, long fallback) {
    for (int i = 2; i + 1 < argc; ++i)
        if (name == argv[i]) return std::atol(argv[i + 1]);
    return fallback;
}

nn::UNetConfig network(int argc, char** argv) {
    return arg(argc, argv, "--unet", 0) != 0 ? nn::UNetConfig::unet() : nn::UNetConfig::maunet();
}
const char* network_name(int argc, char** argv) { return arg(argc, argv, "--unet", 0) != 0 ? "U-Net" : "MAUNet teacher"; }

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

int step_benchmark(parallel::MpiCommunicator& world, int argc, char** argv) {
    const Index size = arg(argc, argv, "--size", 64), batch = arg(argc, argv, "--batch", 4);
    const long steps = arg(argc, argv, "--steps", 6);
    auto comm = std::make_shared<parallel::MpiCommunicator>();
    Rng rng(1);
    train::Dataset<float> data;
    for (long k = 0; k < batch * steps; ++k) {
        Tensor<float> x = Tensor<float>::uniform(Shape{1, size, size}, rng, -1.f, 1.f);
        data.add(train::make_sample(x, x));
    }
    nn::UNet<float> net(network(argc, argv), rng);
    train::TrainerOptions o;
    o.epochs = 1;
    o.loader.batch_size = batch;
    o.progress = train::ProgressStyle::quiet;
    o.communicator = comm;
    o.replica_check_every = 0;
    o.overlap_allreduce = arg(argc, argv, "--overlap", 1) != 0;
    train::Dataset<float> warm;
    for (Index k = 0; k < batch; ++k) warm.add(data[static_cast<std::size_t>(k)]);
    train::Trainer<float>(net, o).fit(warm, {});  // first touches of memory, kernels chosen
    world.barrier();
    const auto t0 = Clock::now();
    train::Trainer<float>(net, o).fit(data, {});
    world.barrier();
    const double ms = 1e3 * seconds_since(t0) / double(steps);
    if (world.is_root())
        std::printf("step: %d rank(s) x %d thread(s), %s (%ld parameters), global batch %ld of %ld x %ld, buckets "
                    "summed %s backward: %.1f ms per step (mean of %ld)\n",
                    world.size(), num_threads(), network_name(argc, argv), static_cast<long>(net.num_parameters()),
                    static_cast<long>(batch), static_cast<long>(size), static_cast<long>(size),
                    o.overlap_allreduce ? "during" : "after", ms, steps);
    return 0;
}

int allreduce_benchmark(parallel::MpiCommunicator& world, int argc, char** argv) {
    Rng rng(1);
    const long teacher = static_cast<long>(nn::UNet<float>(network(argc, argv), rng).num_parameters());
    const long n = arg(argc, argv, "--floats", teacher), repeat = arg(argc, argv, "--repeat", 10);
    std::vector<float> buffer(static_cast<std::size_t>(n), 1.0f);
    world.allreduce_sum(buffer.data(), buffer.size());  // warm-up: buffers registered, pages touched
    std::vector<double> times;
    for (long r = 0; r < repeat; ++r) {
        world.barrier();
        const auto t0 = Clock::now();
        world.allreduce_sum(buffer.data(), buffer.size());
        times.push_back(seconds_since(t0));
    }
    std::sort(times.begin(), times.end());
    const double median = times[times.size() / 2], p = world.size();
    const double moved = 2 * (p - 1) / p * double(n) * 4;  // bytes each rank sends in a ring allreduce
    if (world.is_root())
        std::printf("allreduce: %d ranks, %ld floats (%.1f MB; the %s has %ld parameters): median %.2f ms, min "
                    "%.2f ms over %ld; %.2f GB/s of ring traffic per rank\n",
                    world.size(), n, double(n) * 4e-6, network_name(argc, argv), teacher, 1e3 * median, 1e3 * times.front(), repeat,
                    moved / median * 1e-9);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    parallel::MpiEnvironment env(&argc, &argv);
    parallel::MpiCommunicator world;
    retain_freed_memory();
    const long threads = arg(argc, argv, "--threads", 0);
    if (threads > 0) set_num_threads(static_cast<int>(threads));
    const std::string what = argc > 1 ? argv[1] : "";
    if (what == "step") return step_benchmark(world, argc, argv);
    if (what == "allreduce") return allreduce_benchmark(world, argc, argv);
    if (world.is_root()) std::fprintf(stderr, "usage: bench_mpi_scaling step|allreduce [options] (see the source)\n");
    return 2;
}
