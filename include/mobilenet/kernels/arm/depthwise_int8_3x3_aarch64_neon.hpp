#pragma once
// The int8 3x3 depthwise kernel's windows inside the image on AArch64 without the dot product
// (ARMv8.0; ../depthwise_int8.hpp), 16 channels, in assembly: the taps in pairs as
// arm/depthwise_int8_pairs_neon.hpp takes them (SMULL/SMULL2 of one tap's bytes by its
// weights into 16-bit lanes, SMLAL/SMLAL2 of the other's, SADDW/SADDW2 of the pair's sums into
// the int32 accumulators; weights are never -128, so a pair's sum fits 16 bits), then
// requantize_int8_neon's instructions. The pairs are (1, 2), (4, 5), (7, 8), (0, 3) and 6, so
// that each row's last load is its first column's, which advances the row to the next output
// (LD1 post-indexed by a register); the first pair adds to the starting sums, so the
// accumulators need no copy. The sum is the same integer whichever way the taps pair. GCC 12,
// given the intrinsics, kept the nine weights' low halves in registers of their own, spilled
// them, and recomputed the nine addresses (docs/design.md, "int8 on ARM").

#include <arm_neon.h>

#include <cstdint>

#include "mobilenet/core/isa.hpp"
#include "mobilenet/kernels/arm/requantize_int8_aarch64_neon.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

// clang-format off
// Registers: accumulators v0-v3, starting sums v4-v7, multipliers v8-v11, zero point and clamp
// v12-v14, a pair's inputs v15 and v16, its 16-bit sums v17 (channels 0-7) and v18 (8-15).
// MOBILENET_DW_PAIR(S, XA, XB, WA, WB): taps loaded by XA and XB (into v15, v16), weights WA and
// WB, added to the sums in S0-S3 (the starting sums for the first pair, then the accumulators).
#define MOBILENET_DW_SUMS(S0, S1, S2, S3)                                                     \
  "saddw v0.4s, " S0 ".4s, v17.4h\n saddw2 v1.4s, " S1 ".4s, v17.8h\n"                          \
  "saddw v2.4s, " S2 ".4s, v18.4h\n saddw2 v3.4s, " S3 ".4s, v18.8h\n"
#define MOBILENET_DW_PAIR(S0, S1, S2, S3, XA, XB, WA, WB)                                     \
  XA XB                                                                                        \
  "smull v17.8h, v15.8b, %[" WA "].8b\n smull2 v18.8h, v15.16b, %[" WA "].16b\n"                \
  "smlal v17.8h, v16.8b, %[" WB "].8b\n smlal2 v18.8h, v16.16b, %[" WB "].16b\n"                \
  MOBILENET_DW_SUMS(S0, S1, S2, S3)
// clang-format on

/// `count` (at least 1) outputs of 16 channels whose 3x3 windows lie inside the image: the
/// first window's rows start at r0, r1 and r2 (its first column), each next window `step` bytes
/// further; a column is `channels` bytes; tap t's weights in w[t]; the starting sums (bias
/// - zp_in * the weights' sum) at `first`, 16 multipliers at `multiplier`; output i at
/// out + i * channels.
inline void depthwise3x3_pairs_asm(const int8_t* r0, const int8_t* r1, const int8_t* r2,
                                   int64_t channels, int64_t step, int64_t count,
                                   const int8x16_t (&w)[9], const int32x4_t (&first)[4],
                                   const float* multiplier, const NeonOutputClamp& clamp,
                                   int8_t* out) {
  static_assert(sizeof(NeonOutputClamp) == 48, "zero point, lo and hi in three registers");
  const int64_t two_columns = 2 * channels;
  asm volatile(
      "ld1 {v4.4s, v5.4s, v6.4s, v7.4s}, [%[first]]\n"
      "ld1 {v8.4s, v9.4s, v10.4s, v11.4s}, [%[multiplier]]\n"
      "ld1 {v12.16b, v13.16b, v14.16b}, [%[clamp]]\n"
      "1:\n"
      MOBILENET_DW_PAIR("v4", "v5", "v6", "v7", "ldr q15, [%[r0], %[c1]]\n",
                        "ldr q16, [%[r0], %[c2]]\n", "w1", "w2")
      MOBILENET_DW_PAIR("v0", "v1", "v2", "v3", "ldr q15, [%[r1], %[c1]]\n",
                        "ldr q16, [%[r1], %[c2]]\n", "w4", "w5")
      MOBILENET_DW_PAIR("v0", "v1", "v2", "v3", "ldr q15, [%[r2], %[c1]]\n",
                        "ldr q16, [%[r2], %[c2]]\n", "w7", "w8")
      MOBILENET_DW_PAIR("v0", "v1", "v2", "v3", "ld1 {v15.16b}, [%[r0]], %[step]\n",
                        "ld1 {v16.16b}, [%[r1]], %[step]\n", "w0", "w3")
      "ld1 {v15.16b}, [%[r2]], %[step]\n"
      "smull v17.8h, v15.8b, %[w6].8b\n smull2 v18.8h, v15.16b, %[w6].16b\n"
      MOBILENET_DW_SUMS("v0", "v1", "v2", "v3")
      MOBILENET_ASM_REQUANTIZE_16("v0", "v1", "v2", "v3", "v8", "v9", "v10", "v11", "v12",
                                  "v13", "v14")
      "st1 {v0.16b}, [%[out]], %[c1]\n"
      "subs %[count], %[count], #1\n b.ne 1b\n"
      : [r0] "+r"(r0), [r1] "+r"(r1), [r2] "+r"(r2), [out] "+r"(out), [count] "+r"(count)
      : [c1] "r"(channels), [c2] "r"(two_columns), [step] "r"(step), [first] "r"(first),
        [multiplier] "r"(multiplier), [clamp] "r"(&clamp), [w0] "w"(w[0]), [w1] "w"(w[1]),
        [w2] "w"(w[2]), [w3] "w"(w[3]), [w4] "w"(w[4]), [w5] "w"(w[5]), [w6] "w"(w[6]),
        [w7] "w"(w[7]), [w8] "w"(w[8])
      : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11",
        "v12", "v13", "v14", "v15", "v16", "v17", "v18");
}
#undef MOBILENET_DW_PAIR
#undef MOBILENET_DW_SUMS

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
