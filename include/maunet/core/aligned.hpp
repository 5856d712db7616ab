// maunet/core/aligned.hpp: a 64-byte aligned allocator, so that every tensor buffer starts
// on a cache line and SIMD loads in kernels never straddle one.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <limits>
#include <new>
#include <type_traits>
#include <utility>

namespace maunet {

template <class T>
struct AlignedAllocator {
    using value_type = T;
    static constexpr std::size_t alignment = 64;

    AlignedAllocator() noexcept = default;
    template <class U>
    AlignedAllocator(const AlignedAllocator<U>&) noexcept {}

    T* allocate(std::size_t n) {
        if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_array_new_length();
        // aligned_alloc needs a size that is a multiple of the alignment.
        std::size_t bytes = (n * sizeof(T) + alignment - 1) / alignment * alignment;
        if (bytes == 0) bytes = alignment;
        void* p = std::aligned_alloc(alignment, bytes);
        if (!p) throw std::bad_alloc();
        return static_cast<T*>(p);
    }
    void deallocate(T* p, std::size_t) noexcept { std::free(p); }

    // Elements made without a value (vector(n), resize(n)) are default-initialised: for float
    // and double that writes nothing, so a buffer that a kernel overwrites is not zeroed first
    // (Tensor::uninitialized). Tensor's other constructors always pass a value.
    template <class U>
    void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
        ::new (static_cast<void*>(p)) U;
    }
    template <class U, class... Args>
    void construct(U* p, Args&&... args) {
        ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }

    template <class U>
    bool operator==(const AlignedAllocator<U>&) const noexcept { return true; }
    template <class U>
    bool operator!=(const AlignedAllocator<U>&) const noexcept { return false; }
};

}  // namespace maunet
