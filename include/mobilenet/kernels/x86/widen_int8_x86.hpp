#pragma once
// Sign extension of 8 or 16 int8 values to int32 with the widest x86 instruction this unit's
// flags allow (VPMOVSXBD on 16 lanes with AVX-512, 8 with AVX2, 4 with SSE4.1). GCC 12 lowers the
// same conversion of its generic vector types through 128-bit halves and two steps (9
// instructions for 16 lanes instead of one); on AArch64 its lowering is already SXTL / SXTL2.

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "mobilenet/core/isa.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// Writes the L (8 or 16) bytes at `p` sign-extended to L int32 at `out` (a vector object).
template <int L>
inline void widen_int8_x86(const int8_t* p, void* out) {
  static_assert(L == 8 || L == 16, "8 or 16 lanes");
#if defined(__AVX512F__)
  if constexpr (L == 16) {
    const __m512i v = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    std::memcpy(out, &v, sizeof v);
    return;
  }
#endif
#if defined(__AVX2__)
  for (int h = 0; h < L / 8; ++h) {
    int64_t bytes;
    std::memcpy(&bytes, p + 8 * h, sizeof bytes);
    const __m256i v = _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(bytes));
    std::memcpy(static_cast<char*>(out) + 32 * h, &v, sizeof v);
  }
#else
  for (int q = 0; q < L / 4; ++q) {
    int32_t bytes;
    std::memcpy(&bytes, p + 4 * q, sizeof bytes);
    const __m128i v = _mm_cvtepi8_epi32(_mm_cvtsi32_si128(bytes));
    std::memcpy(static_cast<char*>(out) + 16 * q, &v, sizeof v);
  }
#endif
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
