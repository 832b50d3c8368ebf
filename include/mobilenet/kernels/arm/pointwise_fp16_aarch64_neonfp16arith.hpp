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
