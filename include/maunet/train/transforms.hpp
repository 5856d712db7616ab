// maunet/train/transforms.hpp: the normalisations between physical units and the network.
//
// Precipitation is heavy-tailed; by default the network sees it after log1p and a z-score:
//     forward:  y = (log1p(max(x, 0)) - mean) / std
//     inverse:  x = max(expm1(y * std + mean), 0)          (never negative, as the design asks)
// or, with PrecipScale::linear, after the z-score alone, so that a loss
// on y weighs errors as RMSE in physical units does: y = (x - mean) / std, x = max(y * std + mean, 0).
// Static predictors (elevation, a land fraction) get the z-score alone:
//     forward:  y = (x - mean) / std,   inverse: x = y * std + mean
// mean and std are fitted on the TRAINING split only, over cells that are valid in the mask
// and finite, after the log1p where it applies (population std, divisor n). std is floored
// (std_floor, default 1e-6) so a constant channel does not divide by zero.
//
// Missing cells stay NaN through forward(); fill_missing() then replaces them (with 0, the
// training mean in normalised space) and returns the mask that keeps them out of the loss.
//
// ChannelTransform has one (log1p on/off, mean, std) per channel of [C, H, W] or [N, C, H, W]
// tensors (network inputs); PrecipTransform is one log1p channel over every element of a
// tensor of any shape (targets), the same code with its own parameter names. Both save to and
// load from (name, value) pairs for checkpoints.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "maunet/core/errors.hpp"
#include "maunet/core/tensor.hpp"
#include "maunet/train/sample.hpp"

namespace maunet::train {

using TransformParameters = std::vector<std::pair<std::string, double>>;

// What precipitation goes through before the z-score: log1p (errors on drizzle and on
// downpours weigh alike) or nothing (errors weigh as in RMSE, in physical units).
enum class PrecipScale { log1p, linear };

inline PrecipScale precip_scale_from_string(const std::string& s) {
    if (s == "log1p") return PrecipScale::log1p;
    if (s == "linear") return PrecipScale::linear;
    throw ArgumentError("precipitation scale '" + s + "' is not one of log1p, linear");
}
inline const char* to_string(PrecipScale s) { return s == PrecipScale::log1p ? "log1p" : "linear"; }

// The fitted map of one variable.
struct ChannelScaling {
    bool log1p = false;
    double mean = 0.0;
    double stddev = 1.0;

    double forward(double x) const {
        if (std::isnan(x)) return x;
        const double u = log1p ? std::log1p(x > 0.0 ? x : 0.0) : x;
        return (u - mean) / stddev;
    }
    double inverse(double y) const {
        if (std::isnan(y)) return y;
        const double u = y * stddev + mean;
        if (!log1p) return u;
        // A dry cell (x = 0, u = 0) comes back as u within a few rounding errors of 0, on either
        // side depending on whether the compiler fuses y * stddev + mean into one FMA. Snap that
        // to exactly 0, so dry stays dry: |u| <= 8 ulp of the terms that cancelled.
        const double cancel = 8.0 * std::numeric_limits<double>::epsilon() * (std::abs(mean) + std::abs(y * stddev));
        if (u <= cancel) return 0.0;
        return std::expm1(u);
    }
};

namespace detail {

inline void check_std_floor(const char* who, double std_floor) {
    require(std::isfinite(std_floor) && std_floor > 0.0, who, ": expected std_floor > 0, got ", std_floor);
}

// Running mean and variance (Welford) in double.
struct Moments {
    double count = 0.0, mean = 0.0, m2 = 0.0;
    void add(double u) {
        count += 1.0;
        const double d = u - mean;
        mean += d / count;
        m2 += d * (u - mean);
    }
    double stddev() const { return count > 0.0 ? std::sqrt(m2 / count) : 0.0; }
};

// Looks up `key` in parsed parameters or throws naming it.
inline double lookup(const std::map<std::string, double>& p, const std::string& key, const char* who) {
    auto it = p.find(key);
    require(it != p.end(), who, "::from_parameters: missing parameter '", key, "'");
    return it->second;
}

inline std::map<std::string, double> to_map(const TransformParameters& params, const char* who) {
    std::map<std::string, double> m;
    for (const auto& [k, v] : params)
        require(m.emplace(k, v).second, who, "::from_parameters: parameter '", k, "' appears more than once");
    return m;
}

inline ChannelScaling read_scaling(const std::map<std::string, double>& p, const std::string& prefix,
                                   const char* who) {
    ChannelScaling s;
    const double flag = lookup(p, prefix + "log1p", who);
    require(flag == 0.0 || flag == 1.0, who, "::from_parameters: '", prefix, "log1p' must be 0 or 1, found ", flag);
    s.log1p = flag == 1.0;
    s.mean = lookup(p, prefix + "mean", who);
    s.stddev = lookup(p, prefix + "std", who);
    require(std::isfinite(s.mean), who, "::from_parameters: '", prefix, "mean' must be finite, found ", s.mean);
    require(std::isfinite(s.stddev) && s.stddev > 0.0, who, "::from_parameters: '", prefix,
            "std' must be finite and > 0, found ", s.stddev);
    return s;
}

inline void write_scaling(TransformParameters& out, const std::string& prefix, const ChannelScaling& s) {
    out.emplace_back(prefix + "log1p", s.log1p ? 1.0 : 0.0);
    out.emplace_back(prefix + "mean", s.mean);
    out.emplace_back(prefix + "std", s.stddev);
}

}  // namespace detail

// ---------------------------------------------------------------- ChannelTransform
// One scaling per channel of [C, H, W] or [N, C, H, W] tensors.
template <class T>
class PrecipTransform;

template <class T>
class ChannelTransform {
public:
    ChannelTransform() = default;
    // use_log1p[c] selects log1p for channel c (precipitation) or the plain z-score (static
    // predictors). Not fitted yet.
    explicit ChannelTransform(std::vector<bool> use_log1p, double std_floor = 1e-6) : std_floor_(std_floor) {
        detail::check_std_floor("ChannelTransform", std_floor);
        require(!use_log1p.empty(), "ChannelTransform: expected at least one channel, got none");
        scalings_.resize(use_log1p.size());
        for (std::size_t c = 0; c < use_log1p.size(); ++c) scalings_[c].log1p = use_log1p[c];
    }

    Index channels() const { return static_cast<Index>(scalings_.size()); }
    bool fitted() const { return fitted_; }
    double std_floor() const { return std_floor_; }
    const ChannelScaling& channel(Index c) const {
        require(c >= 0 && c < channels(), "ChannelTransform::channel: channel ", c, " out of range for ", channels(),
                " channels");
        return scalings_[static_cast<std::size_t>(c)];
    }

    // Fits each channel over its cells with mask != 0 and a finite value. values: [C, H, W] or
    // [N, C, H, W]; mask: empty (all cells), one plane shared by the channels ([1, H, W] or
    // [N, 1, H, W]) or the shape of values.
    void fit(const Tensor<T>& values, const Tensor<T>& mask = Tensor<T>()) {
        begin_fit();
        add_to_fit(values, mask);
        end_fit();
    }
    // Fitting in parts, as PrecipTransform's: the same result as one fit() on the parts stacked.
    void begin_fit() { fitting_.assign(scalings_.size(), detail::Moments{}); }
    void add_to_fit(const Tensor<T>& values, const Tensor<T>& mask = Tensor<T>()) {
        const Layout l = layout(values, "fit");
        const bool masked = !mask.empty();
        bool shared = false;
        if (masked) {
            Shape plane_shape = values.shape();
            plane_shape[values.rank() - 3] = 1;
            shared = mask.shape() == plane_shape;
            require_shape(shared || mask.shape() == values.shape(), "ChannelTransform::fit: values have shape ",
                          values.shape(), " but mask has shape ", mask.shape(), "; expected ", plane_shape, " or ",
                          values.shape());
        }
        add_to_fit(values.data(), masked ? mask.data() : nullptr, shared, l);
    }
    void end_fit() {
        require(fitting_.size() == scalings_.size(), "ChannelTransform::end_fit: call begin_fit() first");
        const std::vector<detail::Moments>& moments = fitting_;
        for (std::size_t c = 0; c < moments.size(); ++c)
            require(moments[c].count > 0.0, "ChannelTransform::fit: channel ", c,
                    " has no valid, finite cell to fit on");
        finish_fit();
    }

    Tensor<T> forward(const Tensor<T>& x) const {
        Tensor<T> y(x);
        forward_inplace(y);
        return y;
    }
    Tensor<T> inverse(const Tensor<T>& y) const {
        Tensor<T> x(y);
        inverse_inplace(x);
        return x;
    }
    void forward_inplace(Tensor<T>& x) const { apply(x, true, "forward"); }
    void inverse_inplace(Tensor<T>& y) const { apply(y, false, "inverse"); }

    // "<prefix>channels", "<prefix>std_floor", and per channel c "<prefix>c<c>.log1p",
    // "<prefix>c<c>.mean", "<prefix>c<c>.std".
    TransformParameters parameters(const std::string& prefix = "") const {
        check_fitted("parameters");
        TransformParameters out;
        out.emplace_back(prefix + "channels", static_cast<double>(scalings_.size()));
        out.emplace_back(prefix + "std_floor", std_floor_);
        for (std::size_t c = 0; c < scalings_.size(); ++c)
            detail::write_scaling(out, prefix + "c" + std::to_string(c) + ".", scalings_[c]);
        return out;
    }
    static ChannelTransform from_parameters(const TransformParameters& params, const std::string& prefix = "") {
        const auto p = detail::to_map(params, "ChannelTransform");
        const double channels = detail::lookup(p, prefix + "channels", "ChannelTransform");
        require(channels >= 1.0 && channels <= 1e6 && channels == std::floor(channels),
                "ChannelTransform::from_parameters: '", prefix, "channels' must be a whole number >= 1, found ",
                channels);
        ChannelTransform t(std::vector<bool>(static_cast<std::size_t>(channels), false),
                           detail::lookup(p, prefix + "std_floor", "ChannelTransform"));
        for (std::size_t c = 0; c < t.scalings_.size(); ++c)
            t.scalings_[c] = detail::read_scaling(p, prefix + "c" + std::to_string(c) + ".", "ChannelTransform");
        t.fitted_ = true;
        return t;
    }

private:
    friend class PrecipTransform<T>;  // one channel over every element of a tensor of any shape

    void finish_fit() {
        for (std::size_t c = 0; c < fitting_.size(); ++c) {
            scalings_[c].mean = fitting_[c].mean;
            scalings_[c].stddev = std::max(fitting_[c].stddev(), std_floor_);
        }
        fitted_ = true;
    }

    struct Layout {
        Index batch, channels, plane;
    };
    // values: l.batch x l.channels planes of l.plane; mask: none (null), one plane per item
    // shared by its channels, or one per channel.
    void add_to_fit(const T* values, const T* mask, bool shared, const Layout& l) {
        require(fitting_.size() == scalings_.size(), "ChannelTransform::add_to_fit: call begin_fit() first");
        for (Index n = 0; n < l.batch; ++n)
            for (Index c = 0; c < l.channels; ++c) {
                const T* v = values + (n * l.channels + c) * l.plane;
                const T* m = mask ? mask + (shared ? n : n * l.channels + c) * l.plane : nullptr;
                const ChannelScaling& s = scalings_[static_cast<std::size_t>(c)];
                detail::Moments& moments = fitting_[static_cast<std::size_t>(c)];
                for (Index j = 0; j < l.plane; ++j) {
                    const double x = static_cast<double>(v[j]);
                    if ((m && m[j] == T(0)) || !std::isfinite(x)) continue;
                    moments.add(s.log1p ? std::log1p(x > 0.0 ? x : 0.0) : x);
                }
            }
    }
    Layout layout(const Tensor<T>& x, const char* what) const {
        require_shape(x.rank() == 3 || x.rank() == 4, "ChannelTransform::", what,
                      ": expected [C, H, W] or [N, C, H, W], found ", x.shape());
        const Index c = x.dim(-3);
        require_shape(c == channels(), "ChannelTransform::", what, ": tensor ", x.shape(), " has ", c,
                      " channels, the transform has ", channels());
        return Layout{x.rank() == 4 ? x.dim(0) : 1, c, x.dim(-2) * x.dim(-1)};
    }
    void apply(Tensor<T>& x, bool forward, const char* what) const {
        check_fitted(what);
        apply(x.data(), layout(x, what), forward);
    }
    void apply(T* x, const Layout& l, bool forward) const {
        for (Index n = 0; n < l.batch; ++n)
            for (Index c = 0; c < l.channels; ++c) {
                T* v = x + (n * l.channels + c) * l.plane;
                const ChannelScaling& s = scalings_[static_cast<std::size_t>(c)];
                for (Index j = 0; j < l.plane; ++j) {
                    const double u = static_cast<double>(v[j]);
                    v[j] = static_cast<T>(forward ? s.forward(u) : s.inverse(u));
                }
            }
    }
    void check_fitted(const char* what, const char* who = "ChannelTransform") const {
        require(fitted_, who, "::", what, ": the transform is not fitted; call fit() on the training "
                "split (or from_parameters()) first");
    }

    double std_floor_ = 1e-6;
    std::vector<ChannelScaling> scalings_;
    bool fitted_ = false;
    std::vector<detail::Moments> fitting_;  // of a fit in parts (begin_fit .. end_fit)
};

// ---------------------------------------------------------------- PrecipTransform
// log1p (or not) + z-score over all elements of a tensor (one variable): a ChannelTransform of
// one channel whose plane is the whole tensor, whatever its shape, and whose inverse is never
// negative. It keeps its own parameter names (model files store them).
template <class T>
class PrecipTransform {
public:
    explicit PrecipTransform(double std_floor = 1e-6) : PrecipTransform(PrecipScale::log1p, std_floor) {}
    explicit PrecipTransform(PrecipScale scale, double std_floor = 1e-6)
        : channel_(checked(std_floor, scale == PrecipScale::log1p)) {}

    // Fits mean and std of log1p(max(x, 0)) (or of x) over cells with mask != 0 and a finite value.
    // `mask` has the shape of `values`, or is empty (every finite cell counts).
    void fit(const Tensor<T>& values, const Tensor<T>& mask = Tensor<T>()) {
        begin_fit();
        add_to_fit(values, mask);
        end_fit();
    }
    // Fitting in parts (data too large to stack, such as a spooled dataset): begin_fit(), then
    // add_to_fit() for each part, then end_fit(). The same result as one fit() on the parts
    // stacked in order (Welford's updates in the same order).
    void begin_fit() { channel_.begin_fit(), fitting_cells_ = 0; }
    void add_to_fit(const Tensor<T>& values, const Tensor<T>& mask = Tensor<T>()) {
        require_shape(mask.empty() || mask.shape() == values.shape(), "PrecipTransform::fit: values have shape ",
                      values.shape(), " but mask has shape ", mask.shape());
        channel_.add_to_fit(values.data(), mask.empty() ? nullptr : mask.data(), false, whole(values));
        fitting_cells_ += values.numel();
    }
    void end_fit() {
        require(channel_.fitting_.size() == 1, "PrecipTransform::end_fit: call begin_fit() first");
        require(channel_.fitting_[0].count > 0.0,
                "PrecipTransform::fit: expected at least one valid, finite cell, found none among ", fitting_cells_);
        channel_.finish_fit();
    }

    Tensor<T> forward(const Tensor<T>& x) const {
        Tensor<T> y(x);
        forward_inplace(y);
        return y;
    }
    Tensor<T> inverse(const Tensor<T>& y) const {
        Tensor<T> x(y);
        inverse_inplace(x);
        return x;
    }
    void forward_inplace(Tensor<T>& x) const {
        channel_.check_fitted("forward", "PrecipTransform");
        channel_.apply(x.data(), whole(x), true);
    }
    void inverse_inplace(Tensor<T>& y) const {
        channel_.check_fitted("inverse", "PrecipTransform");
        channel_.apply(y.data(), whole(y), false);
        if (!log1p())  // expm1 of the log1p branch clamps already
            for (T& v : y) v = not_negative(v);
    }
    // One value: an amount in physical units, never negative (NaN stays NaN).
    double amount(double z) const { return not_negative(scaling().inverse(z)); }

    bool fitted() const { return channel_.fitted(); }
    double mean() const { return scaling().mean; }
    double stddev() const { return scaling().stddev; }
    double std_floor() const { return channel_.std_floor(); }
    const ChannelScaling& scaling() const { return channel_.scalings_[0]; }
    bool log1p() const { return scaling().log1p; }
    PrecipScale scale() const { return log1p() ? PrecipScale::log1p : PrecipScale::linear; }

    // "<prefix>log1p" (1, or 0 for the z-score alone), "<prefix>mean", "<prefix>std", "<prefix>std_floor".
    TransformParameters parameters(const std::string& prefix = "") const {
        channel_.check_fitted("parameters", "PrecipTransform");
        TransformParameters out;
        detail::write_scaling(out, prefix, scaling());
        out.emplace_back(prefix + "std_floor", std_floor());
        return out;
    }
    static PrecipTransform from_parameters(const TransformParameters& params, const std::string& prefix = "") {
        const auto p = detail::to_map(params, "PrecipTransform");
        PrecipTransform t(detail::lookup(p, prefix + "std_floor", "PrecipTransform"));
        t.channel_.scalings_[0] = detail::read_scaling(p, prefix, "PrecipTransform");
        t.channel_.fitted_ = true;
        return t;
    }

private:
    using Layout = typename ChannelTransform<T>::Layout;
    // An amount is never negative: a negative value becomes 0; NaN compares false and stays NaN.
    template <class V>
    static V not_negative(V v) {
        return v < V(0) ? V(0) : v;
    }
    static Layout whole(const Tensor<T>& x) { return Layout{1, 1, x.numel()}; }
    static ChannelTransform<T> checked(double std_floor, bool log1p) {
        detail::check_std_floor("PrecipTransform", std_floor);
        return ChannelTransform<T>({log1p}, std_floor);
    }

    ChannelTransform<T> channel_;
    Index fitting_cells_ = 0;  // of a fit in parts, for the message when none is valid
};

// ---------------------------------------------------------------- missing cells
// Replaces every non-finite element of x by `value` and returns a mask of x's shape: 1 where
// x was finite, 0 where it was not.
template <class T>
Tensor<T> fill_missing(Tensor<T>& x, T value) {
    Tensor<T> mask(x.shape());
    for (Index i = 0; i < x.numel(); ++i) {
        const bool ok = std::isfinite(x[i]);
        mask[i] = ok ? T(1) : T(0);
        if (!ok) x[i] = value;
    }
    return mask;
}

// The sample as the network sees it: input through `input_transform`, target through
// `target_transform`, missing cells filled with 0, and a mask that is 0 wherever the given
// mask is 0, the transformed target is missing, or any input channel is missing.
template <class T>
Sample<T> normalize_sample(const Sample<T>& s, const ChannelTransform<T>& input_transform,
                           const PrecipTransform<T>& target_transform) {
    validate_sample(s, "normalize_sample");
    Sample<T> out{input_transform.forward(s.input), target_transform.forward(s.target), s.mask};
    const Tensor<T> input_ok = fill_missing(out.input, T(0));
    const Tensor<T> target_ok = fill_missing(out.target, T(0));
    const Index plane = s.height() * s.width();
    for (Index j = 0; j < plane; ++j) {
        bool ok = out.mask[j] != T(0) && target_ok[j] != T(0);
        for (Index c = 0; c < s.channels() && ok; ++c) ok = input_ok[c * plane + j] != T(0);
        out.mask[j] = ok ? T(1) : T(0);
    }
    return out;
}

}  // namespace maunet::train
