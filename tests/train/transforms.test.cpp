#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "maunet/train/dataset.hpp"
#include "maunet/train/transforms.hpp"

using namespace maunet;
using namespace maunet::train;

namespace {
// Naive mean and population std of log1p over a list, for the reference.
std::pair<double, double> log_moments(const std::vector<double>& xs, bool log1p = true) {
    double s = 0.0;
    for (double x : xs) s += log1p ? std::log1p(x) : x;
    const double mean = s / static_cast<double>(xs.size());
    double v = 0.0;
    for (double x : xs) v += std::pow((log1p ? std::log1p(x) : x) - mean, 2);
    return {mean, std::sqrt(v / static_cast<double>(xs.size()))};
}
const double dnan = std::numeric_limits<double>::quiet_NaN();
}  // namespace

TEST_CASE("PrecipTransform fits log1p moments over valid finite cells", "[train][transforms]") {
    // Cells 2 (masked) and 4 (NaN) do not count; a negative value counts as 0.
    Tensor<double> x(Shape{1, 2, 3}, {0.0, 3.0, 1000.0, -2.0, dnan, 10.0});
    Tensor<double> m(Shape{1, 2, 3}, {1, 1, 0, 1, 1, 1});
    PrecipTransform<double> t;
    t.fit(x, m);
    const auto [mean, stddev] = log_moments({0.0, 3.0, 0.0, 10.0});
    CHECK(t.mean() == Approx(mean).epsilon(1e-14));
    CHECK(t.stddev() == Approx(stddev).epsilon(1e-14));
    const Tensor<double> y = t.forward(x);
    CHECK(y[1] == Approx((std::log1p(3.0) - mean) / stddev).epsilon(1e-14));
    CHECK(y[3] == Approx((0.0 - mean) / stddev).epsilon(1e-14));
    CHECK(std::isnan(y[4]));  // missing stays missing
}

TEST_CASE("PrecipTransform inverse is exact for x >= 0 and never negative", "[train][transforms]") {
    Rng rng(7);
    Tensor<double> x = Tensor<double>::uniform(Shape{2, 1, 7, 9}, rng, 0.0, 200.0);
    for (Index i = 0; i < 10; ++i) x[i] = 0.0;        // dry cells
    for (Index i = 10; i < 20; ++i) x[i] *= 1e-6;     // traces
    PrecipTransform<double> t;
    t.fit(x);
    const Tensor<double> back = t.inverse(t.forward(x));
    for (Index i = 0; i < x.numel(); ++i) CHECK(back[i] == Approx(x[i]).epsilon(1e-6).margin(1e-300));
    for (Index i = 0; i < 10; ++i) CHECK(back[i] == 0.0);
    // Values far below the dry level invert to 0, not below.
    const Tensor<double> low = t.inverse(Tensor<double>(Shape{3}, {-50.0, -10.0, -3.0}));
    for (double v : low) CHECK(v >= 0.0);
    // float works too, to float precision: the normalised value carries an absolute error of about
    // 1e-7, so traces keep an absolute error of about 1e-6 mm/day.
    Tensor<float> xf = x.cast<float>();
    PrecipTransform<float> tf;
    tf.fit(xf);
    const Tensor<float> backf = tf.inverse(tf.forward(xf));
    for (Index i = 0; i < x.numel(); ++i) CHECK(backf[i] == Approx(xf[i]).epsilon(1e-5).margin(1e-5));
}

TEST_CASE("PrecipTransform on the linear scale: the z-score alone, its inverse clamped at 0", "[train][transforms]") {
    // The same cells as the log1p case: 2 masked, 4 NaN; a negative value counts as itself.
    Tensor<double> x(Shape{1, 2, 3}, {0.0, 3.0, 1000.0, -2.0, dnan, 10.0});
    Tensor<double> m(Shape{1, 2, 3}, {1, 1, 0, 1, 1, 1});
    PrecipTransform<double> t(PrecipScale::linear);
    CHECK(t.scale() == PrecipScale::linear);
    CHECK(!t.log1p());
    t.fit(x, m);
    // mean of {0, 3, -2, 10} = 11/4; population variance = sum of squares / 4 - mean^2.
    const double mean = 11.0 / 4.0, stddev = std::sqrt((0.0 + 9.0 + 4.0 + 100.0) / 4.0 - mean * mean);
    CHECK(t.mean() == Approx(mean).epsilon(1e-14));
    CHECK(t.stddev() == Approx(stddev).epsilon(1e-14));
    const Tensor<double> y = t.forward(x);
    CHECK(y[2] == Approx((1000.0 - mean) / stddev).epsilon(1e-14));
    CHECK(std::isnan(y[4]));
    const Tensor<double> back = t.inverse(y);
    for (Index i : {0, 1, 2, 5}) CHECK(back[i] == Approx(x[i]).epsilon(1e-13).margin(1e-13));
    CHECK(back[3] == 0.0);  // -2 mm comes back as 0: amounts are never negative
    CHECK(std::isnan(back[4]));
    CHECK(t.amount(-10.0) == 0.0);
    CHECK(t.amount(1.0) == Approx(mean + stddev).epsilon(1e-14));
    // Saved as log1p 0, and read back as linear.
    const auto u = PrecipTransform<double>::from_parameters(t.parameters("target."), "target.");
    CHECK(u.scale() == PrecipScale::linear);
    CHECK(u.mean() == t.mean());
    CHECK(precip_scale_from_string("linear") == PrecipScale::linear);
    CHECK(precip_scale_from_string("log1p") == PrecipScale::log1p);
    CHECK_THROWS_WITH(precip_scale_from_string("sqrt"), Catch::Contains("'sqrt' is not one of log1p, linear"));
}

TEST_CASE("fit on the training split ignores the validation split", "[train][transforms]") {
    // Six one-cell fields 1, 2, ..., 6 mm/day; the transform fitted on the training part
    // equals the naive moments of the training values alone.
    Dataset<double> data;
    for (int k = 1; k <= 6; ++k)
        data.add(Sample<double>{Tensor<double>(Shape{1, 1, 1}, double(k)), Tensor<double>(Shape{1, 1, 1}, 10.0 * k),
                                Tensor<double>(Shape{1, 1, 1}, 1.0)});
    const auto parts = data.split(0.5, 0.5, 3);
    REQUIRE(parts.train.size() == 3);
    const Batch<double> train = parts.train.stacked();
    PrecipTransform<double> t;
    t.fit(train.target, train.mask);
    std::vector<double> values;
    for (std::size_t i = 0; i < parts.train.size(); ++i) values.push_back(parts.train.get(i)->target[0]);
    const auto [mean, stddev] = log_moments(values);
    CHECK(t.mean() == Approx(mean).epsilon(1e-14));
    CHECK(t.stddev() == Approx(stddev).epsilon(1e-14));
    PrecipTransform<double> all;
    all.fit(data.stacked().target);
    CHECK(all.mean() != Approx(t.mean()));
}

TEST_CASE("ChannelTransform: per-channel log1p flag, shared or per-channel masks", "[train][transforms]") {
    // [N=2, C=2, H=1, W=3]: channel 0 precipitation (log1p), channel 1 elevation (z-score only).
    Tensor<double> x(Shape{2, 2, 1, 3}, {1, 2, 3, 100, 200, 300,  //
                                         4, dnan, 6, 400, 500, -600});
    Tensor<double> m(Shape{2, 1, 1, 3}, {1, 1, 1, 1, 1, 0});  // last cell of field 1 masked for both channels
    ChannelTransform<double> t({true, false});
    t.fit(x, m);
    const auto [m0, s0] = log_moments({1, 2, 3, 4});  // NaN and the masked 6 are out
    const auto [m1, s1] = log_moments({100, 200, 300, 400, 500}, false);
    CHECK(t.channel(0).mean == Approx(m0).epsilon(1e-14));
    CHECK(t.channel(0).stddev == Approx(s0).epsilon(1e-14));
    CHECK(t.channel(1).mean == Approx(m1).epsilon(1e-14));
    CHECK(t.channel(1).stddev == Approx(s1).epsilon(1e-14));
    CHECK_FALSE(t.channel(1).log1p);

    const Tensor<double> y = t.forward(x);
    CHECK(y(1, 1, 0, 2) == Approx((-600 - m1) / s1));
    CHECK(std::isnan(y(1, 0, 0, 1)));
    const Tensor<double> back = t.inverse(y);
    for (Index i = 0; i < x.numel(); ++i)
        if (!std::isnan(x[i])) CHECK(back[i] == Approx(x[i]).epsilon(1e-12));
    CHECK(back(1, 1, 0, 2) == Approx(-600));  // static channels may be negative

    // A per-channel mask of the values' shape, and a [C, H, W] tensor.
    Tensor<double> single(Shape{2, 1, 2}, {5, 7, 1, 1});
    Tensor<double> single_mask(Shape{2, 1, 2}, {1, 0, 1, 1});
    ChannelTransform<double> u({true, false});
    u.fit(single, single_mask);
    CHECK(u.channel(0).mean == Approx(std::log1p(5.0)));
    CHECK(u.channel(0).stddev == 1e-6);  // one value: std floored
    CHECK(u.channel(1).stddev == 1e-6);  // constant channel: std floored
    const Tensor<double> z = u.forward(single);
    CHECK(std::isfinite(z[2]));
    CHECK(z[2] == 0.0);
}

TEST_CASE("fill_missing and normalize_sample", "[train][transforms]") {
    Tensor<float> x(Shape{1, 2, 2}, {1.0f, std::numeric_limits<float>::quiet_NaN(), 2.0f,
                                     std::numeric_limits<float>::infinity()});
    const Tensor<float> mask = fill_missing(x, 0.0f);
    CHECK(mask.shape() == x.shape());
    CHECK(mask[0] == 1.0f);
    CHECK(mask[1] == 0.0f);
    CHECK(mask[3] == 0.0f);
    CHECK(x[1] == 0.0f);
    CHECK(x[3] == 0.0f);

    const float fnan = std::numeric_limits<float>::quiet_NaN();
    Sample<float> s{Tensor<float>(Shape{2, 1, 3}, {1, fnan, 3, 10, 20, 30}), Tensor<float>(Shape{1, 1, 3}, {1, 2, fnan}),
                    Tensor<float>(Shape{1, 1, 3}, {0, 1, 1})};
    ChannelTransform<float> in({true, false});
    in.fit(s.input);
    PrecipTransform<float> out;
    out.fit(s.target);
    const Sample<float> n = normalize_sample(s, in, out);
    CHECK(n.mask[0] == 0.0f);  // masked by the caller
    CHECK(n.mask[1] == 0.0f);  // input missing
    CHECK(n.mask[2] == 0.0f);  // target missing
    CHECK(n.input[1] == 0.0f);
    CHECK(n.target[2] == 0.0f);
    CHECK(n.input.all_finite());
}

TEST_CASE("transform parameters round trip", "[train][transforms]") {
    Tensor<double> x(Shape{3, 2, 2}, {0, 1, 5, 9, 100, 120, 140, 160, 0.2, 0.4, 0.1, 0.3});
    ChannelTransform<double> t({true, false, false}, 1e-4);
    t.fit(x);
    const auto params = t.parameters("input.");
    CHECK(params.front().first == "input.channels");
    const auto u = ChannelTransform<double>::from_parameters(params, "input.");
    CHECK(u.channels() == 3);
    CHECK(u.std_floor() == 1e-4);
    const Tensor<double> a = t.forward(x), b = u.forward(x);
    for (Index i = 0; i < x.numel(); ++i) CHECK(a[i] == b[i]);

    PrecipTransform<double> p;
    p.fit(x);
    const auto q = PrecipTransform<double>::from_parameters(p.parameters("target."), "target.");
    CHECK(q.mean() == p.mean());
    CHECK(q.stddev() == p.stddev());
}

TEST_CASE("transform errors", "[train][transforms][errors]") {
    PrecipTransform<double> p;
    CHECK_THROWS_WITH(p.forward(Tensor<double>(Shape{2})), Catch::Contains("not fitted"));
    CHECK_THROWS_WITH(p.fit(Tensor<double>(Shape{2}, dnan)), Catch::Contains("at least one valid, finite cell"));
    CHECK_THROWS_WITH(p.fit(Tensor<double>(Shape{2}), Tensor<double>(Shape{3})),
                      Catch::Contains("mask has shape [3]"));
    CHECK_THROWS_WITH(PrecipTransform<double>(0.0), Catch::Contains("std_floor > 0"));

    ChannelTransform<double> t({true, false});
    CHECK_THROWS_WITH(t.fit(Tensor<double>(Shape{3, 2, 2})), Catch::Contains("has 3 channels, the transform has 2"));
    CHECK_THROWS_WITH(t.fit(Tensor<double>(Shape{2, 2})), Catch::Contains("expected [C, H, W] or [N, C, H, W]"));
    CHECK_THROWS_WITH(t.fit(Tensor<double>(Shape{2, 2, 2}), Tensor<double>(Shape{2, 2, 3})),
                      Catch::Contains("mask has shape [2, 2, 3]"));
    Tensor<double> x(Shape{2, 1, 2}, {1, 2, dnan, dnan});
    CHECK_THROWS_WITH(t.fit(x), Catch::Contains("channel 1 has no valid, finite cell"));
    CHECK_THROWS_WITH(ChannelTransform<double>(std::vector<bool>{}), Catch::Contains("at least one channel"));
    CHECK_THROWS_WITH(ChannelTransform<double>::from_parameters({{"channels", 1.0}, {"std_floor", 1e-6}}),
                      Catch::Contains("missing parameter 'c0.log1p'"));
    CHECK_THROWS_WITH(PrecipTransform<double>::from_parameters(
                          {{"log1p", 1.0}, {"mean", 0.0}, {"std", -1.0}, {"std_floor", 1e-6}}),
                      Catch::Contains("'std' must be finite and > 0"));
}
