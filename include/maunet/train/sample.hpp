// maunet/train/sample.hpp: one training example and a batch of them.
//
// A Sample is one field on the target grid: the network input [C_in, H, W] (precipitation,
// already regridded to the target grid for downscaling, plus optional static predictors),
// the target [1, H, W] and the mask [1, H, W] (1 where the cell is valid and enters the
// loss, 0 where it is missing). A Batch stacks N samples: [N, C_in, H, W], [N, 1, H, W],
// [N, 1, H, W], plus the indices of the samples it came from.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "maunet/core/errors.hpp"
#include "maunet/core/tensor.hpp"

namespace maunet::train {

template <class T>
struct Sample {
    Tensor<T> input;   // [C_in, H, W]
    Tensor<T> target;  // [1, H, W]
    Tensor<T> mask;    // [1, H, W], 1 valid, 0 missing

    Index channels() const { return input.dim(0); }
    Index height() const { return input.dim(1); }
    Index width() const { return input.dim(2); }
};

template <class T>
struct Batch {
    Tensor<T> input;   // [N, C_in, H, W]
    Tensor<T> target;  // [N, 1, H, W]
    Tensor<T> mask;    // [N, 1, H, W]
    std::vector<std::size_t> indices;  // the sample each row came from
    // This batch's part of the loss of the global batch it belongs to, in data-parallel training
    // (train/trainer.hpp): mask_share = its valid cells / the global batch's, sample_share = its
    // rows / the global batch's. A loss that averages over valid cells is multiplied by
    // mask_share, one that averages over rows or elements by sample_share; the ranks' losses
    // then sum to the loss of the global batch. 1 for a whole batch.
    double mask_share = 1.0;
    double sample_share = 1.0;

    Index size() const { return input.dim(0); }
};

// Rows [begin, end) of a batch (a rank's share in data-parallel training); shares unchanged.
template <class T>
Batch<T> batch_rows(const Batch<T>& b, Index begin, Index end) {
    require(begin >= 0 && begin <= end && end <= b.size(), "batch_rows: rows [", begin, ", ", end,
            ") are not inside a batch of ", b.size());
    Batch<T> out;
    out.input = leading_rows(b.input, begin, end - begin);
    out.target = leading_rows(b.target, begin, end - begin);
    out.mask = leading_rows(b.mask, begin, end - begin);
    if (!b.indices.empty())
        out.indices.assign(b.indices.begin() + static_cast<std::ptrdiff_t>(begin),
                           b.indices.begin() + static_cast<std::ptrdiff_t>(end));
    out.mask_share = b.mask_share;
    out.sample_share = b.sample_share;
    return out;
}

// Checks the ranks and shapes of a sample; `who` names the caller in the message.
template <class T>
void validate_sample(const Sample<T>& s, const char* who) {
    require_shape(s.input.rank() == 3 && s.input.dim(0) >= 1, who, ": sample input must be [C_in, H, W], found ",
                  s.input.shape());
    const Shape expected{1, s.input.dim(1), s.input.dim(2)};
    require_shape(s.target.shape() == expected, who, ": sample target has shape ", s.target.shape(),
                  ", expected [1, H, W] matching input ", s.input.shape());
    require_shape(s.mask.shape() == expected, who, ": sample mask has shape ", s.mask.shape(),
                  ", expected [1, H, W] matching input ", s.input.shape());
}

// A sample whose mask is 1 where the target and every input channel are finite, 0 elsewhere.
template <class T>
Sample<T> make_sample(Tensor<T> input, Tensor<T> target) {
    require_shape(input.rank() == 3 && target.rank() == 3, "make_sample: expected input [C_in, H, W] and target "
                  "[1, H, W], found ", input.shape(), " and ", target.shape());
    Sample<T> s{std::move(input), std::move(target), Tensor<T>()};
    s.mask = Tensor<T>(Shape{1, s.target.dim(1), s.target.dim(2)});
    validate_sample(s, "make_sample");
    const Index plane = s.target.dim(1) * s.target.dim(2);
    for (Index j = 0; j < plane; ++j) {
        bool ok = std::isfinite(s.target[j]);
        for (Index c = 0; c < s.input.dim(0) && ok; ++c) ok = std::isfinite(s.input[c * plane + j]);
        s.mask[j] = ok ? T(1) : T(0);
    }
    return s;
}

namespace detail {
// The batch of samples sample(0), sample(1), ... (one per index; `indices` name them in messages).
template <class T, class SampleAt>
Batch<T> stack_samples(const std::vector<std::size_t>& indices, SampleAt&& sample) {
    require(!indices.empty(), "stack: expected at least one sample index, got none");
    const Sample<T>& first = sample(0);
    validate_sample(first, "stack");
    for (std::size_t k = 0; k < indices.size(); ++k) {
        const Sample<T>& s = sample(k);
        require_shape(s.input.shape() == first.input.shape() && s.target.shape() == first.target.shape() &&
                          s.mask.shape() == first.mask.shape(),
                      "stack: sample ", indices[k], " has input ", s.input.shape(), ", target ", s.target.shape(),
                      " and mask ", s.mask.shape(), "; sample ", indices[0], " has ", first.input.shape(), ", ",
                      first.target.shape(), " and ", first.mask.shape());
    }
    const auto n = static_cast<Index>(indices.size());
    const Index c = first.input.dim(0), h = first.input.dim(1), w = first.input.dim(2);
    Batch<T> b{Tensor<T>(Shape{n, c, h, w}), Tensor<T>(Shape{n, 1, h, w}), Tensor<T>(Shape{n, 1, h, w}), indices};
    const auto copy = [](const Tensor<T>& from, Tensor<T>& to, Index row) {
        std::copy(from.begin(), from.end(), to.begin() + row * from.numel());
    };
    for (Index r = 0; r < n; ++r) {
        const Sample<T>& s = sample(static_cast<std::size_t>(r));
        copy(s.input, b.input, r);
        copy(s.target, b.target, r);
        copy(s.mask, b.mask, r);
    }
    return b;
}
}  // namespace detail

// Stacks samples[indices[0]], samples[indices[1]], ... into one batch. All must have the same
// shapes; indices must be in range and not empty.
template <class T>
Batch<T> stack(const std::vector<Sample<T>>& samples, const std::vector<std::size_t>& indices) {
    for (std::size_t i : indices)
        require(i < samples.size(), "stack: sample index ", i, " is out of range for ", samples.size(), " samples");
    return detail::stack_samples<T>(indices, [&](std::size_t k) -> const Sample<T>& { return samples[indices[k]]; });
}

}  // namespace maunet::train
