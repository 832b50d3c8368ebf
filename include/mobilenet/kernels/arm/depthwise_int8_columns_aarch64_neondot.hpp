#pragma once
// The int8 3x3 depthwise kernel's blocks of 16 channels on AArch64 with the ARMv8.2 dot product
// (../depthwise_int8.hpp): SDOT adds, in each 32-bit lane, four byte products, so one input
// column's three rows of a window are interleaved per channel (ZIP1/ZIP2 of bytes, then of
// halfwords: register j holds channels 4j..4j+3, each as rows 0, 1, 2 and row 2 again, whose
// weight is zero) and multiplied by the column's packed weights. Output columns that share an
// input column share its interleaving: at stride 1 each input column is interleaved once per
// row of outputs, not three times as taps in pairs would read it (at stride 2 twice per output).
// Signed by signed bytes, so the inputs need no offset; the zero-point correction is in the
// starting sums, and taps outside the image read the zero point's row, as in the pairs kernel.

#include <arm_neon.h>

#include <climits>
#include <cstdint>
#include <string>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/isa.hpp"
#include "mobilenet/kernels/arm/requantize_int8_aarch64_neon.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

namespace depthwise_columns_neondot_detail {
/// Packed weight bytes per block of 16 channels: three columns x 16 channels x 4 slots.
inline constexpr int64_t kBlockBytes = 3 * 16 * 4;

struct Column {
  int8x16_t r0, r1, r2, r3;
};

[[gnu::always_inline]] inline Column interleave(const int8_t* row0, const int8_t* row1,
                                                const int8_t* row2) {
  const int8x16_t x0 = vld1q_s8(row0), x1 = vld1q_s8(row1), x2 = vld1q_s8(row2);
  const int16x8_t lo01 = vreinterpretq_s16_s8(vzip1q_s8(x0, x1)),
                  hi01 = vreinterpretq_s16_s8(vzip2q_s8(x0, x1)),
                  lo22 = vreinterpretq_s16_s8(vzip1q_s8(x2, x2)),
                  hi22 = vreinterpretq_s16_s8(vzip2q_s8(x2, x2));
  return {
      vreinterpretq_s8_s16(vzip1q_s16(lo01, lo22)), vreinterpretq_s8_s16(vzip2q_s16(lo01, lo22)),
      vreinterpretq_s8_s16(vzip1q_s16(hi01, hi22)), vreinterpretq_s8_s16(vzip2q_s16(hi01, hi22))};
}

/// The window rows of one output row at the block's first channel (null outside the image).
struct WindowRows {
  const int8_t* row[3];
  const int8_t* zero;  ///< the zero point's row
  int64_t width, channels;
};

/// Input column x's interleaved rows: straight from the rows inside the image (AllRows: all
/// three rows are), else the zero point's row for each tap outside.
template <bool AllRows>
[[gnu::always_inline]] inline Column column_at(const WindowRows& w, int64_t x) {
  const int64_t offset = x * w.channels;
  const bool inside = x >= 0 && x < w.width;
  if (AllRows && inside) return interleave(w.row[0] + offset, w.row[1] + offset, w.row[2] + offset);
  const auto at = [&](int ky) { return inside && w.row[ky] ? w.row[ky] + offset : w.zero; };
  return interleave(at(0), at(1), at(2));
}

/// One output: the starting sums (`start`), plus the three columns times their packed weights
/// (`q`: column kx's at q + 64 kx), requantized with the multipliers at `multiplier`. Starting
/// sums and multipliers are loaded for each output rather than held in eight registers: the
/// window's columns and weights need most of the 32.
/// The products are one asm statement, the weights loaded four registers at a time into v28-v31:
/// with intrinsics GCC 12 loaded the starting sums into other registers and moved them, and
/// spilled two of the window's columns.
[[gnu::always_inline]] inline void output(const Column& c0, const Column& c1, const Column& c2,
                                          const int8_t* q, const int32_t* start,
                                          const float* multiplier, const NeonOutputClamp& clamp,
                                          int8_t* out) {
  int32x4_t acc[4];
  asm("ldp %q[a0], %q[a1], [%[start]]\n\t"
      "ldp %q[a2], %q[a3], [%[start], #32]\n\t"
      "ld1 {v28.16b-v31.16b}, [%[q]]\n\t"
      "sdot %[a0].4s, %[c00].16b, v28.16b\n\t"
      "sdot %[a1].4s, %[c01].16b, v29.16b\n\t"
      "sdot %[a2].4s, %[c02].16b, v30.16b\n\t"
      "sdot %[a3].4s, %[c03].16b, v31.16b\n\t"
      "ld1 {v28.16b-v31.16b}, [%[q1]]\n\t"
      "sdot %[a0].4s, %[c10].16b, v28.16b\n\t"
      "sdot %[a1].4s, %[c11].16b, v29.16b\n\t"
      "sdot %[a2].4s, %[c12].16b, v30.16b\n\t"
      "sdot %[a3].4s, %[c13].16b, v31.16b\n\t"
      "ld1 {v28.16b-v31.16b}, [%[q2]]\n\t"
      "sdot %[a0].4s, %[c20].16b, v28.16b\n\t"
      "sdot %[a1].4s, %[c21].16b, v29.16b\n\t"
      "sdot %[a2].4s, %[c22].16b, v30.16b\n\t"
      "sdot %[a3].4s, %[c23].16b, v31.16b"
      : [a0] "=&w"(acc[0]), [a1] "=&w"(acc[1]), [a2] "=&w"(acc[2]), [a3] "=&w"(acc[3])
      : [start] "r"(start), [q] "r"(q), [q1] "r"(q + 64), [q2] "r"(q + 128),
        "m"(*reinterpret_cast<const int32_t(*)[16]>(start)),
        "m"(*reinterpret_cast<const int8_t(*)[kBlockBytes]>(q)), [c00] "w"(c0.r0), [c01] "w"(c0.r1),
        [c02] "w"(c0.r2), [c03] "w"(c0.r3), [c10] "w"(c1.r0), [c11] "w"(c1.r1), [c12] "w"(c1.r2),
        [c13] "w"(c1.r3), [c20] "w"(c2.r0), [c21] "w"(c2.r1), [c22] "w"(c2.r2), [c23] "w"(c2.r3)
      : "v28", "v29", "v30", "v31");
  const float32x4x4_t m4 = vld1q_f32_x4(multiplier);
  const float32x4_t m[4] = {m4.val[0], m4.val[1], m4.val[2], m4.val[3]};
  requantize_int8_neon<16>(acc, m, clamp, out);
}

/// The row's outputs with all three window rows inside the image or not (AllRows).
/// Arguments by value: an int8 store may alias anything they point to, and GCC would reload
/// them after every output.
template <int Stride, bool AllRows>
inline void columns_row(const WindowRows rows, int64_t x0, int64_t ow, const int8_t* q,
                        const int32_t* start, const float* multiplier, const NeonOutputClamp clamp,
                        int8_t* out) {
  const int64_t step = rows.channels;
  const auto column = [&](int64_t x) __attribute__((always_inline)) {
    return column_at<AllRows>(rows, x);
  };
  const auto emit = [&](const Column& a, const Column& b, const Column& c, int64_t ox)
      __attribute__((always_inline)) {
    output(a, b, c, q, start, multiplier, clamp, out + ox * step);
  };
  // The window's columns rotate through three variables, unrolled so that none is copied: at
  // stride 1 three outputs per round (each reads one new column), at stride 2 two (two each).
  Column c0 = column(x0), c1 = column(x0 + 1), c2;
  int64_t ox = 0;
  if constexpr (Stride == 1) {
    for (; ox + 3 <= ow; ox += 3) {
      const int64_t x = ox + x0;
      c2 = column(x + 2);
      emit(c0, c1, c2, ox);
      c0 = column(x + 3);
      emit(c1, c2, c0, ox + 1);
      c1 = column(x + 4);
      emit(c2, c0, c1, ox + 2);
    }
    for (; ox < ow; ++ox) {
      c2 = column(ox + x0 + 2);
      emit(c0, c1, c2, ox);
      c0 = c1;
      c1 = c2;
    }
  } else {
    for (; ox + 2 <= ow; ox += 2) {
      const int64_t x = 2 * ox + x0;
      c2 = column(x + 2);
      emit(c0, c1, c2, ox);
      c1 = column(x + 3);
      c0 = column(x + 4);
      emit(c2, c1, c0, ox + 1);
      c1 = column(x + 5);
    }
    if (ox < ow) emit(c0, c1, column(2 * ox + x0 + 2), ox);
  }
}
}  // namespace depthwise_columns_neondot_detail

/// Packs `w` (PyTorch layout [channels][1][3][3]) for the kernel below: per whole block of 16
/// channels, per column kx, per channel, the column's three weights and a zero
/// ([blocks][3][16][4] bytes, depthwise_columns_neondot_detail::kBlockBytes per block), and the
/// starting sums bias - zp_in * the channel's weight sum (`bias` null: zero).
/// @throws Error if a starting sum overflows int32.
inline void pack_depthwise_columns_neondot(const int8_t* w, const int32_t* bias, int64_t channels,
                                           int32_t input_zero_point, int8_t* packed,
                                           int32_t* start) {
  for (int64_t c = 0; c < channels / 16 * 16; ++c) {
    int64_t sum = 0;
    for (int kx = 0; kx < 3; ++kx)
      for (int slot = 0; slot < 4; ++slot) {
        const int8_t v = slot < 3 ? w[c * 9 + slot * 3 + kx] : int8_t{0};
        sum += v;
        packed[((c / 16 * 3 + kx) * 16 + c % 16) * 4 + slot] = v;
      }
    const int64_t first = (bias ? bias[c] : 0) - int64_t{input_zero_point} * sum;
    if (first < INT32_MIN || first > INT32_MAX)
      throw Error("int8 depthwise: channel " + std::to_string(c) +
                  "'s bias with the zero-point correction overflows int32");
    start[c] = static_cast<int32_t>(first);
  }
}

/// A row of `ow` output pixels' 16 channels of a 3x3 kernel at `Stride` (1 or 2), output ox's
/// window starting at input column ox * Stride + x0 (`rows`' row[ky] null for rows outside the
/// image); `q` the block's packed weights, `start` the 16 starting sums (bias - zp_in * the
/// channel's weight sum), `multiplier` the 16 multipliers; output ox's codes at
/// out + ox * rows.channels.
template <int Stride>
inline void depthwise_columns3_neondot(const depthwise_columns_neondot_detail::WindowRows& rows,
                                       int64_t x0, int64_t ow, const int8_t* q,
                                       const int32_t* start, const float* multiplier,
                                       const NeonOutputClamp& clamp, int8_t* out) {
  using namespace depthwise_columns_neondot_detail;
  static_assert(Stride == 1 || Stride == 2, "stride 1 or 2");
  if (rows.row[0] && rows.row[1] && rows.row[2])
    columns_row<Stride, true>(rows, x0, ow, q, start, multiplier, clamp, out);
  else
    columns_row<Stride, false>(rows, x0, ow, q, start, multiplier, clamp, out);
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
