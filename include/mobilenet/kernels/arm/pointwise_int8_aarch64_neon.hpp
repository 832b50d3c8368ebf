#pragma once
// The int8 pointwise tile on AArch64 without the dot product (ARMv8.0; layout and arithmetic:
// ../pointwise_int8.hpp). A 16-byte weight load holds four outputs' four weights of a group; a
// row's group of four input bytes is broadcast to the four 32-bit lanes. SMULL multiplies the
// low eight byte pairs (two outputs' four products) into 16-bit lanes and SMLAL adds the next
// group's products to them: a sum of two int8 products fits 16 bits because weights are never
// -128 (|x w| <= 128 * 127). SADALP then adds neighbouring 16-bit lanes into the int32
// accumulators, two lanes per output, which one ADDP per four outputs folds at the end.
// Eight multiply-adds per instruction issued for 16-bit products, against four for FMLA on
// float32 (XNNPACK's ARMv8.0 QS8 kernels use the same SMULL / SMLAL / SADALP chain).
// Signed by signed bytes: no activation offset. A tile is Rows rows by half a panel (16
// outputs, eight accumulator registers per row); one call runs the first half over all of its
// tiles of rows, then the second, so the call's set-up is paid once per half.

#include <arm_neon.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "mobilenet/core/isa.hpp"
#include "mobilenet/kernels/arm/requantize_int8_aarch64_neon.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

struct NeonMlalInt8Tile {
  static constexpr const char* kName = "neonmlal";
  /// 2 rows x 8 accumulators, 8 weight registers (two groups), products and inputs: 32.
  static constexpr int kRows = 2;
  static constexpr int32_t kActivationOffset = 0;

  /// `blocks` consecutive tiles of Rows rows times one panel.
  template <int Rows>
  static void run(const int8_t* in, int64_t in_stride, int64_t cin, const int8_t* panel,
                  const Requantize& e, int8_t* out, int64_t out_stride, int64_t valid,
                  int64_t blocks) {
    using namespace pointwise_int8_detail;
    static_assert(kPanel == 32 && kGroup == 4, "two halves of 16 outputs per panel");
    half<Rows>(in, in_stride, cin, panel, e, out, out_stride, std::min<int64_t>(valid, 16), 0,
               blocks);
    if (valid > 16)
      half<Rows>(in, in_stride, cin, panel, e, out, out_stride, valid - 16, 16, blocks);
  }

 private:
  /// The four bytes at `x` in each 32-bit lane (LD1R).
  static int8x16_t broadcast_group(const int8_t* x) {
    int32_t word;
    std::memcpy(&word, x, sizeof word);
    return vreinterpretq_s8_s32(vdupq_n_s32(word));
  }

  /// Outputs [first, first + 16) of the panel, of which `valid` are stored, for `blocks` tiles
  /// of Rows rows: the call and the requantization's constants once for all of them.
  template <int Rows>
  static void half(const int8_t* in, int64_t in_stride, int64_t cin, const int8_t* panel,
                   const Requantize& e, int8_t* out, int64_t out_stride, int64_t valid, int first,
                   int64_t blocks) {
    const NeonOutputClamp clamp = neon_output_clamp(e.clamp);
    float32x4_t m[4];
    int32x4_t bias[4];
    for (int j = 0; j < 4; ++j) {
      m[j] = vld1q_f32(e.multiplier + first + 4 * j);
      bias[j] = vld1q_s32(e.bias + first + 4 * j);
    }
    for (int64_t b = 0; b < blocks; ++b)
      rows<Rows>(in + b * Rows * in_stride, in_stride, cin, panel, clamp, m, bias,
                 out + b * Rows * out_stride, out_stride, valid, first);
  }

  /// One tile of half().
  template <int Rows>
  [[gnu::always_inline]] static void rows(const int8_t* in, int64_t in_stride, int64_t cin,
                                          const int8_t* panel, const NeonOutputClamp& clamp,
                                          const float32x4_t (&m)[4], const int32x4_t (&bias)[4],
                                          int8_t* out, int64_t out_stride, int64_t valid,
                                          int first) {
    using namespace pointwise_int8_detail;
    // acc[r][2 j + h]: outputs 4 j + 2 h and 4 j + 2 h + 1, two int32 lanes each.
    int32x4_t acc[Rows][8];
    for (int r = 0; r < Rows; ++r)
      for (int j = 0; j < 8; ++j) acc[r][j] = vdupq_n_s32(0);
    const int8_t* w = panel + first * kGroup;  // group g's 16 outputs at w + g * kPanel * kGroup
    // Groups g and g + 1 of every row (the second's weights zero where `second` is false: past
    // the last group), the rows' eight input bytes at `bytes(row)`, each group's four broadcast
    // by one LD1R.
    const auto pair = [&](int64_t g, auto bytes, bool second) {
      int8x16_t wg[4], wh[4];
      for (int j = 0; j < 4; ++j) {
        wg[j] = vld1q_s8(w + (g * kPanel + 4 * j) * kGroup);
        wh[j] = second ? vld1q_s8(w + ((g + 1) * kPanel + 4 * j) * kGroup) : vdupq_n_s8(0);
      }
      for (int r = 0; r < Rows; ++r) {
        const int8_t* x = bytes(r);
        const int8x16_t xg = broadcast_group(x), xh = broadcast_group(x + kGroup);
        for (int j = 0; j < 4; ++j) {
          int16x8_t low = vmull_s8(vget_low_s8(wg[j]), vget_low_s8(xg));
          low = vmlal_s8(low, vget_low_s8(wh[j]), vget_low_s8(xh));
          int16x8_t high = vmull_high_s8(wg[j], xg);
          high = vmlal_high_s8(high, wh[j], xh);
          acc[r][2 * j] = vpadalq_s16(acc[r][2 * j], low);
          acc[r][2 * j + 1] = vpadalq_s16(acc[r][2 * j + 1], high);
          // A scheduling barrier every two groups of outputs: GCC 12 otherwise issues a row's
          // eight SMULLs first, and their products with 16 accumulators and 8 weight
          // registers spill accumulators to the stack on every step.
          if (j % 2 == 1) asm volatile("");
        }
      }
    };
    const int64_t n_groups = groups(cin), whole_pairs = cin / (2 * kGroup);
    int64_t g = 0;
    for (int64_t p = 0; p < whole_pairs; ++p, g += 2)
      pair(
          g, [&](int r) { return in + r * in_stride + g * kGroup; }, true);
    if (g < n_groups) {  // the last 1-7 input channels, zero-filled to 8 bytes
      const int64_t rest = cin - g * kGroup;
      // Copied byte by byte under a condition, not by memcpy: a call in the kernel makes GCC
      // keep the accumulators and the requantization's constants in memory around it.
      int8_t tail[Rows][2 * kGroup] = {};
      for (int r = 0; r < Rows; ++r)
        for (int i = 0; i < 2 * kGroup; ++i)
          if (i < rest) tail[r][i] = in[r * in_stride + g * kGroup + i];
      pair(
          g, [&](int r) { return static_cast<const int8_t*>(tail[r]); }, g + 1 < n_groups);
    }

    for (int r = 0; r < Rows; ++r) {
      int32x4_t sums[4];
      for (int j = 0; j < 4; ++j)
        sums[j] = vaddq_s32(vpaddq_s32(acc[r][2 * j], acc[r][2 * j + 1]), bias[j]);
      requantize_store_int8_neon(sums, m, clamp, out + r * out_stride + first, valid);
    }
  }
};

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
