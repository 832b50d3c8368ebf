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
#include <type_traits>

#include "mobilenet/core/isa.hpp"
#include "mobilenet/kernels/arm/requantize_int8_aarch64_neon.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

namespace neonmlal_int8_detail {
// clang-format off
// Full tiles in assembly (tiles_2_rows_asm), of 16 outputs or 8 (a panel's last 8). Row 0's
// accumulators are v16-v23, row 1's v24-v31 (two int32 lanes per output, as in rows() below);
// a pair of groups' weights in v0-v3 and v4-v7 (v0, v1 and v4, v5 for 8 outputs), one LD1 per
// group; row r's two groups broadcast into v(8 + 2r) and v(9 + 2r) by LD1R; products in v12-v15.
// MOBILENET_MLAL: weights WG times group XG plus WH times group XH, in 16 bits, added pairwise
// into A (low half) and B (high half) by OP (SADDLP to start, SADALP after).
#define MOBILENET_MLAL(OP, WG, WH, XG, XH, P, Q, A, B)                                        \
  "smull v" #P ".8h, v" #WG ".8b, v" #XG ".8b\n smlal v" #P ".8h, v" #WH ".8b, v" #XH ".8b\n"    \
  "smull2 v" #Q ".8h, v" #WG ".16b, v" #XG ".16b\n"                                            \
  "smlal2 v" #Q ".8h, v" #WH ".16b, v" #XH ".16b\n"                                            \
  OP " v" #A ".4s, v" #P ".8h\n " OP " v" #B ".4s, v" #Q ".8h\n"
#define MOBILENET_BROADCAST_PAIRS                                                             \
  "ld1r {v8.4s}, [%[x0]], #4\n ld1r {v9.4s}, [%[x0]], #4\n"                                     \
  "ld1r {v10.4s}, [%[x1]], #4\n ld1r {v11.4s}, [%[x1]], #4\n"
#define MOBILENET_PAIR_16(OP)                                                                 \
  "ld1 {v0.16b, v1.16b, v2.16b, v3.16b}, [%[wp]], %[group_bytes]\n"                            \
  "ld1 {v4.16b, v5.16b, v6.16b, v7.16b}, [%[wp]], %[group_bytes]\n"                            \
  MOBILENET_BROADCAST_PAIRS                                                                   \
  MOBILENET_MLAL(OP, 0, 4, 8, 9, 12, 13, 16, 17)   MOBILENET_MLAL(OP, 1, 5, 8, 9, 14, 15, 18, 19)   \
  MOBILENET_MLAL(OP, 2, 6, 8, 9, 12, 13, 20, 21)   MOBILENET_MLAL(OP, 3, 7, 8, 9, 14, 15, 22, 23)   \
  MOBILENET_MLAL(OP, 0, 4, 10, 11, 12, 13, 24, 25) MOBILENET_MLAL(OP, 1, 5, 10, 11, 14, 15, 26, 27) \
  MOBILENET_MLAL(OP, 2, 6, 10, 11, 12, 13, 28, 29) MOBILENET_MLAL(OP, 3, 7, 10, 11, 14, 15, 30, 31)
#define MOBILENET_PAIR_8(OP)                                                                  \
  "ld1 {v0.16b, v1.16b}, [%[wp]], %[group_bytes]\n"                                            \
  "ld1 {v4.16b, v5.16b}, [%[wp]], %[group_bytes]\n"                                            \
  MOBILENET_BROADCAST_PAIRS                                                                   \
  MOBILENET_MLAL(OP, 0, 4, 8, 9, 12, 13, 16, 17)   MOBILENET_MLAL(OP, 1, 5, 8, 9, 14, 15, 18, 19)   \
  MOBILENET_MLAL(OP, 0, 4, 10, 11, 12, 13, 24, 25) MOBILENET_MLAL(OP, 1, 5, 10, 11, 14, 15, 26, 27)
// A row's sums (ADDP folds an output's two lanes, then the bias in v4-v7) requantized with the
// multipliers in v8-v11 and the clamp in v12-v14, and stored.
#define MOBILENET_ROW_16(A0, A1, A2, A3, A4, A5, A6, A7)                                      \
  "addp v0.4s, v" #A0 ".4s, v" #A1 ".4s\n addp v1.4s, v" #A2 ".4s, v" #A3 ".4s\n"              \
  "addp v2.4s, v" #A4 ".4s, v" #A5 ".4s\n addp v3.4s, v" #A6 ".4s, v" #A7 ".4s\n"              \
  "add v0.4s, v0.4s, v4.4s\n add v1.4s, v1.4s, v5.4s\n"                                        \
  "add v2.4s, v2.4s, v6.4s\n add v3.4s, v3.4s, v7.4s\n"                                        \
  MOBILENET_ASM_REQUANTIZE_16("v0", "v1", "v2", "v3", "v8", "v9", "v10", "v11", "v12", "v13", "v14") \
  "st1 {v0.16b}, [%[out]], %[out_stride]\n"
#define MOBILENET_ROW_8(A0, A1, A2, A3, A4, A5, A6, A7)                                       \
  "addp v0.4s, v" #A0 ".4s, v" #A1 ".4s\n addp v1.4s, v" #A2 ".4s, v" #A3 ".4s\n"              \
  "add v0.4s, v0.4s, v4.4s\n add v1.4s, v1.4s, v5.4s\n"                                        \
  MOBILENET_ASM_REQUANTIZE_8("v0", "v1", "v8", "v9", "v12", "v13", "v14")                      \
  "st1 {v0.8b}, [%[out]], %[out_stride]\n"
#define MOBILENET_CONSTANTS_16                                                                \
  "ld1 {v4.4s, v5.4s, v6.4s, v7.4s}, [%[bias]]\n"                                              \
  "ld1 {v8.4s, v9.4s, v10.4s, v11.4s}, [%[multiplier]]\n"
#define MOBILENET_CONSTANTS_8                                                                 \
  "ld1 {v4.4s, v5.4s}, [%[bias]]\n ld1 {v8.4s, v9.4s}, [%[multiplier]]\n"
#define MOBILENET_TILES(PAIR, CONSTANTS, ROW)                                                 \
  "0:\n"                                                                                      \
  "mov %[x0], %[in]\n add %[x1], %[in], %[in_stride]\n add %[in], %[x1], %[in_stride]\n"      \
  "mov %[wp], %[w]\n sub %[k], %[pairs], #1\n"                                                \
  PAIR("saddlp")                                                                              \
  "cbz %[k], 2f\n"                                                                            \
  "1:\n"                                                                                      \
  PAIR("sadalp")                                                                              \
  "subs %[k], %[k], #1\n b.ne 1b\n"                                                           \
  "2:\n"                                                                                      \
  CONSTANTS "ld1 {v12.16b, v13.16b, v14.16b}, [%[clamp]]\n"                                   \
  ROW(16, 17, 18, 19, 20, 21, 22, 23) ROW(24, 25, 26, 27, 28, 29, 30, 31)                     \
  "subs %[tiles], %[tiles], #1\n b.ne 0b\n"
// clang-format on

/// `tiles` (at least 1) full tiles of 2 rows x Outputs (16, or a panel's last 8), one after the
/// other, over an input of a multiple of 8 channels (at least 8), all in assembly: per pair of
/// input groups two LD1 of weights, four LD1R of inputs, 48 (24) multiply and add instructions
/// and 2 of loop control, the first pair starting the accumulators (SADDLP) so that they need
/// no zeroing; then each row's folding, bias, requantization and store, the same operations in
/// the same order as rows() below. GCC 12's loop from the intrinsics added address arithmetic
/// to every pair and reloaded the constants and pointers around each tile (docs/design.md, "int8
/// on ARM"); an asm statement cannot take the 16 accumulators as operands, so the whole tile is
/// one.
template <int Outputs>
[[gnu::always_inline]] inline void tiles_2_rows_asm(const int8_t* in, int64_t in_stride,
                                                    int64_t cin, const int8_t* w,
                                                    const int32_t* bias, const float* multiplier,
                                                    const NeonOutputClamp& clamp, int8_t* out,
                                                    int64_t out_stride, int64_t tiles) {
  static_assert(Outputs == 16 || Outputs == 8, "16 or 8 outputs");
  const int64_t group_bytes = pointwise_int8_detail::kPanel * pointwise_int8_detail::kGroup;
  const uint64_t pairs = static_cast<uint64_t>(cin) / 8;
  const int8_t *x0, *x1, *wp;
  uint64_t k;
#define MOBILENET_TILES_ASM(PAIR, CONSTANTS, ROW)                                             \
  asm volatile(MOBILENET_TILES(PAIR, CONSTANTS, ROW)                                          \
               : [in] "+r"(in), [out] "+r"(out), [tiles] "+r"(tiles), [x0] "=&r"(x0),         \
                 [x1] "=&r"(x1), [wp] "=&r"(wp), [k] "=&r"(k)                                 \
               : [in_stride] "r"(in_stride), [w] "r"(w), [group_bytes] "r"(group_bytes),      \
                 [pairs] "r"(pairs), [bias] "r"(bias), [multiplier] "r"(multiplier),          \
                 [clamp] "r"(&clamp), [out_stride] "r"(out_stride)                            \
               : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9",  \
                 "v10", "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", \
                 "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31")
  static_assert(sizeof(NeonOutputClamp) == 48, "zero point, lo and hi in three registers");
  if constexpr (Outputs == 16)
    MOBILENET_TILES_ASM(MOBILENET_PAIR_16, MOBILENET_CONSTANTS_16, MOBILENET_ROW_16);
  else
    MOBILENET_TILES_ASM(MOBILENET_PAIR_8, MOBILENET_CONSTANTS_8, MOBILENET_ROW_8);
#undef MOBILENET_TILES_ASM
}
#undef MOBILENET_TILES
#undef MOBILENET_CONSTANTS_8
#undef MOBILENET_CONSTANTS_16
#undef MOBILENET_ROW_8
#undef MOBILENET_ROW_16
#undef MOBILENET_PAIR_8
#undef MOBILENET_PAIR_16
#undef MOBILENET_BROADCAST_PAIRS
#undef MOBILENET_MLAL
}  // namespace neonmlal_int8_detail

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
    // Full tiles of 16 outputs, or of a panel's last 8 (MobileNets' 24- and 40-channel layers),
    // in assembly where the input has a multiple of 8 channels (every MobileNet layer).
    if constexpr (Rows == 2) {
      const auto asm_tiles = [&](auto outputs) {
        neonmlal_int8_detail::tiles_2_rows_asm<decltype(outputs)::value>(
            in, in_stride, cin, panel + first * pointwise_int8_detail::kGroup, e.bias + first,
            e.multiplier + first, clamp, out + first, out_stride, blocks);
      };
      if (cin % 8 == 0 && cin > 0 && blocks > 0) {
        if (valid == 16) return asm_tiles(std::integral_constant<int, 16>{});
        if (valid == 8) return asm_tiles(std::integral_constant<int, 8>{});
      }
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
