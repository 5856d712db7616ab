// maunet/autograd/ops/broadcast.hpp: NumPy broadcasting for the elementwise ops.
//
// Shapes are aligned at their last axis; two extents fit when they are equal or one of them
// is 1, and the result takes the larger. A per-channel vector for NCHW images is therefore
// shaped [1, C, 1, 1] (or [C, 1, 1]). The backward of a broadcast input sums the gradient over
// the axes it was broadcast along, which the same offset map gives for free (+= into the
// repeated offset).
#pragma once

#include <array>
#include <string>
#include <vector>

#include "maunet/core/errors.hpp"
#include "maunet/core/shape.hpp"

namespace maunet::detail {

// The broadcast shape of a and b; throws ShapeError naming `op` when they do not fit.
inline Shape broadcast_shape(const char* op, const Shape& a, const Shape& b) {
    const std::size_t r = std::max(a.rank(), b.rank());
    std::array<Index, kMaxRank> out{};  // r <= kMaxRank: both are Shapes
    for (std::size_t i = 0; i < r; ++i) {
        const Index da = i < r - a.rank() ? 1 : a[i - (r - a.rank())];
        const Index db = i < r - b.rank() ? 1 : b[i - (r - b.rank())];
        require_shape(da == db || da == 1 || db == 1, op, ": shapes ", a, " and ", b,
                      " do not broadcast (axis ", i, ": ", da, " vs ", db, ")");
        out[i] = da == 1 ? db : da;
    }
    return Shape(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(r));
}

// For each element of `out` (row-major), the offset of the element of `in` it reads.
// `in` must broadcast to `out`.
inline std::vector<Index> broadcast_offsets(const Shape& in, const Shape& out) {
    const std::size_t r = out.rank();
    const std::size_t lead = r - in.rank();
    // Stride of `in` along each axis of `out`; 0 where `in` is broadcast.
    std::vector<Index> stride(r, 0);
    {
        Index s = 1;
        for (std::size_t i = in.rank(); i-- > 0;) {
            stride[i + lead] = in[i] == 1 ? 0 : s;
            s *= in[i];
        }
    }
    std::vector<Index> offsets(static_cast<std::size_t>(out.numel()));
    std::vector<Index> counter(r, 0);
    Index off = 0;
    for (std::size_t k = 0; k < offsets.size(); ++k) {
        offsets[k] = off;
        // Odometer increment of the multi-index, updating the offset incrementally.
        for (std::size_t i = r; i-- > 0;) {
            if (++counter[i] < out[i]) {
                off += stride[i];
                break;
            }
            off -= stride[i] * (out[i] - 1);
            counter[i] = 0;
        }
    }
    return offsets;
}

}  // namespace maunet::detail
