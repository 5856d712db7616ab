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
// Several processes (MPI ranks) may each score some of the time steps: give each chunk its
// place with add_at(first_step, ...), and between the passes and before finish() add up the
// evaluators' shared_state() vectors element by element (an allreduce) and load_shared_state()
// the sum on every one (see shared_state()). The result is the same bits as one evaluator that
// saw every step, whichever process scored which step.
//
// Why two passes, and why the results equal evaluate()'s:
//  - RMSE, MAE, bias, relative bias: double sums of each time step from zero, kept per step
//    and added in step order, as pointwise_scores() does (pointwise.hpp: detail::time_steps),
//    so they do not depend on the chunk size or on who scored a step (bit-identical). Event
//    tables, wet-day frequency and counts are integers.
//  - Pearson r: pointwise_scores() uses centred sums around the means (two passes, stable);
//    pass 2 forms them with the final means, per step and in step order (bit-identical).
//  - SSIM: a sum over windows per field and a count; the constants C1 = (0.01 L)^2 and
//    C2 = (0.03 L)^2 need the data range L, which the caller may take from the whole
//    observations (observed_max() after pass 1), so SSIM is computed in pass 2.
//  - p95/p99 errors: quantiles need the whole sample. They are exact order statistics found
//    by radix selection on the 32-bit keys of the float values (order-preserving bit maps):
//    pass 1 counts the keys' upper 16 bits (65,536 counters per side), which locates the bucket
//    of each needed rank; pass 2 counts the lower 16 bits of the keys in those buckets, which
//    gives the rank's exact value. Memory: 2 x 65,536 + (up to 8) x 65,536 counters (5 MB),
//    whatever the number of values, and 128 bytes per time step for its sums. NumPy's linear
//    interpolation between the two order statistics around (n - 1) q then follows
//    quantile_of_sorted() (extremes.hpp).
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
        counters_.assign(4 * events_.size(), 0);
        for (auto& h : high_) h.assign(kBins, 0);
        for (auto& b : slot_of_bucket_) b.assign(kBins, -1);
    }

    // The number of time steps of the whole series, when known: sizes the per-step sums (needed
    // before shared_state(), so that every process's vector has the same length).
    void expect_steps(Index steps) {
        require(steps >= 0, "StreamingEvaluator::expect_steps: expected steps >= 0, got ", steps);
        grow(steps);
    }

    // Pass 1: one chunk (any shape evaluate() accepts; mask empty for all valid). add() takes
    // the steps after the previous chunk's; add_at() puts them at first_step.
    void add(const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask) {
        add_at(next_step_, pred, obs, mask);
    }
    void add_at(Index first_step, const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask) {
        require(!second_, "StreamingEvaluator::add: called after start_second_pass()");
        detail::check_inputs("StreamingEvaluator::add", pred, obs, mask);
        if (options_.compute_ssim) check_ssim_shape(pred);
        const auto [steps, per_step] = detail::time_steps(pred);
        require(first_step >= 0, "StreamingEvaluator::add_at: expected first_step >= 0, got ", first_step);
        grow(first_step + steps);
        const T* p = pred.data();
        const T* o = obs.data();
        const T* m = detail::mask_pointer(mask);
        for (Index t = 0; t < steps; ++t) {
            StepSums& st = steps_[static_cast<std::size_t>(first_step + t)];
            require(!st.seen, "StreamingEvaluator::add: time step ", first_step + t, " was added before");
            st.seen = true;
            const Index i0 = t * per_step, i1 = i0 + per_step;
            for (Index i = i0; i < i1; ++i) {
                if (!detail::is_valid(m, p, o, i)) continue;
                const double pi = p[i], oi = o[i], d = pi - oi;
                if (st.count == 0) st.min_p = st.max_p = pi, st.min_o = st.max_o = oi;
                st.min_p = std::min(st.min_p, pi), st.max_p = std::max(st.max_p, pi);
                st.min_o = std::min(st.min_o, oi), st.max_o = std::max(st.max_o, oi);
                ++st.count;
                st.sum_p += pi, st.sum_o += oi, st.sum_d += d, st.sum_abs_d += std::abs(d), st.sum_sq_d += d * d;
                for (std::size_t e = 0; e < events_.size(); ++e) {  // ContingencyTable::add without branches
                    const double th = events_[e].threshold;
                    const bool predicted = pi >= th, observed = oi >= th;
                    counters_[4 * e + 0] += predicted && observed;
                    counters_[4 * e + 1] += predicted && !observed;
                    counters_[4 * e + 2] += !predicted && observed;
                    counters_[4 * e + 3] += !predicted && !observed;
                }
                wet_p_ += pi >= options_.wet_threshold ? 1 : 0;
                wet_o_ += oi >= options_.wet_threshold ? 1 : 0;
                if (first_pass_only_) continue;
                ++high_[0][key(pi) >> 16];
                ++high_[1][key(oi) >> 16];
            }
            centre_step(st, p, o, m, i0, i1);
        }
        next_step_ = first_step + steps;
        any_added_ = true;
    }

    // After pass 1 alone: the scores that need no second pass (RMSE, MAE, bias, relative bias,
    // PSNR with data_range, wet-day frequency, events) and Pearson r from the steps' centred
    // sums merged pairwise (Chan, Golub & LeVeque 1979), which equals the two-pass r to
    // rounding (about 1e-15 relative, not bit for bit). SSIM and the quantile errors stay NaN.
    MetricReport finish_first_pass(double data_range) const {
        require(!second_, "StreamingEvaluator::finish_first_pass: called after start_second_pass()");
        detail::check_data_range("StreamingEvaluator", data_range);
        const Totals s = totals();
        MetricReport r = first_pass_scores(s, data_range);
        if (s.count > 0 && !(s.min_p == s.max_p || s.min_o == s.max_o))
            r.pearson_r = std::clamp(s.chan_spo / std::sqrt(s.chan_spp * s.chan_soo), -1.0, 1.0);
        return r;
    }

    // Before the first add(): only finish_first_pass() will follow, so pass 1 skips the
    // quantiles' bucket counts (two dependent increments per value).
    void first_pass_only() {
        require(!any_added_ && !second_, "StreamingEvaluator::first_pass_only: called after add()");
        first_pass_only_ = true;
    }

    std::int64_t n_valid() const { return totals().count; }
    // Largest valid observation after pass 1 (0 when there is none), e.g. for the data range.
    double observed_max() const {
        const Totals s = totals();
        return s.count > 0 ? s.max_o : 0.0;
    }

    // Between the passes: the data range L of PSNR and SSIM (> 0).
    void start_second_pass(double data_range) {
        require(!second_, "StreamingEvaluator::start_second_pass: called twice");
        require(!first_pass_only_, "StreamingEvaluator::start_second_pass: first_pass_only() was declared");
        detail::check_data_range("StreamingEvaluator", data_range);
        options_.data_range = data_range;
        second_ = true;
        pass1_ = totals();
        for (StepSums& st : steps_) st.spp = st.soo = st.spo = 0;  // pass 2's centred sums from here
        const std::int64_t count = pass1_.count;
        if (count == 0) return;
        mean_p_ = pass1_.sum_p / static_cast<double>(count);
        mean_o_ = pass1_.sum_o / static_cast<double>(count);
        // The ranks around (n - 1) q for each quantile, and the upper-16-bit bucket of each.
        for (int side = 0; side < 2; ++side)
            for (int qi = 0; qi < 2; ++qi) {
                const double h = static_cast<double>(count - 1) * kLevels[qi];
                const auto lo = static_cast<std::int64_t>(std::floor(h));
                for (std::int64_t r : {lo, std::min(lo + 1, count - 1)}) {
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

    // Pass 2: the same steps as pass 1 (in any order, at the same places).
    void add_second(const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask) {
        add_second_at(next_step2_, pred, obs, mask);
    }
    void add_second_at(Index first_step, const Tensor<T>& pred, const Tensor<T>& obs, const Tensor<T>& mask) {
        require(second_, "StreamingEvaluator::add_second: call start_second_pass() first");
        detail::check_inputs("StreamingEvaluator::add_second", pred, obs, mask);
        const auto [steps, per_step] = detail::time_steps(pred);
        require(first_step >= 0 && first_step + steps <= static_cast<Index>(steps_.size()),
                "StreamingEvaluator::add_second: time steps ", first_step, " to ", first_step + steps,
                " were not all in pass 1 (", steps_.size(), " steps)");
        const T* p = pred.data();
        const T* o = obs.data();
        const T* m = detail::mask_pointer(mask);
        const bool centred = !(pass1_.min_p == pass1_.max_p || pass1_.min_o == pass1_.max_o);
        for (Index t = 0; t < steps; ++t) {
            StepSums& st = steps_[static_cast<std::size_t>(first_step + t)];
            require(!st.seen_second, "StreamingEvaluator::add_second: time step ", first_step + t, " was added before");
            st.seen_second = true;
            for (Index i = t * per_step; i < (t + 1) * per_step; ++i) {
                if (!detail::is_valid(m, p, o, i)) continue;
                const double pi = p[i], oi = o[i];
                if (centred) {
                    const double dp = pi - mean_p_, dob = oi - mean_o_;
                    st.spp += dp * dp, st.soo += dob * dob, st.spo += dp * dob;
                }
                for (int side = 0; side < 2; ++side) {
                    const std::uint32_t k = key(side == 0 ? pi : oi);
                    const std::int32_t slot = slot_of_bucket_[side][k >> 16];
                    if (slot >= 0) ++low_[static_cast<std::size_t>(slot)][k & 0xFFFFu];
                }
            }
        }
        if (options_.compute_ssim) {
            check_ssim_shape(pred);
            const Index H = pred.dim(-2), W = pred.dim(-1);
            const Index slices = pred.numel() / (H * W), per = steps > 0 ? slices / steps : 0;
            const double c1 = (0.01 * options_.data_range) * (0.01 * options_.data_range);
            const double c2 = (0.03 * options_.data_range) * (0.03 * options_.data_range);
            const std::vector<double> g = detail::ssim_gaussian_1d();
            std::vector<detail::SsimSliceSum> per_slice(static_cast<std::size_t>(slices));
            parallel_for(0, slices, [&](Index s) {
                const Index offset = s * H * W;
                per_slice[static_cast<std::size_t>(s)] = detail::ssim_slice(
                    pred.data() + offset, obs.data() + offset, m ? m + offset : nullptr, H, W, c1, c2, g);
            });
            for (Index t = 0; t < steps; ++t) {  // a step's slices from zero, as ssim() sums them
                StepSums& st = steps_[static_cast<std::size_t>(first_step + t)];
                for (Index s = t * per; s < (t + 1) * per; ++s) {
                    st.ssim_sum += per_slice[static_cast<std::size_t>(s)].sum;
                    st.ssim_count += static_cast<double>(per_slice[static_cast<std::size_t>(s)].count);
                }
            }
        }
        next_step2_ = first_step + steps;
    }

    MetricReport finish() const {
        require(second_, "StreamingEvaluator::finish: both passes are needed");
        MetricReport r = first_pass_scores(pass1_, options_.data_range);
        double ssim_sum = 0, spp = 0, soo = 0, spo = 0;
        std::int64_t ssim_count = 0;
        for (const StepSums& st : steps_) {  // in step order, as ssim() and pointwise_scores()
            ssim_sum += st.ssim_sum, ssim_count += static_cast<std::int64_t>(st.ssim_count);
            spp += st.spp, soo += st.soo, spo += st.spo;
        }
        if (options_.compute_ssim && ssim_count > 0) r.ssim = ssim_sum / static_cast<double>(ssim_count);
        const std::int64_t count = pass1_.count;
        if (count == 0) return r;
        if (!(pass1_.min_p == pass1_.max_p || pass1_.min_o == pass1_.max_o))
            r.pearson_r = std::clamp(spo / std::sqrt(spp * soo), -1.0, 1.0);
        double q[2][2];
        for (int side = 0; side < 2; ++side)
            for (int qi = 0; qi < 2; ++qi) {
                const double h = static_cast<double>(count - 1) * kLevels[qi];
                const auto lo = static_cast<std::int64_t>(std::floor(h));
                const double a = order_statistic(side, lo);
                q[side][qi] = lo + 1 >= count ? order_statistic(side, count - 1)
                                              : a + (h - static_cast<double>(lo)) * (order_statistic(side, lo + 1) - a);
            }
        r.p95_signed_error = q[0][0] - q[1][0];
        r.p99_signed_error = q[0][1] - q[1][1];
        r.p95_error = std::abs(r.p95_signed_error);
        r.p99_error = std::abs(r.p99_signed_error);
        return r;
    }

    // The state of the current pass as numbers that add up: the element-wise sum of the
    // vectors of evaluators that saw disjoint time steps (each sized by the same
    // expect_steps()) is the vector of one evaluator that saw them all. A step's entries are
    // zero in every vector but that of the evaluator that scored it, and x + 0 == x exactly,
    // so the per-step sums arrive unrounded; counts are integers below 2^53, exact in double.
    // Pass 1: the steps' sums and extremes, the event and wet-day counts and the quantiles'
    // upper buckets; pass 2 (after start_second_pass): the steps' centred sums and SSIM and the
    // quantiles' lower counters. MPI: allreduce it (sum), then load_shared_state() everywhere.
    std::vector<double> shared_state() const {
        std::vector<double> v;
        if (!second_) {
            v.reserve(steps_.size() * kStepFields1 + counters_.size() + 2 + (first_pass_only_ ? 0 : 2 * kBins));
            for (const StepSums& st : steps_)
                v.insert(v.end(), {static_cast<double>(st.count), st.sum_p, st.sum_o, st.sum_d, st.sum_abs_d,
                                   st.sum_sq_d, st.min_p, st.max_p, st.min_o, st.max_o, st.spp, st.soo, st.spo,
                                   st.seen ? 1.0 : 0.0});
            v.push_back(static_cast<double>(wet_p_));
            v.push_back(static_cast<double>(wet_o_));
            for (std::int64_t c : counters_) v.push_back(static_cast<double>(c));
            if (!first_pass_only_)
                for (const auto& h : high_)
                    for (std::uint64_t c : h) v.push_back(static_cast<double>(c));
        } else {
            v.reserve(steps_.size() * kStepFields2 + low_.size() * kBins);
            for (const StepSums& st : steps_)
                v.insert(v.end(), {st.spp, st.soo, st.spo, st.ssim_sum, st.ssim_count, st.seen_second ? 1.0 : 0.0});
            for (const auto& l : low_)
                for (std::uint64_t c : l) v.push_back(static_cast<double>(c));
        }
        return v;
    }

    // Replaces this evaluator's state of the current pass by `summed` (see shared_state()).
    void load_shared_state(const std::vector<double>& summed) {
        const std::size_t expected = shared_state_size();
        require(summed.size() == expected, "StreamingEvaluator::load_shared_state: expected ", expected,
                " numbers (the same expect_steps() on every evaluator), got ", summed.size());
        const double* v = summed.data();
        const auto u64 = [](double x) { return static_cast<std::uint64_t>(x); };
        if (!second_) {
            for (StepSums& st : steps_) {
                require(v[13] <= 1.0, "StreamingEvaluator::load_shared_state: a time step was scored by ", v[13],
                        " evaluators; each step must be added to exactly one");
                st.count = static_cast<std::int64_t>(v[0]);
                st.sum_p = v[1], st.sum_o = v[2], st.sum_d = v[3], st.sum_abs_d = v[4], st.sum_sq_d = v[5];
                st.min_p = v[6], st.max_p = v[7], st.min_o = v[8], st.max_o = v[9];
                st.spp = v[10], st.soo = v[11], st.spo = v[12];
                st.seen = v[13] != 0;
                v += kStepFields1;
            }
            wet_p_ = static_cast<std::int64_t>(*v++);
            wet_o_ = static_cast<std::int64_t>(*v++);
            for (std::int64_t& c : counters_) c = static_cast<std::int64_t>(*v++);
            if (!first_pass_only_)
                for (auto& h : high_)
                    for (std::uint64_t& c : h) c = u64(*v++);
            any_added_ = true;
        } else {
            for (StepSums& st : steps_) {
                require(v[5] <= 1.0, "StreamingEvaluator::load_shared_state: a time step was scored by ", v[5],
                        " evaluators in pass 2; each step must be added to exactly one");
                st.spp = v[0], st.soo = v[1], st.spo = v[2], st.ssim_sum = v[3], st.ssim_count = v[4];
                st.seen_second = v[5] != 0;
                v += kStepFields2;
            }
            for (auto& l : low_)
                for (std::uint64_t& c : l) c = u64(*v++);
        }
    }

private:
    static constexpr std::uint32_t kBins = 1u << 16;
    static constexpr double kLevels[2] = {0.95, 0.99};
    static constexpr std::size_t kStepFields1 = 14, kStepFields2 = 6;

    // One time step's sums, each from zero. Pass 1: count, sums, extremes, and the centred
    // sums around the step's own means (spp, soo, spo, for finish_first_pass); pass 2 replaces
    // spp, soo, spo by the sums around the means of the whole series, and adds SSIM.
    struct StepSums {
        std::int64_t count = 0;
        double sum_p = 0, sum_o = 0, sum_d = 0, sum_abs_d = 0, sum_sq_d = 0;
        double min_p = 0, max_p = 0, min_o = 0, max_o = 0;
        double spp = 0, soo = 0, spo = 0;
        double ssim_sum = 0, ssim_count = 0;
        bool seen = false, seen_second = false;
    };

    // Pass 1's steps added up in step order, as pointwise_scores() adds them.
    struct Totals {
        std::int64_t count = 0;
        double sum_p = 0, sum_o = 0, sum_d = 0, sum_abs_d = 0, sum_sq_d = 0;
        double min_p = 0, max_p = 0, min_o = 0, max_o = 0;
        double chan_mean_p = 0, chan_mean_o = 0, chan_spp = 0, chan_soo = 0, chan_spo = 0;
    };

    void grow(Index steps) {
        if (static_cast<Index>(steps_.size()) < steps) {
            require(!second_, "StreamingEvaluator: time step ", steps - 1, " was not in pass 1");
            steps_.resize(static_cast<std::size_t>(steps));
        }
    }

    std::size_t shared_state_size() const {
        if (!second_) return steps_.size() * kStepFields1 + 2 + 4 * events_.size() + (first_pass_only_ ? 0 : 2 * kBins);
        return steps_.size() * kStepFields2 + low_.size() * kBins;
    }

    // The step's centred sums around its own means (for pass 1's merged r).
    static void centre_step(StepSums& st, const T* p, const T* o, const T* m, Index i0, Index i1) {
        if (st.count == 0) return;
        const double k = static_cast<double>(st.count), mp = st.sum_p / k, mo = st.sum_o / k;
        for (Index i = i0; i < i1; ++i) {
            if (!detail::is_valid(m, p, o, i)) continue;
            const double dp = static_cast<double>(p[i]) - mp, dob = static_cast<double>(o[i]) - mo;
            st.spp += dp * dp, st.soo += dob * dob, st.spo += dp * dob;
        }
    }

    // The steps in order: sums added, extremes compared, and the centred sums merged pairwise:
    // with n = n_a + n_b and delta = mean_b - mean_a, S_pp = S_pp,a + S_pp,b + delta_p^2 n_a n_b / n
    // (and likewise S_oo, S_po).
    Totals totals() const {
        Totals s;
        for (const StepSums& st : steps_) {
            if (st.count == 0) continue;
            if (s.count == 0) s.min_p = st.min_p, s.max_p = st.max_p, s.min_o = st.min_o, s.max_o = st.max_o;
            s.min_p = std::min(s.min_p, st.min_p), s.max_p = std::max(s.max_p, st.max_p);
            s.min_o = std::min(s.min_o, st.min_o), s.max_o = std::max(s.max_o, st.max_o);
            s.sum_p += st.sum_p, s.sum_o += st.sum_o, s.sum_d += st.sum_d;
            s.sum_abs_d += st.sum_abs_d, s.sum_sq_d += st.sum_sq_d;
            const double na = static_cast<double>(s.count), nb = static_cast<double>(st.count), n = na + nb;
            const double mp = st.sum_p / nb, mo = st.sum_o / nb;
            const double delta_p = mp - s.chan_mean_p, delta_o = mo - s.chan_mean_o;
            s.chan_spp += st.spp + delta_p * delta_p * na * nb / n;
            s.chan_soo += st.soo + delta_o * delta_o * na * nb / n;
            s.chan_spo += st.spo + delta_p * delta_o * na * nb / n;
            s.chan_mean_p += delta_p * nb / n;
            s.chan_mean_o += delta_o * nb / n;
            s.count += st.count;
        }
        return s;
    }

    struct Rank {
        int side = 0;
        std::int64_t rank = 0, rank_in_bucket = 0;
        std::uint32_t bucket = 0;
    };

    // The scores that pass 1 determines, with L = data_range for PSNR.
    MetricReport first_pass_scores(const Totals& s, double data_range) const {
        MetricReport r;
        r.data_range = data_range;
        r.wet_threshold = options_.wet_threshold;
        r.n_valid = s.count;
        r.events = events_;
        for (std::size_t e = 0; e < events_.size(); ++e) {
            r.events[e].hits = counters_[4 * e + 0];
            r.events[e].false_alarms = counters_[4 * e + 1];
            r.events[e].misses = counters_[4 * e + 2];
            r.events[e].correct_negatives = counters_[4 * e + 3];
        }
        if (s.count == 0) return r;
        const double c = static_cast<double>(s.count);
        r.rmse = std::sqrt(s.sum_sq_d / c);
        r.mae = s.sum_abs_d / c;
        r.bias = s.sum_d / c;
        r.relative_bias_percent = s.sum_o == 0 ? detail::not_a_number() : 100.0 * s.sum_d / s.sum_o;
        r.psnr = psnr_from_rmse(r.rmse, data_range);
        r.wet_day_frequency_error = static_cast<double>(wet_p_ - wet_o_) / c;
        return r;
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
    bool second_ = false, first_pass_only_ = false, any_added_ = false;
    Index next_step_ = 0, next_step2_ = 0;
    std::vector<StepSums> steps_;
    std::int64_t wet_p_ = 0, wet_o_ = 0;
    std::vector<std::int64_t> counters_;  // per event threshold: hits, false alarms, misses, correct negatives
    std::vector<ContingencyTable> events_;
    std::array<std::vector<std::uint64_t>, 2> high_;
    Totals pass1_;  // fixed by start_second_pass
    double mean_p_ = 0, mean_o_ = 0;
    std::vector<Rank> ranks_;
    // Pass 2's lower-16-bit counters: low_[slot_of_bucket_[side][upper 16 bits]] (slot -1: a
    // bucket holding no needed rank), an array look-up per value.
    std::array<std::vector<std::int32_t>, 2> slot_of_bucket_;
    std::vector<std::vector<std::uint64_t>> low_;
};

}  // namespace maunet::metrics
