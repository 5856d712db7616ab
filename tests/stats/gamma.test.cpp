#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "maunet/stats/bernoulli_gamma.hpp"
#include "maunet/stats/gamma.hpp"

using namespace maunet;

TEST_CASE("digamma agrees with known values and with the derivative of lgamma", "[stats][gamma]") {
    const double euler_gamma = 0.57721566490153286;
    CHECK(stats::digamma(1.0) == Approx(-euler_gamma).epsilon(1e-13));
    CHECK(stats::digamma(0.5) == Approx(-euler_gamma - 2 * std::log(2.0)).epsilon(1e-13));
    CHECK(stats::digamma(10.0) == Approx(2.251752589066721).epsilon(1e-14));
    for (double x : {0.03, 0.7, 2.5, 7.0, 40.0}) {
        const double h = 1e-5 * x;
        const double numeric = (std::lgamma(x + h) - std::lgamma(x - h)) / (2 * h);
        INFO(x);
        CHECK(stats::digamma(x) == Approx(numeric).epsilon(1e-8));
    }
    CHECK(std::isnan(stats::digamma(0.0)));
    CHECK(std::isnan(stats::digamma(-1.0)));
}

TEST_CASE("the regularised incomplete gamma function and its inverse", "[stats][gamma]") {
    // a = 1 is the exponential distribution: P(1, x) = 1 - e^-x.
    for (double x : {0.01, 0.5, 1.0, 3.0, 20.0}) CHECK(stats::gamma_p(1.0, x) == Approx(-std::expm1(-x)).epsilon(1e-13));
    // a = 1/2: P(1/2, x) = erf(sqrt(x)).
    for (double x : {0.01, 0.4, 2.0, 9.0}) CHECK(stats::gamma_p(0.5, x) == Approx(std::erf(std::sqrt(x))).epsilon(1e-12));
    // a = 3: P(3, x) = 1 - e^-x (1 + x + x^2/2), on both sides of x = a + 1 (series and fraction).
    for (double x : {0.5, 3.9, 4.1, 12.0})
        CHECK(stats::gamma_p(3.0, x) == Approx(1 - std::exp(-x) * (1 + x + x * x / 2)).epsilon(1e-12));
    for (double a : {0.2, 0.8, 1.0, 2.5, 30.0})
        for (double q : {1e-6, 0.01, 0.3, 0.5, 0.9, 0.999}) {
            INFO("a " << a << " q " << q);
            const double x = stats::gamma_p_inverse(a, q);
            CHECK(stats::gamma_p(a, x) == Approx(q).epsilon(1e-9));
        }
    CHECK(stats::gamma_p_inverse(2.0, 0.0) == 0.0);
    CHECK(std::isinf(stats::gamma_p_inverse(2.0, 1.0)));
    CHECK(std::isnan(stats::gamma_p_inverse(2.0, 1.5)));
    CHECK(std::isnan(stats::gamma_p(-1.0, 1.0)));
}

TEST_CASE("gamma draws have the distribution's mean and variance", "[stats][gamma]") {
    for (double a : {0.4, 1.0, 3.0}) {
        Rng rng(11);
        const int n = 200000;
        double s = 0, s2 = 0;
        for (int i = 0; i < n; ++i) {
            const double x = stats::sample_gamma(a, rng);
            REQUIRE(x >= 0);
            s += x, s2 += x * x;
        }
        const double mean = s / n, var = s2 / n - mean * mean;
        INFO(a);
        CHECK(mean == Approx(a).epsilon(0.02));  // standard error sqrt(a / n): well inside 2%
        CHECK(var == Approx(a).epsilon(0.05));
    }
}

TEST_CASE("Bernoulli-gamma outputs: mean, median and quantiles of the mixture", "[stats][gamma]") {
    const auto bg = stats::BernoulliGamma::from_logits(std::log(3.0), std::log(2.0), std::log(1.5));  // p = 3/4
    CHECK(bg.p == Approx(0.75));
    CHECK(bg.mean() == Approx(0.75 * 2.0 * 1.5));
    CHECK(bg.quantile(0.25) == 0.0);  // the dry mass
    CHECK(bg.quantile(0.2) == 0.0);
    // F(m) = 1/4 + 3/4 P(2, m / 1.5) = 1/2  =>  P(2, m / 1.5) = 1/3
    const double m = bg.median();
    CHECK(0.25 + 0.75 * stats::gamma_p(2.0, m / 1.5) == Approx(0.5).epsilon(1e-10));
    CHECK(stats::BernoulliGamma::from_logits(-1.0, 0.0, 0.0).median() == 0.0);  // p < 1/2: dry
    Rng rng(3);
    int wet = 0;
    for (int i = 0; i < 20000; ++i) wet += bg.sample(rng) > 0;
    CHECK(wet / 20000.0 == Approx(0.75).margin(0.015));
}
