#pragma once
// The int8 depthwise kernel's inner sum with AVX-512 BW, for blocks of 16 channels: the AVX2
// form (x86/depthwise_int8_pairs_avx2.hpp, same weight layout) in one 512-bit register, the
// pair's two interleaved halves joined (VINSERTI128) and widened to 32 16-bit lanes at once, so
// that one VPMADDWD and one VPADDD serve the 16 channels where AVX2 needs two of each.

#include <immintrin.h>

#include <cstdint>

#include "mobilenet/core/isa.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// acc (16 int32 lanes) += the sum over the K * K taps of x * w: tap t's 16 input bytes at
/// tap(t); pair p's weights at pairs + p * pair_stride, as 16 (first tap, second tap) int16
/// pairs, the second zero for an odd last tap.
template <int K, class TapInput>
inline void pair_taps_avx512(TapInput tap, const int16_t* pairs, int64_t pair_stride,
                             __m512i& acc) {
  // Unrolled, so that the taps' offsets are constants (GCC leaves 25 taps rolled otherwise).
#pragma GCC unroll 25
  for (int t = 0; t < K * K; t += 2) {
    const int8_t* a = tap(t);
    const int8_t* b = t + 1 < K * K ? tap(t + 1) : a;  // an odd last tap: its pair weighs 0
    const __m128i xa = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a)),
                  xb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b));
    const __m256i interleaved = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_unpacklo_epi8(xa, xb)), _mm_unpackhi_epi8(xa, xb), 1);
    acc =
        _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_cvtepi8_epi16(interleaved),
                                                _mm512_loadu_si512(pairs + (t / 2) * pair_stride)));
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
