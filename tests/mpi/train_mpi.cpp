// Data-parallel training over MPI (2 and 3 ranks, tests/mpi/CMakeLists.txt) against one process
// on the same global batches, and against itself.
//
// Tolerance. The two runs compute the same sums grouped differently: one process sums a weight
// gradient over the global batch's rows in one pass, the ranks each over their rows and then
// across ranks; the loss normalisation is (sum over my cells) / (my cells) x (my cells / all
// cells) instead of (sum over all cells) / (all cells). In double each step's gradient differs
// by a few ulp of its largest terms (~1e-16 relative). Adam's update g / (sqrt(v) + eps) turns
// a difference dg into at most lr * dg / eps = 1e-2 * 1e-16 / 1e-8 = 1e-10 per step on a weight
// (the worst case, a gradient near 0); over the 9 steps of 3 epochs that is 1e-9. So weights
// must agree to 1e-8 and losses to 1e-9 relative (measured: 2e-16 and 4e-16 with 2 and 3
// ranks). A mistake in the split (a row counted twice or lost, a wrong normalisation, another
// dropout mask) changes them by 1e-3 or more. In float the same bound is ~1e-3 on the worst
// weight; measured 9e-8, and the data are fixed, so 1e-5 is checked.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "maunet/parallel/chunked_map.hpp"
#include "maunet/parallel/mpi_communicator.hpp"
#include "support/gradcheck.hpp"
#include "support/parallel_training.hpp"

using namespace maunet;
using testing::RunResult;

namespace {

std::shared_ptr<parallel::Communicator> world() { return std::make_shared<parallel::MpiCommunicator>(); }
std::shared_ptr<parallel::Communicator> alone() { return std::make_shared<parallel::SerialCommunicator>(); }

using maunet::testing::max_or_nan;  // a running maximum that keeps a NaN (std::max drops it)

template <class T>
double max_abs_diff(const std::vector<T>& a, const std::vector<T>& b) {
    REQUIRE(a.size() == b.size());
    double d = 0;
    for (std::size_t i = 0; i < a.size(); ++i) d = max_or_nan(d, std::abs(double(a[i]) - double(b[i])));
    return d;
}

// The measured differences, printed by rank 0 for the record (docs/mpi.md quotes them).
void report(const char* what, double loss, double weights) {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0) std::printf("%s: max relative loss difference %.3g, max weight difference %.3g\n", what, loss, weights);
}

double max_rel_diff(const std::vector<double>& a, const std::vector<double>& b) {
    REQUIRE(a.size() == b.size());
    double d = 0;
    for (std::size_t i = 0; i < a.size(); ++i) d = max_or_nan(d, std::abs(a[i] - b[i]) / std::max(1e-30, std::abs(b[i])));
    return d;
}

}  // namespace

TEST_CASE("communicator: sums, broadcast, ordered gather, shares", "[mpi]") {
    parallel::MpiCommunicator comm;
    const int r = comm.rank(), p = comm.size();
    REQUIRE(p >= 2);
    std::vector<float> f(3, float(r + 1));
    comm.allreduce_sum(f.data(), f.size());
    CHECK(f[2] == float(p * (p + 1) / 2));
    // More than one bucket.
    std::vector<double> big(parallel::MpiCommunicator::kBucket + 7, 1.0);
    big.back() = r;
    comm.allreduce_sum(big.data(), big.size());
    CHECK(big.front() == p);
    CHECK(big.back() == p * (p - 1) / 2);
    long v = r == p - 1 ? 42 : 0;
    comm.broadcast(&v, sizeof v, p - 1);
    CHECK(v == 42);
    std::vector<unsigned char> mine(static_cast<std::size_t>(r + 1), static_cast<unsigned char>(r));
    const auto all = comm.gather(mine, 0);
    if (r == 0) {
        REQUIRE(all.size() == static_cast<std::size_t>(p));
        for (int k = 0; k < p; ++k) CHECK(all[static_cast<std::size_t>(k)] == std::vector<unsigned char>(k + 1, k));
    } else {
        CHECK(all.empty());
    }
    comm.barrier();
}

TEST_CASE("sums started in buckets and finished later equal allreduce_sum", "[mpi]") {
    parallel::MpiCommunicator comm;
    const int r = comm.rank();
    // 2.5 buckets of kBucket floats, and a second array started before the first finished.
    const std::size_t n = parallel::MpiCommunicator::kBucket * 5 / 2;
    std::vector<float> a(n), b(1000), expected(n);
    for (std::size_t i = 0; i < n; ++i) a[i] = float(i % 1000) * 0.25f + float(r);
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = float(r + 1);
    expected = a;
    comm.allreduce_sum(expected.data(), expected.size());
    comm.start_allreduce_sum(a.data(), a.size());
    comm.start_allreduce_sum(b.data(), b.size());
    comm.progress();
    comm.finish_allreduce_sums();
    CHECK(a == expected);
    const int p = comm.size();
    CHECK(b[999] == float(p * (p + 1) / 2));
    comm.finish_allreduce_sums();  // nothing pending: returns
}

TEST_CASE("map_tasks: rank 0's inputs computed on their ranks, results consumed in order", "[mpi]") {
    parallel::MpiCommunicator comm;
    const int r = comm.rank(), p = comm.size();
    // A scatter of parts of different sizes, one of them empty.
    std::vector<parallel::Bytes> parts;
    if (r == 0)
        for (int k = 0; k < p; ++k) parts.emplace_back(static_cast<std::size_t>(k == 1 ? 0 : k + 2), static_cast<unsigned char>(k));
    const parallel::Bytes mine = comm.scatter(parts, 0);
    CHECK(mine == parallel::Bytes(static_cast<std::size_t>(r == 1 ? 0 : r + 2), static_cast<unsigned char>(r)));
    // 2p + 1 tasks: two full rounds and one of a single task.
    const Index count = 2 * p + 1;
    std::vector<Index> produced, computed, consumed;
    parallel::map_tasks(
        comm, count,
        [&](Index k) {
            produced.push_back(k);
            return parallel::tensor_bytes(Tensor<float>(Shape{2}, float(k)));
        },
        [&](Index k, parallel::Bytes&& in) {
            computed.push_back(k);
            Tensor<float> x = parallel::tensor_from_bytes<float>(in);
            x[1] = float(10 * k + r);  // which rank computed it
            return parallel::tensor_bytes(x);
        },
        [&](Index k, parallel::Bytes&& out) {
            const Tensor<float> y = parallel::tensor_from_bytes<float>(out);
            CHECK(y[0] == float(k));
            CHECK(y[1] == float(10 * k + k % p));
            consumed.push_back(k);
        });
    std::vector<Index> expected_here;
    for (Index k = r; k < count; k += p) expected_here.push_back(k);
    CHECK(computed == expected_here);
    std::vector<Index> all(static_cast<std::size_t>(count));
    for (Index k = 0; k < count; ++k) all[static_cast<std::size_t>(k)] = k;
    CHECK(produced == (r == 0 ? all : std::vector<Index>{}));
    CHECK(consumed == (r == 0 ? all : std::vector<Index>{}));
    // A failure while rank 0 produces stops every rank, none hangs.
    const auto fail = [&] {
        parallel::map_tasks(
            comm, count, [](Index k) -> parallel::Bytes { if (k == 1) throw IOError("tile 1 unreadable"); return {}; },
            [](Index, parallel::Bytes&& b) { return std::move(b); }, [](Index, parallel::Bytes&&) {});
    };
    CHECK_THROWS_WITH(fail(), Catch::Contains("tile 1 unreadable"));
}

TEST_CASE("typed map_tasks: tensors travel through the codec to their ranks and back in order", "[mpi]") {
    parallel::MpiCommunicator comm;
    const int r = comm.rank(), p = comm.size();
    const Index count = p + 2;
    std::vector<Index> consumed;
    parallel::map_tasks<std::vector<Tensor<float>>, Tensor<float>>(
        comm, count,
        [&](Index k) { return std::vector<Tensor<float>>{Tensor<float>(Shape{3}, float(k)), Tensor<float>(Shape{2}, 2.f)}; },
        [&](Index k, std::vector<Tensor<float>>&& t) {
            REQUIRE(t.size() == 2);
            CHECK(t[0].shape() == Shape{3});
            Tensor<float> y(Shape{2});
            y[0] = t[0][2] * t[1][0];
            y[1] = float(10 * k + r);
            return y;
        },
        [&](Index k, Tensor<float>&& y) {
            CHECK(y[0] == 2.f * float(k));
            CHECK(y[1] == float(10 * k + k % p));
            consumed.push_back(k);
        },
        {parallel::encode_tensor_list<float>(), parallel::decode_tensor_list<float>(), parallel::encode_tensor<float>(),
         parallel::decode_tensor<float>()});
    std::vector<Index> all;
    for (Index k = 0; k < count; ++k) all.push_back(k);
    CHECK(consumed == (r == 0 ? all : std::vector<Index>{}));
}

TEST_CASE("an exception on one rank is thrown on every rank, naming it", "[mpi]") {
    parallel::MpiCommunicator comm;
    const int last = comm.size() - 1;
    const auto fail_last = [&] {
        if (comm.rank() == last) throw ArgumentError("bad input on the last rank");
    };
    if (comm.rank() == last)
        CHECK_THROWS_WITH(parallel::run_collectively(comm, fail_last), "bad input on the last rank");
    else
        CHECK_THROWS_WITH(parallel::run_collectively(comm, fail_last),
                          Catch::Contains("rank " + std::to_string(last)) && Catch::Contains("bad input on the last rank"));
    CHECK_NOTHROW(parallel::run_collectively(comm, [] {}));
}

TEST_CASE("a training loss that throws on one rank stops every rank's training", "[mpi]") {
    auto comm = world();
    const auto data = testing::parallel_test_data<float>(6, 1);
    Rng init(3);
    nn::UNet<float> net(testing::parallel_test_config(), init);
    train::TrainerOptions o = testing::parallel_test_options<float>(comm);
    train::Trainer<float> trainer(net, o);
    const int rank = comm->rank();
    trainer.set_loss([rank](const nn::UNet<float>& m, const train::Batch<float>& b, const nn::ForwardMode& mode) {
        if (rank == 1) throw NumericalError("the loss of rank 1 is broken");
        return train::Trainer<float>::supervised_loss(train::LossKind::mse)(m, b, mode);
    });
    CHECK_THROWS_WITH(trainer.fit(data, data), Catch::Contains("the loss of rank 1 is broken"));
}

TEST_CASE("data-parallel training equals one process on the same global batches (double)", "[mpi]") {
    const RunResult<double> one = testing::run_training<double>(alone());
    const RunResult<double> many = testing::run_training<double>(world());
    report("training, double", max_rel_diff(many.train_loss, one.train_loss), max_abs_diff(many.weights, one.weights));
    CHECK(max_rel_diff(many.train_loss, one.train_loss) < 1e-9);
    CHECK(max_rel_diff(many.val_loss, one.val_loss) < 1e-9);
    CHECK(max_abs_diff(many.weights, one.weights) < 1e-8);
    // Not trivially: training moved the weights by far more than the tolerance.
    Rng init(3);
    const nn::UNet<double> initial(testing::parallel_test_config(), init);
    CHECK(max_abs_diff(testing::all_weights(initial), one.weights) > 1e-3);
}

TEST_CASE("data-parallel training on random patches equals one process (double)", "[mpi]") {
    const RunResult<double> one = testing::run_training<double>(alone(), 8);
    const RunResult<double> many = testing::run_training<double>(world(), 8);
    report("patches, double", max_rel_diff(many.train_loss, one.train_loss), max_abs_diff(many.weights, one.weights));
    CHECK(max_rel_diff(many.train_loss, one.train_loss) < 1e-9);
    CHECK(max_abs_diff(many.weights, one.weights) < 1e-8);
}

TEST_CASE("data-parallel distillation with hints and refinement equals one process (double)", "[mpi]") {
    const RunResult<double> one = testing::run_distillation<double>(alone());
    const RunResult<double> many = testing::run_distillation<double>(world());
    report("distillation, double", max_rel_diff(many.train_loss, one.train_loss), max_abs_diff(many.weights, one.weights));
    CHECK(max_rel_diff(many.train_loss, one.train_loss) < 1e-9);
    CHECK(max_abs_diff(many.weights, one.weights) < 1e-8);
}

TEST_CASE("data-parallel training: buckets summed during backward or after it give the same weights", "[mpi]") {
    const auto run = [](bool overlap) {
        const auto data = testing::parallel_test_data<float>(10, 1);
        Rng init(3);
        nn::UNet<float> net(testing::parallel_test_config(), init);
        train::TrainerOptions o = testing::parallel_test_options<float>(world());
        o.overlap_allreduce = overlap;
        o.allreduce_bucket_elements = 200;  // many buckets of this small network
        train::Trainer<float>(net, o).fit(data, data);
        return testing::all_weights(net);
    };
    const std::vector<float> overlapped = run(true), after = run(false);
    CHECK(overlapped == after);
}

TEST_CASE("data-parallel training in float: two runs are bit-identical and close to one process", "[mpi]") {
    const RunResult<float> a = testing::run_training<float>(world());
    const RunResult<float> b = testing::run_training<float>(world());
    CHECK(a.train_loss == b.train_loss);
    CHECK(a.val_loss == b.val_loss);
    CHECK(a.weights == b.weights);
    // Every rank holds the same weights (the trainer checked the hashes each step; this is the
    // bytes themselves, gathered to rank 0).
    parallel::MpiCommunicator comm;
    std::vector<unsigned char> bytes(a.weights.size() * sizeof(float));
    std::memcpy(bytes.data(), a.weights.data(), bytes.size());
    const auto all = comm.gather(bytes, 0);
    for (const auto& other : all) CHECK(other == bytes);
    // Float rounding through Adam over 9 steps (see the top of the file).
    const RunResult<float> one = testing::run_training<float>(alone());
    report("training, float", max_rel_diff(a.train_loss, one.train_loss), max_abs_diff(a.weights, one.weights));
    CHECK(max_rel_diff(a.train_loss, one.train_loss) < 1e-5);
    CHECK(max_abs_diff(a.weights, one.weights) < 1e-5);
}
