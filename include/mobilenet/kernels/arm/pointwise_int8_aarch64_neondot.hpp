#pragma once
// The int8 pointwise tile on AArch64 with the ARMv8.2 dot product (SDOT; layout and arithmetic:
// ../pointwise_int8.hpp). A 16-byte weight register holds four outputs' four weights of a group
// (one LD1 fills the four registers of a group's 16 outputs);
// a 16-byte input load holds four groups of a row, and SDOT's by-element form multiplies the
// weights by one of those groups, broadcast, adding four products into each int32 lane. Signed
// by signed bytes, so no activation offset. A tile is Rows rows by half a panel (16 outputs,
// four accumulator registers per row); the two halves run one after the other.
// The epilogue is requantize_int8_neon (arm/requantize_int8_aarch64_neon.hpp).

#include <arm_neon.h>

#include <cstdint>
#include <type_traits>
#include <utility>

#include "mobilenet/core/isa.hpp"
#include "mobilenet/kernels/arm/requantize_int8_aarch64_neon.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

namespace neondot_int8_detail {
/// The accumulators of a tile: acc[q][r] holds row r's outputs 4q..4q+3 of the half panel.
/// Every access has a constant index and the tile has no branch on the output count (the partial
/// case is a template argument): GCC 12 otherwise keeps the sixteen accumulators on the stack and
/// stores them in every step of the loop, as the float tiles found (pointwise_aarch64_neon.hpp).
template <int Rows>
using Accumulators = int32x4_t[4][Rows];

/// Every row's accumulators start from the bias (b[q]: outputs 4q..4q+3).
template <std::size_t... R>
[[gnu::always_inline]] inline void start_from(Accumulators<sizeof...(R)>& acc,
                                              const int32x4_t (&b)[4], std::index_sequence<R...>) {
  ((acc[0][R] = b[0], acc[1][R] = b[1], acc[2][R] = b[2], acc[3][R] = b[3]), ...);
}

/// Every row's input group in lane `Lane` of x[r] times the group's weights w (four outputs per
/// register): one SDOT by element per row and register.
template <int Lane, std::size_t... R>
[[gnu::always_inline]] inline void dot_lane(Accumulators<sizeof...(R)>& acc, const int8x16x4_t& w,
                                            const int8x16_t (&x)[sizeof...(R)],
                                            std::index_sequence<R...>) {
  ((acc[0][R] = vdotq_laneq_s32(acc[0][R], w.val[0], x[R], Lane)), ...);
  ((acc[1][R] = vdotq_laneq_s32(acc[1][R], w.val[1], x[R], Lane)), ...);
  ((acc[2][R] = vdotq_laneq_s32(acc[2][R], w.val[2], x[R], Lane)), ...);
  ((acc[3][R] = vdotq_laneq_s32(acc[3][R], w.val[3], x[R], Lane)), ...);
}

/// Row r's 16 sums requantized to out + r * out_stride (`valid` codes if Partial).
template <bool Partial, std::size_t... R>
[[gnu::always_inline]] inline void store_rows(const Accumulators<sizeof...(R)>& acc,
                                              const float32x4_t (&m)[4],
                                              const NeonOutputClamp& clamp, int8_t* out,
                                              int64_t out_stride, int64_t valid,
                                              std::index_sequence<R...>) {
  const auto store = [&](const int32x4_t(&sums)[4], int64_t r) {
    if constexpr (Partial)
      requantize_store_int8_neon(sums, m, clamp, out + r * out_stride, valid);
    else
      requantize_int8_neon<16>(sums, m, clamp, out + r * out_stride);
  };
  (store({acc[0][R], acc[1][R], acc[2][R], acc[3][R]}, int64_t{R}), ...);
}

// clang-format off
// Full tiles in assembly (tiles_4_rows_asm), of 16 outputs or 8 (a panel's last 8). Row r's
// outputs accumulate in v(8 + 4r) to v(11 + 4r) (the first two for 8 outputs); its 16 input
// bytes of a block are in v(4 + r); a group's weights in v0-v3 (one LD1); the multipliers stay in
// v24-v27. MOBILENET_DOT4(A0, A1, A2, A3, W, L): each row's register A<r> plus W times the row's
// group L, SDOT by element.
#define MOBILENET_DOT4(A0, A1, A2, A3, W, L)                                                 \
  "sdot v" #A0 ".4s, " W ".16b, v4.4b[" #L "]\n"                                              \
  "sdot v" #A1 ".4s, " W ".16b, v5.4b[" #L "]\n"                                              \
  "sdot v" #A2 ".4s, " W ".16b, v6.4b[" #L "]\n"                                              \
  "sdot v" #A3 ".4s, " W ".16b, v7.4b[" #L "]\n"
#define MOBILENET_DOT_GROUP_16(L)                                                            \
  "ld1 {v0.16b, v1.16b, v2.16b, v3.16b}, [%[wp]], %[group_bytes]\n"                           \
  MOBILENET_DOT4(8, 12, 16, 20, "v0", L)  MOBILENET_DOT4(9, 13, 17, 21, "v1", L)               \
  MOBILENET_DOT4(10, 14, 18, 22, "v2", L) MOBILENET_DOT4(11, 15, 19, 23, "v3", L)
#define MOBILENET_DOT_GROUP_8(L)                                                             \
  "ld1 {v0.16b, v1.16b}, [%[wp]], %[group_bytes]\n"                                            \
  MOBILENET_DOT4(8, 12, 16, 20, "v0", L)  MOBILENET_DOT4(9, 13, 17, 21, "v1", L)
#define MOBILENET_BIAS_16                                                                    \
  "ld1 {v8.4s, v9.4s, v10.4s, v11.4s}, [%[bias]]\n"                                           \
  "ld1 {v12.4s, v13.4s, v14.4s, v15.4s}, [%[bias]]\n"                                         \
  "ld1 {v16.4s, v17.4s, v18.4s, v19.4s}, [%[bias]]\n"                                         \
  "ld1 {v20.4s, v21.4s, v22.4s, v23.4s}, [%[bias]]\n"
#define MOBILENET_BIAS_8                                                                     \
  "ld1 {v8.4s, v9.4s}, [%[bias]]\n ld1 {v12.4s, v13.4s}, [%[bias]]\n"                          \
  "ld1 {v16.4s, v17.4s}, [%[bias]]\n ld1 {v20.4s, v21.4s}, [%[bias]]\n"
#define MOBILENET_MULTIPLIERS_16 "ld1 {v24.4s, v25.4s, v26.4s, v27.4s}, [%[multiplier]]\n"
#define MOBILENET_MULTIPLIERS_8 "ld1 {v24.4s, v25.4s}, [%[multiplier]]\n"
// A row's registers A-D (A, B for 8 outputs) requantized and stored.
#define MOBILENET_REQUANTIZE_ROW_16(A, B, C, D)                                              \
  MOBILENET_ASM_REQUANTIZE_16("v" #A, "v" #B, "v" #C, "v" #D, "v24", "v25", "v26", "v27",     \
                              "%[zp]", "%[lo]", "%[hi]")                                      \
  "st1 {v" #A ".16b}, [%[out]], %[out_stride]\n"
#define MOBILENET_REQUANTIZE_ROW_8(A, B, C, D)                                               \
  MOBILENET_ASM_REQUANTIZE_8("v" #A, "v" #B, "v24", "v25", "%[zp]", "%[lo]", "%[hi]")         \
  "st1 {v" #A ".8b}, [%[out]], %[out_stride]\n"
#define MOBILENET_TILES(BIAS, MULTIPLIERS, GROUP, ROW)                                        \
  MULTIPLIERS                                                                                 \
  "0:\n"                                                                                      \
  "mov %[x0], %[in]\n add %[x1], %[in], %[in_stride]\n"                                       \
  "add %[x2], %[x1], %[in_stride]\n add %[x3], %[x2], %[in_stride]\n"                         \
  "add %[in], %[x3], %[in_stride]\n"                                                          \
  "mov %[wp], %[w]\n mov %[k], %[blocks]\n"                                                   \
  BIAS                                                                                        \
  "cbz %[k], 2f\n"                                                                            \
  "1:\n"                                                                                      \
  "ldr q4, [%[x0]], #16\n ldr q5, [%[x1]], #16\n ldr q6, [%[x2]], #16\n ldr q7, [%[x3]], #16\n" \
  GROUP(0) GROUP(1) GROUP(2) GROUP(3)                                                         \
  "subs %[k], %[k], #1\n b.ne 1b\n"                                                           \
  "2:\n"                                                                                      \
  "cbz %[two_groups], 3f\n"                                                                   \
  "ldr d4, [%[x0]]\n ldr d5, [%[x1]]\n ldr d6, [%[x2]]\n ldr d7, [%[x3]]\n"                   \
  GROUP(0) GROUP(1)                                                                           \
  "3:\n"                                                                                      \
  ROW(8, 9, 10, 11) ROW(12, 13, 14, 15) ROW(16, 17, 18, 19) ROW(20, 21, 22, 23)               \
  "subs %[tiles], %[tiles], #1\n b.ne 0b\n"
// clang-format on

/// `tiles` (at least 1) full tiles of 4 rows x Outputs (16, or a panel's last 8), one after the
/// other, over an input of a multiple of 8 channels, all in assembly: each tile's accumulators
/// start from the bias (a load per row); per block of 16 input channels 4 + 4 post-incremented
/// loads, 64 SDOT (32) and 2 instructions of loop control; a last 8 channels as two groups from
/// 8-byte loads; then each row's requantization and store, the same operations in the same order
/// as requantize_int8_neon. GCC 12's loop from the intrinsics added an add per load address and
/// reloaded the clamp and pointers around each tile (docs/design.md, "int8 on ARM"). An asm
/// statement cannot take the 16 accumulators as operands (30 at most, "+" counting twice), so
/// the whole tile is one.
template <int Outputs>
[[gnu::always_inline]] inline void tiles_4_rows_asm(const int8_t* in, int64_t in_stride,
                                                    int64_t cin, const int8_t* w,
                                                    const int32_t* bias, const float* multiplier,
                                                    const NeonOutputClamp& clamp, int8_t* out,
                                                    int64_t out_stride, int64_t tiles) {
  static_assert(Outputs == 16 || Outputs == 8, "16 or 8 outputs");
  const int64_t group_bytes = pointwise_int8_detail::kPanel * pointwise_int8_detail::kGroup;
  const uint64_t blocks = static_cast<uint64_t>(cin) / 16;
  const uint64_t two_groups = static_cast<uint64_t>(cin) % 16;  // 0 or 8
  const int8_t *x0, *x1, *x2, *x3, *wp;
  uint64_t k;
#define MOBILENET_TILES_ASM(BIAS, MULTIPLIERS, GROUP, ROW)                                    \
  asm volatile(MOBILENET_TILES(BIAS, MULTIPLIERS, GROUP, ROW)                                 \
               : [in] "+r"(in), [out] "+r"(out), [tiles] "+r"(tiles), [x0] "=&r"(x0),         \
                 [x1] "=&r"(x1), [x2] "=&r"(x2), [x3] "=&r"(x3), [wp] "=&r"(wp), [k] "=&r"(k) \
               : [in_stride] "r"(in_stride), [w] "r"(w), [group_bytes] "r"(group_bytes),      \
                 [blocks] "r"(blocks), [two_groups] "r"(two_groups), [bias] "r"(bias),        \
                 [multiplier] "r"(multiplier), [out_stride] "r"(out_stride),                  \
                 [zp] "w"(clamp.zero_point), [lo] "w"(clamp.lo), [hi] "w"(clamp.hi)           \
               : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9",  \
                 "v10", "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", \
                 "v21", "v22", "v23", "v24", "v25", "v26", "v27")
  if constexpr (Outputs == 16)
    MOBILENET_TILES_ASM(MOBILENET_BIAS_16, MOBILENET_MULTIPLIERS_16, MOBILENET_DOT_GROUP_16,
                        MOBILENET_REQUANTIZE_ROW_16);
  else
    MOBILENET_TILES_ASM(MOBILENET_BIAS_8, MOBILENET_MULTIPLIERS_8, MOBILENET_DOT_GROUP_8,
                        MOBILENET_REQUANTIZE_ROW_8);
#undef MOBILENET_TILES_ASM
}
#undef MOBILENET_TILES
#undef MOBILENET_REQUANTIZE_ROW_8
#undef MOBILENET_REQUANTIZE_ROW_16
#undef MOBILENET_MULTIPLIERS_8
#undef MOBILENET_MULTIPLIERS_16
#undef MOBILENET_BIAS_8
#undef MOBILENET_BIAS_16
#undef MOBILENET_DOT_GROUP_8
#undef MOBILENET_DOT_GROUP_16
#undef MOBILENET_DOT4
}  // namespace neondot_int8_detail

struct NeonDotInt8Tile {
  static constexpr const char* kName = "neondot";
  /// 4 rows x 4 accumulators, 4 weight and 4 input registers: 24 of the 32.
  static constexpr int kRows = 4;
  static constexpr int32_t kActivationOffset = 0;

  template <int Rows>
  static void run(const int8_t* in, int64_t in_stride, int64_t cin, const int8_t* panel,
                  const Requantize& e, int8_t* out, int64_t out_stride, int64_t valid,
                  int64_t blocks) {
    using namespace pointwise_int8_detail;
    static_assert(kPanel == 32 && kGroup == 4, "two halves of 16 outputs per panel");
    if (valid >= 16)
      half<Rows, false>(in, in_stride, cin, panel, e, out, out_stride, 16, 0, blocks);
    else
      half<Rows, true>(in, in_stride, cin, panel, e, out, out_stride, valid, 0, blocks);
    if (valid >= 32)
      half<Rows, false>(in, in_stride, cin, panel, e, out, out_stride, 16, 16, blocks);
    else if (valid > 16)
      half<Rows, true>(in, in_stride, cin, panel, e, out, out_stride, valid - 16, 16, blocks);
  }

 private:
  /// Outputs [first, first + 16) of the panel, of which `valid` are stored (all 16 unless
  /// Partial), for `blocks` tiles of Rows rows.
  template <int Rows, bool Partial>
  [[gnu::noinline]] static void half(const int8_t* in, int64_t in_stride, int64_t cin,
                                     const int8_t* panel, const Requantize& e, int8_t* out,
                                     int64_t out_stride, int64_t valid, int first, int64_t blocks) {
    using namespace pointwise_int8_detail;
    using namespace neondot_int8_detail;
    constexpr auto rows = std::make_index_sequence<Rows>{};
    constexpr int64_t kGroupBytes = kPanel * kGroup;
    const int64_t whole = cin / 16;
    const NeonOutputClamp clamp = neon_output_clamp(e.clamp);
    // Full tiles of 16 outputs, or of a panel's last 8 (MobileNets' 24- and 40-channel layers),
    // in assembly where the input has a multiple of 8 channels (every MobileNet layer).
    if constexpr (Rows == 4) {
      const auto asm_tiles = [&](auto outputs) {
        tiles_4_rows_asm<decltype(outputs)::value>(in, in_stride, cin, panel + first * kGroup,
                                                   e.bias + first, e.multiplier + first, clamp,
                                                   out + first, out_stride, blocks);
      };
      if (cin % 8 == 0 && blocks > 0) {
        if constexpr (!Partial) return asm_tiles(std::integral_constant<int, 16>{});
        if (valid == 8) return asm_tiles(std::integral_constant<int, 8>{});
      }
    }
    for (int64_t b = 0; b < blocks; ++b, in += Rows * in_stride, out += Rows * out_stride) {
      Accumulators<Rows> acc;
      const int32x4_t bias[4] = {vld1q_s32(e.bias + first), vld1q_s32(e.bias + first + 4),
                                 vld1q_s32(e.bias + first + 8), vld1q_s32(e.bias + first + 12)};
      start_from(acc, bias, rows);
      // Group g's 16 outputs: 64 consecutive bytes at w + g * kPanel * kGroup, one LD1.
      const int8_t* w = panel + first * kGroup;
      const auto next_group = [&w] {  // the weights at w, then w to the next group
        const int8x16x4_t v = vld1q_s8_x4(w);
        w += kGroupBytes;
        return v;
      };
      for (int64_t s = 0; s < whole; ++s) {
        int8x16_t x[Rows];  // four groups of each row
        for (int r = 0; r < Rows; ++r) x[r] = vld1q_s8(in + r * in_stride + 16 * s);
        // Each group's weights loaded just before its SDOTs: GCC's first scheduling pass would
        // hoist all four loads (16 registers) to the top and spill accumulators to make room;
        // the empty asm is a barrier it does not move memory reads across.
        dot_lane<0>(acc, next_group(), x, rows);
        asm volatile("" ::: "memory");
        dot_lane<1>(acc, next_group(), x, rows);
        asm volatile("" ::: "memory");
        dot_lane<2>(acc, next_group(), x, rows);
        asm volatile("" ::: "memory");
        dot_lane<3>(acc, next_group(), x, rows);
      }
      // The last 1-15 input channels: two whole groups by one 8-byte load per row (LDR of a D
      // register, which zeroes the upper half), then a group at a time (a partial last group
      // zero-filled). MobileNets' 24-, 40-, 72-, 88-, 120-, 184- and 200-channel inputs leave
      // exactly two groups.
      int64_t g = 4 * whole;
      if ((g + 2) * kGroup <= cin) {
        int8x16_t x[Rows];
        for (int r = 0; r < Rows; ++r)
          x[r] = vcombine_s8(vld1_s8(in + r * in_stride + 16 * whole), vdup_n_s8(0));
        dot_lane<0>(acc, next_group(), x, rows);
        asm volatile("" ::: "memory");
        dot_lane<1>(acc, next_group(), x, rows);
        g += 2;
      }
      for (; g < groups(cin); ++g) {
        int8x16_t x[Rows];
        for (int r = 0; r < Rows; ++r)
          x[r] = vreinterpretq_s8_s32(vdupq_n_s32(load_group(in + r * in_stride, g, cin)));
        dot_lane<0>(acc, next_group(), x, rows);
      }

      const float32x4_t m[4] = {
          vld1q_f32(e.multiplier + first), vld1q_f32(e.multiplier + first + 4),
          vld1q_f32(e.multiplier + first + 8), vld1q_f32(e.multiplier + first + 12)};
      store_rows<Partial>(acc, m, clamp, out + first, out_stride, valid, rows);
    }
  }
};

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
