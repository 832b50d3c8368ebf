#pragma once
// quant::requantize on 8 or 16 int32 lanes with AArch64 NEON: convert (SCVTF), multiply, round to
// nearest with ties to even (FCVTNS), then narrow to 16 bits, add the zero point and narrow to
// 8 bits with saturation (SQXTN, SQADD), and clamp in int8. quant::requantize clamps the float
// before rounding; every step here is monotone and none saturates inside the clamp's range
// (kMin - zp <= lo, hi <= kMax - zp), so clamping the result to [round(lo) + zp, round(hi) + zp]
// gives the same code for every input (min and max commute with a monotone function). GCC 12
// lowers the float form on 16-lane generic vectors to a compare and select per lane.
// The clamp and the multipliers are taken in registers, loaded once by the caller: an int8 store
// may alias them, so GCC would reload them after every output.

#include <arm_neon.h>

#include <cstdint>

#include "mobilenet/core/isa.hpp"
#include "mobilenet/quant/quantize.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// A requantization's output zero point and clamp (as int8 codes) in registers.
struct NeonOutputClamp {
  int16x8_t zero_point;
  int8x16_t lo, hi;
};

inline NeonOutputClamp neon_output_clamp(const quant::OutputClamp& c) {
  return {vdupq_n_s16(static_cast<int16_t>(c.zero_point)),
          vdupq_n_s8(static_cast<int8_t>(quant::round_even(c.lo) + c.zero_point)),
          vdupq_n_s8(static_cast<int8_t>(quant::round_even(c.hi) + c.zero_point))};
}

/// The L (8 or 16) int32 lanes `acc` requantized with the multipliers `m` and clamp `c` to L
/// int8 at `out`.
template <int L>
inline void requantize_int8_neon(const int32x4_t (&acc)[L / 4], const float32x4_t (&m)[L / 4],
                                 const NeonOutputClamp& c, int8_t* out) {
  static_assert(L == 8 || L == 16, "8 or 16 lanes");
  int32x4_t q[L / 4];
  for (int k = 0; k < L / 4; ++k) q[k] = vcvtnq_s32_f32(vmulq_f32(vcvtq_f32_s32(acc[k]), m[k]));
  const int16x8_t first = vqaddq_s16(vqmovn_high_s32(vqmovn_s32(q[0]), q[1]), c.zero_point);
  if constexpr (L == 16) {
    const int16x8_t second = vqaddq_s16(vqmovn_high_s32(vqmovn_s32(q[2]), q[3]), c.zero_point);
    vst1q_s8(out, vminq_s8(vmaxq_s8(vqmovn_high_s16(vqmovn_s16(first), second), c.lo), c.hi));
  } else {
    vst1_s8(out, vmin_s8(vmax_s8(vqmovn_s16(first), vget_low_s8(c.lo)), vget_low_s8(c.hi)));
  }
}

/// requantize_int8_neon<16> storing the first `valid` (1-16) codes at `out`: a whole register
/// as one store, fewer byte by byte (a tile's last outputs; a conditional copy, which GCC does
/// not turn into a call to memcpy: a call in a tile makes it keep the tile's accumulators and
/// constants in memory around it).
inline void requantize_store_int8_neon(const int32x4_t (&acc)[4], const float32x4_t (&m)[4],
                                       const NeonOutputClamp& c, int8_t* out, int64_t valid) {
  if (valid >= 16) return requantize_int8_neon<16>(acc, m, c, out);
  int8_t bytes[16];
  requantize_int8_neon<16>(acc, m, c, bytes);
  for (int i = 0; i < 16; ++i)
    if (i < valid) out[i] = bytes[i];
}

// clang-format off
// requantize_int8_neon in assembly text, for the tiles written in assembly: 16 lanes in the
// registers A-D (or 8 in A, B; operands or names such as "v8" or "%[acc]"), multipliers M0-M3,
// zero point ZP (.8h), clamp LO and HI (.16b); the codes are left in A. The same instructions in
// the same order as the intrinsics above.
#define MOBILENET_ASM_TO_INT32(A, M)                                                         \
  "scvtf " A ".4s, " A ".4s\n fmul " A ".4s, " A ".4s, " M ".4s\n fcvtns " A ".4s, " A ".4s\n"
#define MOBILENET_ASM_TO_INT16(A, B, ZP)                                                     \
  "sqxtn " A ".4h, " A ".4s\n sqxtn2 " A ".8h, " B ".4s\n sqadd " A ".8h, " A ".8h, " ZP ".8h\n"
#define MOBILENET_ASM_REQUANTIZE_16(A, B, C, D, M0, M1, M2, M3, ZP, LO, HI)                   \
  MOBILENET_ASM_TO_INT32(A, M0) MOBILENET_ASM_TO_INT32(B, M1) MOBILENET_ASM_TO_INT32(C, M2)    \
  MOBILENET_ASM_TO_INT32(D, M3) MOBILENET_ASM_TO_INT16(A, B, ZP) MOBILENET_ASM_TO_INT16(C, D, ZP) \
  "sqxtn " A ".8b, " A ".8h\n sqxtn2 " A ".16b, " C ".8h\n"                                   \
  "smax " A ".16b, " A ".16b, " LO ".16b\n smin " A ".16b, " A ".16b, " HI ".16b\n"
#define MOBILENET_ASM_REQUANTIZE_8(A, B, M0, M1, ZP, LO, HI)                                  \
  MOBILENET_ASM_TO_INT32(A, M0) MOBILENET_ASM_TO_INT32(B, M1) MOBILENET_ASM_TO_INT16(A, B, ZP) \
  "sqxtn " A ".8b, " A ".8h\n"                                                                \
  "smax " A ".8b, " A ".8b, " LO ".8b\n smin " A ".8b, " A ".8b, " HI ".8b\n"
// clang-format on

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
