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

/// One tile: `rows` (<= kRows, compile-time) input rows times one weight panel.
template <int Rows, class Act>
inline void tile(const float* in, int64_t cin, const float* panel, const float* bias, float* out,
                 const float* residual, int64_t cout, int64_t valid) {
  constexpr int W = simd::kWidth;
  simd::Packet acc[Rows][2];
  for (int r = 0; r < Rows; ++r) acc[r][0] = acc[r][1] = simd::zero();
  for (int64_t ci = 0; ci < cin; ++ci) {
    const simd::Packet w0 = simd::load_aligned(panel + ci * kPanel);
    const simd::Packet w1 = simd::load_aligned(panel + ci * kPanel + W);
    for (int r = 0; r < Rows; ++r) {
      const simd::Packet a = simd::broadcast(in[r * cin + ci]);
      acc[r][0] = simd::fmadd(a, w0, acc[r][0]);
      acc[r][1] = simd::fmadd(a, w1, acc[r][1]);
    }
  }
  const simd::Packet b0 = simd::load_aligned(bias), b1 = simd::load_aligned(bias + W);
  for (int r = 0; r < Rows; ++r) {
    const simd::Packet v0 = Act::apply(simd::add(acc[r][0], b0));
    const simd::Packet v1 = Act::apply(simd::add(acc[r][1], b1));
    float* o = out + r * cout;
    const float* res = residual ? residual + r * cout : nullptr;
    if (valid == kPanel) {
      simd::store(o, res ? simd::add(v0, simd::load(res)) : v0);
      simd::store(o + W, res ? simd::add(v1, simd::load(res + W)) : v1);
    } else {  // the last, partial panel: only `valid` channels exist in out and residual
      alignas(64) float tmp[kPanel];
      simd::store(tmp, v0);
      simd::store(tmp + W, v1);
      for (int64_t j = 0; j < valid; ++j) o[j] = res ? tmp[j] + res[j] : tmp[j];
    }
  }
}

}  // namespace pointwise_detail

/// Computes rows [row_begin, row_end) of `out` ([rows][cout]) from `in` ([rows][cin]).
/// `residual`, if not null, has the layout of `out` and is added after the activation.
template <class Act>
void pointwise(const float* in, const PackedPointwise& w, float* out, const float* residual,
               int64_t row_begin, int64_t row_end) {
  using namespace pointwise_detail;
  const int64_t cin = w.cin, cout = w.cout, panels = pointwise_panels(cout);
  // Rows per block: about 64 KiB of input, so a block stays in L2 while all panels pass over it.
  const int64_t block = std::max<int64_t>(kRows, (16384 / std::max<int64_t>(cin, 1)) / kRows * kRows);
  for (int64_t b0 = row_begin; b0 < row_end; b0 += block) {
    const int64_t b1 = std::min(row_end, b0 + block);
    for (int64_t p = 0; p < panels; ++p) {
      const float* panel = w.weights.data() + p * cin * kPanel;
      const float* bias = w.bias.data() + p * kPanel;
      const int64_t col = p * kPanel, valid = std::min<int64_t>(kPanel, cout - col);
      int64_t r = b0;
      for (; r + kRows <= b1; r += kRows)
        tile<kRows, Act>(in + r * cin, cin, panel, bias, out + r * cout + col,
                         residual ? residual + r * cout + col : nullptr, cout, valid);
      for (; r < b1; ++r)
        tile<1, Act>(in + r * cin, cin, panel, bias, out + r * cout + col,
                     residual ? residual + r * cout + col : nullptr, cout, valid);
    }
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
