#pragma once
// The fp16 pointwise GEMM (1x1 convolutions, the stem's gathered rows) on AArch64 with fp16
// arithmetic:
//   out[r, co] = act(bias[co] + sum_ci in[r, ci] * w[co, ci]) (+ residual[r, co])
// in fp16, each sum starting from the bias and adding ci = 0..cin-1 in order with one fused
// multiply-add each, whatever the tile, so results do not depend on how rows are split (hence on
// the thread count). Weights are packed at load into panels of 16 output channels (two vectors of
// eight lanes; the last panel 8 wide when 8 or fewer channels remain), ci-major inside a panel.
// The tile is XNNPACK's f16 GEMM shape for out-of-order cores, 8 rows x 16 channels: 16
// accumulators, 8 input vectors (eight input channels of a row each, used lane by lane with FMLA
// by element) and 2 weight vectors of the 32 registers.

#include <arm_neon.h>

#include <cstdint>
#include <type_traits>
#include <utility>

#include "mobilenet/core/aligned_buffer.hpp"
#include "mobilenet/core/half.hpp"
#include "mobilenet/kernels/arm/activation_fp16_neonfp16arith.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// A pointwise layer's weights in fp16, in the tile's panels, with the bias zero-padded to them.
struct PackedPointwiseFp16 {
  int64_t cin = 0, cout = 0;
  AlignedArray<half> weights;  ///< panel p at p * 16 * cin: [cin][panel width]
  AlignedArray<half> bias;     ///< [panels * 16]
};

namespace pointwise_fp16_detail {

/// Output channels per panel; rows per tile.
inline constexpr int kPanel = 16;
inline constexpr int kRows = 8;
/// Input channels per vector load of a row.
inline constexpr int kLanes = 8;

inline int64_t panels(int64_t cout) {
  return (cout + kPanel - 1) / kPanel;
}

/// acc0[r] (+ acc1[r]) += w0 (w1) * a[r][lane K] for every row r.
template <int K, int NP, std::size_t... R>
[[gnu::always_inline]] inline void lane_step(float16x8_t (&acc0)[sizeof...(R)],
                                             float16x8_t (&acc1)[sizeof...(R)],
                                             const float16x8_t (&a)[sizeof...(R)], const half* w,
                                             std::index_sequence<R...>) {
  const float16x8_t w0 = vld1q_f16(w + K * 8 * NP);
  ((acc0[R] = vfmaq_laneq_f16(acc0[R], w0, a[R], K)), ...);
  if constexpr (NP == 2) {
    const float16x8_t w1 = vld1q_f16(w + K * 8 * NP + 8);
    ((acc1[R] = vfmaq_laneq_f16(acc1[R], w1, a[R], K)), ...);
  }
}

/// Eight input channels from `in` of every row: one vector load per row, then lane by lane.
template <int NP, std::size_t... R, std::size_t... K>
[[gnu::always_inline]] inline void vector_step(float16x8_t (&acc0)[sizeof...(R)],
                                               float16x8_t (&acc1)[sizeof...(R)], const half* in,
                                               int64_t in_stride, const half* w,
                                               std::index_sequence<R...> rows,
                                               std::index_sequence<K...>) {
  const float16x8_t a[sizeof...(R)] = {vld1q_f16(in + int64_t{R} * in_stride)...};
  (lane_step<static_cast<int>(K), NP>(acc0, acc1, a, w, rows), ...);
}

/// One input channel of every row (the last cin % 8): FMLA by a scalar.
template <int NP, std::size_t... R>
[[gnu::always_inline]] inline void scalar_step(float16x8_t (&acc0)[sizeof...(R)],
                                               float16x8_t (&acc1)[sizeof...(R)], const half* in,
                                               int64_t in_stride, const half* w,
                                               std::index_sequence<R...>) {
  const float16x8_t w0 = vld1q_f16(w);
  ((acc0[R] = vfmaq_n_f16(acc0[R], w0, in[int64_t{R} * in_stride])), ...);
  if constexpr (NP == 2) {
    const float16x8_t w1 = vld1q_f16(w + 8);
    ((acc1[R] = vfmaq_n_f16(acc1[R], w1, in[int64_t{R} * in_stride])), ...);
  }
}

// clang-format off
// The full 8-row tile in assembly (tile_8_rows_asm). FMLA by element on .8h lanes can take its
// element only from v0-v15 (the instruction has four bits for that register); given intrinsics,
// GCC 12 puts the input vectors anywhere and turns most FMLA by element into DUP + FMLA, twice
// the instructions, and an asm statement cannot take 16 accumulators as operands (at most 30,
// an in-out one counting twice). So: row r accumulates in v(16 + 2r) (output channels 0-7) and
// v(17 + 2r) (8-15); rows 0-7's inputs are v0-v7; the panel's weights v8 (and v9). After the
// sums v0-v7 hold the epilogue's constants and temporaries: v0 = 0, v1 = 6, v2 = 3, v3 = 1/6
// (rounded to fp16), v4-v7 free.
#define MOBILENET_FP16_LOAD_ROWS                                                           \
  "ldr q0, [%[x0]], #16\n ldr q1, [%[x1]], #16\n ldr q2, [%[x2]], #16\n"                    \
  "ldr q3, [%[x3]], #16\n ldr q4, [%[x4]], #16\n ldr q5, [%[x5]], #16\n"                    \
  "ldr q6, [%[x6]], #16\n ldr q7, [%[x7]], #16\n"
#define MOBILENET_FP16_LOAD_ROW_LANES /* one input channel of every row, in lane 0 */    \
  "ld1 {v0.h}[0], [%[x0]], #2\n ld1 {v1.h}[0], [%[x1]], #2\n ld1 {v2.h}[0], [%[x2]], #2\n"  \
  "ld1 {v3.h}[0], [%[x3]], #2\n ld1 {v4.h}[0], [%[x4]], #2\n ld1 {v5.h}[0], [%[x5]], #2\n"  \
  "ld1 {v6.h}[0], [%[x6]], #2\n ld1 {v7.h}[0], [%[x7]], #2\n"
// Lane K of every row's input vector against weights v8 (ROWS_A) or v9 (ROWS_B).
#define MOBILENET_FP16_ROWS_A(K)                                                           \
  "fmla v16.8h, v8.8h, v0.h[" #K "]\n fmla v18.8h, v8.8h, v1.h[" #K "]\n"                  \
  "fmla v20.8h, v8.8h, v2.h[" #K "]\n fmla v22.8h, v8.8h, v3.h[" #K "]\n"                  \
  "fmla v24.8h, v8.8h, v4.h[" #K "]\n fmla v26.8h, v8.8h, v5.h[" #K "]\n"                  \
  "fmla v28.8h, v8.8h, v6.h[" #K "]\n fmla v30.8h, v8.8h, v7.h[" #K "]\n"
#define MOBILENET_FP16_ROWS_B(K)                                                           \
  "fmla v17.8h, v9.8h, v0.h[" #K "]\n fmla v19.8h, v9.8h, v1.h[" #K "]\n"                  \
  "fmla v21.8h, v9.8h, v2.h[" #K "]\n fmla v23.8h, v9.8h, v3.h[" #K "]\n"                  \
  "fmla v25.8h, v9.8h, v4.h[" #K "]\n fmla v27.8h, v9.8h, v5.h[" #K "]\n"                  \
  "fmla v29.8h, v9.8h, v6.h[" #K "]\n fmla v31.8h, v9.8h, v7.h[" #K "]\n"
// One input channel (lane K of every row's input vector) against one weight row of the panel.
#define MOBILENET_FP16_CHANNEL_16(K)                                                       \
  "ldp q8, q9, [%[w]], #32\n" MOBILENET_FP16_ROWS_A(K) MOBILENET_FP16_ROWS_B(K)
#define MOBILENET_FP16_CHANNEL_8(K) "ldr q8, [%[w]], #16\n" MOBILENET_FP16_ROWS_A(K)
// The activation of one accumulator (as fp16::activate computes it), then the row's residual
// and store.
#define MOBILENET_FP16_IDENTITY(V)
#define MOBILENET_FP16_RELU(V) "fmax v" #V ".8h, v" #V ".8h, v0.8h\n"
#define MOBILENET_FP16_RELU6(V) MOBILENET_FP16_RELU(V) "fmin v" #V ".8h, v" #V ".8h, v1.8h\n"
#define MOBILENET_FP16_GATE(V) /* v4 = relu6(v + 3) * (1/6) */                            \
  "fadd v4.8h, v" #V ".8h, v2.8h\n fmax v4.8h, v4.8h, v0.8h\n fmin v4.8h, v4.8h, v1.8h\n"    \
  "fmul v4.8h, v4.8h, v3.8h\n"
#define MOBILENET_FP16_HARDSIGMOID(V) MOBILENET_FP16_GATE(V) "mov v" #V ".16b, v4.16b\n"
#define MOBILENET_FP16_HARDSWISH(V) MOBILENET_FP16_GATE(V) "fmul v" #V ".8h, v" #V ".8h, v4.8h\n"
#define MOBILENET_FP16_ROW_16(ACT, A, B)                                                   \
  ACT(A) ACT(B)                                                                            \
  "cbz %[res], 5f\n ld1 {v6.8h, v7.8h}, [%[res]], %[stride]\n"                             \
  "fadd v" #A ".8h, v" #A ".8h, v6.8h\n fadd v" #B ".8h, v" #B ".8h, v7.8h\n"              \
  "5:\n st1 {v" #A ".8h, v" #B ".8h}, [%[out]], %[stride]\n"
#define MOBILENET_FP16_ROW_8(ACT, A, B)                                                    \
  ACT(A)                                                                                   \
  "cbz %[res], 5f\n ld1 {v6.8h}, [%[res]], %[stride]\n fadd v" #A ".8h, v" #A ".8h, v6.8h\n" \
  "5:\n st1 {v" #A ".8h}, [%[out]], %[stride]\n"
#define MOBILENET_FP16_TILE(CHANNEL, ROW, ACT, INIT)                                      \
  INIT                                                                                     \
  "cbz %[groups], 2f\n"                                                                    \
  "1:\n" MOBILENET_FP16_LOAD_ROWS /* eight input channels per iteration */                 \
  CHANNEL(0) CHANNEL(1) CHANNEL(2) CHANNEL(3) CHANNEL(4) CHANNEL(5) CHANNEL(6) CHANNEL(7)  \
  "subs %[groups], %[groups], #1\n b.ne 1b\n"                                              \
  "2:\n cbz %[tail], 4f\n"                                                                 \
  "3:\n" MOBILENET_FP16_LOAD_ROW_LANES CHANNEL(0) /* the last cin % 8 channels */          \
  "subs %[tail], %[tail], #1\n b.ne 3b\n"                                                  \
  "4:\n movi v0.8h, #0\n fmov v1.8h, #6.0\n fmov v2.8h, #3.0\n ld1r {v3.8h}, [%[sixth]]\n" \
  ROW(ACT, 16, 17) ROW(ACT, 18, 19) ROW(ACT, 20, 21) ROW(ACT, 22, 23)                      \
  ROW(ACT, 24, 25) ROW(ACT, 26, 27) ROW(ACT, 28, 29) ROW(ACT, 30, 31)
#define MOBILENET_FP16_INIT_16                                                             \
  "ld1 {v16.8h, v17.8h}, [%[bias]]\n" /* every row starts from the bias */                \
  "mov v18.16b, v16.16b\n mov v19.16b, v17.16b\n mov v20.16b, v16.16b\n mov v21.16b, v17.16b\n" \
  "mov v22.16b, v16.16b\n mov v23.16b, v17.16b\n mov v24.16b, v16.16b\n mov v25.16b, v17.16b\n" \
  "mov v26.16b, v16.16b\n mov v27.16b, v17.16b\n mov v28.16b, v16.16b\n mov v29.16b, v17.16b\n" \
  "mov v30.16b, v16.16b\n mov v31.16b, v17.16b\n"
#define MOBILENET_FP16_INIT_8                                                              \
  "ldr q16, [%[bias]]\n mov v18.16b, v16.16b\n mov v20.16b, v16.16b\n"                     \
  "mov v22.16b, v16.16b\n mov v24.16b, v16.16b\n mov v26.16b, v16.16b\n"                   \
  "mov v28.16b, v16.16b\n mov v30.16b, v16.16b\n"
// clang-format on

/// The full 8-row tile (all 8 * NP output channels valid), all in assembly: accumulators from
/// the bias; per eight input channels, 8 loads of inputs, 8 of weights, 64 * NP FMLA by element
/// and 2 instructions of loop control; the last cin % 8 channels one at a time; then each row's
/// activation, residual and one store, rows `out_stride` apart by post-increment. The same
/// operations in the same order as tile(), so the same results.
template <int NP, class Act>
[[gnu::always_inline]] inline void tile_8_rows_asm(const half* in, int64_t in_stride, int64_t cin,
                                                   const half* panel, const half* bias, half* out,
                                                   const half* residual, int64_t out_stride) {
  const half *x0 = in, *x1 = in + in_stride, *x2 = in + 2 * in_stride, *x3 = in + 3 * in_stride,
             *x4 = in + 4 * in_stride, *x5 = in + 5 * in_stride, *x6 = in + 6 * in_stride,
             *x7 = in + 7 * in_stride;
  uint64_t groups = static_cast<uint64_t>(cin) / kLanes, tail = static_cast<uint64_t>(cin) % kLanes;
  const half sixth = static_cast<half>(1.0f / 6.0f);
  const int64_t stride = out_stride * static_cast<int64_t>(sizeof(half));
#define MOBILENET_FP16_ASM(CHANNEL, ROW, ACT, INIT)                                              \
  asm volatile(MOBILENET_FP16_TILE(CHANNEL, ROW, ACT, INIT)                                      \
               : [x0] "+r"(x0), [x1] "+r"(x1), [x2] "+r"(x2), [x3] "+r"(x3), [x4] "+r"(x4),      \
                 [x5] "+r"(x5), [x6] "+r"(x6), [x7] "+r"(x7), [w] "+r"(panel),                   \
                 [groups] "+r"(groups), [tail] "+r"(tail), [out] "+r"(out), [res] "+r"(residual) \
               : [bias] "r"(bias), [sixth] "r"(&sixth), [stride] "r"(stride)                     \
               : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9",     \
                 "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26",    \
                 "v27", "v28", "v29", "v30", "v31")
#define MOBILENET_FP16_ASM_ACT(ACT)                                           \
  if constexpr (NP == 2)                                                      \
    MOBILENET_FP16_ASM(MOBILENET_FP16_CHANNEL_16, MOBILENET_FP16_ROW_16, ACT, \
                       MOBILENET_FP16_INIT_16);                               \
  else                                                                        \
    MOBILENET_FP16_ASM(MOBILENET_FP16_CHANNEL_8, MOBILENET_FP16_ROW_8, ACT, MOBILENET_FP16_INIT_8)
  if constexpr (std::is_same_v<Act, act::Identity>) {
    MOBILENET_FP16_ASM_ACT(MOBILENET_FP16_IDENTITY);
  } else if constexpr (std::is_same_v<Act, act::ReLU>) {
    MOBILENET_FP16_ASM_ACT(MOBILENET_FP16_RELU);
  } else if constexpr (std::is_same_v<Act, act::ReLU6>) {
    MOBILENET_FP16_ASM_ACT(MOBILENET_FP16_RELU6);
  } else if constexpr (std::is_same_v<Act, act::HardSwish>) {
    MOBILENET_FP16_ASM_ACT(MOBILENET_FP16_HARDSWISH);
  } else {
    MOBILENET_FP16_ASM_ACT(MOBILENET_FP16_HARDSIGMOID);
  }
#undef MOBILENET_FP16_ASM_ACT
#undef MOBILENET_FP16_ASM
}

/// Activation, then + residual, of one vector.
template <class Act>
[[gnu::always_inline]] inline float16x8_t finish(float16x8_t v, const half* residual) {
  v = fp16::opaque(fp16::activate<Act>(v));
  return residual ? vaddq_f16(v, vld1q_f16(residual)) : v;
}

/// Row r's NP vectors to out (+ r * out_stride); Partial: only the first `width` lanes (through
/// a buffer, so nothing past them is read or written).
template <class Act, int NP, bool Partial>
[[gnu::always_inline]] inline void store_row(float16x8_t a0, float16x8_t a1, half* out,
                                             const half* residual, int width) {
  if constexpr (Partial) {
    alignas(16) half lanes[16], res[16] = {};
    if (residual)
      for (int k = 0; k < width; ++k) res[k] = residual[k];
    vst1q_f16(lanes, finish<Act>(a0, residual ? res : nullptr));
    if constexpr (NP == 2) vst1q_f16(lanes + 8, finish<Act>(a1, residual ? res + 8 : nullptr));
    for (int k = 0; k < width; ++k) out[k] = lanes[k];
  } else {
    vst1q_f16(out, finish<Act>(a0, residual));
    if constexpr (NP == 2) vst1q_f16(out + 8, finish<Act>(a1, residual ? residual + 8 : nullptr));
  }
}

/// Rows x (8 * NP) outputs from `panel`: `in` rows `in_stride` apart, `out` and `residual` rows
/// `out_stride` apart, `width` valid output lanes (all 8 * NP unless Partial). Not inlined: one
/// copy per shape, its accumulators in registers.
template <int Rows, int NP, bool Partial, class Act>
[[gnu::noinline]] void tile(const half* in, int64_t in_stride, int64_t cin, const half* panel,
                            const half* bias, half* out, const half* residual, int64_t out_stride,
                            int width) {
  constexpr auto rows = std::make_index_sequence<Rows>{};
  float16x8_t acc0[Rows], acc1[Rows];
  const float16x8_t b0 = vld1q_f16(bias), b1 = vld1q_f16(bias + 8);
  for (int r = 0; r < Rows; ++r) acc0[r] = b0, acc1[r] = b1;
  int64_t ci = 0;
  for (; ci + kLanes <= cin; ci += kLanes)
    vector_step<NP>(acc0, acc1, in + ci, in_stride, panel + ci * 8 * NP, rows,
                    std::make_index_sequence<kLanes>{});
  for (; ci < cin; ++ci) scalar_step<NP>(acc0, acc1, in + ci, in_stride, panel + ci * 8 * NP, rows);
#pragma GCC unroll 8
  for (int r = 0; r < Rows; ++r)
    store_row<Act, NP, Partial>(acc0[r], acc1[r], out + r * out_stride,
                                residual ? residual + r * out_stride : nullptr, width);
}

/// The tile for Rows rows of one panel, chosen by the panel's width.
template <int Rows, class Act>
inline void panel_tile(const half* in, int64_t in_stride, int64_t cin, const half* panel,
                       const half* bias, half* out, const half* residual, int64_t out_stride,
                       int64_t width) {
  const int w = static_cast<int>(width);
  if constexpr (Rows == 8) {
    if (width == 16 || width == 8) {
      if (width == 16)
        tile_8_rows_asm<2, Act>(in, in_stride, cin, panel, bias, out, residual, out_stride);
      else
        tile_8_rows_asm<1, Act>(in, in_stride, cin, panel, bias, out, residual, out_stride);
      return;
    }
  }
  if (width >= 16)
    tile<Rows, 2, false, Act>(in, in_stride, cin, panel, bias, out, residual, out_stride, w);
  else if (width > 8)
    tile<Rows, 2, true, Act>(in, in_stride, cin, panel, bias, out, residual, out_stride, w);
  else if (width == 8)
    tile<Rows, 1, false, Act>(in, in_stride, cin, panel, bias, out, residual, out_stride, w);
  else
    tile<Rows, 1, true, Act>(in, in_stride, cin, panel, bias, out, residual, out_stride, w);
}

/// The last rows % 8 rows, by their count.
template <class Act, int... R>
inline void tail_tile(int rows, std::integer_sequence<int, R...>, const half* in, int64_t in_stride,
                      int64_t cin, const half* panel, const half* bias, half* out,
                      const half* residual, int64_t out_stride, int64_t width) {
  ((rows == R + 1
        ? panel_tile<R + 1, Act>(in, in_stride, cin, panel, bias, out, residual, out_stride, width)
        : void()),
   ...);
}

}  // namespace pointwise_fp16_detail

/// Packs float weights `w` [cout][cin] (PyTorch's 1x1 conv or Linear layout) and `bias` [cout],
/// rounded to the nearest fp16.
inline PackedPointwiseFp16 pack_pointwise_fp16(const float* w, const float* bias, int64_t cin,
                                               int64_t cout) {
  using pointwise_fp16_detail::kPanel;
  const int64_t panels = pointwise_fp16_detail::panels(cout);
  PackedPointwiseFp16 p{cin, cout,
                        AlignedArray<half>(static_cast<std::size_t>(panels * kPanel * cin)),
                        AlignedArray<half>(static_cast<std::size_t>(panels * kPanel))};
  for (int64_t co = 0; co < cout; ++co) {
    const int64_t panel = co / kPanel, lane = co % kPanel;
    const int64_t width = std::min<int64_t>(kPanel, cout - panel * kPanel) > 8 ? kPanel : 8;
    half* dst = p.weights.data() + panel * kPanel * cin;
    for (int64_t ci = 0; ci < cin; ++ci)
      dst[ci * width + lane] = static_cast<half>(w[co * cin + ci]);
    p.bias.data()[co] = static_cast<half>(bias ? bias[co] : 0.0f);
  }
  return p;
}

/// `rows` rows of `w.cin` fp16 values (`in_stride` apart) to rows of `w.cout` (`out_stride`
/// apart), activation `Act`, plus `residual` (rows `out_stride` apart) if not null. In place is
/// not allowed (out must not overlap in); residual may be out.
template <class Act>
void pointwise_fp16(const half* in, int64_t in_stride, int64_t rows, const PackedPointwiseFp16& w,
                    half* out, int64_t out_stride, const half* residual) {
  using namespace pointwise_fp16_detail;
  const int64_t np = panels(w.cout);
  for (int64_t r0 = 0; r0 < rows; r0 += kRows) {
    const int64_t n = std::min<int64_t>(kRows, rows - r0);
    const half* x = in + r0 * in_stride;
    for (int64_t p = 0; p < np; ++p) {
      const int64_t col = p * kPanel, width = std::min<int64_t>(kPanel, w.cout - col);
      const half* panel = w.weights.data() + p * kPanel * w.cin;
      const half* b = w.bias.data() + col;
      half* o = out + r0 * out_stride + col;
      const half* res = residual ? residual + r0 * out_stride + col : nullptr;
      if (n == kRows)
        panel_tile<kRows, Act>(x, in_stride, w.cin, panel, b, o, res, out_stride, width);
      else
        tail_tile<Act>(static_cast<int>(n), std::make_integer_sequence<int, kRows - 1>{}, x,
                       in_stride, w.cin, panel, b, o, res, out_stride, width);
    }
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
