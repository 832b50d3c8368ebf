#pragma once
// The int8 table lookup (../lookup_int8.hpp) on AVX-512 VBMI: 64 bytes at a time, VPERMI2B looks
// each byte's low seven bits up in two 64-byte quarters of the table (entries 0-127, and
// 128-255), and the byte's top bit picks one of the two results. The tail is a masked load and
// store. A target attribute carries VBMI, so a path built for AVX-512 without it holds the
// function and runs it only where the CPU has VBMI (kernels::best_lookup_int8()).

#include <immintrin.h>

#include <cstdint>

#include "mobilenet/core/isa.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

namespace lookup_int8_detail {
/// 64 bytes looked up in the table held in four registers. (A function, not a lambda: a lambda
/// would not carry the target attribute.)
[[gnu::target("avx512vbmi"), gnu::always_inline]] inline __m512i look_up_vbmi(__m512i v, __m512i t0,
                                                                              __m512i t1,
                                                                              __m512i t2,
                                                                              __m512i t3) {
  const __m512i low = _mm512_permutex2var_epi8(t0, v, t1);
  const __m512i high = _mm512_permutex2var_epi8(t2, v, t3);
  return _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), low, high);
}
}  // namespace lookup_int8_detail

[[gnu::target("avx512vbmi")]] inline void lookup_int8_avx512vbmi(const int8_t* table, int8_t* x,
                                                                 int64_t n) {
  using lookup_int8_detail::look_up_vbmi;
  const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64),
                t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
  int64_t i = 0;
  for (; i + 64 <= n; i += 64)
    _mm512_storeu_si512(x + i, look_up_vbmi(_mm512_loadu_si512(x + i), t0, t1, t2, t3));
  if (i < n) {
    const __mmask64 tail = (1ull << (n - i)) - 1;
    _mm512_mask_storeu_epi8(x + i, tail,
                            look_up_vbmi(_mm512_maskz_loadu_epi8(tail, x + i), t0, t1, t2, t3));
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
