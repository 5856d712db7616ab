#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "maunet/core/threading.hpp"
#include "maunet/metrics/ssim.hpp"

using namespace maunet;
using namespace maunet::metrics;

namespace {
const double kNaN = std::numeric_limits<double>::quiet_NaN();

template <class T>
Tensor<T> random_field(Shape s, std::uint64_t seed, double lo = 0, double hi = 10) {
    Rng rng(seed);
    return Tensor<T>::uniform(std::move(s), rng, static_cast<T>(lo), static_cast<T>(hi));
}

// Reference SSIM written from the paper, sharing nothing with the implementation: the 2-D
// Gaussian exp(-(u^2 + v^2) / (2 * 1.5^2)) on the 11x11 window, normalised to sum 1, and for
// every window centre fully inside the image a direct weighted sum of x, y, x^2, y^2, xy.
// A window counts only if all 121 cells are valid (valid[k] != 0). Summed over all slices of a
// [..., H, W] tensor; returns {sum, count}.
std::pair<double, long> reference_ssim_sum(const std::vector<double>& x, const std::vector<double>& y,
                                           const std::vector<int>& valid, long slices, long H, long W, double L) {
    double w[11][11];
    double total = 0;
    for (int u = 0; u < 11; ++u)
        for (int v = 0; v < 11; ++v) total += w[u][v] = std::exp(-((u - 5) * (u - 5) + (v - 5) * (v - 5)) / 4.5);
    for (auto& row : w)
        for (double& e : row) e /= total;
    const double C1 = 0.01 * L * 0.01 * L, C2 = 0.03 * L * 0.03 * L;
    double sum = 0;
    long count = 0;
    for (long s = 0; s < slices; ++s) {
        for (long ci = 5; ci + 5 < H; ++ci) {
            for (long cj = 5; cj + 5 < W; ++cj) {
                bool all_valid = true;
                double mx = 0, my = 0, mxx = 0, myy = 0, mxy = 0;
                for (int u = 0; u < 11; ++u) {
                    for (int v = 0; v < 11; ++v) {
                        const long k = s * H * W + (ci - 5 + u) * W + (cj - 5 + v);
                        if (!valid[static_cast<std::size_t>(k)]) all_valid = false;
                        const double a = x[static_cast<std::size_t>(k)], b = y[static_cast<std::size_t>(k)];
                        mx += w[u][v] * a;
                        my += w[u][v] * b;
                        mxx += w[u][v] * a * a;
                        myy += w[u][v] * b * b;
                        mxy += w[u][v] * a * b;
                    }
                }
                if (!all_valid) continue;
                const double sx2 = mxx - mx * mx, sy2 = myy - my * my, sxy = mxy - mx * my;
                sum += (2 * mx * my + C1) * (2 * sxy + C2) / ((mx * mx + my * my + C1) * (sx2 + sy2 + C2));
                ++count;
            }
        }
    }
    return {sum, count};
}

double reference_ssim(const Tensor<double>& pred, const Tensor<double>& obs, const Tensor<double>& mask, double L) {
    const long H = pred.dim(-2), W = pred.dim(-1), slices = pred.numel() / (H * W);
    std::vector<double> x(pred.begin(), pred.end()), y(obs.begin(), obs.end());
    std::vector<int> valid(x.size(), 1);
    for (std::size_t k = 0; k < x.size(); ++k) {
        const bool masked_out = !mask.empty() && mask[static_cast<Index>(k)] != 1.0;
        if (masked_out || !std::isfinite(x[k]) || !std::isfinite(y[k])) {
            valid[k] = 0;
            x[k] = y[k] = 0;
        }
    }
    const auto [sum, count] = reference_ssim_sum(x, y, valid, slices, H, W, L);
    return count == 0 ? kNaN : sum / static_cast<double>(count);
}
}  // namespace

TEMPLATE_TEST_CASE("ssim: identical fields give 1", "[metrics][ssim]", float, double) {
    const auto a = random_field<TestType>(Shape{2, 3, 17, 14}, 1);
    CHECK(ssim(a, a, {}, 10.0) == Approx(1.0).margin(1e-12));
}

TEST_CASE("ssim: constant fields have a closed form", "[metrics][ssim]") {
    // Two constant images: variances and covariance vanish, so SSIM = (2ab + C1) / (a^2 + b^2 + C1).
    const double a = 3.0, b = 5.0, L = 8.0, C1 = (0.01 * L) * (0.01 * L);
    const Tensor<double> x = Tensor<double>::full(Shape{12, 15}, a), y = Tensor<double>::full(Shape{12, 15}, b);
    CHECK(ssim(x, y, {}, L) == Approx((2 * a * b + C1) / (a * a + b * b + C1)).epsilon(1e-12));
}

TEST_CASE("ssim: a constant shift matches a direct loop over windows", "[metrics][ssim]") {
    const auto obs = random_field<double>(Shape{23, 19}, 2);
    Tensor<double> pred = obs;
    for (auto& v : pred) v += 1.5;
    const double got = ssim(pred, obs, {}, 10.0);
    CHECK(got == Approx(reference_ssim(pred, obs, {}, 10.0)).epsilon(1e-12));
    CHECK(got < 1.0);
    CHECK(got > 0.9);  // a shift only lowers the luminance term
}

TEST_CASE("ssim: noise is symmetric, below 1 and matches the direct loop", "[metrics][ssim]") {
    for (const Shape& s : {Shape{11, 11}, Shape{16, 13}, Shape{3, 12, 20}, Shape{2, 2, 15, 11}}) {
        const auto obs = random_field<double>(s, 3);
        auto pred = obs;
        const auto noise = random_field<double>(s, 4, -2, 2);
        for (Index i = 0; i < pred.numel(); ++i) pred[i] += noise[i];
        const double ab = ssim(pred, obs, {}, 10.0), ba = ssim(obs, pred, {}, 10.0);
        INFO("shape " << s);
        CHECK(ab == Approx(ba).epsilon(1e-12));
        CHECK(ab < 1.0);
        CHECK(ab == Approx(reference_ssim(pred, obs, {}, 10.0)).epsilon(1e-12));
    }
}

TEST_CASE("ssim: without a mask the batch score is the mean of slice scores", "[metrics][ssim]") {
    const auto obs = random_field<double>(Shape{3, 12, 13}, 5);
    const auto pred = random_field<double>(Shape{3, 12, 13}, 6);
    double mean = 0;
    for (Index s = 0; s < 3; ++s) {
        Tensor<double> p(Shape{12, 13}), o(Shape{12, 13});
        std::copy(pred.begin() + s * 156, pred.begin() + (s + 1) * 156, p.begin());
        std::copy(obs.begin() + s * 156, obs.begin() + (s + 1) * 156, o.begin());
        mean += ssim(p, o, {}, 10.0) / 3.0;
    }
    CHECK(ssim(pred, obs, {}, 10.0) == Approx(mean).epsilon(1e-12));
}

TEST_CASE("ssim: float input agrees with double input", "[metrics][ssim]") {
    const auto obs = random_field<double>(Shape{2, 20, 18}, 7);
    const auto pred = random_field<double>(Shape{2, 20, 18}, 8);
    CHECK(ssim(pred.cast<float>(), obs.cast<float>(), {}, 10.0) == Approx(ssim(pred, obs, {}, 10.0)).epsilon(1e-6));
}

TEST_CASE("ssim: masked windows follow the fully-valid-support rule", "[metrics][ssim][mask]") {
    const auto obs = random_field<double>(Shape{2, 24, 21}, 9);
    const auto pred = random_field<double>(Shape{2, 24, 21}, 10);
    Tensor<double> mask = Tensor<double>::ones(obs.shape());
    mask(0, 12, 10) = 0;                                     // removes the 11x11 block of centres around it
    for (Index j = 0; j < 21; ++j) mask(1, 0, j) = 0;        // a masked top row: removes centre row 5
    const double got = ssim(pred, obs, mask, 10.0);
    CHECK(got == Approx(reference_ssim(pred, obs, mask, 10.0)).epsilon(1e-12));
    CHECK(got != Approx(ssim(pred, obs, {}, 10.0)).epsilon(1e-9));

    // NaN or inf in masked cells changes nothing.
    Tensor<double> pred_nan = pred, obs_nan = obs;
    pred_nan(0, 12, 10) = kNaN;
    obs_nan(1, 0, 3) = std::numeric_limits<double>::infinity();
    CHECK(ssim(pred_nan, obs_nan, mask, 10.0) == got);
    // And a NaN without a mask is a missing cell: the same rule applies.
    Tensor<double> only_nan = pred;
    only_nan(0, 12, 10) = kNaN;
    for (Index j = 0; j < 21; ++j) only_nan(1, 0, j) = kNaN;
    CHECK(ssim(only_nan, obs, {}, 10.0) == got);
}

TEST_CASE("ssim: no counted window gives NaN, never an exception", "[metrics][ssim][mask]") {
    const auto obs = random_field<double>(Shape{2, 11, 11}, 11);
    const auto pred = random_field<double>(Shape{2, 11, 11}, 12);
    CHECK(std::isnan(ssim(pred, obs, Tensor<double>::zeros(obs.shape()), 10.0)));
    Tensor<double> mask = Tensor<double>::ones(obs.shape());
    mask(0, 0, 0) = 0, mask(1, 10, 10) = 0;  // 11x11 images have one window each: both lost
    CHECK(std::isnan(ssim(pred, obs, mask, 10.0)));
}

TEST_CASE("ssim: the result does not depend on the thread count", "[metrics][ssim]") {
    const auto obs = random_field<float>(Shape{3, 2, 16, 16}, 13);
    const auto pred = random_field<float>(Shape{3, 2, 16, 16}, 14);
    const int before = num_threads();
    set_num_threads(1);
    const double one = ssim(pred, obs, {}, 10.0);
    set_num_threads(2);
    const double two = ssim(pred, obs, {}, 10.0);
    set_num_threads(before);
    CHECK(one == two);
}

TEST_CASE("ssim: bad inputs throw", "[metrics][ssim][errors]") {
    const Tensor<double> small(Shape{10, 12}), big(Shape{12, 12});
    CHECK_THROWS_AS(ssim(small, small, {}, 1.0), ArgumentError);
    CHECK_THROWS_WITH(ssim(small, small, {}, 1.0),
                      Catch::Contains("at least 11x11, got H = 10, W = 12"));
    const Tensor<double> narrow(Shape{2, 3, 20, 5});
    CHECK_THROWS_WITH(ssim(narrow, narrow, {}, 1.0), Catch::Contains("got H = 20, W = 5"));
    CHECK_THROWS_AS(ssim(big, small, {}, 1.0), ShapeError);
    CHECK_THROWS_WITH(ssim(big, small, {}, 1.0), Catch::Contains("ssim: pred [12, 12] and obs [10, 12]"));
    CHECK_THROWS_WITH(ssim(big, big, Tensor<double>(Shape{12, 11}), 1.0),
                      Catch::Contains("ssim: mask [12, 11] must have the shape of pred [12, 12]"));
    CHECK_THROWS_AS(ssim(big, big, {}, 0.0), ArgumentError);
    CHECK_THROWS_WITH(ssim(big, big, {}, -1.0), Catch::Contains("ssim: expected a data range R > 0"));
    const Tensor<double> line(Shape{144});
    CHECK_THROWS_AS(ssim(line, line, {}, 1.0), ShapeError);
    CHECK_THROWS_WITH(ssim(line, line, {}, 1.0), Catch::Contains("got [144]"));
    const Tensor<double> five_d(Shape{1, 1, 1, 12, 12});
    CHECK_THROWS_AS(ssim(five_d, five_d, {}, 1.0), ShapeError);
}
