#pragma once
// The int8 depthwise kernel's inner sum for a window inside the image (../depthwise_int8.hpp)
// with NEON on AArch64 and ARMv7: taps in pairs, SMULL of the first tap's bytes by its weights
// into 16-bit lanes, SMLAL of the second's, and SADDW of the pair's sums into the int32
// accumulators. Written with intrinsics because GCC 12, given the same arithmetic on generic
// vectors, hoists the weights' widening out of the row loop and multiplies in 16 bits from
// spilled registers instead. AArch64 takes the high halves with the *2 forms (SMULL2, SADDW2);
// GCC would otherwise move each high half to a register of its own first.

#include <arm_neon.h>

#include <cstdint>

#include "mobilenet/core/isa.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

namespace depthwise_neon_detail {
inline int16x8_t multiply_high(int8x16_t x, int8x16_t w) {
#if defined(__aarch64__)
  return vmull_high_s8(x, w);
#else
  return vmull_s8(vget_high_s8(x), vget_high_s8(w));
#endif
}
inline int16x8_t multiply_add_high(int16x8_t acc, int8x16_t x, int8x16_t w) {
#if defined(__aarch64__)
  return vmlal_high_s8(acc, x, w);
#else
  return vmlal_s8(acc, vget_high_s8(x), vget_high_s8(w));
#endif
}
inline int32x4_t add_high(int32x4_t acc, int16x8_t v) {
#if defined(__aarch64__)
  return vaddw_high_s16(acc, v);
#else
  return vaddw_s16(acc, vget_high_s16(v));
#endif
}
}  // namespace depthwise_neon_detail

/// acc (L = 8 or 16 int32 lanes) += the sum over the K * K taps of x * w: tap t's L input bytes
/// at tap(t), its L weights in the low bytes of `weights[t]`. Weights are never -128, so a
/// pair's sum fits 16 bits.
template <int K, int L, class TapInput>
inline void pair_taps_neon(TapInput tap, const int8x16_t (&weights)[K * K],
                           int32x4_t (&acc)[L / 4]) {
  static_assert(L == 8 || L == 16, "8 or 16 lanes");
  using namespace depthwise_neon_detail;
  const auto input = [&](int t) {
    const int8_t* p = tap(t);
    if constexpr (L == 16) return vld1q_s8(p);
    return vcombine_s8(vld1_s8(p), vdup_n_s8(0));
  };
  // Unrolled, so that t / K and t % K are constants and the weights stay in registers (GCC
  // leaves the 25 taps of a 5x5 kernel rolled otherwise, dividing by 5 per tap).
#pragma GCC unroll 25
  for (int t = 0; t < K * K; t += 2) {
    const int8x16_t x = input(t);
    int16x8_t low = vmull_s8(vget_low_s8(x), vget_low_s8(weights[t]));
    int16x8_t high = vdupq_n_s16(0);
    if constexpr (L == 16) high = multiply_high(x, weights[t]);
    if (t + 1 < K * K) {
      const int8x16_t y = input(t + 1);
      low = vmlal_s8(low, vget_low_s8(y), vget_low_s8(weights[t + 1]));
      if constexpr (L == 16) high = multiply_add_high(high, y, weights[t + 1]);
    }
    acc[0] = vaddw_s16(acc[0], vget_low_s16(low));
    acc[1] = add_high(acc[1], low);
    if constexpr (L == 16) {
      acc[2] = vaddw_s16(acc[2], vget_low_s16(high));
      acc[3] = add_high(acc[3], high);
    }
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
