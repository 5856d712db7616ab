// maunet/core/arena.hpp: Arena, a pool that a caller owns, from which a thread's tensors are
// drawn while an ArenaScope is alive, so a repeated computation allocates nothing.
//
// Inference on fields of one size allocates and frees the same buffers in the same order on
// every call. The arena keeps each freed block on a free list of its exact size (rounded up to
// 64 bytes) and hands it out again; it takes a block from the heap only when the list of that
// size is empty. So after one call, a second call of the same sizes finds every block it needs:
// at each point of it, the live blocks of a size are as many as at the same point of the first
// call, never more than the arena holds. It then makes no heap allocation (tested by
// tests/core/test_arena_alloc.cpp with a counting malloc).
//
// What draws from it: AlignedAllocator (core/aligned.hpp), hence every Tensor buffer, the
// variables of the autograd engine and the small index vectors of ops, made on a thread whose
// current arena is set (ArenaScope). A block remembers its arena (the allocator carries it), so
// it goes back to that arena wherever it is freed. Rules: an arena serves one thread at a time
// (no locks); it must outlive every block it handed out; blocks never return to the heap
// before the arena is destroyed (its size is the high-water mark of each block size).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>
#include <vector>

namespace maunet {

class Arena {
public:
    static constexpr std::size_t alignment = 64;

    Arena() = default;
    Arena(const Arena&) = delete;
    Arena& operator=(const Arena&) = delete;
    ~Arena() {
        for (void* p : blocks_) std::free(p);
    }

    // `bytes` rounded up to the alignment (at least one line): the size class of a block.
    static std::size_t rounded(std::size_t bytes) {
        return bytes == 0 ? alignment : (bytes + alignment - 1) / alignment * alignment;
    }

    // A 64-byte aligned block of at least `bytes`: a freed one of the same size class, else a
    // new one from the heap.
    void* allocate(std::size_t bytes) {
        const std::size_t size = rounded(bytes);
        Bucket& b = bucket(size);
        if (b.free) {
            FreeBlock* f = b.free;
            b.free = f->next;
            return f;
        }
        blocks_.reserve(blocks_.size() + 1);  // before the allocation, so a throw leaks nothing
        void* p = std::aligned_alloc(alignment, size);
        if (!p) throw std::bad_alloc();
        blocks_.push_back(p);
        reserved_ += size;
        return p;
    }
    // Returns a block from allocate(bytes) to the free list of its size class.
    void deallocate(void* p, std::size_t bytes) noexcept {
        if (!p) return;
        Bucket* b = find(rounded(bytes));
        if (!b) return;  // cannot happen for a block of this arena; keep it rather than crash
        FreeBlock* f = ::new (p) FreeBlock{b->free};
        b->free = f;
    }

    // Blocks taken from the heap so far, and their bytes.
    std::size_t heap_blocks() const { return blocks_.size(); }
    std::size_t reserved_bytes() const { return reserved_; }

private:
    struct FreeBlock {
        FreeBlock* next;
    };
    struct Bucket {
        std::size_t size;
        FreeBlock* free;
    };
    Bucket* find(std::size_t size) {
        for (Bucket& b : buckets_)
            if (b.size == size) return &b;
        return nullptr;
    }
    Bucket& bucket(std::size_t size) {
        if (Bucket* b = find(size)) return *b;
        buckets_.push_back(Bucket{size, nullptr});
        return buckets_.back();
    }

    std::vector<Bucket> buckets_;  // a few dozen size classes: a linear search is enough
    std::vector<void*> blocks_;    // every block, for the destructor
    std::size_t reserved_ = 0;
};

namespace detail {
// The arena new tensors of this thread draw from (null: the heap).
inline Arena*& current_arena() {
    thread_local Arena* arena = nullptr;
    return arena;
}
}  // namespace detail

// While alive, tensors made on this thread draw from `arena` (null: from the heap). Nests.
class ArenaScope {
public:
    explicit ArenaScope(Arena* arena) : previous_(detail::current_arena()) { detail::current_arena() = arena; }
    ~ArenaScope() { detail::current_arena() = previous_; }
    ArenaScope(const ArenaScope&) = delete;
    ArenaScope& operator=(const ArenaScope&) = delete;

private:
    Arena* previous_;
};

}  // namespace maunet
