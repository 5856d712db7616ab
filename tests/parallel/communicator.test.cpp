#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "maunet/parallel/agreement.hpp"
#include "maunet/parallel/chunked_map.hpp"
#include "maunet/parallel/communicator.hpp"
#include "support/parallel_training.hpp"
#include "support/random_tensor.hpp"

using namespace maunet;

TEST_CASE("the serial communicator is one rank whose collectives change nothing", "[parallel]") {
    parallel::SerialCommunicator comm;
    CHECK(comm.rank() == 0);
    CHECK(comm.size() == 1);
    CHECK(comm.is_root());
    float f[2] = {1.5f, -2.f};
    comm.allreduce_sum(f, 2);
    CHECK(f[0] == 1.5f);
    CHECK(f[1] == -2.f);
    double d = 3;
    comm.allreduce_sum(&d, 1);
    CHECK(d == 3);
    int v = 7;
    comm.broadcast(&v, sizeof v, 0);
    CHECK(v == 7);
    comm.barrier();
    const std::vector<unsigned char> bytes{1, 2, 3};
    CHECK(comm.gather(bytes, 0) == std::vector<std::vector<unsigned char>>{bytes});
    CHECK_THROWS_WITH(comm.broadcast(&v, sizeof v, 1), Catch::Contains("root must be 0") && Catch::Contains("got 1"));
    CHECK_THROWS_WITH(comm.gather(bytes, 2), Catch::Contains("root must be 0"));
    // abort never ends a process from the library: it throws the message.
    CHECK_THROWS_WITH(comm.abort("stop here", 3), "stop here");
}

TEST_CASE("shares: contiguous, in rank order, covering every row once, the first ranks one more", "[parallel]") {
    for (std::size_t n : {0, 1, 2, 5, 7, 64})
        for (int p : {1, 2, 3, 4, 8}) {
            std::size_t next = 0;
            for (int r = 0; r < p; ++r) {
                const parallel::Share s = parallel::share_of(n, r, p);
                CHECK(s.begin == next);
                CHECK(s.count() == n / p + (static_cast<std::size_t>(r) < n % p ? 1 : 0));
                next = s.end;
            }
            CHECK(next == n);
        }
    CHECK_THROWS_WITH(parallel::share_of(4, 2, 2), Catch::Contains("rank 2 is not in [0, 2)"));
    CHECK_THROWS_WITH(parallel::share_of(4, -1, 2), Catch::Contains("rank -1"));
    CHECK_THROWS_WITH(parallel::share_of(4, 0, 0), Catch::Contains("not in [0, 0)"));
}

TEST_CASE("agreement on one rank rethrows the exception itself, with its type", "[parallel]") {
    parallel::SerialCommunicator comm;
    CHECK_NOTHROW(parallel::run_collectively(comm, [] {}));
    CHECK_THROWS_AS(parallel::run_collectively(comm, [] { throw ShapeError("bad shape"); }), ShapeError);
    CHECK_THROWS_WITH(parallel::run_collectively(comm, [] { throw std::runtime_error("plain"); }), "plain");
    CHECK(parallel::what_of(std::make_exception_ptr(std::runtime_error("why"))) == "why");
    CHECK(parallel::what_of(std::make_exception_ptr(42)) == "an exception that is not a std::exception");
}

TEST_CASE("map_chunks on one rank consumes every chunk in order, results intact", "[parallel]") {
    parallel::SerialCommunicator comm;
    std::vector<Index> starts;
    Tensor<float> all(Shape{10, 2, 3});
    parallel::map_chunks<float>(
        comm, 10, 4,
        [](Index t0, Index n) {
            Tensor<float> y(Shape{n, 2, 3});
            for (Index i = 0; i < y.numel(); ++i) y[i] = float(t0 * 6 + i) + 0.25f;
            return y;
        },
        [&](Index t0, Index n, Tensor<float>&& y) {
            starts.push_back(t0);
            REQUIRE(y.shape() == Shape{n, 2, 3});
            std::copy(y.begin(), y.end(), all.begin() + t0 * 6);
        });
    CHECK(starts == std::vector<Index>{0, 4, 8});
    for (Index i = 0; i < all.numel(); ++i) CHECK(all[i] == float(i) + 0.25f);
    CHECK_THROWS_WITH(parallel::map_chunks<float>(
                          comm, 3, 0, [](Index, Index) { return Tensor<float>(); }, [](Index, Index, Tensor<float>&&) {}),
                      Catch::Contains("chunk >= 1"));
    CHECK_THROWS_WITH(parallel::map_chunks<float>(
                          comm, 3, 2, [](Index, Index) -> Tensor<float> { throw IOError("cannot read chunk"); },
                          [](Index, Index, Tensor<float>&&) {}),
                      "cannot read chunk");
}

TEST_CASE("a tensor survives the bytes map_chunks sends, and malformed bytes are refused", "[parallel]") {
    const Tensor<double> t = testing::random(Shape{2, 3, 4}, 1);
    const Tensor<double> back = parallel::detail::from_bytes<double>(parallel::detail::to_bytes(t));
    CHECK(back.shape() == t.shape());
    CHECK(std::equal(t.begin(), t.end(), back.begin()));
    std::vector<unsigned char> bytes = parallel::detail::to_bytes(t);
    bytes.pop_back();
    CHECK_THROWS_WITH(parallel::detail::from_bytes<double>(bytes), Catch::Contains("bytes for a tensor [2, 3, 4]"));
    CHECK_THROWS_WITH(parallel::detail::from_bytes<double>({1, 2}), Catch::Contains("too few"));
}

TEST_CASE("map_tasks on one rank produces, computes and consumes each task in order", "[parallel]") {
    parallel::SerialCommunicator comm;
    std::vector<std::string> trace;
    parallel::map_tasks(
        comm, 3,
        [&](Index k) {
            trace.push_back("produce " + std::to_string(k));
            return parallel::Bytes(static_cast<std::size_t>(k + 1), static_cast<unsigned char>(k));
        },
        [&](Index k, parallel::Bytes&& in) {
            trace.push_back("compute " + std::to_string(k));
            CHECK(in == parallel::Bytes(static_cast<std::size_t>(k + 1), static_cast<unsigned char>(k)));
            in.push_back(99);
            return std::move(in);
        },
        [&](Index k, parallel::Bytes&& out) {
            trace.push_back("consume " + std::to_string(k));
            CHECK(out.size() == static_cast<std::size_t>(k + 2));
            CHECK(out.back() == 99);
        });
    CHECK(trace == std::vector<std::string>{"produce 0", "compute 0", "consume 0", "produce 1", "compute 1",
                                            "consume 1", "produce 2", "compute 2", "consume 2"});
    CHECK_THROWS_WITH(parallel::map_tasks(
                          comm, 2, [](Index) -> parallel::Bytes { throw IOError("cannot read tile"); },
                          [](Index, parallel::Bytes&& b) { return std::move(b); }, [](Index, parallel::Bytes&&) {}),
                      "cannot read tile");
    CHECK_THROWS_WITH(parallel::map_tasks(
                          comm, -1, [](Index) { return parallel::Bytes(); },
                          [](Index, parallel::Bytes&& b) { return std::move(b); }, [](Index, parallel::Bytes&&) {}),
                      Catch::Contains("count >= 0"));
    CHECK_THROWS_WITH(comm.scatter({{1}, {2}}, 0), Catch::Contains("expected one part (one rank), got 2"));
}

TEST_CASE("typed map_tasks on one rank hands the values on without encoding them", "[parallel]") {
    parallel::SerialCommunicator comm;
    const auto never_in = [](const std::vector<Tensor<float>>&) -> parallel::Bytes { throw Error("encoded an input"); };
    const auto never_out = [](const Tensor<float>&) -> parallel::Bytes { throw Error("encoded a result"); };
    std::vector<const float*> produced;
    std::vector<Index> consumed;
    parallel::map_tasks<std::vector<Tensor<float>>, Tensor<float>>(
        comm, 3,
        [&](Index k) {
            std::vector<Tensor<float>> t{Tensor<float>(Shape{4}, float(k)), Tensor<float>(Shape{4}, 1.f)};
            produced.push_back(t[0].data());
            return t;
        },
        [&](Index k, std::vector<Tensor<float>>&& t) {
            CHECK(t[0].data() == produced[static_cast<std::size_t>(k)]);  // moved, not copied
            Tensor<float> y = std::move(t[0]);
            for (float& v : y) v += 10.f;
            return y;
        },
        [&](Index k, Tensor<float>&& y) {
            CHECK(y[3] == float(k) + 10.f);
            consumed.push_back(k);
        },
        {never_in, parallel::decode_tensor_list<float>(), never_out, parallel::decode_tensor<float>()});
    CHECK(consumed == std::vector<Index>{0, 1, 2});
}

TEST_CASE("several tensors survive pack_tensors, and malformed messages are refused", "[parallel]") {
    const Tensor<float> a = testing::random<float>(Shape{2, 3}, 1);
    const Tensor<float> b(Shape{0, 4});
    const Tensor<float> c = testing::random<float>(Shape{5}, 2);
    const parallel::Bytes bytes = parallel::pack_tensors<float>({&a, &b, &c});
    const std::vector<Tensor<float>> back = parallel::unpack_tensors<float>(bytes);
    REQUIRE(back.size() == 3);
    CHECK(back[0].shape() == a.shape());
    CHECK(std::equal(a.begin(), a.end(), back[0].begin()));
    CHECK(back[1].shape() == b.shape());
    CHECK(std::equal(c.begin(), c.end(), back[2].begin()));
    CHECK(parallel::unpack_tensors<float>({}).empty());
    parallel::Bytes cut = bytes;
    cut.resize(bytes.size() - 3);
    CHECK_THROWS_WITH(parallel::unpack_tensors<float>(cut), Catch::Contains("only"));
    CHECK_THROWS_WITH(parallel::unpack_tensors<float>({1, 2, 3}), Catch::Contains("too few for a length"));
}

TEST_CASE("dropout skipping the draws of other rows gives those rows' part of the whole mask", "[parallel]") {
    const Tensor<double> x = testing::random(Shape{5, 2, 3, 3}, 4);
    Rng whole_rng(11);
    const Tensor<double> whole = dropout(Var<double>(x), 0.4, whole_rng, true).value();
    const Index row = 2 * 3 * 3;
    Index offset = 0;
    for (Index rows : {2, 0, 3}) {  // three ranks' shares of 5 rows, one empty
        if (rows == 0) continue;
        Rng rng(11);
        Tensor<double> part(Shape{rows, 2, 3, 3});
        std::copy(x.begin() + offset * row, x.begin() + (offset + rows) * row, part.begin());
        const Tensor<double> y = dropout(Var<double>(part), 0.4, rng, true, offset * row, (5 - offset - rows) * row).value();
        CHECK(std::equal(y.begin(), y.end(), whole.begin() + offset * row));
        CHECK(rng() == Rng(whole_rng)());  // both engines end in the same state
        offset += rows;
    }
    Rng rng(1);
    CHECK_THROWS_WITH(dropout(Var<double>(x), 0.4, rng, true, -1, 0), Catch::Contains("draws to skip must be >= 0"));
}

TEST_CASE("the Dropout layer refuses rows outside the global batch", "[parallel]") {
    nn::Dropout<double> layer(0.5);
    Rng rng(1);
    const Var<double> x(testing::random(Shape{3, 1, 2, 2}, 2));
    CHECK_THROWS_WITH(layer.forward(x, nn::ForwardMode{true, &rng, 2, 4}),
                      Catch::Contains("rows [2, 5) are not inside a batch of 4"));
}

TEST_CASE("batch_rows cuts rows of a batch and refuses rows outside it", "[parallel]") {
    train::Batch<float> b;
    b.input = testing::random<float>(Shape{4, 2, 3, 3}, 1);
    b.target = testing::random<float>(Shape{4, 1, 3, 3}, 2);
    b.mask = Tensor<float>(Shape{4, 1, 3, 3}, 1.f);
    b.indices = {7, 3, 1, 0};
    const train::Batch<float> r = train::batch_rows(b, 1, 3);
    CHECK(r.size() == 2);
    CHECK(r.indices == std::vector<std::size_t>{3, 1});
    CHECK(std::equal(r.input.begin(), r.input.end(), b.input.begin() + 18));
    CHECK(std::equal(r.target.begin(), r.target.end(), b.target.begin() + 9));
    CHECK_THROWS_WITH(train::batch_rows(b, 3, 5), Catch::Contains("rows [3, 5) are not inside a batch of 4"));
    CHECK_THROWS_WITH(train::batch_rows(b, 2, 1), Catch::Contains("rows [2, 1)"));
}

TEST_CASE("training with the serial communicator is bit-identical to training without one", "[parallel]") {
    const auto alone = testing::run_training<float>(std::make_shared<parallel::SerialCommunicator>());
    const auto without = testing::run_training<float>(nullptr);
    CHECK(alone.train_loss == without.train_loss);
    CHECK(alone.weights == without.weights);
}

namespace {
// Two ranks whose collectives do nothing: enough to reach the checks made before any communication.
class PretendTwoRanks final : public parallel::Communicator {
public:
    int rank() const override { return 0; }
    int size() const override { return 2; }
    void allreduce_sum(float*, std::size_t) override {}
    void allreduce_sum(double*, std::size_t) override {}
    void broadcast(void*, std::size_t, int) override {}
    void barrier() override {}
    std::vector<std::vector<unsigned char>> gather(const std::vector<unsigned char>& b, int) override { return {b, b}; }
    std::vector<unsigned char> scatter(const std::vector<std::vector<unsigned char>>& p, int) override { return p[0]; }
    [[noreturn]] void abort(const std::string& m, int) override { throw Error(m); }
};
}  // namespace

namespace {
// Rank 0 of two whose sums do nothing, recording when sums start, progress and finish.
class RecordingTwoRanks final : public parallel::Communicator {
public:
    std::vector<std::string> events;
    std::size_t started_values = 0;
    int rank() const override { return 0; }
    int size() const override { return 2; }
    void allreduce_sum(float*, std::size_t) override {}
    void allreduce_sum(double*, std::size_t) override {}
    void start_allreduce_sum(float*, std::size_t n) override { events.push_back("start"), started_values += n; }
    void start_allreduce_sum(double*, std::size_t n) override { events.push_back("start"), started_values += n; }
    void progress() override { events.push_back("progress"); }
    void finish_allreduce_sums() override { events.push_back("finish"); }
    void broadcast(void*, std::size_t, int) override {}
    void barrier() override {}
    std::vector<std::vector<unsigned char>> gather(const std::vector<unsigned char>& b, int) override { return {b, b}; }
    std::vector<unsigned char> scatter(const std::vector<std::vector<unsigned char>>& p, int) override { return p[0]; }
    [[noreturn]] void abort(const std::string& m, int) override { throw Error(m); }
};

std::vector<float> train_on(const std::shared_ptr<RecordingTwoRanks>& comm, bool overlap) {
    const auto data = testing::parallel_test_data<float>(8, 1);
    Rng init(3);
    nn::UNet<float> net(testing::parallel_test_config(), init);
    train::TrainerOptions o = testing::parallel_test_options<float>(comm);
    o.epochs = 1;
    o.overlap_allreduce = overlap;
    o.allreduce_bucket_elements = 100;  // many buckets of this small network
    train::Trainer<float>(net, o).fit(data, data);
    return testing::all_weights(net);
}
}  // namespace

TEST_CASE("gradient buckets start summing during backward, with the same result as after it", "[parallel]") {
    auto overlapped = std::make_shared<RecordingTwoRanks>(), after = std::make_shared<RecordingTwoRanks>();
    const std::vector<float> w_overlapped = train_on(overlapped, true), w_after = train_on(after, false);
    CHECK(w_overlapped == w_after);
    Rng init(3);
    const std::size_t values = testing::all_weights(nn::UNet<float>(testing::parallel_test_config(), init)).size();
    const std::size_t steps = 2;  // 8 fields in batches of 4
    CHECK(overlapped->started_values == steps * values);
    CHECK(after->started_values == steps * values);
    // Overlapped: within a step, buckets start and backward goes on (progress calls from its
    // hook) before the step waits for the sums; after backward: every start, then the wait.
    const auto first_start = std::find(overlapped->events.begin(), overlapped->events.end(), "start");
    const auto first_finish = std::find(overlapped->events.begin(), overlapped->events.end(), "finish");
    REQUIRE(first_start < first_finish);
    CHECK(std::count(first_start, first_finish, std::string("start")) > 3);
    CHECK(std::count(first_start, first_finish, std::string("progress")) > 3);
    CHECK(std::count(after->events.begin(), after->events.end(), std::string("progress")) == 0);
}

TEST_CASE("data-parallel training refuses batch normalisation and a negative replica check", "[parallel]") {
    nn::UNetConfig c = testing::parallel_test_config();
    c.batch_norm = true;
    Rng init(1);
    nn::UNet<float> net(c, init);
    train::TrainerOptions o;
    o.communicator = std::make_shared<PretendTwoRanks>();
    CHECK_THROWS_WITH(train::Trainer<float>(net, o), Catch::Contains("2 ranks") && Catch::Contains("batch normalisation"));
    o.communicator = nullptr;
    CHECK_NOTHROW(train::Trainer<float>(net, o));  // one process: batch norm is fine
    o.replica_check_every = -1;
    CHECK_THROWS_WITH(train::Trainer<float>(net, o), Catch::Contains("replica_check_every must be >= 0, got -1"));
}
