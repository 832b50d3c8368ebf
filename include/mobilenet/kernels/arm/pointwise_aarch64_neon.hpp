#pragma once
// AArch64 micro-kernels of the pointwise GEMM (pointwise_tile.hpp has the layout): FMLA by
// element, which multiplies a weight vector by one lane of an input vector, so one load of
// inputs serves four input channels or four rows; and a packed 12 x 8 tile whose inner loop is
// in assembly. Same sums in the same order as the generic tile, so the same results.

#include <arm_neon.h>

#include <cstdint>
#include <type_traits>
#include <utility>

#include "mobilenet/core/activation.hpp"
#include "mobilenet/kernels/pointwise_tile.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {
namespace pointwise_detail {

/// acc[r] += w * a[r][lane K] for every row r: one FMLA by element per row. This and the other
/// helpers of the AArch64 tiles are always inlined: in a large translation unit GCC otherwise
/// calls them, and the accumulators go through memory on every call.
template <int K, std::size_t... R>
[[gnu::always_inline]] inline void fma_lane(float32x4_t (&acc)[sizeof...(R)], float32x4_t w,
                                            const float32x4_t (&a)[sizeof...(R)],
                                            std::index_sequence<R...>) {
  ((acc[R] = vfmaq_laneq_f32(acc[R], w, a[R], K)), ...);
}

/// Lane K of every row's input vector against weight row K of the panel (w0, and w1 if NP == 2).
template <int K, int NP, std::size_t... R>
[[gnu::always_inline]] inline void lane_step(float32x4_t (&acc0)[sizeof...(R)],
                                             float32x4_t (&acc1)[sizeof...(R)], float32x4_t w0,
                                             float32x4_t w1, const float32x4_t (&a)[sizeof...(R)],
                                             std::index_sequence<R...> rows) {
  fma_lane<K>(acc0, w0, a, rows);
  if constexpr (NP == 2) fma_lane<K>(acc1, w1, a, rows);
}

/// Four input channels from `ci` of every row of an NHWC tile: rows r's channels ci..ci+3 are
/// loaded as one vector, then used lane by lane against four weight rows of the panel. With
/// few rows (row tails, fully connected layers), loads of the weights dominate: two weight rows
/// come in one load of four registers then.
template <int NP, std::size_t... R>
[[gnu::always_inline]] inline void by_lane_step(float32x4_t (&acc0)[sizeof...(R)],
                                                float32x4_t (&acc1)[sizeof...(R)], const float* in,
                                                int64_t in_stride, const float* w,
                                                std::index_sequence<R...> rows) {
  const float32x4_t a[sizeof...(R)] = {vld1q_f32(in + int64_t{R} * in_stride)...};
  if constexpr (NP == 2 && sizeof...(R) <= 2) {
    const float32x4x4_t w01 = vld1q_f32_x4(w), w23 = vld1q_f32_x4(w + 2 * kPanel);
    lane_step<0, NP>(acc0, acc1, w01.val[0], w01.val[1], a, rows);
    lane_step<1, NP>(acc0, acc1, w01.val[2], w01.val[3], a, rows);
    lane_step<2, NP>(acc0, acc1, w23.val[0], w23.val[1], a, rows);
    lane_step<3, NP>(acc0, acc1, w23.val[2], w23.val[3], a, rows);
  } else {
    const auto row = [&](int k) { return w + k * kPanel; };
    lane_step<0, NP>(acc0, acc1, vld1q_f32(row(0)), vld1q_f32(row(0) + 4), a, rows);
    lane_step<1, NP>(acc0, acc1, vld1q_f32(row(1)), vld1q_f32(row(1) + 4), a, rows);
    lane_step<2, NP>(acc0, acc1, vld1q_f32(row(2)), vld1q_f32(row(2) + 4), a, rows);
    lane_step<3, NP>(acc0, acc1, vld1q_f32(row(3)), vld1q_f32(row(3) + 4), a, rows);
  }
}

/// One input channel of every row (the last cin % 4): FMLA by a scalar.
template <int NP, std::size_t... R>
[[gnu::always_inline]] inline void by_scalar_step(float32x4_t (&acc0)[sizeof...(R)],
                                                  float32x4_t (&acc1)[sizeof...(R)],
                                                  const float* in, int64_t in_stride,
                                                  const float* w, std::index_sequence<R...>) {
  const float32x4_t w0 = vld1q_f32(w);
  ((acc0[R] = vfmaq_n_f32(acc0[R], w0, in[int64_t{R} * in_stride])), ...);
  if constexpr (NP == 2) {
    const float32x4_t w1 = vld1q_f32(w + 4);
    ((acc1[R] = vfmaq_n_f32(acc1[R], w1, in[int64_t{R} * in_stride])), ...);
  }
}

/// acc[i] = v for every i (the accumulators start from the bias).
template <std::size_t... I>
[[gnu::always_inline]] inline void splat(float32x4_t (&acc)[sizeof...(I)], float32x4_t v,
                                         std::index_sequence<I...>) {
  ((acc[I] = v), ...);
}

/// The epilogue of one row of a tile: its NP packets a0 (, a1) to out[o, o + 4 * NP).
template <int NP, class Epilogue>
[[gnu::always_inline]] inline void store_row(float32x4_t a0, float32x4_t a1, float* out, int64_t o,
                                             const Epilogue& e) {
  e.store(a0, out, o, 4);
  if constexpr (NP == 2) e.store(a1, out, o + 4, 4);
}

/// The epilogue of a tile: row I's packets acc0[I] (and acc1[I]) to out + I * out_stride. Partial:
/// the last packet has fewer than 4 channels left; the accumulators go through memory then
/// (store_tile's buffer). Only the full case is straight-line code: any branch on the channel
/// count here made GCC store the accumulators to the stack in every iteration of the tile's loop.
template <int NP, bool Partial, class Epilogue, std::size_t... I>
[[gnu::always_inline]] inline void store_rows(const float32x4_t (&acc0)[sizeof...(I)],
                                              const float32x4_t (&acc1)[sizeof...(I)], float* out,
                                              const Epilogue& e, int64_t cout, int64_t col,
                                              int64_t out_stride, std::index_sequence<I...>) {
  if constexpr (Partial) {
    if constexpr (NP == 2) {
      simd::Packet rows[sizeof...(I)][1][2] = {{{acc0[I], acc1[I]}}...};
      store_tile(rows, out, e, cout, col, out_stride);
    } else {
      simd::Packet rows[sizeof...(I)][1][1] = {{{acc0[I]}}...};
      store_tile(rows, out, e, cout, col, out_stride);
    }
  } else {
    (store_row<NP>(acc0[I], acc1[I], out, int64_t{I} * out_stride, e), ...);
  }
}

/// AArch64 tile of Rows NHWC rows x NP packets with FMLA by element (four input channels of a
/// row per vector load, where the generic tile needs a load-and-duplicate per row and channel).
/// fma(w, a[lane], acc) rounds exactly like the generic fmadd, so results are identical.
/// Accumulators are indexed by constants only and the tile is not inlined: see tile_packed.
template <int Rows, int NP, bool Partial, class Epilogue>
[[gnu::noinline]] void tile_by_lane(const float* in, int64_t cin, const float* panel, float* out,
                                    Epilogue e, int64_t cout, int64_t col, RowStrides ld) {
  constexpr auto rows = std::make_index_sequence<Rows>{};
  float32x4_t acc0[Rows], acc1[Rows];
  splat(acc0, e.start(0), rows);
  splat(acc1, e.start(4), rows);
  int64_t ci = 0;
  for (; ci + 4 <= cin; ci += 4)
    by_lane_step<NP>(acc0, acc1, in + ci, ld.in, panel + ci * kPanel, rows);
  for (; ci < cin; ++ci) by_scalar_step<NP>(acc0, acc1, in + ci, ld.in, panel + ci * kPanel, rows);
  store_rows<NP, Partial>(acc0, acc1, out, e, cout, col, ld.out, rows);
}

/// The generic path's tile interface (`tiles` tiles of Rows consecutive rows); `Prefetch` and
/// `prefetch` are unused: the conv layers of MobileNet run through the packed path, which does
/// not prefetch, and the fully connected layers (fewer rows than a packed group) through this.
/// Several panels (row tails, fully connected layers) run panel by panel: one input vector
/// serves four channels of a row here, where the generic tile needs a load per row and channel.
template <int Rows, int Panels, int NP, class Epilogue, bool Prefetch = false>
inline void full_tile(const float* in, int64_t cin, const float* panel, float* out, Epilogue e,
                      int64_t cout, int64_t col, RowStrides ld, const float* /*prefetch*/ = nullptr,
                      int64_t tiles = 1) {
  for (int q = 0; q < Panels;
       ++q, panel += cin * kPanel, out += kPanel, e = e.channels_on(kPanel), col += kPanel) {
    for (int64_t t = 0; t < tiles; ++t) {
      const float* x = in + t * Rows * ld.in;
      float* o = out + t * Rows * ld.out;
      const Epilogue at = e.rows_on(t * Rows * ld.out);
      if (cout - col >= 4 * NP)
        tile_by_lane<Rows, NP, false>(x, cin, panel, o, at, cout, col, ld);
      else
        tile_by_lane<Rows, NP, true>(x, cin, panel, o, at, cout, col, ld);
    }
  }
}

/// Rows per tile of the packed AArch64 path (ncnn's arm64 sgemm uses the same 12 x 8 tile):
/// 12 x 2 accumulators, 3 input and 2 weight registers of the 32.
inline constexpr int kPackedRows = 12;
/// Floats of input packed at a time (64 KiB, on the stack): the packed path needs
/// kPackedRows * cin to fit, i.e. cin <= 1365.
inline constexpr int64_t kPackFloats = 16384;

/// Packs `groups` groups of kPackedRows NHWC rows (cin channels, `in_stride` floats apart)
/// channel-major per group ([group][cin][kPackedRows]), so the tile reads a group's 12 inputs of
/// one channel with one load instruction.
inline void pack_rows(const float* in, int64_t cin, int64_t in_stride, int64_t groups,
                      float* packed) {
  constexpr int R = kPackedRows;
  for (int64_t g = 0; g < groups; ++g, in += R * in_stride, packed += R * cin) {
    for (int quad = 0; quad < R / 4; ++quad) {
      const float* rows = in + quad * 4 * in_stride;
      float* dst = packed + quad * 4;
      int64_t ci = 0;
      if (cin >= 4) {
        // Per four channels: one load of each of the four rows, then per channel k one ST4
        // (single lane) storing lane k of the four, so 10 instructions per 16 floats where a
        // transpose in registers takes 20. In assembly because GCC 12 copies each row into four
        // more registers to build ST4's consecutive register operands.
        const float *r0 = rows, *r1 = rows + in_stride, *r2 = rows + 2 * in_stride,
                    *r3 = rows + 3 * in_stride;
        float* d = dst;
        uint64_t quads = static_cast<uint64_t>(cin) / 4;
        asm volatile(
            "1:\n"
            "ld1 {v0.4s}, [%[r0]], #16\n ld1 {v1.4s}, [%[r1]], #16\n"
            "ld1 {v2.4s}, [%[r2]], #16\n ld1 {v3.4s}, [%[r3]], #16\n"
            "st4 {v0.s, v1.s, v2.s, v3.s}[0], [%[d]], %[next]\n"
            "st4 {v0.s, v1.s, v2.s, v3.s}[1], [%[d]], %[next]\n"
            "st4 {v0.s, v1.s, v2.s, v3.s}[2], [%[d]], %[next]\n"
            "st4 {v0.s, v1.s, v2.s, v3.s}[3], [%[d]], %[next]\n"
            "subs %[quads], %[quads], #1\n b.ne 1b\n"
            : [r0] "+r"(r0), [r1] "+r"(r1), [r2] "+r"(r2), [r3] "+r"(r3), [d] "+r"(d),
              [quads] "+r"(quads)
            : [next] "r"(int64_t{R} * int64_t{sizeof(float)})
            : "cc", "memory", "v0", "v1", "v2", "v3");
        ci = cin / 4 * 4;
      }
      for (; ci < cin; ++ci)
        for (int r = 0; r < 4; ++r) dst[ci * R + r] = rows[r * in_stride + ci];
    }
  }
}

/// acc[i] += w * x[i / 4][i % 4] for the 12 rows of a packed group.
template <std::size_t... I>
[[gnu::always_inline]] inline void fma_by_lanes(float32x4_t (&acc)[kPackedRows], float32x4_t w,
                                                const float32x4x3_t& x, std::index_sequence<I...>) {
  ((acc[I] = vfmaq_laneq_f32(acc[I], w, x.val[I / 4], I % 4)), ...);
}

/// One input channel of a packed group: one load of its 12 inputs, one of its weights, and
/// 12 * NP FMLA by element.
template <int NP>
[[gnu::always_inline]] inline void packed_channel(float32x4_t (&acc0)[kPackedRows],
                                                  float32x4_t (&acc1)[kPackedRows], const float* x,
                                                  const float* w) {
  constexpr auto rows = std::make_index_sequence<kPackedRows>{};
  const float32x4x3_t v = vld1q_f32_x3(x);
  if constexpr (NP == 2) {
    const float32x4x2_t w2 = vld1q_f32_x2(w);
    fma_by_lanes(acc0, w2.val[0], v, rows);
    fma_by_lanes(acc1, w2.val[1], v, rows);
  } else {
    fma_by_lanes(acc0, vld1q_f32(w), v, rows);
  }
}

// clang-format off
// The 12 x 8 tile in assembly (tile_packed_asm). Row r of the tile accumulates in v(8 + 2r)
// (output channels 0-3) and v(9 + 2r) (channels 4-7), so one st1 stores a row.
// One input channel: its 12 inputs into v0-v2, then every row's two FMLA by element with the
// channel's weights W0, W1.
#define MOBILENET_PACKED_FMLA(A, B, V, LANE, W0, W1)          \
  "fmla v" #A ".4s, " W0 ".4s, " V ".s[" #LANE "]\n"          \
  "fmla v" #B ".4s, " W1 ".4s, " V ".s[" #LANE "]\n"
#define MOBILENET_PACKED_CHANNEL(W0, W1)                                                   \
  "ld1 {v0.4s, v1.4s, v2.4s}, [%[x]], #48\n"                                               \
  MOBILENET_PACKED_FMLA(8, 9, "v0", 0, W0, W1)   MOBILENET_PACKED_FMLA(10, 11, "v0", 1, W0, W1) \
  MOBILENET_PACKED_FMLA(12, 13, "v0", 2, W0, W1) MOBILENET_PACKED_FMLA(14, 15, "v0", 3, W0, W1) \
  MOBILENET_PACKED_FMLA(16, 17, "v1", 0, W0, W1) MOBILENET_PACKED_FMLA(18, 19, "v1", 1, W0, W1) \
  MOBILENET_PACKED_FMLA(20, 21, "v1", 2, W0, W1) MOBILENET_PACKED_FMLA(22, 23, "v1", 3, W0, W1) \
  MOBILENET_PACKED_FMLA(24, 25, "v2", 0, W0, W1) MOBILENET_PACKED_FMLA(26, 27, "v2", 1, W0, W1) \
  MOBILENET_PACKED_FMLA(28, 29, "v2", 2, W0, W1) MOBILENET_PACKED_FMLA(30, 31, "v2", 3, W0, W1)
// Epilogues of one row (registers A, B), each as the activation types compute it (activation.hpp),
// with v0 = 0, v1 = 6, v2 = 3, v3 = 1/6; v4-v6 are free.
#define MOBILENET_ROW_IDENTITY(A, B)
#define MOBILENET_ROW_RELU(A, B)                                                           \
  "fmax v" #A ".4s, v" #A ".4s, v0.4s\n fmax v" #B ".4s, v" #B ".4s, v0.4s\n"
#define MOBILENET_ROW_RELU6(A, B) MOBILENET_ROW_RELU(A, B)                                 \
  "fmin v" #A ".4s, v" #A ".4s, v1.4s\n fmin v" #B ".4s, v" #B ".4s, v1.4s\n"
#define MOBILENET_HARDSWISH(X)                                                             \
  "fadd v4.4s, v" #X ".4s, v2.4s\n fmax v4.4s, v4.4s, v0.4s\n fmin v4.4s, v4.4s, v1.4s\n"  \
  "fmul v4.4s, v4.4s, v3.4s\n fmul v" #X ".4s, v" #X ".4s, v4.4s\n"
#define MOBILENET_ROW_HARDSWISH(A, B) MOBILENET_HARDSWISH(A) MOBILENET_HARDSWISH(B)
#define MOBILENET_ROW_RESIDUAL(A, B)                                                       \
  "ld1 {v5.4s, v6.4s}, [%[res]], %[stride]\n"                                              \
  "fadd v" #A ".4s, v" #A ".4s, v5.4s\n fadd v" #B ".4s, v" #B ".4s, v6.4s\n"
#define MOBILENET_ROW_STORE(A, B) "st1 {v" #A ".4s, v" #B ".4s}, [%[out]], %[stride]\n"
// The constants the epilogues read.
#define MOBILENET_CONSTS_NONE
#define MOBILENET_CONSTS_RELU "movi v0.4s, #0\n"
#define MOBILENET_CONSTS_RELU6 MOBILENET_CONSTS_RELU "fmov v1.4s, #6.0\n"
#define MOBILENET_CONSTS_HARDSWISH                                                         \
  MOBILENET_CONSTS_RELU6 "fmov v2.4s, #3.0\n ld1r {v3.4s}, [%[sixth]]\n"
// The whole tile, with CONSTS set up after the sums and ROW(A, B) the epilogue of a row before
// it is stored.
#define MOBILENET_ROW_ALL(ROW, A, B) ROW(A, B) MOBILENET_ROW_STORE(A, B)
#define MOBILENET_PACKED_TILE(CONSTS, ROW)                                                 \
  "ld1 {v8.4s, v9.4s}, [%[bias]]\n" /* every row starts from the bias */                  \
  "mov v10.16b, v8.16b\n mov v11.16b, v9.16b\n mov v12.16b, v8.16b\n mov v13.16b, v9.16b\n" \
  "mov v14.16b, v8.16b\n mov v15.16b, v9.16b\n mov v16.16b, v8.16b\n mov v17.16b, v9.16b\n" \
  "mov v18.16b, v8.16b\n mov v19.16b, v9.16b\n mov v20.16b, v8.16b\n mov v21.16b, v9.16b\n" \
  "mov v22.16b, v8.16b\n mov v23.16b, v9.16b\n mov v24.16b, v8.16b\n mov v25.16b, v9.16b\n" \
  "mov v26.16b, v8.16b\n mov v27.16b, v9.16b\n mov v28.16b, v8.16b\n mov v29.16b, v9.16b\n" \
  "mov v30.16b, v8.16b\n mov v31.16b, v9.16b\n"                                            \
  "cbz %[quads], 2f\n"                                                                     \
  "1:\n" /* four channels per iteration */                                                 \
  "ld1 {v4.4s, v5.4s, v6.4s, v7.4s}, [%[w]], #64\n" /* the weights of two channels */      \
  MOBILENET_PACKED_CHANNEL("v4", "v5") MOBILENET_PACKED_CHANNEL("v6", "v7")                 \
  "ld1 {v4.4s, v5.4s, v6.4s, v7.4s}, [%[w]], #64\n"                                        \
  MOBILENET_PACKED_CHANNEL("v4", "v5") MOBILENET_PACKED_CHANNEL("v6", "v7")                 \
  "subs %[quads], %[quads], #1\n b.ne 1b\n"                                                \
  "2:\n cbz %[tail], 4f\n"                                                                 \
  "3:\n" /* the last cin % 4 channels */                                                   \
  "ld1 {v4.4s, v5.4s}, [%[w]], #32\n" MOBILENET_PACKED_CHANNEL("v4", "v5")                 \
  "subs %[tail], %[tail], #1\n b.ne 3b\n"                                                  \
  "4:\n"                                                                                   \
  CONSTS                                                                                   \
  MOBILENET_ROW_ALL(ROW, 8, 9)   MOBILENET_ROW_ALL(ROW, 10, 11) MOBILENET_ROW_ALL(ROW, 12, 13) \
  MOBILENET_ROW_ALL(ROW, 14, 15) MOBILENET_ROW_ALL(ROW, 16, 17) MOBILENET_ROW_ALL(ROW, 18, 19) \
  MOBILENET_ROW_ALL(ROW, 20, 21) MOBILENET_ROW_ALL(ROW, 22, 23) MOBILENET_ROW_ALL(ROW, 24, 25) \
  MOBILENET_ROW_ALL(ROW, 26, 27) MOBILENET_ROW_ALL(ROW, 28, 29) MOBILENET_ROW_ALL(ROW, 30, 31)
// clang-format on

/// The epilogues (with or without a residual) that tile_packed_asm has in assembly.
template <class Epilogue, bool Residual>
inline constexpr bool kAsmEpilogue =
    Residual ? std::is_same_v<Epilogue, BiasActResidual<act::Identity>>
             : std::is_same_v<Epilogue, BiasActResidual<act::Identity>> ||
                   std::is_same_v<Epilogue, BiasActResidual<act::ReLU>> ||
                   std::is_same_v<Epilogue, BiasActResidual<act::ReLU6>> ||
                   std::is_same_v<Epilogue, BiasActResidual<act::HardSwish>>;

/// A full 12 x 8 tile (all 8 output channels valid) from a packed group, all in assembly: the
/// accumulators start from the bias; four input channels per iteration take 4 loads of inputs,
/// 2 of weights, 96 FMLA by element and 2 instructions of loop control (26 per channel where
/// GCC's loop over packed_channel takes 28); then each row's activation (and residual) and one
/// store, 12 rows apart by post-increment (GCC's epilogue from intrinsics took about twice the
/// instructions, mostly addresses). Same operations in the same order as the other tiles, so the
/// same results. In assembly because GCC 12, given the unrolled intrinsics, cannot fit the 24
/// accumulators plus the inputs' three consecutive registers and moves some to the stack; and
/// an asm statement takes at most 30 operands, so the accumulators are its own registers.
template <class Epilogue, bool Residual>
[[gnu::always_inline]] inline void tile_packed_asm(const float* x, int64_t cin, const float* w,
                                                   float* out, const Epilogue& e,
                                                   int64_t out_stride) {
  static_assert(kAsmEpilogue<Epilogue, Residual>);
  using Act = typename Epilogue::Activation;
  const float* bias = e.bias;
  const float* res = e.residual;
  static constexpr float kSixth = 1.0f / 6.0f;  // as act::HardSigmoid multiplies
  uint64_t quads = static_cast<uint64_t>(cin) / 4, tail = static_cast<uint64_t>(cin) % 4;
  const int64_t stride = out_stride * static_cast<int64_t>(sizeof(float));
#define MOBILENET_PACKED_ASM(CONSTS, ROW)                                                     \
  asm volatile(MOBILENET_PACKED_TILE(CONSTS, ROW)                                             \
               : [x] "+r"(x), [w] "+r"(w), [quads] "+r"(quads), [tail] "+r"(tail),            \
                 [out] "+r"(out), [res] "+r"(res)                                             \
               : [bias] "r"(bias), [stride] "r"(stride), [sixth] "r"(&kSixth)                 \
               : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9",  \
                 "v10", "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", \
                 "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31")
  if constexpr (Residual)
    MOBILENET_PACKED_ASM(MOBILENET_CONSTS_NONE, MOBILENET_ROW_RESIDUAL);
  else if constexpr (std::is_same_v<Act, act::ReLU>)
    MOBILENET_PACKED_ASM(MOBILENET_CONSTS_RELU, MOBILENET_ROW_RELU);
  else if constexpr (std::is_same_v<Act, act::ReLU6>)
    MOBILENET_PACKED_ASM(MOBILENET_CONSTS_RELU6, MOBILENET_ROW_RELU6);
  else if constexpr (std::is_same_v<Act, act::HardSwish>)
    MOBILENET_PACKED_ASM(MOBILENET_CONSTS_HARDSWISH, MOBILENET_ROW_HARDSWISH);
  else
    MOBILENET_PACKED_ASM(MOBILENET_CONSTS_NONE, MOBILENET_ROW_IDENTITY);
#undef MOBILENET_PACKED_ASM
}
#undef MOBILENET_PACKED_TILE
#undef MOBILENET_CONSTS_HARDSWISH
#undef MOBILENET_CONSTS_RELU6
#undef MOBILENET_CONSTS_RELU
#undef MOBILENET_CONSTS_NONE
#undef MOBILENET_ROW_ALL
#undef MOBILENET_ROW_STORE
#undef MOBILENET_ROW_RESIDUAL
#undef MOBILENET_ROW_HARDSWISH
#undef MOBILENET_HARDSWISH
#undef MOBILENET_ROW_RELU6
#undef MOBILENET_ROW_RELU
#undef MOBILENET_ROW_IDENTITY
#undef MOBILENET_PACKED_CHANNEL
#undef MOBILENET_PACKED_FMLA

/// A kPackedRows x (NP packets) tile from a packed group, for what tile_packed_asm lacks (partial
/// panels, other activations): per input channel one load of the 12 inputs, one of the weights,
/// and 12 * NP FMLA by element, then the epilogue of the other AArch64 tiles. The accumulators are
/// only ever indexed by constants (index sequences, no loops over them), which GCC needs to keep
/// them in registers; and the tile is never inlined, so that constants of the caller do not take
/// registers from them (when inlined, GCC spills and reloads one accumulator in every iteration).
template <int NP, bool Partial, class Epilogue>
[[gnu::noinline]] void tile_packed(const float* packed, int64_t cin, const float* panel, float* out,
                                   Epilogue e, int64_t cout, int64_t col, int64_t out_stride) {
  constexpr auto rows = std::make_index_sequence<kPackedRows>{};
  float32x4_t acc0[kPackedRows], acc1[kPackedRows];
  splat(acc0, e.start(0), rows);
  splat(acc1, e.start(4), rows);
  for (int64_t ci = 0; ci < cin; ++ci)
    packed_channel<NP>(acc0, acc1, packed + ci * kPackedRows, panel + ci * kPanel);
  store_rows<NP, Partial>(acc0, acc1, out, e, cout, col, out_stride, rows);
}

/// Panels [p_begin, p_end) over `groups` packed groups of rows, output rows `out_stride` floats
/// apart. tile_packed_asm is inlined here, so the vector registers it uses are saved once per
/// call rather than once per tile.
template <class Act>
inline void packed_rows(const float* packed, int64_t groups, const PackedPointwise& w, float* out,
                        const float* residual, int64_t out_stride, int64_t p_begin, int64_t p_end) {
  const int64_t cin = w.cin, cout = w.cout;
  for (int64_t g = 0; g < groups; ++g) {
    const float* a = packed + g * kPackedRows * cin;
    const int64_t row = g * kPackedRows;
    for (int64_t p = p_begin; p < p_end; ++p) {
      const int64_t col = p * kPanel;
      const float* panel = w.weights.data() + p * cin * kPanel;
      float* o = out + row * out_stride + col;
      using Epilogue = BiasActResidual<Act>;
      const Epilogue e{w.bias.data() + col, residual ? residual + row * out_stride + col : nullptr};
      const int64_t left = cout - col;
      if (left >= 8) {
        if constexpr (kAsmEpilogue<Epilogue, false>) {
          if (!e.residual) {
            tile_packed_asm<Epilogue, false>(a, cin, panel, o, e, out_stride);
            continue;
          }
        }
        if constexpr (kAsmEpilogue<Epilogue, true>) {
          if (e.residual) {
            tile_packed_asm<Epilogue, true>(a, cin, panel, o, e, out_stride);
            continue;
          }
        }
        tile_packed<2, false>(a, cin, panel, o, e, cout, col, out_stride);
      } else if (left > 4)
        tile_packed<2, true>(a, cin, panel, o, e, cout, col, out_stride);
      else if (left == 4)
        tile_packed<1, false>(a, cin, panel, o, e, cout, col, out_stride);
      else
        tile_packed<1, true>(a, cin, panel, o, e, cout, col, out_stride);
    }
  }
}

}  // namespace pointwise_detail
}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
