// maunet/optim/sgd.hpp: stochastic gradient descent with momentum, PyTorch's torch.optim.SGD.
//
// For each parameter p with gradient g, with lr, momentum mu, dampening tau, weight decay wd:
//     d = g + wd * p                                  (L2 penalty, when wd != 0)
//     b = d                          on the first step (PyTorch's buffer initialisation)
//     b = mu * b + (1 - tau) * d     afterwards                      (when mu != 0)
//     d = d + mu * b  (Nesterov)  or  d = b  (plain momentum)        (when mu != 0)
//     p = p - lr * d
// Nesterov needs mu > 0 and tau = 0, as in PyTorch.
//
// State: "momentum_buffer.<i>" per parameter index (only with momentum) and "step" (the
// number of step() calls, one value).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "maunet/optim/optimizer.hpp"

namespace maunet::optim {

struct SGDOptions {
    double lr = 0.01;  // PyTorch has no default; 0.01 is its documentation's example value
    double momentum = 0.0;
    double dampening = 0.0;
    double weight_decay = 0.0;
    bool nesterov = false;
};

template <class T>
class SGD : public Optimizer<T> {
public:
    SGD(std::vector<Var<T>> params, double lr, double momentum = 0.0, double dampening = 0.0,
        double weight_decay = 0.0, bool nesterov = false)
        : Optimizer<T>(std::move(params), lr, "SGD"),
          momentum_(momentum),
          dampening_(dampening),
          weight_decay_(weight_decay),
          nesterov_(nesterov) {
        detail::require_in_range("SGD", "momentum", momentum, 0.0, 1.0, false);
        detail::require_in_range("SGD", "dampening", dampening, 0.0, 1.0, false);
        require(std::isfinite(weight_decay) && weight_decay >= 0.0,
                "SGD: expected a weight decay >= 0, got ", weight_decay);
        require(!nesterov || (momentum > 0.0 && dampening == 0.0),
                "SGD: Nesterov momentum requires momentum > 0 and dampening = 0, got momentum ", momentum,
                " and dampening ", dampening);
        buffers_.assign(this->params_.size(), Tensor<T>());
    }
    SGD(std::vector<Var<T>> params, const SGDOptions& o)
        : SGD(std::move(params), o.lr, o.momentum, o.dampening, o.weight_decay, o.nesterov) {}

    const char* name() const override { return "SGD"; }
    double momentum() const { return momentum_; }
    double dampening() const { return dampening_; }
    double weight_decay() const { return weight_decay_; }
    bool nesterov() const { return nesterov_; }

    void step() override {
        ++this->mutable_step_count();
        const T lr = static_cast<T>(this->lr_);
        const T mu = static_cast<T>(momentum_);
        const T keep = static_cast<T>(1.0 - dampening_);
        const T wd = static_cast<T>(weight_decay_);
        for (std::size_t i = 0; i < this->params_.size(); ++i) {
            Var<T>& param = this->params_[i];
            if (!param.has_grad()) continue;
            T* p = param.mutable_value().data();
            const T* g = param.grad().data();
            const Index n = param.value().numel();
            Tensor<T>& buffer = buffers_[i];
            const bool first = buffer.empty() && n > 0;
            if (momentum_ != 0.0 && first) buffer = Tensor<T>(param.shape());
            T* b = momentum_ != 0.0 ? buffer.data() : nullptr;
            for (Index j = 0; j < n; ++j) {
                T d = g[j];
                if (weight_decay_ != 0.0) d += wd * p[j];
                if (b) {
                    b[j] = first ? d : mu * b[j] + keep * d;
                    d = nesterov_ ? d + mu * b[j] : b[j];
                }
                p[j] -= lr * d;
            }
        }
    }

    OptimizerState<T> state() const override {
        OptimizerState<T> out;
        out.emplace_back("step", Tensor<T>::scalar(static_cast<T>(this->step_count())));
        this->append_buffers(out, "momentum_buffer", buffers_);
        return out;
    }

    void load_state(const OptimizerState<T>& state) override {
        const auto parsed = this->parse_state(state, {"momentum_buffer"}, {"step"});
        this->load_buffers(parsed, "momentum_buffer", buffers_);
        this->mutable_step_count() = static_cast<long>(parsed.at("step")->item());
    }

private:
    double momentum_, dampening_, weight_decay_;
    bool nesterov_;
    typename Optimizer<T>::Buffers buffers_;
};

}  // namespace maunet::optim
