#pragma once
// quant::requantize on 8 or 16 int32 lanes with AArch64 NEON, in its float operations: convert
// (SCVTF), multiply, max, min, round to nearest with ties to even (FCVTNS), add the zero point,
// narrow (SQXTN, which never saturates: the clamp has put every value in int8's range). GCC 12
// lowers the same arithmetic on 16-lane generic vectors to a compare and select per lane
// (184 instructions for 16 outputs); this is 30.

#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "mobilenet/core/isa.hpp"
#include "mobilenet/quant/quantize.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// The L (8 or 16) int32 values at `acc` (a vector object) requantized with `multiplier` [L] and
/// `c` to L int8 at `out` (a vector object).
template <int L>
inline void requantize_int8_neon(const void* acc, const float* multiplier,
                                 const quant::OutputClamp& c, void* out) {
  static_assert(L == 8 || L == 16, "8 or 16 lanes");
  const float32x4_t lo = vdupq_n_f32(c.lo), hi = vdupq_n_f32(c.hi);
  const int32x4_t zp = vdupq_n_s32(c.zero_point);
  int16x4_t narrow[L / 4];
  for (int k = 0; k < L / 4; ++k) {
    int32x4_t a;
    std::memcpy(&a, static_cast<const char*>(acc) + 16 * k, sizeof a);
    float32x4_t f = vmulq_f32(vcvtq_f32_s32(a), vld1q_f32(multiplier + 4 * k));
    f = vminq_f32(vmaxq_f32(f, lo), hi);
    narrow[k] = vqmovn_s32(vaddq_s32(vcvtnq_s32_f32(f), zp));
  }
  const int8x8_t first = vqmovn_s16(vcombine_s16(narrow[0], narrow[1]));
  if constexpr (L == 16) {
    const int8x16_t all = vcombine_s8(first, vqmovn_s16(vcombine_s16(narrow[2], narrow[3])));
    std::memcpy(out, &all, sizeof all);
  } else {
    std::memcpy(out, &first, sizeof first);
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
