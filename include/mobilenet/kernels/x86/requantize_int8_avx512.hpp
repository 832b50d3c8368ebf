#pragma once
// quant::requantize on one AVX-512 register of sixteen int32 sums, shared by the int8 pointwise
// tile (VNNI) and the depthwise kernel: the same float operations as the scalar form (convert,
// multiply, max, min, round to nearest even with VCVTPS2DQ under the default rounding mode, add
// the zero point), narrowed with VPMOVSDB, whose saturation never acts: the clamp has put every
// code in int8's range.

#include <immintrin.h>

#include "mobilenet/core/isa.hpp"
#include "mobilenet/quant/quantize.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// Sixteen output codes, as bytes in order, of the sums `acc` with the multipliers `m`.
inline __m128i requantize16_avx512(__m512i acc, __m512 m, const quant::OutputClamp& c) {
  __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), m);
  f = _mm512_min_ps(_mm512_max_ps(f, _mm512_set1_ps(c.lo)), _mm512_set1_ps(c.hi));
  return _mm512_cvtsepi32_epi8(
      _mm512_add_epi32(_mm512_cvtps_epi32(f), _mm512_set1_epi32(c.zero_point)));
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
