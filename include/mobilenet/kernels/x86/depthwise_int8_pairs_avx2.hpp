#pragma once
// The int8 depthwise kernel's inner sum for a window (../depthwise_int8.hpp) with AVX2: taps in
// pairs, the two taps' input bytes interleaved (PUNPCKLBW / PUNPCKHBW) and sign-extended to 16
// bits, and one VPMADDWD against the pair's weights, packed as interleaved 16-bit pairs, adds
// both taps' products into each channel's int32 lane. Per tap and 8 channels that is half the
// instructions of 32-bit lanes (VPMOVSXBD, VPMULLD, VPADDD), and the weights come from memory
// as VPMADDWD's operand instead of filling registers (nine taps of 16 channels in 32-bit lanes
// are 18 of AVX2's 16). |x| <= 128 and |w| <= 127, so a pair's sum fits its int32 lane.

#include <immintrin.h>

#include <cstdint>

#include "mobilenet/core/isa.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// acc (L = 8 or 16 int32 lanes, L / 8 registers) += the sum over the K * K taps of x * w: tap
/// t's L input bytes at tap(t); pair p's weights at pairs + p * pair_stride, as L (first tap,
/// second tap) int16 pairs, the second zero for an odd last tap.
template <int K, int L, class TapInput>
inline void pair_taps_avx2(TapInput tap, const int16_t* pairs, int64_t pair_stride,
                           __m256i (&acc)[L / 8]) {
  static_assert(L == 8 || L == 16, "8 or 16 lanes");
  const auto weights = [&](int t, int half) {
    return _mm256_loadu_si256(
        reinterpret_cast<const __m256i*>(pairs + (t / 2) * pair_stride + 16 * half));
  };
  // Unrolled, so that the taps' offsets are constants (GCC leaves 25 taps rolled otherwise).
#pragma GCC unroll 25
  for (int t = 0; t < K * K; t += 2) {
    const int8_t* a = tap(t);
    const int8_t* b = t + 1 < K * K ? tap(t + 1) : a;  // an odd last tap: its pair weighs 0
    if constexpr (L == 16) {
      const __m128i xa = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a)),
                    xb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b));
      acc[0] = _mm256_add_epi32(
          acc[0],
          _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_unpacklo_epi8(xa, xb)), weights(t, 0)));
      acc[1] = _mm256_add_epi32(
          acc[1],
          _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_unpackhi_epi8(xa, xb)), weights(t, 1)));
    } else {
      const __m128i xa = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(a)),
                    xb = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b));
      acc[0] = _mm256_add_epi32(
          acc[0],
          _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_unpacklo_epi8(xa, xb)), weights(t, 0)));
    }
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
