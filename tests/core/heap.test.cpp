// retain_freed_memory (core/heap.hpp): after it, large blocks come from malloc's heap, not from
// fresh mmap pages, and a freed block is still in the process for the next allocation.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>

#include "maunet/core/heap.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define MAUNET_TEST_OWN_MALLOC 1  // AddressSanitizer replaces malloc: mallopt and mallinfo2 describe glibc's
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MAUNET_TEST_OWN_MALLOC 1
#endif
#endif

TEST_CASE("retain_freed_memory serves large blocks from the heap and keeps them", "[core][heap]") {
#if defined(MAUNET_TEST_OWN_MALLOC)
    // Under ASan the call must be harmless; what it does to glibc's malloc is not observable.
    static_cast<void>(maunet::retain_freed_memory());
    void* block = std::malloc(std::size_t(1) << 20);
    CHECK(block != nullptr);
    std::free(block);
#elif defined(__GLIBC__)
    REQUIRE(maunet::retain_freed_memory());
    const std::size_t bytes = std::size_t(64) << 20;  // far above malloc's default mmap threshold
    const struct mallinfo2 before = mallinfo2();
    void* block = std::malloc(bytes);
    REQUIRE(block != nullptr);
    std::memset(block, 1, bytes);
    const struct mallinfo2 during = mallinfo2();
    CHECK(during.hblkhd == before.hblkhd);        // no new mmapped block
    // The heap grew instead, by what its free space (left by earlier tests of this program) could not hold.
    CHECK(during.arena + before.fordblks >= before.arena + bytes);
    std::free(block);
    const struct mallinfo2 after = mallinfo2();
    CHECK(after.arena == during.arena);  // not trimmed: the memory stays for the next step
    CHECK(after.fordblks >= bytes);      // and is free for reuse
#else
    CHECK_FALSE(maunet::retain_freed_memory());
#endif
}
