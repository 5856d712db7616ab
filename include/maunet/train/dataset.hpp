// maunet/train/dataset.hpp: a dataset of samples (in memory, or spooled to disk behind a
// bounded cache), its train/val/test split, and a deterministic data loader with random patch
// sampling.
//
// Determinism: every random choice comes from maunet::Rng seeded from (seed, epoch) for the
// shuffle and from (seed, epoch, position in the epoch) for a patch, so batch b of epoch e is
// a pure function of the seed and the dataset, whatever order batches are asked for in and
// however many threads run.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numeric>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "maunet/core/errors.hpp"
#include "maunet/core/random.hpp"
#include "maunet/core/tensor.hpp"
#include "maunet/train/sample.hpp"
#include "maunet/train/sample_spool.hpp"

namespace maunet::train {

namespace detail {
// Mixes two 64-bit values into one seed (splitmix64 finaliser of a ^ rotated b).
inline std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b) {
    std::uint64_t z = a ^ (b * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
// 0, 1, ..., n-1 shuffled by Fisher-Yates with `rng` (for i = n-1 down to 1: swap i with a
// uniform j in [0, i]).
inline std::vector<std::size_t> shuffled_indices(std::size_t n, Rng& rng) {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    for (std::size_t i = n; i-- > 1;) {
        const auto j = static_cast<std::size_t>(rng.below(i + 1));
        std::swap(order[i], order[j]);
    }
    return order;
}
}  // namespace detail

template <class T>
class Dataset;

template <class T>
struct DatasetSplit {
    Dataset<T> train, val, test;
};

// Samples of one grid: every sample has the same input, target and mask shapes.
//
// Two storages, one interface (get(i) returns a shared pointer to sample i):
//   in memory (the default)   the samples themselves; the parts of a split share them
//   spooled (Dataset::spooled) each sample written to an anonymous scratch file as it is added,
//                              read back through a cache of at most `cache_bytes`
//                              (train/sample_spool.hpp): a training set larger than memory.
//                              The parts of a split share the file.
template <class T>
class Dataset {
public:
    Dataset() = default;
    explicit Dataset(std::vector<Sample<T>> samples) {
        for (auto& s : samples) add(std::move(s));
    }
    // An empty dataset whose samples go to a scratch file in `directory`, read back through a
    // cache of at most `cache_bytes` (at least one sample).
    static Dataset spooled(const std::string& directory, std::size_t cache_bytes) {
        Dataset d;
        d.spool_ = std::make_shared<SampleSpool<T>>(directory, cache_bytes);
        return d;
    }
    // An empty dataset stored as this one is (spooled: a new scratch file in the same directory
    // with the same cache budget).
    Dataset empty_like() const {
        return spool_ ? spooled(spool_->directory(), spool_->cache_bytes()) : Dataset();
    }

    // Appends a sample; throws ShapeError if its shapes differ from the first sample's.
    void add(Sample<T> s) {
        validate_sample(s, "Dataset::add");
        if (spool_) {
            records_.push_back(spool_->append(s));  // the spool checks the shapes
            return;
        }
        if (!memory_.empty())
            require_shape(s.input.shape() == memory_.front()->input.shape(), "Dataset::add: sample input has shape ",
                          s.input.shape(), ", the dataset's samples have ", memory_.front()->input.shape());
        memory_.push_back(std::make_shared<const Sample<T>>(std::move(s)));
    }

    std::size_t size() const { return spool_ ? records_.size() : memory_.size(); }
    bool empty() const { return size() == 0; }
    // Sample i, shared (in memory: the dataset's own; spooled: from the cache or the disk).
    std::shared_ptr<const Sample<T>> get(std::size_t i) const {
        require(i < size(), "Dataset::get: index ", i, " out of range for ", size(), " samples");
        return spool_ ? spool_->get(records_[i]) : memory_[i];
    }
    // A copy of sample i.
    Sample<T> operator[](std::size_t i) const { return *get(i); }
    Sample<T> at(std::size_t i) const { return *get(i); }
    bool is_spooled() const { return spool_ != nullptr; }
    // The scratch file's spool (null in memory): its cache and disk-read counts.
    const SampleSpool<T>* spool() const { return spool_.get(); }

    // The shape of every sample: channels, height, width (throws on an empty dataset).
    Index channels() const { return front("channels")->channels(); }
    Index height() const { return front("height")->height(); }
    Index width() const { return front("width")->width(); }

    // Every sample stacked in order (memory for all of them: for small or held-out sets).
    Batch<T> stacked() const {
        front("stacked");
        std::vector<std::size_t> all(size());
        std::iota(all.begin(), all.end(), std::size_t{0});
        return stack(*this, all);
    }

    // A random split by whole samples: round(fraction_train * n) samples for training,
    // round(fraction_val * n) for validation, the rest for testing. The permutation comes from
    // `seed`; each part keeps the original order of its samples.
    DatasetSplit<T> split(double fraction_train, double fraction_val, std::uint64_t seed) const {
        Rng rng(seed);
        return split_by(detail::shuffled_indices(size(), rng), fraction_train, fraction_val, "split");
    }
    // The same counts without shuffling: the first samples train, the next validate, the last
    // test (a chronological split, which keeps neighbouring days of a time series together).
    DatasetSplit<T> split_in_order(double fraction_train, double fraction_val) const {
        std::vector<std::size_t> order(size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        return split_by(order, fraction_train, fraction_val, "split_in_order");
    }

private:
    std::shared_ptr<const Sample<T>> front(const char* what) const {
        require(!empty(), "Dataset::", what, ": the dataset is empty");
        return get(0);
    }
    DatasetSplit<T> split_by(std::vector<std::size_t> order, double ft, double fv, const char* who) const {
        require(std::isfinite(ft) && ft > 0.0 && ft <= 1.0, "Dataset::", who,
                ": expected fraction_train in (0, 1], got ", ft);
        require(std::isfinite(fv) && fv >= 0.0 && fv <= 1.0, "Dataset::", who,
                ": expected fraction_val in [0, 1], got ", fv);
        require(ft + fv <= 1.0 + 1e-12, "Dataset::", who, ": fraction_train + fraction_val = ", ft + fv,
                " exceeds 1");
        const std::size_t n = size();
        const auto n_train = std::min(n, static_cast<std::size_t>(std::llround(ft * static_cast<double>(n))));
        const auto n_val = std::min(n - n_train, static_cast<std::size_t>(std::llround(fv * static_cast<double>(n))));
        require(n_train >= 1, "Dataset::", who, ": fraction_train ", ft, " of ", n,
                " samples leaves no training sample");
        DatasetSplit<T> parts;
        const auto fill = [&](Dataset& part, std::size_t from, std::size_t to) {
            std::vector<std::size_t> idx(order.begin() + static_cast<std::ptrdiff_t>(from),
                                         order.begin() + static_cast<std::ptrdiff_t>(to));
            std::sort(idx.begin(), idx.end());
            part.spool_ = spool_;  // the parts share the samples (or the scratch file)
            for (std::size_t i : idx) {
                if (spool_) part.records_.push_back(records_[i]);
                else part.memory_.push_back(memory_[i]);
            }
        };
        fill(parts.train, 0, n_train);
        fill(parts.val, n_train, n_train + n_val);
        fill(parts.test, n_train + n_val, n);
        return parts;
    }

    std::vector<std::shared_ptr<const Sample<T>>> memory_;  // in memory
    std::shared_ptr<SampleSpool<T>> spool_;                 // spooled: the file ...
    std::vector<std::size_t> records_;                      // ... and this dataset's records in it
};

// Samples indices[0], indices[1], ... of a dataset stacked into one batch.
template <class T>
Batch<T> stack(const Dataset<T>& data, const std::vector<std::size_t>& indices) {
    std::vector<std::shared_ptr<const Sample<T>>> held;
    held.reserve(indices.size());
    for (std::size_t i : indices) {
        require(i < data.size(), "stack: sample index ", i, " is out of range for ", data.size(), " samples");
        held.push_back(data.get(i));
    }
    return detail::stack_samples<T>(indices, [&](std::size_t k) -> const Sample<T>& { return *held[k]; });
}

// The p x p window at (top, left) of a sample's input, target and mask.
template <class T>
Sample<T> crop_sample(const Sample<T>& s, Index top, Index left, Index p) {
    validate_sample(s, "crop_sample");
    require(p >= 1 && top >= 0 && left >= 0 && top + p <= s.height() && left + p <= s.width(), "crop_sample: window ",
            p, " x ", p, " at (", top, ", ", left, ") does not fit the field ", s.height(), " x ", s.width());
    const auto crop = [&](const Tensor<T>& x) {
        const Index c = x.dim(0), h = x.dim(1), w = x.dim(2);
        Tensor<T> out(Shape{c, p, p});
        for (Index k = 0; k < c; ++k)
            for (Index i = 0; i < p; ++i) {
                const T* row = x.data() + (k * h + top + i) * w + left;
                std::copy(row, row + p, out.data() + (k * p + i) * p);
            }
        return out;
    };
    return Sample<T>{crop(s.input), crop(s.target), crop(s.mask)};
}

// The number of symmetries of a field's rectangle: the 8 of the square (4 rotations, each
// optionally mirrored) when h == w, else the 4 that keep the shape (identity, the two mirror
// images, the half turn).
inline int field_symmetries(Index h, Index w) { return h == w ? 8 : 4; }

// Sample s seen through symmetry `symmetry` in 0 .. field_symmetries - 1: output cell (i, j) of
// every channel of input, target and mask is input cell (a, b) with
//     (a, b) = (j, i) if symmetry & 4 (transpose; square fields only),
//     then a -> h - 1 - a if symmetry & 1 (upside down), b -> w - 1 - b if symmetry & 2 (mirror).
// 0 is the identity. Every cell is moved, none is made: sums, extremes and masks are kept.
template <class T>
Sample<T> symmetric_sample(const Sample<T>& s, int symmetry) {
    validate_sample(s, "symmetric_sample");
    const Index h = s.height(), w = s.width();
    require(symmetry >= 0 && symmetry < field_symmetries(h, w), "symmetric_sample: symmetry ", symmetry,
            " is not one of the ", field_symmetries(h, w), " of a ", h, " x ", w, " field");
    const bool transpose = (symmetry & 4) != 0, flip_rows = (symmetry & 1) != 0, flip_cols = (symmetry & 2) != 0;
    const auto move = [&](const Tensor<T>& x) {
        Tensor<T> out(x.shape());
        const T* in = x.data();
        T* o = out.data();
        for (Index k = 0; k < x.dim(0); ++k, in += h * w, o += h * w)
            for (Index i = 0; i < h; ++i)
                for (Index j = 0; j < w; ++j) {
                    Index a = transpose ? j : i, b = transpose ? i : j;
                    if (flip_rows) a = h - 1 - a;
                    if (flip_cols) b = w - 1 - b;
                    o[i * w + j] = in[a * w + b];
                }
        return out;
    };
    return Sample<T>{move(s.input), move(s.target), move(s.mask)};
}

struct LoaderOptions {
    Index batch_size = 8;
    bool shuffle = true;
    bool drop_last = false;
    // 0: whole fields. Otherwise square patches of this side, drawn uniformly inside the field.
    Index patch_size = 0;
    // A patch whose mask has a valid fraction below this is redrawn, at most max_patch_retries
    // times; if none reaches it, the best patch drawn is kept.
    double min_valid_fraction = 0.0;
    int max_patch_retries = 10;
    // Patches per sample per epoch: each sample is visited this many times, each visit with
    // its own patch (so an epoch of few large fields still makes many gradient steps).
    Index patches_per_field = 1;
    // Oversampling of rain: this share of the patches (chosen by the patch's own seeded draw)
    // must be rainy, i.e. at least rainy_min_wet of its valid cells wet; such a patch is
    // redrawn like an invalid one. A cell is wet when its target exceeds the smallest valid
    // target of its field: dry cells all hold the transform of 0 mm, and every transform the
    // models use is increasing, so this needs no threshold in the transformed units.
    double rainy_fraction = 0.0;
    double rainy_min_wet = 0.25;
    // Symmetry augmentation: each patch (or whole field) is seen through one of its rectangle's
    // symmetries (symmetric_sample), drawn by its own seeded draw. Rain's small-scale structure
    // has no preferred orientation, so a few fields (one storm) give up to 8x as many distinct
    // samples; static predictors turn with the rain, so their relation to it is kept.
    bool symmetries = false;
    std::uint64_t seed = 0;
};

// Batches of a dataset, epoch by epoch. Holds a reference: the dataset must outlive it.
template <class T>
class DataLoader {
public:
    DataLoader(const Dataset<T>& data, LoaderOptions options) : data_(&data), options_(options) {
        require(!data.empty(), "DataLoader: the dataset is empty");
        require(options.batch_size >= 1, "DataLoader: expected a batch size >= 1, got ", options.batch_size);
        require(options.patch_size >= 0, "DataLoader: expected patch_size >= 0 (0 = whole fields), got ",
                options.patch_size);
        require(options.patch_size <= data.height() && options.patch_size <= data.width(), "DataLoader: patch_size ",
                options.patch_size, " is larger than the field ", data.height(), " x ", data.width());
        require(std::isfinite(options.min_valid_fraction) && options.min_valid_fraction >= 0.0 &&
                    options.min_valid_fraction <= 1.0,
                "DataLoader: expected min_valid_fraction in [0, 1], got ", options.min_valid_fraction);
        require(options.max_patch_retries >= 0, "DataLoader: expected max_patch_retries >= 0, got ",
                options.max_patch_retries);
        require(options.patches_per_field >= 1 && (options.patches_per_field == 1 || options.patch_size > 0),
                "DataLoader: expected patches_per_field >= 1, and 1 for whole fields (patch_size 0), got ",
                options.patches_per_field, " with patch_size ", options.patch_size);
        require(std::isfinite(options.rainy_fraction) && options.rainy_fraction >= 0.0 && options.rainy_fraction <= 1.0 &&
                    (options.rainy_fraction == 0.0 || options.patch_size > 0),
                "DataLoader: expected rainy_fraction in [0, 1], and 0 for whole fields, got ", options.rainy_fraction);
        require(std::isfinite(options.rainy_min_wet) && options.rainy_min_wet > 0.0 && options.rainy_min_wet <= 1.0,
                "DataLoader: expected rainy_min_wet in (0, 1], got ", options.rainy_min_wet);
        require(num_batches() >= 1, "DataLoader: drop_last with batch size ", options.batch_size, " and only ",
                data.size(), " samples leaves no batch");
    }
    DataLoader(const Dataset<T>&&, LoaderOptions) = delete;  // would dangle

    const LoaderOptions& options() const { return options_; }
    std::size_t num_batches() const {
        const std::size_t n = data_->size() * static_cast<std::size_t>(options_.patches_per_field),
                          b = static_cast<std::size_t>(options_.batch_size);
        return options_.drop_last ? n / b : (n + b - 1) / b;
    }

    // The order samples are visited in during `epoch`: each patches_per_field times (0, 1, ...,
    // n - 1, 0, 1, ... without shuffle; a shuffle of that list with it).
    std::vector<std::size_t> order(long epoch) const {
        const std::size_t n = data_->size(), k = static_cast<std::size_t>(options_.patches_per_field);
        std::vector<std::size_t> o(n * k);
        for (std::size_t i = 0; i < o.size(); ++i) o[i] = i % n;
        if (!options_.shuffle) return o;
        Rng rng(detail::mix_seed(options_.seed, static_cast<std::uint64_t>(epoch)));
        const std::vector<std::size_t> perm = detail::shuffled_indices(o.size(), rng);
        std::vector<std::size_t> shuffled(o.size());
        for (std::size_t i = 0; i < o.size(); ++i) shuffled[i] = o[perm[i]];
        return shuffled;
    }

    // Batch `b` of `epoch`: whole samples, or one random patch of each; with `symmetries`, each
    // turned or mirrored by its own draw.
    Batch<T> batch(long epoch, std::size_t b) const {
        require(b < num_batches(), "DataLoader::batch: batch ", b, " out of range for ", num_batches(),
                " batches per epoch");
        const std::vector<std::size_t> o = order(epoch);
        const std::size_t bs = static_cast<std::size_t>(options_.batch_size);
        const std::size_t first = b * bs, last = std::min(o.size(), first + bs);
        std::vector<std::size_t> indices(o.begin() + static_cast<std::ptrdiff_t>(first),
                                         o.begin() + static_cast<std::ptrdiff_t>(last));
        if (options_.patch_size == 0 && !options_.symmetries) return stack(*data_, indices);
        std::vector<Sample<T>> patches;
        patches.reserve(indices.size());
        for (std::size_t k = 0; k < indices.size(); ++k) {
            Rng rng(detail::mix_seed(detail::mix_seed(options_.seed ^ 0x7061746368ULL /* "patch" */,
                                                      static_cast<std::uint64_t>(epoch)),
                                     first + k));
            const std::shared_ptr<const Sample<T>> field = data_->get(indices[k]);
            // The symmetry is drawn after the window, so the windows are those drawn without it. A
            // whole field is turned straight from the stored one (one copy, made turned).
            Sample<T> patch;
            if (options_.patch_size > 0) patch = random_patch(*field, rng);
            const Sample<T>& seen = options_.patch_size > 0 ? patch : *field;
            if (options_.symmetries) {
                const auto n = static_cast<std::uint64_t>(field_symmetries(seen.height(), seen.width()));
                patches.push_back(symmetric_sample(seen, static_cast<int>(rng.below(n))));
            } else {
                patches.push_back(std::move(patch));
            }
        }
        std::vector<std::size_t> rows(patches.size());
        std::iota(rows.begin(), rows.end(), std::size_t{0});
        Batch<T> out = stack(patches, rows);
        out.indices = std::move(indices);
        return out;
    }

    // Every batch of an epoch, in order.
    std::vector<Batch<T>> epoch_batches(long epoch) const {
        std::vector<Batch<T>> out;
        for (std::size_t b = 0; b < num_batches(); ++b) out.push_back(batch(epoch, b));
        return out;
    }

private:
    // A patch with at least min_valid_fraction valid cells and, when this draw asks for rain
    // (probability rainy_fraction), at least rainy_min_wet of them wet; redrawn at most
    // max_patch_retries times, keeping the best (most valid, then wettest) patch drawn.
    Sample<T> random_patch(const Sample<T>& s, Rng& rng) const {
        const Index p = options_.patch_size, h = s.height(), w = s.width();
        const bool want_rain = options_.rainy_fraction > 0 && rng.uniform() < options_.rainy_fraction;
        double dry = 0;  // the smallest valid target: what a dry cell holds
        if (want_rain) {
            bool any = false;
            for (Index i = 0; i < h * w; ++i)
                if (s.mask[i] != T(0) && (!any || double(s.target[i]) < dry)) dry = double(s.target[i]), any = true;
        }
        Index best_top = 0, best_left = 0;
        std::tuple<bool, double, double> best{false, -1.0, -1.0};  // enough valid, wet share, valid share
        for (int attempt = 0; attempt <= options_.max_patch_retries; ++attempt) {
            const auto top = static_cast<Index>(rng.below(static_cast<std::uint64_t>(h - p + 1)));
            const auto left = static_cast<Index>(rng.below(static_cast<std::uint64_t>(w - p + 1)));
            double valid = 0.0, wet = 0.0;
            for (Index i = 0; i < p; ++i)
                for (Index j = 0; j < p; ++j) {
                    const Index at = (top + i) * w + left + j;
                    if (s.mask[at] == T(0)) continue;
                    valid += 1.0;
                    wet += want_rain && double(s.target[at]) > dry ? 1.0 : 0.0;
                }
            const double valid_fraction = valid / static_cast<double>(p * p);
            const double wet_fraction = valid > 0 ? wet / valid : 0.0;
            const bool enough_valid = valid_fraction >= options_.min_valid_fraction;
            const std::tuple<bool, double, double> score{enough_valid, wet_fraction, valid_fraction};
            if (score > best) {
                best = score;
                best_top = top;
                best_left = left;
            }
            if (enough_valid && (!want_rain || wet_fraction >= options_.rainy_min_wet)) break;
        }
        return crop_sample(s, best_top, best_left, p);
    }

    const Dataset<T>* data_;
    LoaderOptions options_;
};

}  // namespace maunet::train
