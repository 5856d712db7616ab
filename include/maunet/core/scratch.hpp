// maunet/core/scratch.hpp: named, per-thread scratch buffers for the kernels (convolutions, GEMM).
#pragma once

#include <cstddef>
#include <vector>

namespace maunet::detail {

// Reusable scratch memory for the kernels: one buffer per slot and calling thread, grown on
// demand and never shrunk, so the large padded copies and partial results of a layer do not pay
// for fresh pages (page faults and zeroing) on every call. Contents are left from the last use;
// callers clear what they read before writing. Kernels run their parallel regions from the
// calling thread, and no kernel holds a slot while calling another kernel using the same slot.
enum class ScratchSlot : int {
    input = 0,      // padded input planes (direct), padded rows (Winograd dW), im2col columns (GEMM path)
    output = 1,     // flat output (direct), M or dM (Winograd), dL/dcol or im2col(dL/dy) (GEMM path dx)
    operand = 2,    // transposed dL/dy (direct dW), U (Winograd), dU (Winograd dW),
                    // the flipped, transposed weight (GEMM path dx)
    transform = 3,  // V and the padded rows it is made from (Winograd)
    relu_mask = 4,  // dL/dy masked by the fused ReLU (conv2d_relu's backward)
    gemm_a = 5,     // packed blocks of A (gemm_kernel.inl), per worker thread
    gemm_b = 6,     // packed panels of B (gemm_kernel.inl)
    partials = 7,   // the weight-gradient partial sums of batch chunks 1.. (GEMM paths, im2col.hpp)
    count = 8
};
template <class T>
T* scratch(ScratchSlot slot, std::size_t n) {
    thread_local std::vector<T> slots[static_cast<int>(ScratchSlot::count)];
    std::vector<T>& s = slots[static_cast<int>(slot)];
    if (s.size() < n) {
        s.clear();
        s.shrink_to_fit();
        s.resize(n);
    }
    return s.data();
}

}  // namespace maunet::detail
