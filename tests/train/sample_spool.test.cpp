#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "maunet/pipeline/precip_model.hpp"
#include "maunet/train/dataset.hpp"
#include "maunet/train/trainer.hpp"
#include "support/scratch_dir.hpp"
#include "support/small_network.hpp"

using namespace maunet;
using namespace maunet::train;
using maunet::testing::ScratchDir;

namespace {

// Rain-like samples [C, H, W] with a missing target cell and a masked column each.
template <class T>
std::vector<Sample<T>> rainy_samples(int n, Index C, Index H, Index W, std::uint64_t seed) {
    Rng rng(seed);
    std::vector<Sample<T>> out;
    for (int k = 0; k < n; ++k) {
        Tensor<T> x(Shape{C, H, W}), y(Shape{1, H, W});
        for (T& v : x) v = static_cast<T>(std::exp(3.0 * rng.uniform()) - 1.0);
        for (Index i = 0; i < y.numel(); ++i) y[i] = static_cast<T>(1.3) * x[i] + static_cast<T>(0.1);
        y[static_cast<Index>(k) % y.numel()] = std::numeric_limits<T>::quiet_NaN();
        Sample<T> s = make_sample(std::move(x), std::move(y));
        for (Index i = 0; i < H; ++i) s.mask[i * W] = T(0);
        out.push_back(std::move(s));
    }
    return out;
}

template <class T>
bool same_bits(const Tensor<T>& a, const Tensor<T>& b) {
    if (a.shape() != b.shape()) return false;
    for (Index i = 0; i < a.numel(); ++i)
        if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
    return true;
}
template <class T>
bool same_sample(const Sample<T>& a, const Sample<T>& b) {
    return same_bits(a.input, b.input) && same_bits(a.target, b.target) && same_bits(a.mask, b.mask);
}


}  // namespace

TEST_CASE("SampleSpool: records come back bit for bit through a least-recently-used cache", "[train][spool]") {
    ScratchDir dir("sample_spool");
    const auto samples = rainy_samples<double>(5, 2, 6, 7, 1);
    const std::size_t record = (2 + 2) * 6 * 7 * sizeof(double);
    SampleSpool<double> spool(dir.path.string(), 2 * record + 10);  // room for two records
    for (std::size_t i = 0; i < samples.size(); ++i) CHECK(spool.append(samples[i]) == i);
    CHECK(spool.size() == 5);
    CHECK(spool.record_bytes() == record);
    CHECK(spool.cache_capacity() == 2);
    CHECK(dir.listing().empty());  // the scratch file is unlinked at once
    // 0 and 1 from disk; 0 again from the cache; 2 evicts 1 (the least recently used); 1 from disk.
    for (std::size_t i : {0, 1, 0, 2, 1}) CHECK(same_sample(*spool.get(i), samples[i]));
    CHECK(spool.disk_reads() == 4);
    CHECK(spool.cached() == 2);
    // A record held by a caller survives its eviction.
    const auto held = spool.get(3);
    (void)spool.get(4);
    (void)spool.get(0);
    CHECK(same_sample(*held, samples[3]));
    CHECK(spool.cached() == 2);

    // A budget below one record still caches one.
    SampleSpool<double> small(dir.path.string(), 0);
    small.append(samples[0]);
    CHECK(small.cache_capacity() == 1);

    CHECK_THROWS_WITH(spool.get(5), Catch::Contains("record 5 out of range for 5 records"));
    const auto other = rainy_samples<double>(1, 1, 6, 7, 2);
    CHECK_THROWS_AS(spool.append(other[0]), ShapeError);
    CHECK_THROWS_WITH(spool.append(other[0]), Catch::Contains("sample input has shape [1, 6, 7], the spool's samples have [2, 6, 7]"));
    CHECK_THROWS_AS(SampleSpool<double>(dir.file("no/such/dir"), 1), IOError);
    CHECK_THROWS_WITH(SampleSpool<double>(dir.file("no/such/dir"), 1), Catch::Contains("cannot create a scratch file in"));
}

TEST_CASE("a spooled dataset behaves as the same dataset in memory", "[train][spool][dataset]") {
    ScratchDir dir("spooled_dataset");
    const auto samples = rainy_samples<float>(9, 2, 12, 10, 3);
    Dataset<float> memory;
    Dataset<float> disk = Dataset<float>::spooled(dir.path.string(), 1);  // a cache of one sample
    for (const auto& s : samples) {
        memory.add(s);
        disk.add(s);
    }
    REQUIRE(disk.is_spooled());
    CHECK_FALSE(memory.is_spooled());
    REQUIRE(disk.size() == 9);
    CHECK(disk.channels() == 2);
    CHECK(disk.height() == 12);
    CHECK(disk.width() == 10);
    for (std::size_t i = 0; i < 9; ++i) CHECK(same_sample(disk[i], memory[i]));
    // Splits share the file and pick the same samples.
    const auto a = memory.split(0.6, 0.2, 5), b = disk.split(0.6, 0.2, 5);
    REQUIRE(b.train.size() == a.train.size());
    REQUIRE(b.val.size() == a.val.size());
    CHECK(b.test.is_spooled());
    for (std::size_t i = 0; i < a.train.size(); ++i) CHECK(same_sample(*b.train.get(i), *a.train.get(i)));
    for (std::size_t i = 0; i < a.test.size(); ++i) CHECK(same_sample(*b.test.get(i), *a.test.get(i)));
    CHECK(same_bits(disk.stacked().target, memory.stacked().target));
    // The loader's batches, whole fields and random patches with rain oversampling.
    for (Index patch : {0, 6}) {
        LoaderOptions o;
        o.batch_size = 4;
        o.patch_size = patch;
        o.patches_per_field = patch > 0 ? 3 : 1;
        o.rainy_fraction = patch > 0 ? 0.5 : 0.0;
        o.seed = 9;
        const DataLoader<float> lm(memory, o), ld(disk, o);
        REQUIRE(lm.num_batches() == ld.num_batches());
        for (long epoch : {0L, 1L})
            for (std::size_t k = 0; k < lm.num_batches(); ++k) {
                const Batch<float> x = lm.batch(epoch, k), y = ld.batch(epoch, k);
                CHECK(same_bits(x.input, y.input));
                CHECK(same_bits(x.target, y.target));
                CHECK(same_bits(x.mask, y.mask));
                CHECK(x.indices == y.indices);
            }
    }
    CHECK(disk.spool()->cached() == 1);  // the cache never grew beyond its budget
    CHECK(disk.empty_like().is_spooled());
    CHECK(disk.empty_like().empty());
    CHECK_THROWS_WITH(disk.get(9), Catch::Contains("index 9 out of range for 9 samples"));
}

TEST_CASE("training on a spooled dataset gives the weights of training in memory", "[train][spool][determinism]") {
    ScratchDir dir("spooled_training");
    const auto samples = rainy_samples<float>(8, 1, 16, 16, 4);
    Dataset<float> memory;
    Dataset<float> disk = Dataset<float>::spooled(dir.path.string(), 2 * (1 + 2) * 16 * 16 * sizeof(float));
    for (const auto& s : samples) {
        memory.add(s);
        disk.add(s);
    }
    // Transforms fitted sample by sample equal the ones fitted in memory; normalised samples
    // are spooled too.
    const auto run = [&](const Dataset<float>& raw) {
        Rng rng(7);
        pipeline::PrecipModel<float> model(testing::small_network(), rng);
        model.fit_transforms(raw);
        const auto split = raw.split_in_order(0.75, 0.25);
        const Dataset<float> train_set = model.normalize(split.train), val_set = model.normalize(split.val);
        CHECK(train_set.is_spooled() == raw.is_spooled());
        TrainerOptions o;
        o.epochs = 2;
        o.loader.batch_size = 3;
        o.loader.patch_size = 8;
        o.loader.patches_per_field = 2;
        o.progress = ProgressStyle::quiet;
        Trainer<float>(model.net(), o).fit(train_set, val_set);
        if (raw.is_spooled()) {  // the cache (2 samples) could not hold the 6 training fields: read again and again
            CHECK(train_set.spool()->disk_reads() > 2 * train_set.size());
            CHECK(train_set.spool()->cached() <= 2);
        }
        std::vector<float> weights;
        for (auto& p : model.net().parameters()) weights.insert(weights.end(), p.value().begin(), p.value().end());
        return std::make_pair(model.input_transform().parameters(), weights);
    };
    const auto [params_memory, weights_memory] = run(memory);
    const auto [params_disk, weights_disk] = run(disk);
    CHECK(params_memory == params_disk);
    REQUIRE(weights_memory.size() == weights_disk.size());
    CHECK(std::equal(weights_memory.begin(), weights_memory.end(), weights_disk.begin()));
    CHECK(disk.spool()->cached() <= 2);
}

TEST_CASE("transforms fitted in parts equal one fit of the stacked parts", "[train][transforms][spool]") {
    const auto samples = rainy_samples<double>(4, 3, 5, 6, 8);
    Dataset<double> d(std::vector<Sample<double>>(samples.begin(), samples.end()));
    const Batch<double> all = d.stacked();
    ChannelTransform<double> whole({true, true, false}), parts({true, true, false});
    PrecipTransform<double> target_whole, target_parts;
    whole.fit(all.input);
    target_whole.fit(all.target, all.mask);
    parts.begin_fit();
    target_parts.begin_fit();
    for (const auto& s : samples) {
        parts.add_to_fit(s.input);
        target_parts.add_to_fit(s.target, s.mask);
    }
    parts.end_fit();
    target_parts.end_fit();
    CHECK(parts.parameters() == whole.parameters());
    CHECK(target_parts.parameters() == target_whole.parameters());
    ChannelTransform<double> unstarted({true});
    CHECK_THROWS_WITH(unstarted.end_fit(), Catch::Contains("call begin_fit() first"));
}
