// maunet/core/scratch.hpp: named, per-thread scratch buffers for the kernels (convolutions, GEMM).
#pragma once

#include <atomic>
#include <cstddef>
#include <vector>

#include "maunet/core/threading.hpp"

namespace maunet::detail {

// Reusable scratch memory for the kernels: one buffer per slot and calling thread, grown on
// demand and never shrunk, so the large padded copies and partial results of a layer do not pay
// for fresh pages (page faults and zeroing) on every call. Contents are left from the last use;
// callers clear what they read before writing. Kernels run their parallel regions from the
// calling thread, and no kernel holds a slot while calling another kernel using the same slot.
enum class ScratchSlot : int {
    input = 0,      // padded input planes (direct), padded rows and gathered dU rows (Winograd dW),
                    // im2col columns (GEMM path), a channel's transformed tiles (batch Winograd)
    output = 1,     // flat output (direct), M or dM (Winograd), dL/dcol or im2col(dL/dy) (GEMM path dx)
    operand = 2,    // transposed dL/dy (direct dW), U (Winograd), dU (Winograd dW),
                    // the flipped, transposed weight (GEMM path dx)
    transform = 3,  // V and the padded rows it is made from (Winograd)
    relu_mask = 4,  // dL/dy masked by the fused ReLU (conv2d_relu's backward)
    gemm_a = 5,     // packed blocks of A (gemm_kernel.inl), per worker thread
    gemm_b = 6,     // packed panels of B (gemm_kernel.inl)
    partials = 7,   // the weight-gradient partial sums of batch chunks 1.. (GEMM paths, im2col.hpp)
    gathered = 8,   // dL/dy of a group of images side by side (GEMM path dW, conv2d.hpp), the
                    // flipped, transposed weight (batch Winograd dx)
    count = 9
};
// The largest size any thread has asked of each slot, per element type.
template <class T>
std::atomic<std::size_t>* scratch_high_water() {
    static std::atomic<std::size_t> sizes[static_cast<int>(ScratchSlot::count)] = {};
    return sizes;
}

template <class T>
T* scratch(ScratchSlot slot, std::size_t n) {
    thread_local std::vector<T> slots[static_cast<int>(ScratchSlot::count)];
    std::vector<T>& s = slots[static_cast<int>(slot)];
    if (s.size() < n) {
        s.clear();
        s.shrink_to_fit();
        s.resize(n);
        std::atomic<std::size_t>& high = scratch_high_water<T>()[static_cast<int>(slot)];
        std::size_t seen = high.load(std::memory_order_relaxed);
        while (seen < n && !high.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {
        }
    }
    return s.data();
}

// Grows every thread's buffers of T to the largest size any thread has used, in one parallel
// region of num_threads() threads (one item each). After a warm-up call, a thread that got no
// item of some layer (the other took them all while it was descheduled, as happens on a busy
// machine) would otherwise grow its buffer in a later call: this is what lets a workspace promise
// that predictions allocate nothing (the C API's and Python's workspaces call it).
template <class T>
void grow_scratch_to_high_water() {
    parallel_for(0, num_threads(), [](std::ptrdiff_t) {
        for (int slot = 0; slot < static_cast<int>(ScratchSlot::count); ++slot)
            scratch<T>(static_cast<ScratchSlot>(slot), scratch_high_water<T>()[slot].load(std::memory_order_relaxed));
    });
}

}  // namespace maunet::detail
