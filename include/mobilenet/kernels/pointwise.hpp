#pragma once
// Pointwise (1x1) convolution and fully connected layers as one GEMM kernel:
//   out[r, co] = act(bias[co] + sum_ci in[r, ci] * w[co, ci]) (+ residual[r, co])
// over NHWC rows r. Weights are packed once at load into panels of kPanel output channels,
// ci-major inside a panel, so the micro-kernel streams one panel row per input channel and
// keeps a kRows x kPanel block of accumulators in registers. Each output sums over ci in order,
// whatever the row split, so results do not depend on the thread count.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>

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

/// One tile: Rows input rows times Panels consecutive weight panels, NP packets of each (NP = 1
/// when a panel's second packet would be all padding). Every output element is one accumulator
/// summing ci = 0..cin-1 in order, then + bias, activation, + residual: the same operations
/// whichever tile shape computes it, so results do not depend on how rows are split.
/// The epilogue of a tile: + bias, activation, + residual, stored (partial packets through a
/// buffer, so nothing is written past channel `cout`).
template <int Rows, int Panels, int NP, class Act>
inline void store_tile(simd::Packet (&acc)[Rows][Panels][NP], const float* bias, float* out,
                       const float* residual, int64_t cout, int64_t col) {
  constexpr int W = simd::kWidth;
  for (int q = 0; q < Panels; ++q)
    for (int j = 0; j < NP; ++j) {
      const int64_t offset = q * kPanel + j * W, valid = cout - (col + offset);
      const simd::Packet b = simd::load_aligned(bias + offset);
      for (int r = 0; r < Rows; ++r) {
        const simd::Packet v = Act::apply(simd::add(acc[r][q][j], b));
        float* o = out + r * cout + offset;
        const float* res = residual ? residual + r * cout + offset : nullptr;
        if (valid >= W) {
          simd::store(o, res ? simd::add(v, simd::load(res)) : v);
        } else if (valid > 0) {  // the last, partial packet: only `valid` channels exist
          alignas(64) float tmp[W];
          simd::store(tmp, v);
          for (int64_t k = 0; k < valid; ++k) o[k] = res ? tmp[k] + res[k] : tmp[k];
        }
      }
    }
}

/// One tile: Rows input rows times Panels consecutive weight panels, NP packets of each (NP = 1
/// when a panel's second packet would be all padding). Every output element is one accumulator
/// summing fma(in[r, ci], w[ci, co]) for ci = 0..cin-1 in order, then the epilogue: the same
/// operations whichever tile shape (or ISA-specific tile) computes it, so results do not depend
/// on how rows are split.
template <int Rows, int Panels, int NP, class Act>
inline void tile(const float* in, int64_t cin, const float* panel, const float* bias, float* out,
                 const float* residual, int64_t cout, int64_t col) {
  constexpr int W = simd::kWidth;
  const int64_t panel_size = cin * kPanel;
  simd::Packet acc[Rows][Panels][NP];
  for (int r = 0; r < Rows; ++r)
    for (int q = 0; q < Panels; ++q)
      for (int j = 0; j < NP; ++j) acc[r][q][j] = simd::zero();
  for (int64_t ci = 0; ci < cin; ++ci) {
    simd::Packet wv[Panels][NP];
    for (int q = 0; q < Panels; ++q)
      for (int j = 0; j < NP; ++j) wv[q][j] = simd::load_aligned(panel + q * panel_size + ci * kPanel + j * W);
    for (int r = 0; r < Rows; ++r) {
      const simd::Packet a = simd::broadcast(in[r * cin + ci]);
      for (int q = 0; q < Panels; ++q)
        for (int j = 0; j < NP; ++j) acc[r][q][j] = simd::fmadd(a, wv[q][j], acc[r][q][j]);
    }
  }
  store_tile<Rows, Panels, NP, Act>(acc, bias, out, residual, cout, col);
}

#if defined(EIGEN_VECTORIZE_NEON) && defined(__aarch64__)
/// AArch64 full-row tile with FMLA by element: four input channels of a row are loaded as one
/// vector and used lane by lane, where the generic tile needs a load-and-duplicate per row and
/// channel. fma(w, a[lane], acc) rounds exactly like the generic fmadd, so results are identical.
template <int Rows, int NP, class Act>
inline void tile_by_lane(const float* in, int64_t cin, const float* panel, const float* bias,
                         float* out, const float* residual, int64_t cout, int64_t col) {
  // Accumulators in an array whose address never escapes, so they live in registers; they are
  // copied out for the shared epilogue only after the loop.
  float32x4_t acc[Rows][NP];
  for (int r = 0; r < Rows; ++r)
    for (int j = 0; j < NP; ++j) acc[r][j] = vdupq_n_f32(0.0f);
  const auto lane = [&](const float32x4_t (&a)[Rows], const float* w, auto k) {
    constexpr int K = decltype(k)::value;
    float32x4_t wv[NP];
    for (int j = 0; j < NP; ++j) wv[j] = vld1q_f32(w + j * 4);
    for (int r = 0; r < Rows; ++r)
      for (int j = 0; j < NP; ++j) acc[r][j] = vfmaq_laneq_f32(acc[r][j], wv[j], a[r], K);
  };
  int64_t ci = 0;
  for (; ci + 4 <= cin; ci += 4) {
    float32x4_t a[Rows];
    for (int r = 0; r < Rows; ++r) a[r] = vld1q_f32(in + r * cin + ci);
    const float* w = panel + ci * kPanel;
    lane(a, w, std::integral_constant<int, 0>{});
    lane(a, w + kPanel, std::integral_constant<int, 1>{});
    lane(a, w + 2 * kPanel, std::integral_constant<int, 2>{});
    lane(a, w + 3 * kPanel, std::integral_constant<int, 3>{});
  }
  for (; ci < cin; ++ci) {  // the last cin % 4 channels
    float32x4_t wv[NP];
    for (int j = 0; j < NP; ++j) wv[j] = vld1q_f32(panel + ci * kPanel + j * 4);
    for (int r = 0; r < Rows; ++r)
      for (int j = 0; j < NP; ++j) acc[r][j] = vfmaq_n_f32(acc[r][j], wv[j], in[r * cin + ci]);
  }
  simd::Packet result[Rows][1][NP];
  for (int r = 0; r < Rows; ++r)
    for (int j = 0; j < NP; ++j) result[r][0][j] = acc[r][j];
  store_tile<Rows, 1, NP, Act>(result, bias, out, residual, cout, col);
}

template <int Rows, int Panels, int NP, class Act>
inline void full_tile(const float* in, int64_t cin, const float* panel, const float* bias,
                      float* out, const float* residual, int64_t cout, int64_t col) {
  if constexpr (Panels == 1)
    tile_by_lane<Rows, NP, Act>(in, cin, panel, bias, out, residual, cout, col);
  else
    tile<Rows, Panels, NP, Act>(in, cin, panel, bias, out, residual, cout, col);
}
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
  // Rows per block: about 64 KiB of input, so a block stays in L2 while all panels pass over it.
  const int64_t block = std::max<int64_t>(kRows, (16384 / std::max<int64_t>(cin, 1)) / kRows * kRows);
  for (int64_t b0 = row_begin; b0 < row_end; b0 += block) {
    const int64_t b1 = std::min(row_end, b0 + block);
    int64_t r = b0;
    for (; r + kRows <= b1; r += kRows) row_tile<kRows, 1, Act>(in + r * cin, w, out + r * cout, res_at(r));
    if (r < b1) tail_rows<Act>(b1 - r, in + r * cin, w, out + r * cout, res_at(r));
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
