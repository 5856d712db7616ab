// maunet/core/heap.hpp: keep freed tensor memory in the process for the next training step.
//
// A training step allocates and frees the same large activation and gradient buffers every step.
// glibc's malloc serves large blocks with fresh mmap pages and hands them back to the kernel when
// they are freed, so every step pays the page faults and the kernel's zeroing of those pages
// again: about 10% of a UNet train step (batch 8, 128 x 128) on the reference machine
// (docs/performance.md). retain_freed_memory() makes malloc take every block from its heap and
// never trim the heap, so freed blocks are reused as they are. The price is a resident set that
// stays at its peak (measured +6% on that step).
//
// The setting is process-wide, so the library never makes it by itself: a program that trains
// calls it once, at the start (the maunet tool does for train, distill, demo and bench --mode
// train). GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967295 does the
// same without code. Returns false where it is not supported (a C library other than glibc).
#pragma once

#include <cstdlib>  // defines __GLIBC__ on glibc systems, so the test below sees it

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace maunet {

inline bool retain_freed_memory() {
#if defined(__GLIBC__)
    const bool no_mmap = mallopt(M_MMAP_MAX, 0) == 1;            // every block from the heap
    const bool no_trim = mallopt(M_TRIM_THRESHOLD, 0x7fffffff) == 1;  // never give its top back
    return no_mmap && no_trim;
#else
    return false;
#endif
}

}  // namespace maunet
