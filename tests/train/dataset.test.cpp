#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <vector>

#include "maunet/train/dataset.hpp"

using namespace maunet;
using namespace maunet::train;

namespace {
// n fields of 2 x H x W whose values encode (field, channel, row, col); target = -input
// channel 0; the mask is 0 on the left half of field 0 and 1 elsewhere.
Dataset<float> make_data(int n, Index h = 8, Index w = 10) {
    Dataset<float> d;
    for (int f = 0; f < n; ++f) {
        Sample<float> s{Tensor<float>(Shape{2, h, w}), Tensor<float>(Shape{1, h, w}), Tensor<float>(Shape{1, h, w}, 1)};
        for (Index c = 0; c < 2; ++c)
            for (Index i = 0; i < h; ++i)
                for (Index j = 0; j < w; ++j)
                    s.input(c, i, j) = static_cast<float>(f * 100000 + c * 10000 + i * 100 + j);
        for (Index i = 0; i < h; ++i)
            for (Index j = 0; j < w; ++j) {
                s.target(0, i, j) = -s.input(0, i, j);
                if (f == 0 && j < w / 2) s.mask(0, i, j) = 0;
            }
        d.add(std::move(s));
    }
    return d;
}
int field_of(const Batch<float>& b, Index row) { return static_cast<int>(b.input(row, 0, 0, 0)) / 100000; }
}  // namespace

TEST_CASE("split is deterministic, by whole fields, and disjoint", "[train][dataset]") {
    const auto data = make_data(20);
    const auto a = data.split(0.7, 0.15, 11), b = data.split(0.7, 0.15, 11), c = data.split(0.7, 0.15, 12);
    CHECK(a.train.size() == 14);
    CHECK(a.val.size() == 3);
    CHECK(a.test.size() == 3);
    std::multiset<int> seen;
    std::vector<int> first_train, other_seed;
    for (const auto* part : {&a.train, &a.val, &a.test})
        for (std::size_t i = 0; i < part->size(); ++i) seen.insert(static_cast<int>(part->get(i)->input[0]) / 100000);
    CHECK(seen.size() == 20);
    CHECK(std::set<int>(seen.begin(), seen.end()).size() == 20);  // each field exactly once
    for (std::size_t i = 0; i < a.train.size(); ++i) {
        CHECK(a.train[i].input[0] == b.train[i].input[0]);
        first_train.push_back(static_cast<int>(a.train[i].input[0]));
        other_seed.push_back(static_cast<int>(c.train[i].input[0]));
    }
    CHECK(std::is_sorted(first_train.begin(), first_train.end()));  // original order kept
    CHECK(first_train != other_seed);

    const auto ordered = data.split_in_order(0.5, 0.25);
    CHECK(ordered.train[0].input[0] == 0.0f);
    CHECK(ordered.val[0].input[0] == 10 * 100000.0f);
    CHECK(ordered.test.size() == 5);
}

TEST_CASE("DataLoader: same seed same order, every sample once per epoch", "[train][dataset]") {
    const auto data = make_data(11);
    LoaderOptions o;
    o.batch_size = 3;
    o.seed = 5;
    DataLoader<float> loader(data, o), again(data, o);
    CHECK(loader.num_batches() == 4);
    for (long epoch = 0; epoch < 3; ++epoch) {
        std::vector<int> visited;
        for (std::size_t b = 0; b < loader.num_batches(); ++b) {
            const Batch<float> batch = loader.batch(epoch, b);
            const Batch<float> same = again.batch(epoch, b);
            CHECK(batch.size() == (b + 1 < loader.num_batches() ? 3 : 2));
            for (Index r = 0; r < batch.size(); ++r) {
                visited.push_back(field_of(batch, r));
                CHECK(field_of(same, r) == field_of(batch, r));
                CHECK(static_cast<int>(batch.indices[static_cast<std::size_t>(r)]) == field_of(batch, r));
            }
        }
        std::vector<int> sorted = visited;
        std::sort(sorted.begin(), sorted.end());
        std::vector<int> expected(11);
        for (int i = 0; i < 11; ++i) expected[static_cast<std::size_t>(i)] = i;
        CHECK(sorted == expected);
    }
    CHECK(loader.order(0) != loader.order(1));  // reshuffled per epoch

    o.drop_last = true;
    DataLoader<float> dropping(data, o);
    CHECK(dropping.num_batches() == 3);
    CHECK(dropping.epoch_batches(0).back().size() == 3);
    o.shuffle = false;
    DataLoader<float> plain(data, o);
    CHECK(field_of(plain.batch(7, 1), 0) == 3);
}

TEST_CASE("DataLoader patches line up input, target and mask", "[train][dataset]") {
    const auto data = make_data(4, 9, 13);
    LoaderOptions o;
    o.batch_size = 4;
    o.patch_size = 5;
    o.seed = 2;
    DataLoader<float> loader(data, o);
    std::set<std::pair<Index, Index>> corners;
    for (long epoch = 0; epoch < 5; ++epoch) {
        const Batch<float> b = loader.batch(epoch, 0);
        REQUIRE(b.input.shape() == Shape{4, 2, 5, 5});
        REQUIRE(b.target.shape() == Shape{4, 1, 5, 5});
        for (Index r = 0; r < 4; ++r) {
            const auto code = static_cast<int>(b.input(r, 0, 0, 0));
            const int field = code / 100000;
            const Index top = (code % 10000) / 100, left = code % 100;
            CHECK(static_cast<int>(b.indices[static_cast<std::size_t>(r)]) == field);
            CHECK(top + 5 <= 9);
            CHECK(left + 5 <= 13);
            corners.insert({top, left});
            for (Index i = 0; i < 5; ++i)
                for (Index j = 0; j < 5; ++j) {
                    const float in0 = static_cast<float>(field * 100000 + (top + i) * 100 + left + j);
                    CHECK(b.input(r, 0, i, j) == in0);
                    CHECK(b.input(r, 1, i, j) == in0 + 10000.0f);
                    CHECK(b.target(r, 0, i, j) == -in0);
                    CHECK(b.mask(r, 0, i, j) == ((field == 0 && left + j < 6) ? 0.0f : 1.0f));
                }
        }
    }
    CHECK(corners.size() > 5);  // patches move around
}

TEST_CASE("DataLoader rejects patches with too few valid cells", "[train][dataset]") {
    // Field 0 has its left half (columns 0-4 of 10) masked; a 4 x 4 patch is fully valid only
    // with left >= 5. With a threshold of 1 and enough retries every patch is fully valid.
    auto data = make_data(1, 8, 10);
    LoaderOptions o;
    o.batch_size = 1;
    o.patch_size = 4;
    o.min_valid_fraction = 1.0;
    o.max_patch_retries = 200;
    DataLoader<float> loader(data, o);
    for (long epoch = 0; epoch < 30; ++epoch) {
        const Batch<float> b = loader.batch(epoch, 0);
        for (float m : b.mask) CHECK(m == 1.0f);
    }
    // Without retries some patches overlap the masked half.
    o.max_patch_retries = 0;
    DataLoader<float> greedy(data, o);
    double masked = 0;
    for (long epoch = 0; epoch < 30; ++epoch)
        for (float m : greedy.batch(epoch, 0).mask) masked += m == 0.0f;
    CHECK(masked > 0);
}

TEST_CASE("DataLoader: patches_per_field visits each sample that many times, each with its own patch", "[train][dataset]") {
    const auto data = make_data(5, 8, 10);
    LoaderOptions o;
    o.batch_size = 4;
    o.patch_size = 3;
    o.patches_per_field = 3;
    o.seed = 5;
    const DataLoader<float> loader(data, o);
    CHECK(loader.num_batches() == 4);  // 15 patches in batches of 4
    for (long epoch = 0; epoch < 3; ++epoch) {
        std::multiset<int> fields;
        std::set<std::pair<int, float>> patches;  // (field, value of the patch's first input cell)
        for (std::size_t b = 0; b < loader.num_batches(); ++b) {
            const Batch<float> batch = loader.batch(epoch, b);
            for (Index r = 0; r < batch.size(); ++r) {
                fields.insert(field_of(batch, r));
                patches.insert({field_of(batch, r), batch.input(r, 0, 0, 0)});
            }
        }
        CHECK(fields.size() == 15);
        for (int f = 0; f < 5; ++f) CHECK(fields.count(f) == 3);
        CHECK(patches.size() > 10);  // the three visits of a field draw different patches
    }
    // Deterministic, and the default (1) is the plain epoch.
    const Batch<float> again = DataLoader<float>(data, o).batch(2, 1), first = loader.batch(2, 1);
    CHECK(std::equal(first.input.begin(), first.input.end(), again.input.begin()));
    o.patches_per_field = 1;
    CHECK(DataLoader<float>(data, o).num_batches() == 2);
}

TEST_CASE("DataLoader: rainy_fraction oversamples patches with rain", "[train][dataset]") {
    // One 16 x 16 field, dry (target -1, the transform of 0 mm) but for a 4 x 4 storm in one
    // corner. A 4 x 4 patch falls on the storm by chance in about 1 draw of 13 x 13.
    Dataset<float> d;
    Sample<float> s{Tensor<float>(Shape{1, 16, 16}), Tensor<float>(Shape{1, 16, 16}, -1.0f), Tensor<float>(Shape{1, 16, 16}, 1)};
    for (Index i = 12; i < 16; ++i)
        for (Index j = 12; j < 16; ++j) s.target(0, i, j) = 2.0f;
    d.add(std::move(s));
    const auto rainy_share = [&](double fraction) {
        LoaderOptions o;
        o.batch_size = 1;
        o.patch_size = 4;
        o.rainy_fraction = fraction;
        o.rainy_min_wet = 0.25;
        o.max_patch_retries = 400;
        o.seed = 3;
        const DataLoader<float> loader(d, o);
        int rainy = 0;
        const int epochs = 200;
        for (long e = 0; e < epochs; ++e) {
            const Batch<float> b = loader.batch(e, 0);
            int wet = 0;
            for (float t : b.target) wet += t > -1.0f;
            rainy += wet >= 4;
        }
        return double(rainy) / epochs;
    };
    const double none = rainy_share(0.0), half = rainy_share(0.5), all = rainy_share(1.0);
    CHECK(none < 0.2);
    CHECK(all == 1.0);                         // 400 retries always find the storm
    CHECK(half > 0.35);                        // about 0.5 + 0.5 x chance
    CHECK(half < 0.75);
    CHECK(rainy_share(0.5) == half);           // seeded: the same draws again
}

TEST_CASE("symmetric_sample: the 8 symmetries of a square, the 4 of a rectangle", "[train][dataset]") {
    // A 3 x 3 field 0..8 row by row: each symmetry's layout written out.
    Sample<float> s{Tensor<float>(Shape{2, 3, 3}), Tensor<float>(Shape{1, 3, 3}), Tensor<float>(Shape{1, 3, 3}, 1)};
    for (Index i = 0; i < 9; ++i) {
        s.input.data()[i] = static_cast<float>(i);
        s.input.data()[9 + i] = static_cast<float>(10 + i);
        s.target.data()[i] = static_cast<float>(-i);
    }
    s.mask.data()[1] = 0;  // cell (0, 1)
    const std::vector<std::vector<float>> expected = {
        {0, 1, 2, 3, 4, 5, 6, 7, 8},  // 0 identity
        {6, 7, 8, 3, 4, 5, 0, 1, 2},  // 1 upside down
        {2, 1, 0, 5, 4, 3, 8, 7, 6},  // 2 mirrored
        {8, 7, 6, 5, 4, 3, 2, 1, 0},  // 3 half turn
        {0, 3, 6, 1, 4, 7, 2, 5, 8},  // 4 transposed
        {6, 3, 0, 7, 4, 1, 8, 5, 2},  // 5 quarter turn clockwise
        {2, 5, 8, 1, 4, 7, 0, 3, 6},  // 6 quarter turn anticlockwise
        {8, 5, 2, 7, 4, 1, 6, 3, 0},  // 7 anti-transposed
    };
    REQUIRE(field_symmetries(3, 3) == 8);
    for (int d = 0; d < 8; ++d) {
        INFO("symmetry " << d);
        const Sample<float> t = symmetric_sample(s, d);
        for (Index i = 0; i < 9; ++i) {
            CHECK(t.input.data()[i] == expected[d][i]);
            CHECK(t.input.data()[9 + i] == 10 + expected[d][i]);  // every channel moves alike
            CHECK(t.target.data()[i] == -expected[d][i]);
            CHECK(t.mask.data()[i] == (expected[d][i] == 1 ? 0.0f : 1.0f));  // the mask moves with its cell
        }
    }
    // 2 x 3: only the shape-keeping four; a transpose is refused.
    Sample<float> r{Tensor<float>(Shape{1, 2, 3}), Tensor<float>(Shape{1, 2, 3}), Tensor<float>(Shape{1, 2, 3}, 1)};
    for (Index i = 0; i < 6; ++i) r.input.data()[i] = static_cast<float>(i);
    REQUIRE(field_symmetries(2, 3) == 4);
    const std::vector<std::vector<float>> flips = {{0, 1, 2, 3, 4, 5}, {3, 4, 5, 0, 1, 2}, {2, 1, 0, 5, 4, 3},
                                                   {5, 4, 3, 2, 1, 0}};
    for (int d = 0; d < 4; ++d) {
        const Sample<float> t = symmetric_sample(r, d);
        CHECK(t.input.shape() == Shape{1, 2, 3});
        CHECK(std::vector<float>(t.input.begin(), t.input.end()) == flips[d]);
    }
    CHECK_THROWS_WITH(symmetric_sample(r, 4), Catch::Contains("symmetry 4 is not one of the 4 of a 2 x 3 field"));
    CHECK_THROWS_WITH(symmetric_sample(s, -1), Catch::Contains("symmetry -1 is not one of the 8 of a 3 x 3 field"));
}

TEST_CASE("DataLoader: symmetries turn each patch by its own seeded draw, the windows unchanged",
          "[train][dataset]") {
    const auto data = make_data(3, 8, 10);
    LoaderOptions plain;
    plain.batch_size = 3;
    plain.patch_size = 4;
    plain.patches_per_field = 4;
    plain.seed = 21;
    LoaderOptions turned = plain;
    turned.symmetries = true;
    const DataLoader<float> a(data, plain), b(data, turned), b_again(data, turned);
    std::set<int> used;
    for (long e = 0; e < 6; ++e)
        for (std::size_t k = 0; k < a.num_batches(); ++k) {
            const Batch<float> x = a.batch(e, k), y = b.batch(e, k), z = b_again.batch(e, k);
            REQUIRE(x.input.shape() == y.input.shape());
            CHECK(x.indices == y.indices);
            CHECK(std::equal(y.input.begin(), y.input.end(), z.input.begin()));  // seeded
            for (Index row = 0; row < x.size(); ++row) {
                // The row of the turned batch is one symmetry of the plain batch's window.
                const auto item = [row](const Batch<float>& bt) {
                    const Batch<float> one = batch_rows(bt, row, row + 1);
                    const Index p = bt.input.dim(2);
                    return Sample<float>{one.input.reshaped(Shape{2, p, p}), one.target.reshaped(Shape{1, p, p}),
                                         one.mask.reshaped(Shape{1, p, p})};
                };
                const Sample<float> window = item(x), got = item(y);
                int match = -1;
                for (int d = 0; d < 8 && match < 0; ++d) {
                    const Sample<float> t = symmetric_sample(window, d);
                    if (std::equal(t.input.begin(), t.input.end(), got.input.begin()) &&
                        std::equal(t.target.begin(), t.target.end(), got.target.begin()) &&
                        std::equal(t.mask.begin(), t.mask.end(), got.mask.begin()))
                        match = d;
                }
                CHECK(match >= 0);
                used.insert(match);
            }
        }
    CHECK(used.size() == 8);  // 6 epochs x 12 patches: every symmetry drawn

    // Whole 8 x 10 fields: the four flips, each a symmetry of the stored field.
    LoaderOptions whole;
    whole.batch_size = 1;
    whole.shuffle = false;
    whole.symmetries = true;
    whole.seed = 5;
    const DataLoader<float> w(data, whole);
    std::set<float> corners;
    for (long e = 0; e < 20; ++e) {
        const Batch<float> y = w.batch(e, 1);
        CHECK(y.input.shape() == Shape{1, 2, 8, 10});
        corners.insert(y.input(0, 0, 0, 0));
    }
    // Field 1's corners are 100000 + 0, 9, 700, 709: all four reached the top left.
    CHECK(corners == std::set<float>{100000.0f, 100009.0f, 100700.0f, 100709.0f});
}

TEST_CASE("dataset and loader errors", "[train][dataset][errors]") {
    auto data = make_data(3);
    LoaderOptions o;
    o.patch_size = 11;
    CHECK_THROWS_WITH(DataLoader<float>(data, o), Catch::Contains("patch_size 11 is larger than the field 8 x 10"));
    o.patch_size = 0;
    o.batch_size = 0;
    CHECK_THROWS_WITH(DataLoader<float>(data, o), Catch::Contains("batch size >= 1, got 0"));
    o.batch_size = 4;
    o.drop_last = true;
    CHECK_THROWS_WITH(DataLoader<float>(data, o), Catch::Contains("leaves no batch"));
    o.drop_last = false;
    o.min_valid_fraction = 1.5;
    CHECK_THROWS_WITH(DataLoader<float>(data, o), Catch::Contains("min_valid_fraction in [0, 1]"));
    o.min_valid_fraction = 0.0;
    o.patches_per_field = 2;  // whole fields: one visit per epoch
    CHECK_THROWS_WITH(DataLoader<float>(data, o), Catch::Contains("patches_per_field >= 1, and 1 for whole fields"));
    o.patch_size = 3;
    o.patches_per_field = 0;
    CHECK_THROWS_WITH(DataLoader<float>(data, o), Catch::Contains("got 0 with patch_size 3"));
    o.patches_per_field = 1;
    o.rainy_fraction = 1.5;
    CHECK_THROWS_WITH(DataLoader<float>(data, o), Catch::Contains("rainy_fraction in [0, 1]"));
    o.rainy_fraction = 0.5;
    o.rainy_min_wet = 0.0;
    CHECK_THROWS_WITH(DataLoader<float>(data, o), Catch::Contains("rainy_min_wet in (0, 1]"));
    o.rainy_min_wet = 0.25;
    o.patch_size = 0;
    CHECK_THROWS_WITH(DataLoader<float>(data, o), Catch::Contains("and 0 for whole fields, got 0.5"));
    o.rainy_fraction = 0.0;
    DataLoader<float> loader(data, o);
    CHECK_THROWS_WITH(loader.batch(0, 1), Catch::Contains("batch 1 out of range for 1"));
    Dataset<float> empty;
    CHECK_THROWS_WITH(DataLoader<float>(empty, o), Catch::Contains("the dataset is empty"));
    CHECK_THROWS_WITH(empty.stacked(), Catch::Contains("the dataset is empty"));

    CHECK_THROWS_WITH(data.split(0.0, 0.5, 1), Catch::Contains("fraction_train in (0, 1]"));
    CHECK_THROWS_WITH(data.split(0.8, 0.5, 1), Catch::Contains("exceeds 1"));
    CHECK_THROWS_WITH(data.split(0.1, 0.2, 1), Catch::Contains("leaves no training sample"));
    CHECK_THROWS_WITH(data.add(make_data(1, 8, 9)[0]), Catch::Contains("sample input has shape [2, 8, 9]"));
    CHECK_THROWS_AS(data.add(make_data(1, 8, 9)[0]), ShapeError);
    CHECK_THROWS_WITH(crop_sample(data[0], 5, 0, 4), Catch::Contains("does not fit the field 8 x 10"));
}
