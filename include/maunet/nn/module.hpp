// maunet/nn/module.hpp: Module, the base of every layer, block and model.
//
// A module owns named parameters (trainable leaves), named buffers (state that is saved but
// not trained, such as batch-norm running statistics) and named children. Names compose with
// dots exactly as PyTorch's state_dict names the same structure ("encoder.0.conv1.weight"),
// so weights can be exchanged by name. Each module has its own forward() with the signature
// it needs (a layer takes x, an UpSamplerUnit takes x and the skip tensor); the base class
// only manages state, mode and counting.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "maunet/autograd/variable.hpp"
#include "maunet/core/errors.hpp"
#include "maunet/core/random.hpp"

namespace maunet::nn {

// How a forward pass runs: training (dropout on, batch norm on batch statistics, running
// statistics updated), inference, or inference with dropout sampled (MC dropout); and the
// engine dropout draws from. Forward functions are
// const: in inference they only read the module, so one model can serve many threads.
struct ForwardMode {
    bool training = false;
    Rng* rng = nullptr;  // required when training with dropout
    // Data-parallel training (train/trainer.hpp): this batch is rows [batch_offset, batch_offset
    // + N) of a global batch of batch_total rows (0: the batch is whole). Dropout then draws the
    // masks of the whole global batch and keeps its rows', so every rank draws what one process
    // would have drawn for those rows.
    Index batch_offset = 0;
    Index batch_total = 0;
    // Monte Carlo dropout (Gal & Ghahramani 2016): dropout draws its masks from `rng` while
    // batch norm stays in inference (running statistics, none updated). Each such forward pass
    // is one sample of the network's predictive distribution.
    bool sample_dropout = false;
};

template <class T>
class Module {
public:
    Module() = default;
    virtual ~Module() = default;
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;

    // Every parameter of this module and its children, in registration order, with its
    // dotted name. Var is a handle: the returned Vars share the module's storage.
    std::vector<std::pair<std::string, Var<T>>> named_parameters() const {
        std::vector<std::pair<std::string, Var<T>>> out;
        collect_parameters("", out);
        return out;
    }
    std::vector<Var<T>> parameters() const {
        std::vector<Var<T>> out;
        for (auto& [name, p] : named_parameters()) out.push_back(p);
        return out;
    }
    // Buffers (saved, not trained) with their dotted names; pointers into the modules.
    std::vector<std::pair<std::string, Tensor<T>*>> named_buffers() {
        std::vector<std::pair<std::string, Tensor<T>*>> out;
        collect_buffers("", out);
        return out;
    }
    std::vector<std::pair<std::string, const Tensor<T>*>> named_buffers() const {
        std::vector<std::pair<std::string, const Tensor<T>*>> out;
        for (auto& [name, b] : const_cast<Module*>(this)->named_buffers()) out.emplace_back(name, b);
        return out;
    }
    // A copy of everything that defines the module's output: its parameters, then its buffers
    // (batch-norm running statistics), by dotted name. The trainer's best-epoch snapshot and
    // its rollback after a non-finite step use it, and so can file formats.
    using State = std::vector<std::pair<std::string, Tensor<T>>>;
    State state() const {
        State out;
        for (const auto& [name, p] : named_parameters()) out.emplace_back(name, p.value());
        for (const auto& [name, b] : named_buffers()) out.emplace_back(name, *b);
        return out;
    }
    // Restores a state() of a module of the same structure: every name and shape must match
    // (ShapeError naming the first difference otherwise; the module is unchanged then).
    void load_state(const State& state) {
        auto params = named_parameters();
        auto buffers = named_buffers();
        require_shape(state.size() == params.size() + buffers.size(), "Module::load_state: expected ",
                      params.size() + buffers.size(), " tensors, found ", state.size());
        const auto target = [&](std::size_t i) -> std::pair<const std::string*, const Tensor<T>*> {
            if (i < params.size()) return {&params[i].first, &params[i].second.value()};
            return {&buffers[i - params.size()].first, buffers[i - params.size()].second};
        };
        for (std::size_t i = 0; i < state.size(); ++i) {
            const auto [name, dst] = target(i);
            require_shape(state[i].first == *name && state[i].second.shape() == dst->shape(),
                          "Module::load_state: expected tensor '", *name, "' of shape ", dst->shape(), ", found '",
                          state[i].first, "' of shape ", state[i].second.shape());
        }
        for (std::size_t i = 0; i < params.size(); ++i) params[i].second.mutable_value() = state[i].second;
        for (std::size_t i = 0; i < buffers.size(); ++i) *buffers[i].second = state[params.size() + i].second;
    }
    // True when every parameter and buffer value is finite.
    bool all_finite() const {
        for (const auto& [name, p] : named_parameters())
            if (!p.value().all_finite()) return false;
        for (const auto& [name, b] : named_buffers())
            if (!b->all_finite()) return false;
        return true;
    }

    // Number of trainable scalars.
    Index num_parameters() const {
        Index n = 0;
        for (auto& [name, p] : named_parameters()) n += p.value().numel();
        return n;
    }

    // Training mode turns dropout on and makes batch norm use batch statistics.
    void train(bool on = true) {
        training_ = on;
        for (auto& [name, child] : children_) child->train(on);
    }
    void eval() { train(false); }
    bool is_training() const { return training_; }

    void zero_grad() {
        for (auto& [name, p] : named_parameters()) p.zero_grad();
    }
    // Stops (or restarts) gradients for every parameter: a frozen teacher.
    void set_requires_grad(bool on) {
        for (auto& [name, p] : named_parameters()) p.set_requires_grad(on);
    }

    std::vector<std::pair<std::string, Module*>> children() const {
        std::vector<std::pair<std::string, Module*>> out;
        for (auto& [name, child] : children_) out.emplace_back(name, child.get());
        return out;
    }

protected:
    Var<T>& register_parameter(std::string name, Tensor<T> value) {
        params_.emplace_back(std::move(name), Var<T>::parameter(std::move(value)));
        return params_.back().second;
    }
    // Registers state that the module owns elsewhere (it must live as long as the module).
    void register_buffer(std::string name, Tensor<T>* buffer) { buffers_.emplace_back(std::move(name), buffer); }
    template <class M>
    M& register_module(std::string name, std::unique_ptr<M> child) {
        M& ref = *child;
        child->train(training_);
        children_.emplace_back(std::move(name), std::move(child));
        return ref;
    }

private:
    void collect_parameters(const std::string& prefix, std::vector<std::pair<std::string, Var<T>>>& out) const {
        for (const auto& [name, p] : params_) out.emplace_back(prefix + name, p);
        for (const auto& [name, child] : children_) child->collect_parameters(prefix + name + ".", out);
    }
    void collect_buffers(const std::string& prefix, std::vector<std::pair<std::string, Tensor<T>*>>& out) {
        for (auto& [name, b] : buffers_) out.emplace_back(prefix + name, b);
        for (auto& [name, child] : children_) child->collect_buffers(prefix + name + ".", out);
    }

    bool training_ = true;
    std::vector<std::pair<std::string, Var<T>>> params_;
    std::vector<std::pair<std::string, Tensor<T>*>> buffers_;
    std::vector<std::pair<std::string, std::unique_ptr<Module>>> children_;
};

}  // namespace maunet::nn
