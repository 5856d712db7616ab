// maunet/core/random.hpp: the seeded random engine every random op takes as an argument.
//
// std::normal_distribution and friends differ between standard libraries, so maunet draws
// its numbers itself: xoshiro256++ (Blackman & Vigna 2019) seeded through splitmix64, uniform
// doubles from the top 53 bits, normals by the Box-Muller transform. The same seed gives
// the same numbers on every platform and compiler.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace maunet {

class Rng {
public:
    using result_type = std::uint64_t;

    explicit Rng(std::uint64_t seed = 0x6d61756e6574ULL /* "maunet" */) { reseed(seed); }

    void reseed(std::uint64_t seed) {
        std::uint64_t x = seed;
        for (auto& s : state_) s = splitmix64(x);
        has_spare_ = false;
    }

    static constexpr result_type min() { return 0; }
    static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }

    // xoshiro256++ step.
    result_type operator()() {
        const std::uint64_t result = rotl(state_[0] + state_[3], 23) + state_[0];
        const std::uint64_t t = state_[1] << 17;
        state_[2] ^= state_[0];
        state_[3] ^= state_[1];
        state_[1] ^= state_[2];
        state_[0] ^= state_[3];
        state_[2] ^= t;
        state_[3] = rotl(state_[3], 45);
        return result;
    }

    // Uniform in [0, 1).
    double uniform() { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }
    // Uniform in [lo, hi).
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    // Uniform integer in [0, n) for 0 < n <= 2^53 (scaled 53-bit uniform; bias < n / 2^53).
    std::uint64_t below(std::uint64_t n) {
        return static_cast<std::uint64_t>(uniform() * static_cast<double>(n));
    }
    // Standard normal by Box-Muller; the second value of each pair is kept for the next call.
    double normal() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        double u1 = uniform();
        while (u1 <= 0.0) u1 = uniform();
        const double u2 = uniform();
        const double r = std::sqrt(-2.0 * std::log(u1));
        const double theta = 6.283185307179586476925 * u2;
        spare_ = r * std::sin(theta);
        has_spare_ = true;
        return r * std::cos(theta);
    }
    double normal(double mean, double stddev) { return mean + stddev * normal(); }

    // A new engine whose stream is independent of this one (for per-worker streams).
    Rng split() { return Rng((*this)() ^ 0x9e3779b97f4a7c15ULL); }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    static std::uint64_t splitmix64(std::uint64_t& x) {
        std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    std::uint64_t state_[4];
    bool has_spare_ = false;
    double spare_ = 0.0;
};

}  // namespace maunet
