#pragma once
// quant::quantize on AArch64 NEON, 16 values at a time (../quantize_int8.hpp): divide by the
// scale (FDIV, as the plain loop: a multiply by the reciprocal would round differently), send
// NaN to minus infinity (FMAXNM with -inf returns the number, or -inf for a NaN), round to
// nearest even in the conversion (FCVTNS, which saturates at int32's range), then narrow to
// 16 bits, add the zero point and narrow to 8 bits, each with saturation (SQXTN, SQADD).
// The same codes as the plain loop's float sum and clamp: a rounded value inside int16 plus the
// zero point is exact, and one outside it stays outside int8 after the zero point (|zp| <= 128),
// so both saturate to the same bound; infinities convert to int32's bounds; NaN gives -128.

#include <arm_neon.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "mobilenet/core/isa.hpp"
#include "mobilenet/quant/quantize.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

inline void quantize_int8_neon(const float* x, int64_t n, quant::QuantParams p, int8_t* out) {
  const float32x4_t scale = vdupq_n_f32(p.scale),
                    minus_infinity = vdupq_n_f32(-std::numeric_limits<float>::infinity());
  const int16x8_t zero_point = vdupq_n_s16(static_cast<int16_t>(p.zero_point));
  const auto rounded = [&](const float* v) __attribute__((always_inline)) {
    return vcvtnq_s32_f32(vmaxnmq_f32(vdivq_f32(vld1q_f32(v), scale), minus_infinity));
  };
  const auto eight = [&](const float* v) __attribute__((always_inline)) {
    return vqaddq_s16(vqmovn_high_s32(vqmovn_s32(rounded(v)), rounded(v + 4)), zero_point);
  };
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    vst1q_s8(out + i, vqmovn_high_s16(vqmovn_s16(eight(x + i)), eight(x + i + 8)));
  quant::quantize(x + i, n - i, p, out + i);
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
