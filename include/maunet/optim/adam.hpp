// maunet/optim/adam.hpp: Adam and AdamW, PyTorch's torch.optim.Adam and torch.optim.AdamW
// (amsgrad = false).
//
// For each parameter p with gradient g, step count t (per parameter, counting the steps on
// which p had a gradient, as PyTorch does), lr, betas (b1, b2), eps, weight decay wd:
//     Adam  (L2):       g = g + wd * p
//     AdamW (decoupled): p = p - lr * wd * p                     (before the Adam step)
//     m = b1 * m + (1 - b1) * g                       (m, v start at zero)
//     v = b2 * v + (1 - b2) * g^2
//     p = p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// The last line is PyTorch's arrangement of the bias corrections (eps is added after the
// correction of v), so results agree with PyTorch to rounding.
//
// State: "exp_avg.<i>", "exp_avg_sq.<i>" (the moments m and v of parameter index i),
// "step.<i>" (that parameter's t, one value) and "step" (the number of step() calls).
// Counts are stored in T: exact up to 2^24 steps in float.
#pragma once

#include <cmath>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "maunet/core/threading.hpp"
#include "maunet/optim/optimizer.hpp"

namespace maunet::optim {

struct AdamOptions {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0.0;  // AdamW's default is 1e-2: see AdamW::default_options()
};

namespace detail {

// The shared implementation; `decoupled` selects AdamW's weight decay.
template <class T>
class AdamBase : public Optimizer<T> {
public:
    const char* name() const override { return decoupled_ ? "AdamW" : "Adam"; }
    double beta1() const { return beta1_; }
    double beta2() const { return beta2_; }
    double eps() const { return eps_; }
    double weight_decay() const { return weight_decay_; }

    void step() override {
        ++this->mutable_step_count();
        const T b1 = static_cast<T>(beta1_), b2 = static_cast<T>(beta2_);
        const T eps = static_cast<T>(eps_);
        const T wd = static_cast<T>(weight_decay_);
        for (std::size_t i = 0; i < this->params_.size(); ++i) {
            Var<T>& param = this->params_[i];
            if (!param.has_grad()) continue;
            if (exp_avg_[i].empty()) {
                exp_avg_[i] = Tensor<T>(param.shape());
                exp_avg_sq_[i] = Tensor<T>(param.shape());
            }
            const long t = ++steps_[i];
            // Bias corrections in double, then rounded to T once (PyTorch computes them as
            // Python floats, i.e. in double).
            const double correction1 = 1.0 - std::pow(beta1_, static_cast<double>(t));
            const double correction2 = 1.0 - std::pow(beta2_, static_cast<double>(t));
            const T step_size = static_cast<T>(this->lr_ / correction1);
            const T correction2_sqrt = static_cast<T>(std::sqrt(correction2));
            const T decay = decoupled_ ? static_cast<T>(1.0 - this->lr_ * weight_decay_) : T(1);

            T* p = param.mutable_value().data();
            const T* g_in = param.grad().data();
            T* m = exp_avg_[i].data();
            T* v = exp_avg_sq_[i].data();
            const Index n = param.value().numel();
            const bool decoupled = decoupled_, coupled_decay = !decoupled_ && weight_decay_ != 0.0;
            // Elementwise, so split across threads without changing any value. Everything is
            // captured by value: by reference, the pointers and constants are reloaded on every
            // element and the loop stays scalar (2% of a U-Net train step before).
            parallel_pieces(n, [p, g_in, m, v, decay, wd, decoupled, coupled_decay, b1, b2, correction2_sqrt, eps,
                                step_size](Index lo, Index hi) {
                Index j = lo;
#if defined(__SSE2__)
                // Four floats at a time where there is no weight decay: the operations of the loop
                // below in the same order, each rounded once (the same bits, unless the compiler
                // fuses the loop's multiply-adds, which -march with FMA allows). Written with SSE
                // because std::sqrt may set errno, which keeps the compiler from vectorizing it.
                if constexpr (std::is_same_v<T, float>) {
                    if (!decoupled && !coupled_decay) {
                        const __m128 B1 = _mm_set1_ps(b1), B1c = _mm_set1_ps(T(1) - b1), B2 = _mm_set1_ps(b2),
                                     B2c = _mm_set1_ps(T(1) - b2), C2 = _mm_set1_ps(correction2_sqrt),
                                     E = _mm_set1_ps(eps), S = _mm_set1_ps(step_size);
                        for (; j + 4 <= hi; j += 4) {
                            const __m128 g = _mm_loadu_ps(g_in + j);
                            const __m128 mj = _mm_add_ps(_mm_mul_ps(B1, _mm_loadu_ps(m + j)), _mm_mul_ps(B1c, g));
                            const __m128 vj =
                                _mm_add_ps(_mm_mul_ps(B2, _mm_loadu_ps(v + j)), _mm_mul_ps(_mm_mul_ps(B2c, g), g));
                            const __m128 denom = _mm_add_ps(_mm_div_ps(_mm_sqrt_ps(vj), C2), E);
                            _mm_storeu_ps(m + j, mj);
                            _mm_storeu_ps(v + j, vj);
                            _mm_storeu_ps(p + j, _mm_sub_ps(_mm_loadu_ps(p + j), _mm_div_ps(_mm_mul_ps(S, mj), denom)));
                        }
                    }
                }
#endif
                for (; j < hi; ++j) {
                    T g = g_in[j];
                    if (decoupled)
                        p[j] *= decay;
                    else if (coupled_decay)
                        g += wd * p[j];
                    m[j] = b1 * m[j] + (T(1) - b1) * g;
                    v[j] = b2 * v[j] + (T(1) - b2) * g * g;
                    const T denom = std::sqrt(v[j]) / correction2_sqrt + eps;
                    p[j] -= step_size * m[j] / denom;
                }
            });
        }
    }

    OptimizerState<T> state() const override {
        OptimizerState<T> out;
        out.emplace_back("step", Tensor<T>::scalar(static_cast<T>(this->step_count())));
        for (std::size_t i = 0; i < this->params_.size(); ++i) {
            if (exp_avg_[i].empty()) continue;
            const std::string index = std::to_string(i);
            out.emplace_back("step." + index, Tensor<T>::scalar(static_cast<T>(steps_[i])));
            out.emplace_back("exp_avg." + index, exp_avg_[i]);
            out.emplace_back("exp_avg_sq." + index, exp_avg_sq_[i]);
        }
        return out;
    }

    void load_state(const OptimizerState<T>& state) override {
        const auto parsed = this->parse_state(state, {"exp_avg", "exp_avg_sq"}, {"step"}, {"step"});
        for (std::size_t i = 0; i < this->params_.size(); ++i) {
            const std::string index = std::to_string(i);
            const int present = static_cast<int>(parsed.count("exp_avg." + index)) +
                                static_cast<int>(parsed.count("exp_avg_sq." + index)) +
                                static_cast<int>(parsed.count("step." + index));
            require(present == 0 || present == 3, name(), "::load_state: parameter ", i,
                    " needs all of exp_avg.", i, ", exp_avg_sq.", i, " and step.", i, " or none, found ", present,
                    " of them");
        }
        this->load_buffers(parsed, "exp_avg", exp_avg_);
        this->load_buffers(parsed, "exp_avg_sq", exp_avg_sq_);
        steps_.assign(this->params_.size(), 0);
        for (std::size_t i = 0; i < this->params_.size(); ++i) {
            auto it = parsed.find("step." + std::to_string(i));
            if (it != parsed.end()) steps_[i] = static_cast<long>(it->second->item());
        }
        this->mutable_step_count() = static_cast<long>(parsed.at("step")->item());
    }

protected:
    AdamBase(std::vector<Var<T>> params, const AdamOptions& o, bool decoupled)
        : Optimizer<T>(std::move(params), o.lr, decoupled ? "AdamW" : "Adam"),
          beta1_(o.beta1),
          beta2_(o.beta2),
          eps_(o.eps),
          weight_decay_(o.weight_decay),
          decoupled_(decoupled) {
        const char* who = decoupled ? "AdamW" : "Adam";
        require_in_range(who, "beta1", o.beta1, 0.0, 1.0, true);
        require_in_range(who, "beta2", o.beta2, 0.0, 1.0, true);
        require(std::isfinite(o.eps) && o.eps >= 0.0, who, ": expected eps >= 0, got ", o.eps);
        require(std::isfinite(o.weight_decay) && o.weight_decay >= 0.0, who, ": expected a weight decay >= 0, got ",
                o.weight_decay);
        exp_avg_.assign(this->params_.size(), Tensor<T>());
        exp_avg_sq_.assign(this->params_.size(), Tensor<T>());
        steps_.assign(this->params_.size(), 0);
    }

private:
    double beta1_, beta2_, eps_, weight_decay_;
    bool decoupled_;
    typename Optimizer<T>::Buffers exp_avg_, exp_avg_sq_;
    std::vector<long> steps_;
};

}  // namespace detail

// Adam with L2 weight decay added to the gradient (PyTorch's Adam).
template <class T>
class Adam : public detail::AdamBase<T> {
public:
    Adam(std::vector<Var<T>> params, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
         double weight_decay = 0.0)
        : Adam(std::move(params), AdamOptions{lr, beta1, beta2, eps, weight_decay}) {}
    Adam(std::vector<Var<T>> params, const AdamOptions& o) : detail::AdamBase<T>(std::move(params), o, false) {}
};

// Adam with decoupled weight decay (Loshchilov & Hutter; PyTorch's AdamW, weight_decay 1e-2).
template <class T>
class AdamW : public detail::AdamBase<T> {
public:
    static AdamOptions default_options() {
        AdamOptions o;
        o.weight_decay = 1e-2;
        return o;
    }
    AdamW(std::vector<Var<T>> params, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
          double eps = 1e-8, double weight_decay = 1e-2)
        : AdamW(std::move(params), AdamOptions{lr, beta1, beta2, eps, weight_decay}) {}
    AdamW(std::vector<Var<T>> params, const AdamOptions& o) : detail::AdamBase<T>(std::move(params), o, true) {}
};

}  // namespace maunet::optim
