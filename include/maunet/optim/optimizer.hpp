// maunet/optim/optimizer.hpp: the base class of every optimizer.
//
// An optimizer holds handles to the parameters it trains (a Var<T> is a shared handle, so the
// copies here update the model's own parameters), a learning rate and per-parameter state
// (momentum buffers, Adam moments). step() reads p.grad() and writes p.mutable_value();
// parameters without a gradient (not reached by backward(), or zero_grad() freed it) are
// skipped and their state is left untouched, as PyTorch does.
//
// State for checkpoints is a flat list of (name, tensor) pairs: "<buffer>.<i>" for the buffer
// of parameter index i (in the order the parameters were given), plus the counters described
// by each optimizer. A parameter that never had a gradient has no entry, as in PyTorch's lazy
// state. load_state() checks every name and shape before it changes anything.
#pragma once

#include <cmath>
#include <cstddef>
#include <map>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "maunet/autograd/variable.hpp"
#include "maunet/core/errors.hpp"
#include "maunet/core/tensor.hpp"

namespace maunet::optim {

template <class T>
using OptimizerState = std::vector<std::pair<std::string, Tensor<T>>>;

template <class T>
class Optimizer {
public:
    virtual ~Optimizer() = default;

    // Applies one update to every parameter that has a gradient.
    virtual void step() = 0;
    // The optimizer's name, for messages ("SGD", "Adam", "AdamW").
    virtual const char* name() const = 0;

    // Clears every parameter's gradient. set_to_none = true (PyTorch's default) frees the
    // buffers, so a parameter that the next backward() does not reach is skipped by step();
    // false keeps the buffers and fills them with zeros.
    void zero_grad(bool set_to_none = true) {
        for (auto& p : params_) {
            if (set_to_none)
                p.clear_grad();
            else
                p.zero_grad();
        }
    }

    double lr() const { return lr_; }
    // Accepts 0 (a cosine schedule may end at min_lr = 0); the constructor requires lr > 0.
    void set_lr(double lr) {
        require(std::isfinite(lr) && lr >= 0.0, name(), ": expected a finite learning rate >= 0, got ", lr);
        lr_ = lr;
    }

    const std::vector<Var<T>>& parameters() const { return params_; }
    // Number of step() calls so far (restored by load_state()).
    long step_count() const { return step_count_; }

    // Buffers and counters, for checkpoints. See the derived class for the names.
    virtual OptimizerState<T> state() const = 0;
    // Restores what state() returned; throws ArgumentError on an unknown or missing name and
    // ShapeError on a buffer whose shape differs from its parameter's, before changing anything.
    virtual void load_state(const OptimizerState<T>& state) = 0;

protected:
    Optimizer(std::vector<Var<T>> params, double lr, const char* optimizer_name) : params_(std::move(params)) {
        require(!params_.empty(), optimizer_name, ": expected at least one parameter, got an empty list");
        std::unordered_set<const void*> seen;
        for (std::size_t i = 0; i < params_.size(); ++i) {
            require(params_[i].defined(), optimizer_name, ": parameter ", i, " is an undefined (null) variable");
            require(seen.insert(params_[i].data_ptr().get()).second, optimizer_name, ": parameter ", i,
                    " appears more than once in the list (it would be updated twice per step)");
        }
        require(std::isfinite(lr) && lr > 0.0, optimizer_name, ": expected a learning rate > 0, got ", lr);
        lr_ = lr;
    }

    // The counter every derived step() increments first.
    long& mutable_step_count() { return step_count_; }

    // One buffer per parameter, allocated lazily (empty Tensor = not yet created).
    using Buffers = std::vector<Tensor<T>>;

    // Appends "<prefix>.<i>" for each allocated buffer.
    static void append_buffers(OptimizerState<T>& out, const std::string& prefix, const Buffers& buffers) {
        for (std::size_t i = 0; i < buffers.size(); ++i)
            if (!buffers[i].empty()) out.emplace_back(prefix + "." + std::to_string(i), buffers[i]);
    }

    // Parses a state list into named entries, checking that every name is one of `prefixes`
    // followed by a valid parameter index (with the parameter's shape), one of
    // `count_prefixes` followed by a parameter index (one value, a count >= 0), or one of
    // `scalars` (a count >= 0, required). Returns name -> tensor.
    std::map<std::string, const Tensor<T>*> parse_state(const OptimizerState<T>& state,
                                                         const std::vector<std::string>& prefixes,
                                                         const std::vector<std::string>& scalars,
                                                         const std::vector<std::string>& count_prefixes = {}) const {
        std::map<std::string, const Tensor<T>*> out;
        for (const auto& [key, tensor] : state) {
            bool known = false;
            for (const auto& s : scalars) {
                if (key == s) {
                    check_count(key, tensor);
                    known = true;
                }
            }
            for (std::size_t k = 0; k < prefixes.size() + count_prefixes.size(); ++k) {
                const bool is_count = k >= prefixes.size();
                const std::string& prefix = is_count ? count_prefixes[k - prefixes.size()] : prefixes[k];
                if (known || key.size() <= prefix.size() + 1 || key.compare(0, prefix.size(), prefix) != 0 ||
                    key[prefix.size()] != '.')
                    continue;
                const std::string digits = key.substr(prefix.size() + 1);
                require(!digits.empty() && digits.find_first_not_of("0123456789") == std::string::npos &&
                            digits.size() < 10,
                        name(), "::load_state: '", key, "' does not end in a parameter index");
                const std::size_t index = std::stoul(digits);
                require(index < params_.size(), name(), "::load_state: '", key, "' refers to parameter ", index,
                        " but the optimizer has ", params_.size(), " parameters");
                if (is_count) {
                    check_count(key, tensor);
                } else {
                    const Shape& expected = params_[index].shape();
                    require_shape(tensor.shape() == expected, name(), "::load_state: '", key, "' has shape ",
                                  tensor.shape(), ", parameter ", index, " has shape ", expected);
                }
                known = true;
            }
            require(known, name(), "::load_state: unknown state entry '", key, "'");
            require(out.emplace(key, &tensor).second, name(), "::load_state: entry '", key,
                    "' appears more than once");
        }
        for (const auto& s : scalars)
            require(out.count(s) == 1, name(), "::load_state: the state has no '", s, "' entry");
        return out;
    }

    void check_count(const std::string& key, const Tensor<T>& tensor) const {
        require_shape(tensor.numel() == 1, name(), "::load_state: '", key, "' must hold one value, found shape ",
                      tensor.shape());
        const T v = tensor[0];
        require(std::isfinite(v) && v >= T(0) && v == std::floor(v), name(), "::load_state: '", key,
                "' must be a whole count >= 0, found ", v);
    }

    // Fills `buffers` from parsed entries "<prefix>.<i>" (missing entries become unallocated).
    void load_buffers(const std::map<std::string, const Tensor<T>*>& parsed, const std::string& prefix,
                      Buffers& buffers) const {
        buffers.assign(params_.size(), Tensor<T>());
        for (std::size_t i = 0; i < params_.size(); ++i) {
            auto it = parsed.find(prefix + "." + std::to_string(i));
            if (it != parsed.end()) buffers[i] = *it->second;
        }
    }

    std::vector<Var<T>> params_;
    double lr_ = 0.0;

private:
    long step_count_ = 0;
};

namespace detail {
// Checks a hyper-parameter: finite and within [lo, hi] (or [lo, hi) when hi_open).
inline void require_in_range(const char* optimizer, const char* what, double value, double lo, double hi,
                             bool hi_open) {
    const bool ok = std::isfinite(value) && value >= lo && (hi_open ? value < hi : value <= hi);
    require(ok, optimizer, ": expected ", what, " in [", lo, ", ", hi, hi_open ? ")" : "]", ", got ", value);
}
}  // namespace detail

}  // namespace maunet::optim
