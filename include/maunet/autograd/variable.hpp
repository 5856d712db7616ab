// maunet/autograd/variable.hpp: the reverse-mode engine.
//
// A Var<T> is a handle to a variable: a value, a gradient, and the Node (the op) that made it.
// Every differentiable op computes its value, then records a Node that knows its inputs and
// a backward function. Nodes carry their position on the tape (a global creation sequence),
// so the nodes reachable from the loss, sorted by that position, are the tape of that loss in
// creation order; backward() replays it from the newest node to the oldest. Each Node's
// backward adds (+=) its contribution into the gradients of its inputs, so a variable that
// feeds several ops (a U-Net skip connection) receives the sum.
//
// After backward() the graph is released: nodes drop their inputs and closures, and the
// gradients of intermediate variables are freed. Leaves (variables made by the user, such as
// parameters) keep their gradients, which accumulate over backward() calls until zero_grad().
// Under a NoGradGuard ops record nothing: inference builds no graph.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "maunet/core/errors.hpp"
#include "maunet/core/tensor.hpp"

namespace maunet {

// ---------------------------------------------------------------- grad mode
namespace detail {
inline bool& grad_mode_flag() {
    thread_local bool enabled = true;
    return enabled;
}
inline std::uint64_t next_tape_position() {
    static std::atomic<std::uint64_t> counter{0};
    return counter.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace detail

// True when ops record themselves for backward() (the default), per thread.
inline bool is_grad_enabled() { return detail::grad_mode_flag(); }

// While alive, ops on this thread record nothing and return variables without creators.
class NoGradGuard {
public:
    NoGradGuard() : previous_(detail::grad_mode_flag()) { detail::grad_mode_flag() = false; }
    ~NoGradGuard() { detail::grad_mode_flag() = previous_; }
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    bool previous_;
};

template <class T>
class Var;

namespace autograd {

template <class T>
struct Node;

// The state behind a Var handle.
template <class T>
struct VarData {
    Tensor<T> value;
    Tensor<T> grad;  // shape [0] until a gradient is accumulated
    bool requires_grad = false;
    bool retain_grad = false;          // keep the gradient of an intermediate variable
    bool released = false;             // made by an op whose graph backward() has released
    std::shared_ptr<Node<T>> creator;  // null for leaves and for results made under no-grad

    bool has_grad() const { return grad.numel() == value.numel() && grad.shape() == value.shape(); }
    // The gradient buffer, zero-filled on first use, for += accumulation.
    Tensor<T>& grad_buffer() {
        if (!has_grad()) grad = Tensor<T>(value.shape());
        return grad;
    }
    // For an op that writes every value of this gradient: a new buffer is not zero-filled (`fresh`
    // is set and the op stores into it), an existing one is returned as it is (the op adds).
    Tensor<T>& grad_buffer_to_write(bool& fresh) {
        fresh = !has_grad();
        if (fresh) grad = Tensor<T>::uninitialized(value.shape());
        return grad;
    }
};

// What a backward function sees: the gradient of the op's output, the values of its inputs
// and output, and the gradient buffers of those inputs that need one.
template <class T>
class BackwardContext {
public:
    BackwardContext(const Tensor<T>& grad_output, const VarData<T>& output,
                    const std::vector<std::shared_ptr<VarData<T>>>& inputs)
        : grad_output_(grad_output), output_(output), inputs_(inputs) {}

    const Tensor<T>& grad_output() const { return grad_output_; }
    const Tensor<T>& output() const { return output_.value; }
    const Tensor<T>& input(std::size_t i) const { return inputs_[i]->value; }
    // True when input i wants a gradient; a backward skips the work for those that do not.
    bool needs_grad(std::size_t i) const { return inputs_[i]->requires_grad; }
    // Input i's gradient buffer (zero-filled on first use); add into it with +=.
    Tensor<T>& grad(std::size_t i) const { return inputs_[i]->grad_buffer(); }
    // The same for an op that writes every value of input i's gradient in one pass: on first use
    // the buffer is left unfilled and `fresh` is set, and the op must store (=) into every value;
    // otherwise it adds (+=) as with grad(i). Saves a zero-filling pass over the buffer, which for
    // a layer's activations costs a memory-bound pass as long as the layer's output.
    Tensor<T>& grad_to_write(std::size_t i, bool& fresh) const { return inputs_[i]->grad_buffer_to_write(fresh); }

private:
    const Tensor<T>& grad_output_;
    const VarData<T>& output_;
    const std::vector<std::shared_ptr<VarData<T>>>& inputs_;
};

template <class T>
using BackwardFn = std::function<void(const BackwardContext<T>&)>;

// One recorded op on the tape.
template <class T>
struct Node {
    const char* op = "";             // the op's name, for messages and graph dumps
    std::uint64_t tape_position = 0;  // creation order
    std::vector<std::shared_ptr<VarData<T>>> inputs;
    std::weak_ptr<VarData<T>> output;
    BackwardFn<T> backward;
};

}  // namespace autograd

// ---------------------------------------------------------------- Var
template <class T>
class Var {
public:
    using Data = autograd::VarData<T>;

    // A null handle; most calls on it throw.
    Var() = default;
    // A leaf variable holding `value`.
    // Its state is drawn like a tensor's (from the thread's arena, if any: core/arena.hpp).
    explicit Var(Tensor<T> value, bool requires_grad = false)
        : data_(std::allocate_shared<Data>(AlignedAllocator<Data, false>())) {
        data_->value = std::move(value);
        data_->requires_grad = requires_grad;
    }
    // A leaf that wants gradients: a trainable parameter.
    static Var parameter(Tensor<T> value) { return Var(std::move(value), true); }

    bool defined() const { return static_cast<bool>(data_); }
    const Tensor<T>& value() const { return checked().value; }
    // Write access to the value, for optimizers and initialisers. Changing a value that an
    // already recorded op saved for its backward gives wrong gradients: update parameters
    // only between backward() and the next forward pass.
    Tensor<T>& mutable_value() { return checked().value; }
    const Shape& shape() const { return value().shape(); }

    bool requires_grad() const { return checked().requires_grad; }
    // Only leaves can change this: an op's result requires a gradient iff one of its inputs does.
    Var& set_requires_grad(bool on) {
        require(is_leaf(), "Var::set_requires_grad: only leaf variables can change requires_grad");
        checked().requires_grad = on;
        return *this;
    }
    bool is_leaf() const { return !checked().creator; }
    // The name of the op that made this variable ("leaf" for leaves).
    const char* creator_name() const { return is_leaf() ? "leaf" : checked().creator->op; }

    bool has_grad() const { return checked().has_grad(); }
    // The accumulated gradient; throws if backward() has not reached this variable.
    const Tensor<T>& grad() const {
        require(has_grad(), "Var::grad: this variable has no gradient (backward() has not reached it, or it is "
                            "an intermediate whose gradient was freed; call retain_grad() before backward())");
        return checked().grad;
    }
    Tensor<T>& mutable_grad() { return checked().grad_buffer(); }
    // Sets the gradient to zero, keeping its buffer.
    void zero_grad() {
        if (has_grad()) checked().grad.zero();
    }
    // Frees the gradient buffer.
    void clear_grad() { checked().grad = Tensor<T>(); }
    // Keep this intermediate variable's gradient after backward().
    Var& retain_grad() {
        checked().retain_grad = true;
        return *this;
    }

    // A new leaf with a copy of this value and no history.
    Var detach() const { return Var(value(), false); }

    // Backpropagates from this one-element variable (seed gradient 1).
    void backward() {
        require_shape(value().numel() == 1, "Var::backward: called without a seed gradient on a variable of shape ",
                      shape(), "; expected one element (a loss) or pass a seed gradient");
        backward(Tensor<T>(shape(), T(1)));
    }
    // Backpropagates with d(objective)/d(this) = seed.
    void backward(const Tensor<T>& seed) { backward(seed, nullptr); }
    // The same, calling leaf_done(leaf) as soon as a leaf's gradient is complete: right after
    // the last op on the tape that uses it has run its backward (each leaf once, on this
    // thread; leaves no op uses are not reported). Data-parallel training starts summing a
    // bucket of gradients over the ranks there, while backward goes on (train/trainer.hpp).
    using LeafDone = std::function<void(const Data* leaf)>;
    void backward(const Tensor<T>& seed, const LeafDone& leaf_done);

    const std::shared_ptr<Data>& data_ptr() const { return data_; }
    explicit Var(std::shared_ptr<Data> d) : data_(std::move(d)) {}

private:
    Data& checked() const {
        require(static_cast<bool>(data_), "Var: operation on an undefined (null) variable");
        return *data_;
    }
    std::shared_ptr<Data> data_;
};

namespace autograd {

// Records an op: wraps `value` in a new Var and, when grad mode is on and an input requires a
// gradient, attaches a Node with `backward` (any callable taking a BackwardContext). Every
// differentiable op ends with this call. Under no-grad (inference) the callable is dropped
// unconverted, so an op records, and allocates, nothing beyond its value.
template <class T, class F>
Var<T> record(const char* op, Tensor<T> value, const Var<T>* first, const Var<T>* last, F&& backward) {
    Var<T> out(std::move(value), false);
    if (!is_grad_enabled()) return out;
    bool any = false;
    for (const Var<T>* v = first; v != last; ++v) any = any || v->requires_grad();
    if (!any) return out;

    auto node = std::make_shared<Node<T>>();
    node->op = op;
    node->tape_position = detail::next_tape_position();
    node->inputs.reserve(static_cast<std::size_t>(last - first));
    for (const Var<T>* v = first; v != last; ++v) node->inputs.push_back(v->data_ptr());
    node->output = out.data_ptr();
    node->backward = BackwardFn<T>(std::forward<F>(backward));
    out.data_ptr()->requires_grad = true;
    out.data_ptr()->creator = std::move(node);
    return out;
}
// Ops with a run-time number of inputs (concat) pass a vector; the usual call passes `{x, y}`.
template <class T, class F>
Var<T> record(const char* op, Tensor<T> value, const std::vector<Var<T>>& inputs, F&& backward) {
    return record<T>(op, std::move(value), inputs.data(), inputs.data() + inputs.size(), std::forward<F>(backward));
}
template <class T, class F>
Var<T> record(const char* op, Tensor<T> value, std::initializer_list<Var<T>> inputs, F&& backward) {
    return record<T>(op, std::move(value), inputs.begin(), inputs.end(), std::forward<F>(backward));
}

// The tape of `root`: every node it depends on, oldest first. Iterative (no recursion), so a
// deep graph cannot overflow the stack.
template <class T>
std::vector<std::shared_ptr<Node<T>>> tape_of(const std::shared_ptr<VarData<T>>& root) {
    std::vector<std::shared_ptr<Node<T>>> nodes;
    std::unordered_set<const Node<T>*> seen;
    std::vector<const VarData<T>*> stack{root.get()};
    while (!stack.empty()) {
        const VarData<T>* v = stack.back();
        stack.pop_back();
        const auto& node = v->creator;
        if (!node || !seen.insert(node.get()).second) continue;
        nodes.push_back(node);
        for (const auto& in : node->inputs) stack.push_back(in.get());
    }
    std::sort(nodes.begin(), nodes.end(),
              [](const auto& a, const auto& b) { return a->tape_position < b->tape_position; });
    return nodes;
}

}  // namespace autograd

template <class T>
void Var<T>::backward(const Tensor<T>& seed, const LeafDone& leaf_done) {
    Data& root = checked();
    require(!root.released, "Var::backward: the graph behind this variable was released by an earlier "
                            "backward(); run the forward pass again");
    require_shape(seed.shape() == root.value.shape(), "Var::backward: seed gradient has shape ", seed.shape(),
                  ", expected the variable's shape ", root.value.shape());
    require(root.requires_grad, "Var::backward: this variable does not require a gradient (no input of the ops "
                                "that made it requires one, or it was computed under NoGradGuard)");
    // The root's gradient accumulates like any other.
    root.grad_buffer().array() += seed.array();

    auto tape = autograd::tape_of(data_);
    // For leaf_done: how many ops on the tape use each leaf that wants a gradient.
    std::unordered_map<const Data*, int> uses;
    if (leaf_done)
        for (const auto& node : tape)
            for (const auto& in : node->inputs)
                if (!in->creator && in->requires_grad) ++uses[in.get()];
    // Replay newest to oldest. Every variable on the tape is kept alive by `tape` (inputs) or
    // by this handle (the root), so locking the weak output pointers cannot fail.
    for (auto it = tape.rbegin(); it != tape.rend(); ++it) {
        autograd::Node<T>& node = **it;
        std::shared_ptr<Data> out = node.output.lock();
        if (out && out->has_grad()) {
            NoGradGuard no_grad;  // a backward never records ops
            node.backward(autograd::BackwardContext<T>(out->grad, *out, node.inputs));
        }
        // This node's output gradient has been handed to its inputs: free it unless kept.
        if (out && !out->retain_grad) out->grad = Tensor<T>();
        if (leaf_done)
            for (const auto& in : node.inputs) {
                const auto u = uses.find(in.get());
                if (u != uses.end() && --u->second == 0) leaf_done(in.get());
            }
    }
    // Release the graph: variables made by ops become constants without history, and the
    // buffers their backward functions saved are freed with the nodes.
    for (auto& node : tape) {
        if (auto out = node->output.lock()) {
            out->creator.reset();
            out->requires_grad = false;
            out->released = true;
            if (!out->retain_grad) out->grad = Tensor<T>();
        }
        node->inputs.clear();
        node->backward = nullptr;
    }
}

}  // namespace maunet
