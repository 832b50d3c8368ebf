#pragma once
// quant::requantize on AVX2 registers, shared by the int8 pointwise tile and the depthwise
// kernel: the same float operations (convert, multiply, max, min, round to nearest even with
// VCVTPS2DQ under the default rounding mode, add the zero point), then narrowing to bytes in
// output order. GCC lowers the same operations on generic vector types with a scalar min, max and
// byte insert per lane.

#include <immintrin.h>

#include <cstdint>

#include "mobilenet/core/isa.hpp"
#include "mobilenet/quant/quantize.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// The output codes (as int32) of eight int32 sums with their eight multipliers.
inline __m256i requantize8_avx2(__m256i acc, const float* multiplier, const quant::OutputClamp& c) {
  __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_loadu_ps(multiplier));
  f = _mm256_min_ps(_mm256_max_ps(f, _mm256_set1_ps(c.lo)), _mm256_set1_ps(c.hi));
  return _mm256_add_epi32(_mm256_cvtps_epi32(f), _mm256_set1_epi32(c.zero_point));
}

/// Sixteen codes (`low` the first eight, `high` the next) as bytes in order. Narrowing
/// saturates, but never acts: the clamp has put every code in int8's range.
inline __m128i narrow16_avx2(__m256i low, __m256i high) {
  // PACKSSDW works within 128-bit halves: the 64-bit quarters come out as 0-3, 8-11, 4-7, 12-15.
  const __m256i words = _mm256_permute4x64_epi64(_mm256_packs_epi32(low, high), 0xD8);
  return _mm_packs_epi16(_mm256_castsi256_si128(words), _mm256_extracti128_si256(words, 1));
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
