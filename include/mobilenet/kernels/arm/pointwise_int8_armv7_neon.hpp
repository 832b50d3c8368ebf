#pragma once
// The int8 pointwise tile on ARMv7 NEON (layout and arithmetic: ../pointwise_int8.hpp). The
// products are AArch64 ARMv8.0's (arm/pointwise_int8_aarch64_neon.hpp: SMULL of four outputs'
// weights of a group by the row's broadcast group, SMLAL of the next group's, a sum of two int8
// products fitting 16 bits as weights are never -128, SADALP into int32 pairs), sized for
// ARMv7's sixteen 128-bit registers: one row by eight outputs (four accumulators, two weight
// registers and two products), the panel in four passes. ARMv7 NEON has no round-to-nearest
// conversion (FCVTNS is AArch64's), so the requantization rounds as the depthwise kernel's
// generic form does: adding and subtracting 1.5 * 2^23 after the clamp (exact ties-to-even for
// the clamped range), then VCVT's truncation of the now integral value.

#include <arm_neon.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "mobilenet/core/isa.hpp"
#include "mobilenet/quant/quantize.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

struct NeonV7Int8Tile : EachRowTile<NeonV7Int8Tile> {
  static constexpr const char* kName = "neonv7";
  static constexpr int kRows = 1;
  static constexpr int32_t kActivationOffset = 0;

  /// One row times one panel.
  template <int Rows>
  static void block(const int8_t* in, int64_t in_stride, int64_t cin, const int8_t* panel,
                    const Requantize& e, int8_t* out, int64_t out_stride, int64_t valid) {
    using namespace pointwise_int8_detail;
    static_assert(kPanel == 32 && kGroup == 4, "four passes of 8 outputs per panel");
    static_assert(Rows == 1, "one row");
    (void)in_stride;
    (void)out_stride;
    for (int first = 0; first < valid; first += 8)
      eight(in, cin, panel + first * kGroup, e, first, out + first,
            std::min<int64_t>(8, valid - first));
  }

 private:
  /// Outputs [first, first + 8) of the panel, of which `valid` are stored; `w` is group 0's
  /// weights of output `first`.
  static void eight(const int8_t* in, int64_t cin, const int8_t* w, const Requantize& e, int first,
                    int8_t* out, int64_t valid) {
    using namespace pointwise_int8_detail;
    // acc[2 j + h]: outputs 4 j + 2 h and 4 j + 2 h + 1, two int32 lanes each.
    int32x4_t acc[4] = {vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0)};
    // Groups g and g + 1 (the second's weights zero where `second` is false: past the last
    // group); x holds their eight input bytes.
    const auto pair = [&](int64_t g, int8x8_t x, bool second) {
      const int32x2_t words = vreinterpret_s32_s8(x);
      const int8x8_t xg = vreinterpret_s8_s32(vdup_lane_s32(words, 0)),
                     xh = vreinterpret_s8_s32(vdup_lane_s32(words, 1));
      for (int j = 0; j < 2; ++j) {
        const int8x16_t wg = vld1q_s8(w + (g * kPanel + 4 * j) * kGroup);
        const int8x16_t wh =
            second ? vld1q_s8(w + ((g + 1) * kPanel + 4 * j) * kGroup) : vdupq_n_s8(0);
        const int16x8_t low = vmlal_s8(vmull_s8(vget_low_s8(wg), xg), vget_low_s8(wh), xh);
        const int16x8_t high = vmlal_s8(vmull_s8(vget_high_s8(wg), xg), vget_high_s8(wh), xh);
        acc[2 * j] = vpadalq_s16(acc[2 * j], low);
        acc[2 * j + 1] = vpadalq_s16(acc[2 * j + 1], high);
      }
    };
    const int64_t n_groups = groups(cin), whole_pairs = cin / (2 * kGroup);
    int64_t g = 0;
    for (int64_t p = 0; p < whole_pairs; ++p, g += 2) pair(g, vld1_s8(in + g * kGroup), true);
    if (g < n_groups) {  // the last 1-7 input channels, zero-filled to 8 bytes
      int8_t bytes[8] = {};
      std::memcpy(bytes, in + g * kGroup, static_cast<std::size_t>(cin - g * kGroup));
      pair(g, vld1_s8(bytes), g + 1 < n_groups);
    }

    // Per output the two partial sums added, the bias, then quant::requantize's operations.
    const float32x4_t lo = vdupq_n_f32(e.clamp.lo), hi = vdupq_n_f32(e.clamp.hi),
                      round = vdupq_n_f32(12582912.0f);  // 1.5 * 2^23
    int32x4_t codes[2];
    for (int j = 0; j < 2; ++j) {
      const int32x4_t sums = vaddq_s32(
          vcombine_s32(vpadd_s32(vget_low_s32(acc[2 * j]), vget_high_s32(acc[2 * j])),
                       vpadd_s32(vget_low_s32(acc[2 * j + 1]), vget_high_s32(acc[2 * j + 1]))),
          vld1q_s32(e.bias + first + 4 * j));
      float32x4_t f = vmulq_f32(vcvtq_f32_s32(sums), vld1q_f32(e.multiplier + first + 4 * j));
      f = vminq_f32(vmaxq_f32(f, lo), hi);
      f = vsubq_f32(vaddq_f32(f, round), round);
      codes[j] = vaddq_s32(vcvtq_s32_f32(f), vdupq_n_s32(e.clamp.zero_point));
    }
    // Narrowing saturates, but never acts: the clamp put every code in int8's range.
    const int8x8_t bytes = vqmovn_s16(vcombine_s16(vqmovn_s32(codes[0]), vqmovn_s32(codes[1])));
    if (valid == 8) {
      vst1_s8(out, bytes);
    } else {
      int8_t kept[8];
      vst1_s8(kept, bytes);
      std::memcpy(out, kept, static_cast<std::size_t>(valid));
    }
  }
};

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
