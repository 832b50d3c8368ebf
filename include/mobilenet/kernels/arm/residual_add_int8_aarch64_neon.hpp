#pragma once
// The int8 residual add (../residual_add_int8.hpp) on AArch64 NEON, 16 values at a time: the
// zero points subtracted while widening to 16 bits (SSUBL, exact: codes and zero points are
// int8), widened again and converted (SXTL, SCVTF), b's product with a's fused onto it (FMUL,
// FMLA, as the plain loop does), rounded to nearest even in the conversion (FCVTNS),
// and narrowed with saturation around the zero point's addition (SQXTN, SQADD, SQXTN).
// Rounding before clamping gives the same code as clamping first: the clamp's bounds are
// integers and rounding is monotone; the saturating narrows clamp to exactly [kMin, kMax].

#include <arm_neon.h>

#include <cstdint>

#include "mobilenet/core/isa.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

inline void residual_add_int8_neon(const ResidualAddInt8Params& p, const int8_t* a, const int8_t* b,
                                   int8_t* out, int64_t n) {
  const int8x16_t za = vdupq_n_s8(static_cast<int8_t>(p.za)),
                  zb = vdupq_n_s8(static_cast<int8_t>(p.zb));
  const int16x8_t zo = vdupq_n_s16(static_cast<int16_t>(p.zo));
  const float32x4_t ma = vdupq_n_f32(p.ma), mb = vdupq_n_f32(p.mb);
  const auto sum4 = [&](int16x4_t da, int16x4_t db) __attribute__((always_inline)) {
    const float32x4_t fa = vcvtq_f32_s32(vmovl_s16(da)), fb = vcvtq_f32_s32(vmovl_s16(db));
    return vcvtnq_s32_f32(vfmaq_f32(vmulq_f32(fb, mb), fa, ma));
  };
  const auto sum8 = [&](int16x8_t da, int16x8_t db) __attribute__((always_inline)) {
    const int32x4_t low = sum4(vget_low_s16(da), vget_low_s16(db));
    const int32x4_t high = sum4(vget_high_s16(da), vget_high_s16(db));
    return vqaddq_s16(vqmovn_high_s32(vqmovn_s32(low), high), zo);
  };
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const int8x16_t va = vld1q_s8(a + i), vb = vld1q_s8(b + i);
    const int16x8_t low = sum8(vsubl_s8(vget_low_s8(va), vget_low_s8(za)),
                               vsubl_s8(vget_low_s8(vb), vget_low_s8(zb)));
    const int16x8_t high = sum8(vsubl_high_s8(va, za), vsubl_high_s8(vb, zb));
    vst1q_s8(out + i, vqmovn_high_s16(vqmovn_s16(low), high));
  }
  residual_add_int8_generic(p, a + i, b + i, out + i, n - i);
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
