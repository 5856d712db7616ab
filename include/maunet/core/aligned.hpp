// maunet/core/aligned.hpp: a 64-byte aligned allocator, so that every tensor buffer starts
// on a cache line and SIMD loads in kernels never straddle one.
//
// It draws from the thread's current Arena (core/arena.hpp) when one is set at the time the
// allocator is made, from the heap otherwise, and remembers which: a container frees into the
// arena it took from. A copied container takes the copying thread's current arena; a moved one
// keeps its source's.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <limits>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "maunet/core/arena.hpp"

namespace maunet {

// DefaultInit: elements made without a value are left unset (tensors, see construct() below);
// false: they are value-initialised as with std::allocator (ArenaVector).
template <class T, bool DefaultInit = true>
struct AlignedAllocator {
    using value_type = T;
    static constexpr std::size_t alignment = 64;
    template <class U>
    struct rebind {
        using other = AlignedAllocator<U, DefaultInit>;
    };

    using propagate_on_container_move_assignment = std::true_type;
    using propagate_on_container_swap = std::true_type;
    using is_always_equal = std::false_type;

    AlignedAllocator() noexcept : arena_(detail::current_arena()) {}
    template <class U>
    AlignedAllocator(const AlignedAllocator<U, DefaultInit>& other) noexcept : arena_(other.arena()) {}
    // A copy of a container draws from the current arena, not from its source's.
    AlignedAllocator select_on_container_copy_construction() const noexcept { return AlignedAllocator(); }

    T* allocate(std::size_t n) {
        if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_array_new_length();
        if (arena_) return static_cast<T*>(arena_->allocate(n * sizeof(T)));
        // aligned_alloc needs a size that is a multiple of the alignment.
        void* p = std::aligned_alloc(alignment, Arena::rounded(n * sizeof(T)));
        if (!p) throw std::bad_alloc();
        return static_cast<T*>(p);
    }
    void deallocate(T* p, std::size_t n) noexcept {
        if (arena_)
            arena_->deallocate(p, n * sizeof(T));
        else
            std::free(p);
    }
    Arena* arena() const noexcept { return arena_; }

    // Elements made without a value (vector(n), resize(n)) are default-initialised: for float
    // and double that writes nothing, so a buffer that a kernel overwrites is not zeroed first
    // (Tensor::uninitialized). Tensor's other constructors always pass a value.
    template <class U>
    void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
        if constexpr (DefaultInit)
            ::new (static_cast<void*>(p)) U;
        else
            ::new (static_cast<void*>(p)) U();
    }
    template <class U, class... Args>
    void construct(U* p, Args&&... args) {
        ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }

    template <class U>
    bool operator==(const AlignedAllocator<U, DefaultInit>& o) const noexcept { return arena_ == o.arena(); }
    template <class U>
    bool operator!=(const AlignedAllocator<U, DefaultInit>& o) const noexcept { return arena_ != o.arena(); }

private:
    Arena* arena_;
};

// A vector whose buffer is drawn like a tensor's (from the current arena, if any): for the
// index tables and packed weights of ops, so inference with a workspace allocates nothing.
// Elements are value-initialised, as in a std::vector.
template <class T>
using ArenaVector = std::vector<T, AlignedAllocator<T, false>>;

}  // namespace maunet
