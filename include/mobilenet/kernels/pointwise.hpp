#pragma once
// Pointwise (1x1) convolution and fully connected layers as one GEMM kernel:
//   out[r, co] = act(bias[co] + sum_ci in[r, ci] * w[co, ci]) (+ residual[r, co])
// (the sum starts from the bias, so the epilogue has no addition for it)
// over NHWC rows r. Weights are packed once at load into panels of kPanel output channels,
// ci-major inside a panel, so the micro-kernel streams one panel row per input channel and
// keeps a kRows x kPanel block of accumulators in registers. Each output sums over ci in order,
// whatever the row split, so results do not depend on the thread count.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#include "mobilenet/core/aligned_buffer.hpp"
#include "mobilenet/kernels/packet.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

namespace pointwise_detail {
/// Output channels per weight panel: two packets.
inline constexpr int kPanel = 2 * simd::kWidth;
/// Rows per micro-tile: as many as the register file holds (2 accumulators per row plus two
/// weight packets and a broadcast): 32 vector registers on AVX-512 and AArch64, 16 elsewhere.
#if defined(EIGEN_VECTORIZE_AVX512) || defined(__aarch64__)
inline constexpr int kRows = 8;
#else
inline constexpr int kRows = 4;
#endif
}  // namespace pointwise_detail

/// Weights of a pointwise conv / linear layer in the kernel's layout, with zero-padded bias.
struct PackedPointwise {
  int64_t cin = 0, cout = 0;
  AlignedBuffer weights;  // [panels][cin][kPanel]
  AlignedBuffer bias;     // [panels * kPanel]
};

inline int64_t pointwise_panels(int64_t cout) {
  return (cout + pointwise_detail::kPanel - 1) / pointwise_detail::kPanel;
}

/// Packs `w` given as PyTorch's [cout][cin] (a 1x1 conv or Linear weight) and `bias` [cout].
inline PackedPointwise pack_pointwise(const float* w, const float* bias, int64_t cin,
                                      int64_t cout) {
  using pointwise_detail::kPanel;
  const int64_t panels = pointwise_panels(cout);
  PackedPointwise p{cin, cout, AlignedBuffer(static_cast<std::size_t>(panels * cin * kPanel)),
                    AlignedBuffer(static_cast<std::size_t>(panels * kPanel))};
  for (int64_t co = 0; co < cout; ++co) {
    const int64_t panel = co / kPanel, lane = co % kPanel;
    for (int64_t ci = 0; ci < cin; ++ci)
      p.weights.data()[(panel * cin + ci) * kPanel + lane] = w[co * cin + ci];
    p.bias.data()[co] = bias ? bias[co] : 0.0f;
  }
  return p;
}

namespace pointwise_detail {

/// The epilogue of one accumulator packet: activation, + residual, stored; a partial packet
/// (`valid` < W channels left) through a buffer, so nothing is written past `cout`.
template <class Act>
inline void store_packet(
    simd::Packet acc, float* out, const float* residual,
    int64_t valid) {  // by value: a reference would keep callers' accumulators in memory
  constexpr int W = simd::kWidth;
  const simd::Packet v = Act::apply(acc);
  if (valid >= W) {
    simd::store(out, residual ? simd::add(v, simd::load(residual)) : v);
  } else if (valid > 0) {
    alignas(64) float tmp[W];
    simd::store(tmp, v);
    for (int64_t k = 0; k < valid; ++k) out[k] = residual ? tmp[k] + residual[k] : tmp[k];
  }
}

/// The epilogue of a tile (store_packet of each accumulator).
template <int Rows, int Panels, int NP, class Act>
inline void store_tile(simd::Packet (&acc)[Rows][Panels][NP], float* out, const float* residual,
                       int64_t cout, int64_t col) {
  constexpr int W = simd::kWidth;
  for (int q = 0; q < Panels; ++q)
    for (int j = 0; j < NP; ++j) {
      const int64_t offset = q * kPanel + j * W;
      for (int r = 0; r < Rows; ++r)
        store_packet<Act>(acc[r][q][j], out + r * cout + offset,
                          residual ? residual + r * cout + offset : nullptr, cout - (col + offset));
    }
}

/// One tile: Rows input rows times Panels consecutive weight panels, NP packets of each (NP = 1
/// when a panel's second packet would be all padding). Every output element is one accumulator
/// starting from the bias and summing fma(in[r, ci], w[ci, co]) for ci = 0..cin-1 in order, then
/// the epilogue: the same operations whichever tile shape (or ISA-specific tile) computes it, so
/// results do not depend on how rows are split.
template <int Rows, int Panels, int NP, class Act>
inline void tile(const float* in, int64_t cin, const float* panel, const float* bias, float* out,
                 const float* residual, int64_t cout, int64_t col) {
  constexpr int W = simd::kWidth;
  const int64_t panel_size = cin * kPanel;
  simd::Packet acc[Rows][Panels][NP];
  for (int r = 0; r < Rows; ++r)
    for (int q = 0; q < Panels; ++q)
      for (int j = 0; j < NP; ++j) acc[r][q][j] = simd::load_aligned(bias + q * kPanel + j * W);
  for (int64_t ci = 0; ci < cin; ++ci) {
    simd::Packet wv[Panels][NP];
    for (int q = 0; q < Panels; ++q)
      for (int j = 0; j < NP; ++j)
        wv[q][j] = simd::load_aligned(panel + q * panel_size + ci * kPanel + j * W);
    for (int r = 0; r < Rows; ++r) {
      const simd::Packet a = simd::broadcast(in[r * cin + ci]);
      for (int q = 0; q < Panels; ++q)
        for (int j = 0; j < NP; ++j) acc[r][q][j] = simd::fmadd(a, wv[q][j], acc[r][q][j]);
    }
  }
  store_tile<Rows, Panels, NP, Act>(acc, out, residual, cout, col);
}

#if defined(EIGEN_VECTORIZE_NEON) && defined(__aarch64__)
/// acc[r] += w * a[r][lane K] for every row r: one FMLA by element per row. This and the other
/// helpers of the AArch64 tiles are always inlined: in a large translation unit GCC otherwise
/// calls them, and the accumulators go through memory on every call.
template <int K, std::size_t... R>
[[gnu::always_inline]] inline void fma_lane(float32x4_t (&acc)[sizeof...(R)], float32x4_t w,
                                            const float32x4_t (&a)[sizeof...(R)],
                                            std::index_sequence<R...>) {
  ((acc[R] = vfmaq_laneq_f32(acc[R], w, a[R], K)), ...);
}

/// Lane K of every row's input vector against weight row K of the panel.
template <int K, int NP, std::size_t... R>
[[gnu::always_inline]] inline void lane_step(float32x4_t (&acc0)[sizeof...(R)],
                                             float32x4_t (&acc1)[sizeof...(R)], const float* w,
                                             const float32x4_t (&a)[sizeof...(R)],
                                             std::index_sequence<R...> rows) {
  fma_lane<K>(acc0, vld1q_f32(w + K * kPanel), a, rows);
  if constexpr (NP == 2) fma_lane<K>(acc1, vld1q_f32(w + K * kPanel + 4), a, rows);
}

/// Four input channels from `ci` of every row of an NHWC tile: rows r's channels ci..ci+3 are
/// loaded as one vector, then used lane by lane against four weight rows of the panel.
template <int NP, std::size_t... R>
[[gnu::always_inline]] inline void by_lane_step(float32x4_t (&acc0)[sizeof...(R)],
                                                float32x4_t (&acc1)[sizeof...(R)], const float* in,
                                                int64_t cin, const float* w,
                                                std::index_sequence<R...> rows) {
  const float32x4_t a[sizeof...(R)] = {vld1q_f32(in + int64_t{R} * cin)...};
  lane_step<0, NP>(acc0, acc1, w, a, rows);
  lane_step<1, NP>(acc0, acc1, w, a, rows);
  lane_step<2, NP>(acc0, acc1, w, a, rows);
  lane_step<3, NP>(acc0, acc1, w, a, rows);
}

/// One input channel of every row (the last cin % 4): FMLA by a scalar.
template <int NP, std::size_t... R>
[[gnu::always_inline]] inline void by_scalar_step(float32x4_t (&acc0)[sizeof...(R)],
                                                  float32x4_t (&acc1)[sizeof...(R)],
                                                  const float* in, int64_t cin, const float* w,
                                                  std::index_sequence<R...>) {
  const float32x4_t w0 = vld1q_f32(w);
  ((acc0[R] = vfmaq_n_f32(acc0[R], w0, in[int64_t{R} * cin])), ...);
  if constexpr (NP == 2) {
    const float32x4_t w1 = vld1q_f32(w + 4);
    ((acc1[R] = vfmaq_n_f32(acc1[R], w1, in[int64_t{R} * cin])), ...);
  }
}

/// acc[i] = v for every i (the accumulators start from the bias).
template <std::size_t... I>
[[gnu::always_inline]] inline void splat(float32x4_t (&acc)[sizeof...(I)], float32x4_t v,
                                         std::index_sequence<I...>) {
  ((acc[I] = v), ...);
}

/// Activation, + residual: one full packet of one row.
template <class Act>
[[gnu::always_inline]] inline float32x4_t finish(float32x4_t v, const float* residual) {
  v = Act::apply(v);
  return residual ? vaddq_f32(v, vld1q_f32(residual)) : v;
}

/// The epilogue of one row of a tile: its NP packets a0 (, a1) to out.
template <class Act, int NP>
[[gnu::always_inline]] inline void store_row(float32x4_t a0, float32x4_t a1, float* out,
                                             const float* residual) {
  const float32x4_t v0 = finish<Act>(a0, residual);
  if constexpr (NP == 2) {
    const float32x4_t v1 = finish<Act>(a1, residual ? residual + 4 : nullptr);
    vst1q_f32(out, v0);  // adjacent: stored as one pair
    vst1q_f32(out + 4, v1);
  } else {
    vst1q_f32(out, v0);
  }
}

/// The epilogue of a tile: row I's packets acc0[I] (and acc1[I]) to out + I * cout. Partial:
/// the last packet has fewer than 4 channels left; the accumulators go through memory then
/// (store_tile's buffer). Only the full case is straight-line code: any branch on the channel
/// count here made GCC store the accumulators to the stack in every iteration of the tile's loop.
template <class Act, int NP, bool Partial, std::size_t... I>
[[gnu::always_inline]] inline void store_rows(const float32x4_t (&acc0)[sizeof...(I)],
                                              const float32x4_t (&acc1)[sizeof...(I)], float* out,
                                              const float* residual, int64_t cout, int64_t col,
                                              std::index_sequence<I...>) {
  if constexpr (Partial) {
    if constexpr (NP == 2) {
      simd::Packet rows[sizeof...(I)][1][2] = {{{acc0[I], acc1[I]}}...};
      store_tile<sizeof...(I), 1, 2, Act>(rows, out, residual, cout, col);
    } else {
      simd::Packet rows[sizeof...(I)][1][1] = {{{acc0[I]}}...};
      store_tile<sizeof...(I), 1, 1, Act>(rows, out, residual, cout, col);
    }
  } else {
    (store_row<Act, NP>(acc0[I], acc1[I], out + int64_t{I} * cout,
                        residual ? residual + int64_t{I} * cout : nullptr),
     ...);
  }
}

/// AArch64 tile of Rows NHWC rows x NP packets with FMLA by element (four input channels of a
/// row per vector load, where the generic tile needs a load-and-duplicate per row and channel).
/// fma(w, a[lane], acc) rounds exactly like the generic fmadd, so results are identical.
/// Accumulators are indexed by constants only and the tile is not inlined: see tile_packed.
template <int Rows, int NP, bool Partial, class Act>
[[gnu::noinline]] void tile_by_lane(const float* in, int64_t cin, const float* panel,
                                    const float* bias, float* out, const float* residual,
                                    int64_t cout, int64_t col) {
  constexpr auto rows = std::make_index_sequence<Rows>{};
  float32x4_t acc0[Rows], acc1[Rows];
  splat(acc0, vld1q_f32(bias), rows);
  splat(acc1, vld1q_f32(bias + 4), rows);  // bias is zero-padded to whole panels
  int64_t ci = 0;
  for (; ci + 4 <= cin; ci += 4)
    by_lane_step<NP>(acc0, acc1, in + ci, cin, panel + ci * kPanel, rows);
  for (; ci < cin; ++ci) by_scalar_step<NP>(acc0, acc1, in + ci, cin, panel + ci * kPanel, rows);
  store_rows<Act, NP, Partial>(acc0, acc1, out, residual, cout, col, rows);
}

template <int Rows, int Panels, int NP, class Act>
inline void full_tile(const float* in, int64_t cin, const float* panel, const float* bias,
                      float* out, const float* residual, int64_t cout, int64_t col) {
  // Several panels (row tails, fully connected layers) run panel by panel: one input vector
  // serves four channels of a row here, where the generic tile needs a load per row and channel.
  for (int q = 0; q < Panels; ++q, panel += cin * kPanel, bias += kPanel, out += kPanel,
           residual = residual ? residual + kPanel : nullptr, col += kPanel) {
    if (cout - col >= 4 * NP)
      tile_by_lane<Rows, NP, false, Act>(in, cin, panel, bias, out, residual, cout, col);
    else
      tile_by_lane<Rows, NP, true, Act>(in, cin, panel, bias, out, residual, cout, col);
  }
}

/// Rows per tile of the packed AArch64 path (ncnn's arm64 sgemm uses the same 12 x 8 tile):
/// 12 x 2 accumulators, 3 input and 2 weight registers of the 32.
inline constexpr int kPackedRows = 12;
/// Floats of input packed at a time (64 KiB, on the stack): the packed path needs
/// kPackedRows * cin to fit, i.e. cin <= 1365.
inline constexpr int64_t kPackFloats = 16384;

/// Packs `groups` groups of kPackedRows NHWC rows ([row][cin]) channel-major per group
/// ([group][cin][kPackedRows]), so the tile reads a group's 12 inputs of one channel with one
/// load instruction. 4 x 4 blocks are transposed in registers.
inline void pack_rows(const float* in, int64_t cin, int64_t groups, float* packed) {
  constexpr int R = kPackedRows;
  for (int64_t g = 0; g < groups; ++g, in += R * cin, packed += R * cin) {
    for (int quad = 0; quad < R / 4; ++quad) {
      const float* rows = in + quad * 4 * cin;
      float* dst = packed + quad * 4;
      int64_t ci = 0;
      for (; ci + 4 <= cin; ci += 4) {
        const float32x4_t r0 = vld1q_f32(rows + ci), r1 = vld1q_f32(rows + cin + ci);
        const float32x4_t r2 = vld1q_f32(rows + 2 * cin + ci), r3 = vld1q_f32(rows + 3 * cin + ci);
        // 4 x 4 transpose: column k of (r0..r3) is channel ci + k of the four rows.
        const float32x4_t t0 = vtrn1q_f32(r0, r1), t1 = vtrn2q_f32(r0, r1);
        const float32x4_t t2 = vtrn1q_f32(r2, r3), t3 = vtrn2q_f32(r2, r3);
        const auto lo = [](float32x4_t a, float32x4_t b) {
          return vreinterpretq_f32_f64(
              vtrn1q_f64(vreinterpretq_f64_f32(a), vreinterpretq_f64_f32(b)));
        };
        const auto hi = [](float32x4_t a, float32x4_t b) {
          return vreinterpretq_f32_f64(
              vtrn2q_f64(vreinterpretq_f64_f32(a), vreinterpretq_f64_f32(b)));
        };
        vst1q_f32(dst + (ci + 0) * R, lo(t0, t2));
        vst1q_f32(dst + (ci + 1) * R, lo(t1, t3));
        vst1q_f32(dst + (ci + 2) * R, hi(t0, t2));
        vst1q_f32(dst + (ci + 3) * R, hi(t1, t3));
      }
      for (; ci < cin; ++ci)
        for (int r = 0; r < 4; ++r) dst[ci * R + r] = rows[r * cin + ci];
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

// One channel of the 12 x 8 assembly loop below: its 12 inputs into v0-v2, then for each row r
// v(8 + r) += W0 * input r and v(20 + r) += W1 * input r.
#define MOBILENET_PACKED_FMLA(A0, A1, V, LANE, W0, W1) \
  "fmla v" #A0 ".4s, " W0 ".4s, " V ".s[" #LANE        \
  "]\n"                                                \
  "fmla v" #A1 ".4s, " W1 ".4s, " V ".s[" #LANE "]\n"
#define MOBILENET_PACKED_CHANNEL(W0, W1)                                                           \
  "ld1 {v0.4s, v1.4s, v2.4s}, [%[x]], #48\n" MOBILENET_PACKED_FMLA(8, 20, "v0", 0, W0, W1)         \
      MOBILENET_PACKED_FMLA(9, 21, "v0", 1, W0, W1) MOBILENET_PACKED_FMLA(10, 22, "v0", 2, W0, W1) \
          MOBILENET_PACKED_FMLA(11, 23, "v0", 3, W0, W1)                                           \
              MOBILENET_PACKED_FMLA(12, 24, "v1", 0, W0, W1)                                       \
                  MOBILENET_PACKED_FMLA(13, 25, "v1", 1, W0, W1)                                   \
                      MOBILENET_PACKED_FMLA(14, 26, "v1", 2, W0, W1)                               \
                          MOBILENET_PACKED_FMLA(15, 27, "v1", 3, W0, W1)                           \
                              MOBILENET_PACKED_FMLA(16, 28, "v2", 0, W0, W1)                       \
                                  MOBILENET_PACKED_FMLA(17, 29, "v2", 1, W0, W1)                   \
                                      MOBILENET_PACKED_FMLA(18, 30, "v2", 2, W0, W1)               \
                                          MOBILENET_PACKED_FMLA(19, 31, "v2", 3, W0, W1)

/// The bias plus the sums of the first 4 * quads input channels of a packed group for NP == 2, into
/// sums[0..11] (first packet of rows 0..11) and sums[12..23] (second packet). Four channels per
/// iteration: 4 loads of inputs, 2 of weights, 96 FMLA by element and 2 of loop control, so 26
/// instructions per channel where GCC's loop over packed_channel takes 28. In assembly because
/// GCC 12, given the unrolled intrinsics, cannot fit the 24 accumulators plus the inputs' three
/// consecutive registers and moves some accumulators through the stack; and an asm statement
/// takes at most 30 operands, so the accumulators are its own registers (v8-v31), zeroed here
/// and stored at the end. The same FMLA in the same order as packed_channel: the same results.
[[gnu::always_inline]] inline void packed_quads(float32x4_t (&sums)[2 * kPackedRows],
                                                const float* bias, const float*& x, const float*& w,
                                                int64_t quads) {
  float* to = reinterpret_cast<float*>(sums);
  asm volatile(
      "ld1 {v8.4s}, [%[bias]]\n ldr q20, [%[bias], #16]\n"  // every row starts from the bias
      "mov v9.16b, v8.16b\n mov v10.16b, v8.16b\n mov v11.16b, v8.16b\n"
      "mov v12.16b, v8.16b\n mov v13.16b, v8.16b\n mov v14.16b, v8.16b\n mov v15.16b, v8.16b\n"
      "mov v16.16b, v8.16b\n mov v17.16b, v8.16b\n mov v18.16b, v8.16b\n mov v19.16b, v8.16b\n"
      "mov v21.16b, v20.16b\n mov v22.16b, v20.16b\n mov v23.16b, v20.16b\n"
      "mov v24.16b, v20.16b\n mov v25.16b, v20.16b\n mov v26.16b, v20.16b\n mov v27.16b, v20.16b\n"
      "mov v28.16b, v20.16b\n mov v29.16b, v20.16b\n mov v30.16b, v20.16b\n mov v31.16b, v20.16b\n"
      "1:\n"
      "ld1 {v4.4s, v5.4s, v6.4s, v7.4s}, [%[w]], #64\n"  // the weights of two channels
      MOBILENET_PACKED_CHANNEL("v4", "v5") MOBILENET_PACKED_CHANNEL("v6", "v7")
      "ld1 {v4.4s, v5.4s, v6.4s, v7.4s}, [%[w]], #64\n"
      MOBILENET_PACKED_CHANNEL("v4", "v5") MOBILENET_PACKED_CHANNEL("v6", "v7")
      "subs %[n], %[n], #1\n"
      "b.ne 1b\n"
      "st1 {v8.4s, v9.4s, v10.4s, v11.4s}, [%[to]], #64\n"
      "st1 {v12.4s, v13.4s, v14.4s, v15.4s}, [%[to]], #64\n"
      "st1 {v16.4s, v17.4s, v18.4s, v19.4s}, [%[to]], #64\n"
      "st1 {v20.4s, v21.4s, v22.4s, v23.4s}, [%[to]], #64\n"
      "st1 {v24.4s, v25.4s, v26.4s, v27.4s}, [%[to]], #64\n"
      "st1 {v28.4s, v29.4s, v30.4s, v31.4s}, [%[to]], #64\n"
      : [x] "+r"(x), [w] "+r"(w), [n] "+r"(quads), [to] "+r"(to)
      : [bias] "r"(bias)
      : "cc", "memory", "v0", "v1", "v2", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11",
        "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23",
        "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31");
}
#undef MOBILENET_PACKED_CHANNEL
#undef MOBILENET_PACKED_FMLA

/// acc0 = sums[0..11], acc1 = sums[12..23].
template <std::size_t... I>
[[gnu::always_inline]] inline void load_sums(float32x4_t (&acc0)[kPackedRows],
                                             float32x4_t (&acc1)[kPackedRows],
                                             const float32x4_t (&sums)[2 * kPackedRows],
                                             std::index_sequence<I...>) {
  ((acc0[I] = sums[I], acc1[I] = sums[kPackedRows + I]), ...);
}

/// A kPackedRows x (NP packets) tile from a packed group: per input channel, one load of the 12
/// inputs, one of the weights, and 12 * NP FMLA by element. Same sums in the same order as the
/// other tiles, same epilogue. The accumulators are only ever indexed by constants (index
/// sequences, no loops over them), which GCC needs to keep them in registers; and the tile is
/// never inlined, so that constants of the caller do not take registers from them (when inlined,
/// GCC spills and reloads one accumulator in every iteration).
template <int NP, bool Partial, class Act>
[[gnu::noinline]] void tile_packed(const float* packed, int64_t cin, const float* panel,
                                   const float* bias, float* out, const float* residual,
                                   int64_t cout, int64_t col) {
  constexpr auto rows = std::make_index_sequence<kPackedRows>{};
  float32x4_t acc0[kPackedRows], acc1[kPackedRows];
  const float* x = packed;
  const float* w = panel;
  int64_t ci = 0;
  if (NP == 2 && cin >= 4) {
    float32x4_t sums[2 * kPackedRows];
    packed_quads(sums, bias, x, w, cin / 4);
    load_sums(acc0, acc1, sums, rows);
    ci = cin / 4 * 4;
  } else {
    splat(acc0, vld1q_f32(bias), rows);
    splat(acc1, vld1q_f32(bias + 4), rows);  // bias is zero-padded to whole panels
  }
  for (; ci < cin; ++ci, x += kPackedRows, w += kPanel) packed_channel<NP>(acc0, acc1, x, w);
  store_rows<Act, NP, Partial>(acc0, acc1, out, residual, cout, col, rows);
}

/// All panels over `groups` packed groups of rows.
template <class Act>
inline void packed_rows(const float* packed, int64_t groups, const PackedPointwise& w, float* out,
                        const float* residual) {
  const int64_t cin = w.cin, cout = w.cout, panels = pointwise_panels(cout);
  for (int64_t g = 0; g < groups; ++g) {
    const float* a = packed + g * kPackedRows * cin;
    const int64_t row = g * kPackedRows;
    for (int64_t p = 0; p < panels; ++p) {
      const int64_t col = p * kPanel;
      const float* panel = w.weights.data() + p * cin * kPanel;
      float* o = out + row * cout + col;
      const float* res = residual ? residual + row * cout + col : nullptr;
      const float* b = w.bias.data() + col;
      const int64_t left = cout - col;
      if (left >= 8)
        tile_packed<2, false, Act>(a, cin, panel, b, o, res, cout, col);
      else if (left > 4)
        tile_packed<2, true, Act>(a, cin, panel, b, o, res, cout, col);
      else if (left == 4)
        tile_packed<1, false, Act>(a, cin, panel, b, o, res, cout, col);
      else
        tile_packed<1, true, Act>(a, cin, panel, b, o, res, cout, col);
    }
  }
}
#define MOBILENET_POINTWISE_PACKED 1
#else
template <int Rows, int Panels, int NP, class Act>
inline void full_tile(const float* in, int64_t cin, const float* panel, const float* bias,
                      float* out, const float* residual, int64_t cout, int64_t col) {
  tile<Rows, Panels, NP, Act>(in, cin, panel, bias, out, residual, cout, col);
}
#endif

/// Rows rows (compile-time) times all panels: Panels at a time while enough remain (more
/// independent accumulators when there are few rows, e.g. the classifier at batch 1).
template <int Rows, int Panels, class Act>
inline void row_tile(const float* in, const PackedPointwise& w, float* out, const float* residual) {
  const int64_t cin = w.cin, cout = w.cout, panels = pointwise_panels(cout);
  const auto at = [&](int64_t p) {
    const int64_t col = p * kPanel;
    return std::make_tuple(w.weights.data() + p * cin * kPanel, w.bias.data() + col, out + col,
                           residual ? residual + col : nullptr, col);
  };
  int64_t p = 0;
  for (; p + Panels <= panels - 1; p += Panels) {  // all but the last panel are full
    const auto [panel, bias, o, res, col] = at(p);
    full_tile<Rows, Panels, 2, Act>(in, cin, panel, bias, o, res, cout, col);
  }
  for (; p < panels; ++p) {
    const auto [panel, bias, o, res, col] = at(p);
    if (cout - col > simd::kWidth)
      full_tile<Rows, 1, 2, Act>(in, cin, panel, bias, o, res, cout, col);
    else
      full_tile<Rows, 1, 1, Act>(in, cin, panel, bias, o, res, cout, col);
  }
}

/// Row counts that threads' chunks are multiples of: whole tiles of the main path.
#ifdef MOBILENET_POINTWISE_PACKED
inline constexpr int kRowGrain = kPackedRows;
#else
inline constexpr int kRowGrain = kRows;
#endif

/// Rows in [1, kRows) with as many panels per tile as keep about 2 * kRows accumulators.
template <class Act, int Rows = 1>
inline void tail_rows(int64_t rows, const float* in, const PackedPointwise& w, float* out,
                      const float* residual) {
  if constexpr (Rows < kRows) {
    if (rows == Rows)
      row_tile<Rows, std::max(1, kRows / Rows), Act>(in, w, out, residual);
    else
      tail_rows<Act, Rows + 1>(rows, in, w, out, residual);
  }
}

}  // namespace pointwise_detail

/// Computes rows [row_begin, row_end) of `out` ([rows][cout]) from `in` ([rows][cin]).
/// `residual`, if not null, has the layout of `out` and is added after the activation.
template <class Act>
void pointwise(const float* in, const PackedPointwise& w, float* out, const float* residual,
               int64_t row_begin, int64_t row_end) {
  using namespace pointwise_detail;
  const int64_t cin = w.cin, cout = w.cout;
  const auto res_at = [&](int64_t r) { return residual ? residual + r * cout : nullptr; };
#ifdef MOBILENET_POINTWISE_PACKED
  if (kPackedRows * cin <= kPackFloats && row_end - row_begin >= kPackedRows) {
    // Blocks of whole groups, at most kPackFloats of input: packed once, then every panel.
    alignas(16) float packed[kPackFloats];
    const int64_t block_groups = kPackFloats / (kPackedRows * cin);
    int64_t r = row_begin;
    for (; r + kPackedRows <= row_end;) {
      const int64_t groups = std::min(block_groups, (row_end - r) / kPackedRows);
      pack_rows(in + r * cin, cin, groups, packed);
      packed_rows<Act>(packed, groups, w, out + r * cout, res_at(r));
      r += groups * kPackedRows;
    }
    for (; r + kRows <= row_end; r += kRows)
      row_tile<kRows, 1, Act>(in + r * cin, w, out + r * cout, res_at(r));
    if (r < row_end) tail_rows<Act>(row_end - r, in + r * cin, w, out + r * cout, res_at(r));
    return;
  }
#endif
  // Rows per block: about 64 KiB of input, so a block stays in L2 while all panels pass over it.
  const int64_t block =
      std::max<int64_t>(kRows, (16384 / std::max<int64_t>(cin, 1)) / kRows * kRows);
  for (int64_t b0 = row_begin; b0 < row_end; b0 += block) {
    const int64_t b1 = std::min(row_end, b0 + block);
    int64_t r = b0;
    for (; r + kRows <= b1; r += kRows)
      row_tile<kRows, 1, Act>(in + r * cin, w, out + r * cout, res_at(r));
    if (r < b1) tail_rows<Act>(b1 - r, in + r * cin, w, out + r * cout, res_at(r));
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
