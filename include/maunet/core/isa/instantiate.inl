// Defines the body file MAUNET_ISA_BODY (a quoted header path) once per instruction set; see
// region.hpp. A body that has no AVX-512 copy (it measured slower than its AVX2 copy on an
// AVX-512 CPU) defines MAUNET_ISA_NO_AVX512 first. No include guard: every kernel header includes
// this once.
#include "maunet/core/isa/region.hpp"

namespace maunet::detail::generic {
#define MAUNET_ISA_VECTOR_BYTES 16
#include MAUNET_ISA_BODY
#undef MAUNET_ISA_VECTOR_BYTES
}  // namespace maunet::detail::generic

#if MAUNET_HAVE_AVX2_KERNELS
MAUNET_TARGET_AVX2_BEGIN
namespace maunet::detail::avx2 {
#define MAUNET_ISA_VECTOR_BYTES 32
#include MAUNET_ISA_BODY
#undef MAUNET_ISA_VECTOR_BYTES
}  // namespace maunet::detail::avx2
MAUNET_TARGET_AVX2_END
#endif

#if MAUNET_HAVE_AVX512_KERNELS && !defined(MAUNET_ISA_NO_AVX512)
MAUNET_TARGET_AVX512_BEGIN
namespace maunet::detail::avx512 {
#define MAUNET_ISA_VECTOR_BYTES 64
#include MAUNET_ISA_BODY
#undef MAUNET_ISA_VECTOR_BYTES
}  // namespace maunet::detail::avx512
MAUNET_TARGET_AVX512_END
#endif

#undef MAUNET_ISA_BODY
#undef MAUNET_ISA_NO_AVX512
