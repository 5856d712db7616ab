// tests/support/gradcheck.hpp: checks an op's backward against central finite differences.
//
// For a function y = f(x_1, ..., x_k) and a fixed random weight tensor R (the same shape as
// y), the scalar L = sum(R * y) has dL/dx_i = J_i^T R, which backward() computes with seed R.
// Each element of each x_i is perturbed by +-eps and
//     dL/dx_i[j] ~ (L(x + eps e_j) - L(x - eps e_j)) / (2 eps)       (error O(eps^2)).
// The check reports, per input, max_j |analytic - numeric| / max(max_j |numeric|, 1e-3),
// the error relative to the gradient's own scale, and the element where it is worst.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "maunet/autograd/variable.hpp"
#include "maunet/core/random.hpp"

namespace maunet::testing {

// max(m, d), but NaN once either is NaN: std::max(m, NaN) returns m, so a running maximum built
// with it passes over a NaN and a check `worst < tol` on it cannot catch one.
inline double max_or_nan(double m, double d) {
    return std::isnan(m) || std::isnan(d) ? std::numeric_limits<double>::quiet_NaN() : std::max(m, d);
}

struct GradCheckReport {
    std::vector<double> relative_error;  // one per input
    std::vector<Index> worst_index;
    std::string summary;
    double max_error() const {
        double m = 0;
        for (double e : relative_error) m = max_or_nan(m, e);
        return m;
    }
};

using DoubleFn = std::function<Var<double>(const std::vector<Var<double>>&)>;

inline double weighted_sum(const Tensor<double>& y, const Tensor<double>& r) {
    double s = 0;
    for (Index i = 0; i < y.numel(); ++i) s += y[i] * r[i];
    return s;
}

// Compares analytic and numeric gradients of sum(R * f(inputs)) for every input that
// requires a gradient (all of them unless `wants_grad` says otherwise).
inline GradCheckReport gradcheck(const DoubleFn& f, const std::vector<Tensor<double>>& inputs, std::uint64_t seed = 1,
                                 double eps = 1e-6, std::vector<bool> wants_grad = {}) {
    if (wants_grad.empty()) wants_grad.assign(inputs.size(), true);
    std::vector<Var<double>> vars;
    for (std::size_t i = 0; i < inputs.size(); ++i) vars.emplace_back(inputs[i], wants_grad[i]);
    Var<double> y = f(vars);
    Rng rng(seed);
    const Tensor<double> r = Tensor<double>::uniform(y.shape(), rng, -1.0, 1.0);
    y.backward(r);

    GradCheckReport report;
    std::ostringstream os;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (!wants_grad[i]) {
            report.relative_error.push_back(0);
            report.worst_index.push_back(-1);
            continue;
        }
        const Tensor<double> analytic = vars[i].has_grad() ? vars[i].grad() : Tensor<double>(inputs[i].shape());
        Tensor<double> numeric(inputs[i].shape());
        std::vector<Tensor<double>> probe(inputs.begin(), inputs.end());
        for (Index j = 0; j < inputs[i].numel(); ++j) {
            const double x0 = probe[i][j];
            auto eval = [&](double x) {
                probe[i][j] = x;
                std::vector<Var<double>> pv;
                for (const auto& t : probe) pv.emplace_back(t, false);
                NoGradGuard no_grad;
                return weighted_sum(f(pv).value(), r);
            };
            numeric[j] = (eval(x0 + eps) - eval(x0 - eps)) / (2 * eps);
            probe[i][j] = x0;
        }
        double scale = 1e-3, worst = 0;
        Index worst_j = 0;
        for (Index j = 0; j < numeric.numel(); ++j) scale = max_or_nan(scale, std::abs(numeric[j]));
        for (Index j = 0; j < numeric.numel(); ++j) {
            const double e = std::abs(analytic[j] - numeric[j]);
            if (e > worst || std::isnan(e)) {  // a NaN gradient is the worst error there is
                worst = e;
                worst_j = j;
                if (std::isnan(e)) break;
            }
        }
        report.relative_error.push_back(worst / scale);
        report.worst_index.push_back(worst_j);
        os << "input " << i << " " << inputs[i].shape() << ": max relative error " << worst / scale << " at element "
           << worst_j << " (analytic " << analytic[worst_j] << ", numeric " << numeric[worst_j] << ")\n";
    }
    report.summary = os.str();
    return report;
}

// Largest |a - b| over two tensors of one shape. A cell that is NaN in both counts as equal (a
// missing cell kept missing); NaN in one only makes the result NaN, so that `max_abs_diff(a, b)
// < tol` fails (std::max alone would skip it).
template <class T>
double max_abs_diff(const Tensor<T>& a, const Tensor<T>& b) {
    double m = 0;
    for (Index i = 0; i < a.numel(); ++i) {
        if (std::isnan(a[i]) && std::isnan(b[i])) continue;
        m = max_or_nan(m, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
    }
    return m;
}

}  // namespace maunet::testing
