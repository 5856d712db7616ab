// Data and runs shared by the serial data-parallel tests (tests/parallel/) and the MPI tests
// (tests/mpi/): a small MAUNet (with dropout), fields with missing cells, a trainer run that
// returns its loss history and weights.
#pragma once

#include <limits>
#include <memory>
#include <vector>

#include "maunet/train/distiller.hpp"
#include "maunet/train/trainer.hpp"

namespace maunet::testing {

inline nn::UNetConfig parallel_test_config(int base_width = 4) {
    nn::UNetConfig c = nn::UNetConfig::maunet();  // dropout 0.2 after two levels and the bottleneck
    c.levels = 2;
    c.base_width = base_width;
    return c;
}

// n fields of 16 x 16: target a smooth function of the input, a few missing cells that differ
// from field to field (so that the ranks' shares of valid cells differ).
template <class T>
train::Dataset<T> parallel_test_data(int n, std::uint64_t seed) {
    Rng rng(seed);
    train::Dataset<T> d;
    for (int k = 0; k < n; ++k) {
        Tensor<T> x = Tensor<T>::uniform(Shape{1, 16, 16}, rng, T(-1), T(1));
        Tensor<T> y(x.shape());
        for (Index i = 0; i < x.numel(); ++i) y[i] = T(0.7) * x[i] * x[i] + T(0.3);
        Tensor<T> m(x.shape(), T(1));
        for (int j = 0; j <= k % 4; ++j) {
            const Index at = (17 * k + 31 * j) % x.numel();
            m[at] = 0;
            y[at] = std::numeric_limits<T>::quiet_NaN();
        }
        d.add(train::Sample<T>{x, y, m});
    }
    return d;
}

template <class T>
struct RunResult {
    std::vector<double> train_loss, val_loss;
    std::vector<T> weights;
};

template <class T>
std::vector<T> all_weights(const nn::UNet<T>& net) {
    std::vector<T> out;
    for (const auto& p : net.parameters()) out.insert(out.end(), p.value().begin(), p.value().end());
    return out;
}

// 10 training fields in global batches of 4 (4, 4, 2: with 3 ranks one holds nothing of the
// last), shuffled, 3 epochs of Adam with clipping and a cosine schedule.
template <class T>
train::TrainerOptions parallel_test_options(std::shared_ptr<parallel::Communicator> comm) {
    train::TrainerOptions o;
    o.epochs = 3;
    o.learning_rate = 1e-2;
    o.loader.batch_size = 4;
    o.loader.seed = 5;
    o.seed = 9;
    o.progress = train::ProgressStyle::quiet;
    o.communicator = std::move(comm);
    o.replica_check_every = 1;
    return o;
}

template <class T>
RunResult<T> run_training(std::shared_ptr<parallel::Communicator> comm, Index patch_size = 0) {
    const auto train_set = parallel_test_data<T>(10, 1), val_set = parallel_test_data<T>(5, 2);
    Rng init(3);
    nn::UNet<T> net(parallel_test_config(), init);
    train::TrainerOptions o = parallel_test_options<T>(std::move(comm));
    o.loader.patch_size = patch_size;  // random patches: drawn from the loader's seed, the same on every rank
    const train::TrainResult r = train::Trainer<T>(net, o).fit(train_set, val_set);
    RunResult<T> out;
    for (const auto& e : r.history) {
        out.train_loss.push_back(e.train_loss);
        out.val_loss.push_back(e.val_loss);
    }
    out.weights = all_weights(net);
    return out;
}

// Distillation with the teacher's outputs and feature hints, then one refinement epoch.
template <class T>
RunResult<T> run_distillation(std::shared_ptr<parallel::Communicator> comm) {
    const auto train_set = parallel_test_data<T>(10, 1), val_set = parallel_test_data<T>(5, 2);
    Rng init(3);
    nn::UNet<T> teacher(parallel_test_config(6), init);
    nn::UNet<T> student(parallel_test_config(4), init);
    train::DistillerOptions o;
    o.alpha = 0.5;
    o.hint_weight = 0.1;
    o.refine_epochs = 1;
    o.trainer = parallel_test_options<T>(std::move(comm));
    o.trainer.epochs = 2;
    const train::DistillResult r = train::Distiller<T>(teacher, student, o).fit(train_set, val_set);
    RunResult<T> out;
    for (const auto* h : {&r.distillation.history, &r.refinement.history})
        for (const auto& e : *h) {
            out.train_loss.push_back(e.train_loss);
            out.val_loss.push_back(e.val_loss);
        }
    out.weights = all_weights(student);
    return out;
}

}  // namespace maunet::testing
