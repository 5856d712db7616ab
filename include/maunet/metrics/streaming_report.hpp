// maunet/metrics/streaming_report.hpp: evaluate() of report.hpp over data that arrives in
// chunks (time steps of a decades-long series), in memory independent of the series' length,
// with the same results.
//
//   StreamingEvaluator<float> e(options);
//   for each chunk: e.add(pred, obs, mask);          // pass 1
//   e.start_second_pass(data_range);                 // e.g. from e.observed_max()
//   for each chunk, same order: e.add_second(pred, obs, mask);   // pass 2
//   MetricReport r = e.finish();
// or, for the scores of pass 1 alone (no SSIM, no quantiles; r to rounding, see below):
//   MetricReport r = e.finish_first_pass(data_range);   // after pass 1, instead of pass 2
//
// Why two passes, and why the results equal evaluate()'s:
//  - RMSE, MAE, bias, relative bias, event tables, wet-day frequency: double sums and counts
//    accumulated in cell order, exactly as pointwise_scores() and evaluate() accumulate them,
//    so the chunked sums are the same additions in the same order (bit-identical).
//  - Pearson r: pointwise_scores() uses centred sums around the means (two passes, stable);
//    pass 2 forms them with the final means, in the same order (bit-identical).
//  - SSIM: a sum over windows per field and a count; the constants C1 = (0.01 L)^2 and
//    C2 = (0.03 L)^2 need the data range L, which the caller may take from the whole
//    observations (observed_max() after pass 1), so SSIM is computed in pass 2.
//  - p95/p99 errors: quantiles need the whole sample. They are exact order statistics found
//    by radix selection on the 32-bit keys of the float values (order-preserving bit maps):
//    pass 1 counts the keys' upper 16 bits (65,536 counters per side), which locates the bucket
//    of each needed rank; pass 2 counts the lower 16 bits of the keys in those buckets, which
//    gives the rank's exact value. Memory: 2 x 65,536 + (up to 8) x 65,536 counters (5 MB),
//    whatever the number of values. NumPy's linear interpolation between the two order
//    statistics around (n - 1) q then follows quantile_of_sorted() (extremes.hpp).
// Inputs hold float values (T = float, or doubles that are floats); a double that is not a
// float is keyed by its float rounding for the selection and reported exactly otherwise.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "maunet/metrics/report.hpp"

namespace maunet::metrics {

template <class T>
class StreamingEvaluator {
public:
    explicit StreamingEvaluator(MetricOptions options) : options_(std::move(options)) {
        detail::check_threshold("StreamingEvaluator (wet_threshold)", options_.wet_threshold);
        for (double t : options_.event_thresholds) {
            detail::check_threshold("StreamingEvaluator (event_thresholds)", t);
            ContingencyTable table;
            table.threshold = t;
            events_.push_back(table);
        }
        for (auto& h : high_) h.assign(kBins, 0);
        for (auto& b : slot_of_bucket_) b.assign(kBins, -1);
    }

    // Pass 1: one chunk (any shape evaluate() accepts; mask empty for all valid).
    void add(const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask) {
        require(!second_, "StreamingEvaluator::add: called after start_second_pass()");
        detail::check_inputs("StreamingEvaluator::add", pred, obs, mask);
        const T* p = pred.data();
        const T* o = obs.data();
        const T* m = detail::mask_pointer(mask);
        const Index n = pred.numel();
        const std::int64_t count_before = count_;
        const double sum_p_before = sum_p_, sum_o_before = sum_o_;
        for (Index i = 0; i < n; ++i) {
            if (!detail::is_valid(m, p, o, i)) continue;
            const double pi = p[i], oi = o[i], d = pi - oi;
            if (count_ == 0) min_p_ = max_p_ = pi, min_o_ = max_o_ = oi;
            min_p_ = std::min(min_p_, pi), max_p_ = std::max(max_p_, pi);
            min_o_ = std::min(min_o_, oi), max_o_ = std::max(max_o_, oi);
            ++count_;
            sum_p_ += pi, sum_o_ += oi, sum_d_ += d, sum_abs_d_ += std::abs(d), sum_sq_d_ += d * d;
            for (ContingencyTable& t : events_) {  // ContingencyTable::add without branches
                const bool predicted = pi >= t.threshold, observed = oi >= t.threshold;
                t.hits += predicted && observed;
                t.false_alarms += predicted && !observed;
                t.misses += !predicted && observed;
                t.correct_negatives += !predicted && !observed;
            }
            wet_p_ += pi >= options_.wet_threshold ? 1 : 0;
            wet_o_ += oi >= options_.wet_threshold ? 1 : 0;
            if (first_pass_only_) continue;
            ++high_[0][key(pi) >> 16];
            ++high_[1][key(oi) >> 16];
        }
        merge_chunk_moments(p, o, m, n, count_ - count_before, sum_p_ - sum_p_before, sum_o_ - sum_o_before);
        if (options_.compute_ssim) check_ssim_shape(pred);
    }

    // After pass 1 alone: the scores that need no second pass (RMSE, MAE, bias, relative bias,
    // PSNR with data_range, wet-day frequency, events) and Pearson r from the chunks' centred
    // sums merged pairwise (Chan, Golub & LeVeque 1979), which equals the two-pass r to
    // rounding (about 1e-15 relative, not bit for bit). SSIM and the quantile errors stay NaN.
    MetricReport finish_first_pass(double data_range) const {
        require(!second_, "StreamingEvaluator::finish_first_pass: called after start_second_pass()");
        detail::check_data_range("StreamingEvaluator", data_range);
        MetricReport r = first_pass_scores(data_range);
        if (count_ > 0 && !(min_p_ == max_p_ || min_o_ == max_o_))
            r.pearson_r = std::clamp(chunk_spo_ / std::sqrt(chunk_spp_ * chunk_soo_), -1.0, 1.0);
        return r;
    }

    // Before the first add(): only finish_first_pass() will follow, so pass 1 skips the
    // quantiles' bucket counts (two dependent increments per value).
    void first_pass_only() {
        require(count_ == 0 && !second_, "StreamingEvaluator::first_pass_only: called after add()");
        first_pass_only_ = true;
    }

    std::int64_t n_valid() const { return count_; }
    // Largest valid observation after pass 1 (0 when there is none), e.g. for the data range.
    double observed_max() const { return count_ > 0 ? max_o_ : 0.0; }

    // Between the passes: the data range L of PSNR and SSIM (> 0).
    void start_second_pass(double data_range) {
        require(!second_, "StreamingEvaluator::start_second_pass: called twice");
        require(!first_pass_only_, "StreamingEvaluator::start_second_pass: first_pass_only() was declared");
        detail::check_data_range("StreamingEvaluator", data_range);
        options_.data_range = data_range;
        second_ = true;
        if (count_ == 0) return;
        mean_p_ = sum_p_ / static_cast<double>(count_);
        mean_o_ = sum_o_ / static_cast<double>(count_);
        // The ranks around (n - 1) q for each quantile, and the upper-16-bit bucket of each.
        for (int side = 0; side < 2; ++side)
            for (int qi = 0; qi < 2; ++qi) {
                const double h = static_cast<double>(count_ - 1) * kLevels[qi];
                const auto lo = static_cast<std::int64_t>(std::floor(h));
                for (std::int64_t r : {lo, std::min(lo + 1, count_ - 1)}) {
                    Rank rank;
                    rank.side = side;
                    rank.rank = r;
                    std::int64_t below = 0;
                    std::uint32_t b = 0;
                    while (below + static_cast<std::int64_t>(high_[side][b]) <= r) below += static_cast<std::int64_t>(high_[side][b++]);
                    rank.bucket = b;
                    rank.rank_in_bucket = r - below;
                    ranks_.push_back(rank);
                    std::int32_t& slot = slot_of_bucket_[side][b];
                    if (slot < 0) {
                        slot = static_cast<std::int32_t>(low_.size());
                        low_.emplace_back(kBins, 0);
                    }
                }
            }
    }

    // Pass 2: the same chunks as pass 1, in the same order.
    void add_second(const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask) {
        require(second_, "StreamingEvaluator::add_second: call start_second_pass() first");
        detail::check_inputs("StreamingEvaluator::add_second", pred, obs, mask);
        const T* p = pred.data();
        const T* o = obs.data();
        const T* m = detail::mask_pointer(mask);
        const bool centred = !(min_p_ == max_p_ || min_o_ == max_o_);
        const Index n = pred.numel();
        for (Index i = 0; i < n; ++i) {
            if (!detail::is_valid(m, p, o, i)) continue;
            const double pi = p[i], oi = o[i];
            if (centred) {
                const double dp = pi - mean_p_, dob = oi - mean_o_;
                spp_ += dp * dp, soo_ += dob * dob, spo_ += dp * dob;
            }
            for (int side = 0; side < 2; ++side) {
                const std::uint32_t k = key(side == 0 ? pi : oi);
                const std::int32_t slot = slot_of_bucket_[side][k >> 16];
                if (slot >= 0) ++low_[static_cast<std::size_t>(slot)][k & 0xFFFFu];
            }
        }
        if (options_.compute_ssim) {
            check_ssim_shape(pred);
            const Index H = pred.dim(-2), W = pred.dim(-1);
            const Index slices = pred.numel() / (H * W);
            const double c1 = (0.01 * options_.data_range) * (0.01 * options_.data_range);
            const double c2 = (0.03 * options_.data_range) * (0.03 * options_.data_range);
            const std::vector<double> g = detail::ssim_gaussian_1d();
            std::vector<detail::SsimSliceSum> per_slice(static_cast<std::size_t>(slices));
            parallel_for(0, slices, [&](Index s) {
                const Index offset = s * H * W;
                per_slice[static_cast<std::size_t>(s)] = detail::ssim_slice(
                    pred.data() + offset, obs.data() + offset, m ? m + offset : nullptr, H, W, c1, c2, g);
            });
            for (const auto& s : per_slice) ssim_sum_ += s.sum, ssim_count_ += s.count;  // in slice order, as ssim()
        }
    }

    MetricReport finish() const {
        require(second_, "StreamingEvaluator::finish: both passes are needed");
        MetricReport r = first_pass_scores(options_.data_range);
        if (options_.compute_ssim && ssim_count_ > 0) r.ssim = ssim_sum_ / static_cast<double>(ssim_count_);
        if (count_ == 0) return r;
        if (!(min_p_ == max_p_ || min_o_ == max_o_)) r.pearson_r = std::clamp(spo_ / std::sqrt(spp_ * soo_), -1.0, 1.0);
        double q[2][2];
        for (int side = 0; side < 2; ++side)
            for (int qi = 0; qi < 2; ++qi) {
                const double h = static_cast<double>(count_ - 1) * kLevels[qi];
                const auto lo = static_cast<std::int64_t>(std::floor(h));
                const double a = order_statistic(side, lo);
                q[side][qi] = lo + 1 >= count_ ? order_statistic(side, count_ - 1)
                                               : a + (h - static_cast<double>(lo)) * (order_statistic(side, lo + 1) - a);
            }
        r.p95_signed_error = q[0][0] - q[1][0];
        r.p99_signed_error = q[0][1] - q[1][1];
        r.p95_error = std::abs(r.p95_signed_error);
        r.p99_error = std::abs(r.p99_signed_error);
        return r;
    }

private:
    static constexpr std::uint32_t kBins = 1u << 16;
    static constexpr double kLevels[2] = {0.95, 0.99};

    struct Rank {
        int side = 0;
        std::int64_t rank = 0, rank_in_bucket = 0;
        std::uint32_t bucket = 0;
    };

    // The scores that pass 1 determines, with L = data_range for PSNR.
    MetricReport first_pass_scores(double data_range) const {
        MetricReport r;
        r.data_range = data_range;
        r.wet_threshold = options_.wet_threshold;
        r.n_valid = count_;
        r.events = events_;
        if (count_ == 0) return r;
        const double c = static_cast<double>(count_);
        r.rmse = std::sqrt(sum_sq_d_ / c);
        r.mae = sum_abs_d_ / c;
        r.bias = sum_d_ / c;
        r.relative_bias_percent = sum_o_ == 0 ? detail::not_a_number() : 100.0 * sum_d_ / sum_o_;
        r.psnr = psnr_from_rmse(r.rmse, data_range);
        r.wet_day_frequency_error = static_cast<double>(wet_p_ - wet_o_) / c;
        return r;
    }

    // Pass 1's Pearson sums: the chunk's centred sums around its own means (k valid cells with
    // sums sp, so), merged into the running ones: with n = n_a + n_b and delta = mean_b - mean_a,
    // S_pp = S_pp,a + S_pp,b + delta_p^2 n_a n_b / n (and likewise S_oo, S_po).
    void merge_chunk_moments(const T* p, const T* o, const T* m, Index n, std::int64_t k, double sp, double so) {
        if (k == 0) return;
        const double nb = static_cast<double>(k), mp = sp / nb, mo = so / nb;
        double spp = 0, soo = 0, spo = 0;
        for (Index i = 0; i < n; ++i) {
            if (!detail::is_valid(m, p, o, i)) continue;
            const double dp = static_cast<double>(p[i]) - mp, dob = static_cast<double>(o[i]) - mo;
            spp += dp * dp, soo += dob * dob, spo += dp * dob;
        }
        const double na = static_cast<double>(chunk_n_), total = na + nb;
        const double delta_p = mp - chunk_mean_p_, delta_o = mo - chunk_mean_o_;
        chunk_spp_ += spp + delta_p * delta_p * na * nb / total;
        chunk_soo_ += soo + delta_o * delta_o * na * nb / total;
        chunk_spo_ += spo + delta_p * delta_o * na * nb / total;
        chunk_mean_p_ += delta_p * nb / total;
        chunk_mean_o_ += delta_o * nb / total;
        chunk_n_ += k;
    }

    // An order-preserving map of a float's bits to an unsigned key (negatives reversed).
    static std::uint32_t key(double v) {
        const float f = static_cast<float>(v);
        std::uint32_t u;
        std::memcpy(&u, &f, 4);
        return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    }
    static double value_of(std::uint32_t k) {
        const std::uint32_t u = (k & 0x80000000u) ? (k & 0x7FFFFFFFu) : ~k;
        float f;
        std::memcpy(&f, &u, 4);
        return static_cast<double>(f);
    }
    double order_statistic(int side, std::int64_t r) const {
        for (const Rank& k : ranks_) {
            if (k.side != side || k.rank != r) continue;
            const std::vector<std::uint64_t>& low =
                low_[static_cast<std::size_t>(slot_of_bucket_[side][k.bucket])];
            std::int64_t below = 0;
            std::uint32_t b = 0;
            while (below + static_cast<std::int64_t>(low[b]) <= k.rank_in_bucket) below += static_cast<std::int64_t>(low[b++]);
            return value_of((k.bucket << 16) | b);
        }
        return detail::not_a_number();  // not reached: every rank used was located in start_second_pass
    }
    void check_ssim_shape(const Tensor<T>& pred) const {
        require(pred.rank() >= 2 && pred.rank() <= 4 && pred.dim(-2) >= detail::kSsimWindow &&
                    pred.dim(-1) >= detail::kSsimWindow,
                "StreamingEvaluator: SSIM needs fields [H, W], [N, H, W] or [N, C, H, W] with H, W >= 11, got ",
                pred.shape(), " (set MetricOptions::compute_ssim = false to skip SSIM)");
    }

    MetricOptions options_;
    bool second_ = false, first_pass_only_ = false;
    std::int64_t count_ = 0, wet_p_ = 0, wet_o_ = 0;
    double sum_p_ = 0, sum_o_ = 0, sum_d_ = 0, sum_abs_d_ = 0, sum_sq_d_ = 0;
    double min_p_ = 0, max_p_ = 0, min_o_ = 0, max_o_ = 0;
    double mean_p_ = 0, mean_o_ = 0, spp_ = 0, soo_ = 0, spo_ = 0;
    double ssim_sum_ = 0;
    std::int64_t ssim_count_ = 0;
    std::vector<ContingencyTable> events_;
    std::array<std::vector<std::uint64_t>, 2> high_;
    std::int64_t chunk_n_ = 0;  // pass 1's merged Pearson sums (finish_first_pass)
    double chunk_mean_p_ = 0, chunk_mean_o_ = 0, chunk_spp_ = 0, chunk_soo_ = 0, chunk_spo_ = 0;
    std::vector<Rank> ranks_;
    // Pass 2's lower-16-bit counters: low_[slot_of_bucket_[side][upper 16 bits]] (slot -1: a
    // bucket holding no needed rank), an array look-up per value.
    std::array<std::vector<std::int32_t>, 2> slot_of_bucket_;
    std::vector<std::vector<std::uint64_t>> low_;
};

}  // namespace maunet::metrics
