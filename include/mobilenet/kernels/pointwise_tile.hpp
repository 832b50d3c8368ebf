#pragma once
// The data layout of pointwise (1x1) convolutions and fully connected layers, and their generic
// micro-kernel (Eigen packet math, every ISA; the ISA-specific tiles are in x86/ and arm/):
//   out[r, co] = act(bias[co] + sum_ci in[r, ci] * w[co, ci]) (+ residual[r, co])
// over NHWC rows r. Weights are packed once at load into panels of kPanel output channels,
// ci-major inside a panel, so the micro-kernel streams one panel row per input channel and
// keeps a kRows x kPanel block of accumulators in registers. Each sum starts from the bias and
// adds ci = 0..cin-1 in order, whatever the tile, so results do not depend on how rows are split
// (hence on the thread count).

#include <cstdint>

#include "mobilenet/core/aligned_buffer.hpp"
#include "mobilenet/kernels/cache_geometry.hpp"
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

/// Whether a layer of `cout` outputs also gets row-pair weights (see pair_tile): one and a half
/// packets, as V2's and V3's 56x56 projections to 24 channels on AVX-512, where the panel's
/// second packet would be half padding.
inline bool uses_row_pairs(int64_t cout) {
#if defined(EIGEN_VECTORIZE_AVX512)
  return 2 * cout == 3 * simd::kWidth;
#else
  (void)cout;
  return false;
#endif
}
}  // namespace pointwise_detail

/// Weights of a pointwise conv / linear layer in the kernel's layout, with zero-padded bias.
struct PackedPointwise {
  int64_t cin = 0, cout = 0;
  AlignedBuffer weights;  // [panels][cin][kPanel]
  AlignedBuffer bias;     // [panels * kPanel]
  // Only where uses_row_pairs(cout): [cin][2 * cout], each input channel's cout weights twice
  // (two rows' outputs side by side), and the bias likewise [2 * cout].
  AlignedBuffer pair_weights, pair_bias;
};

/// Floats from one row to the next of a pointwise layer's input (`in`) and of its output and
/// residual (`out`): cin and cout in contiguous NHWC tensors, more in padded ones (a pixel stride
/// above the channel count, see Network::block_output_stride).
struct RowStrides {
  int64_t in, out;
};

inline int64_t pointwise_panels(int64_t cout) {
  return (cout + pointwise_detail::kPanel - 1) / pointwise_detail::kPanel;
}

/// Packs `w` given as PyTorch's [cout][cin] (a 1x1 conv or Linear weight) and `bias` [cout].
inline PackedPointwise pack_pointwise(const float* w, const float* bias, int64_t cin,
                                      int64_t cout) {
  using pointwise_detail::kPanel;
  const int64_t panels = pointwise_panels(cout);
  PackedPointwise p{cin,
                    cout,
                    AlignedBuffer(static_cast<std::size_t>(panels * cin * kPanel)),
                    AlignedBuffer(static_cast<std::size_t>(panels * kPanel)),
                    AlignedBuffer(),
                    AlignedBuffer()};
  for (int64_t co = 0; co < cout; ++co) {
    const int64_t panel = co / kPanel, lane = co % kPanel;
    for (int64_t ci = 0; ci < cin; ++ci)
      p.weights.data()[(panel * cin + ci) * kPanel + lane] = w[co * cin + ci];
    p.bias.data()[co] = bias ? bias[co] : 0.0f;
  }
  if (pointwise_detail::uses_row_pairs(cout)) {
    p.pair_weights = AlignedBuffer(static_cast<std::size_t>(cin * 2 * cout));
    p.pair_bias = AlignedBuffer(static_cast<std::size_t>(2 * cout));
    for (int64_t half = 0; half < 2; ++half)
      for (int64_t co = 0; co < cout; ++co) {
        for (int64_t ci = 0; ci < cin; ++ci)
          p.pair_weights.data()[ci * 2 * cout + half * cout + co] = w[co * cin + ci];
        p.pair_bias.data()[half * cout + co] = bias ? bias[co] : 0.0f;
      }
  }
  return p;
}

namespace pointwise_detail {

/// The float epilogue of a pointwise tile: the bias its sums start from, then the activation
/// (Act), then the residual added. Every float tile takes it whole, as the int8 tiles take
/// Requantize, so another epilogue is another type with these members, not an edit in each tile.
/// Two pointers: passed by value, it travels in two registers like the pointers it replaces.
template <class Act>
struct BiasActResidual {
  using Activation = Act;
  const float* bias;      // at the tile's first output channel; zero-padded to whole panels
  const float* residual;  // laid out as the output, at the tile's first element; nullptr: none

  /// The sums' start for the packet `channel` channels into the tile.
  simd::Packet start(int64_t channel) const { return simd::load_aligned(bias + channel); }

  /// Activation, + residual, of the packet `acc` for out[o, o + W); of a partial packet (`valid`
  /// < W channels left) only the valid lanes, so nothing is written past cout. `acc` by value: a
  /// reference would keep callers' accumulators in memory.
  [[gnu::always_inline]] void store(simd::Packet acc, float* out, int64_t o, int64_t valid) const {
    constexpr int W = simd::kWidth;
    const simd::Packet v = simd::opaque(Act::apply(acc));
    if (valid >= W) {
      simd::store(out + o, residual ? simd::add(v, simd::load(residual + o)) : v);
    } else if (valid > 0) {
      const int n = static_cast<int>(valid);
      simd::store_first(out + o, residual ? simd::add(v, simd::load_first(residual + o, n)) : v, n);
    }
  }

  /// The epilogue of the output `elements` floats further on (the next tile of a run).
  BiasActResidual rows_on(int64_t elements) const {
    return {bias, residual ? residual + elements : nullptr};
  }
  /// The epilogue of the tile `channels` output channels further on (the next panel).
  BiasActResidual channels_on(int64_t channels) const {
    return {bias + channels, residual ? residual + channels : nullptr};
  }
};

/// The epilogue of a tile (e.store of each accumulator).
template <int Rows, int Panels, int NP, class Epilogue>
inline void store_tile(simd::Packet (&acc)[Rows][Panels][NP], float* out, const Epilogue& e,
                       int64_t cout, int64_t col, int64_t out_stride) {
  constexpr int W = simd::kWidth;
  for (int q = 0; q < Panels; ++q)
    for (int j = 0; j < NP; ++j) {
      const int64_t offset = q * kPanel + j * W;
      for (int r = 0; r < Rows; ++r)
        e.store(acc[r][q][j], out, r * out_stride + offset, cout - (col + offset));
    }
}

/// The epilogue of a tile's accumulators, fully unrolled (and inlined into the tile) so that the
/// accumulators stay in registers: indexed by a loop variable, or passed by reference to a call,
/// they are stored to the stack and reloaded, which cost 4-14% on the 24-128 input channel layers
/// (bench/, 8-row tiles). Only a tile with a partial packet (the last panel of some layers) goes
/// through store_tile, on a copy.
template <int Rows, int Panels, int NP, class Epilogue>
[[gnu::always_inline]] inline void finish_tile(const simd::Packet (&acc)[Rows][Panels][NP],
                                               float* out, const Epilogue& e, int64_t cout,
                                               int64_t col, int64_t out_stride) {
  constexpr int W = simd::kWidth;
  const bool all_full = col + Panels * kPanel - (2 - NP) * W <= cout;
  simd::Packet partial[Rows][Panels][NP];
#pragma GCC unroll 16
  for (int r = 0; r < Rows; ++r)
#pragma GCC unroll 16
    for (int q = 0; q < Panels; ++q)
#pragma GCC unroll 16
      for (int j = 0; j < NP; ++j) {
        if (all_full)
          e.store(acc[r][q][j], out, r * out_stride + q * kPanel + j * W, W);
        else
          partial[r][q][j] = acc[r][q][j];
      }
  if (!all_full) store_tile<Rows, Panels, NP>(partial, out, e, cout, col, out_stride);
}

/// One tile: Rows input rows times Panels consecutive weight panels, NP packets of each (NP = 1
/// when a panel's second packet would be all padding). Every output element is one accumulator
/// starting from the bias and summing fma(in[r, ci], w[ci, co]) for ci = 0..cin-1 in order, then
/// the epilogue: the same operations whichever tile shape (or ISA-specific tile) computes it, so
/// results do not depend on how rows are split.
/// With Prefetch, the tile also fetches the panel `prefetch` (the next one) into L1 as it
/// streams its own, one panel row per input channel (see pointwise()).
template <int Rows, int Panels, int NP, class Epilogue, bool Prefetch = false>
[[gnu::always_inline]] inline void tile_body(const float* in, int64_t cin, const float* panel,
                                             float* out, Epilogue e, int64_t cout, int64_t col,
                                             RowStrides ld, const float* prefetch = nullptr) {
  constexpr int W = simd::kWidth;
  const int64_t panel_size = cin * kPanel;
  simd::Packet acc[Rows][Panels][NP];
  for (int r = 0; r < Rows; ++r)
    for (int q = 0; q < Panels; ++q)
      for (int j = 0; j < NP; ++j) acc[r][q][j] = e.start(q * kPanel + j * W);
  for (int64_t ci = 0; ci < cin; ++ci) {
    simd::Packet wv[Panels][NP];
    if constexpr (Prefetch) {
      constexpr int kLineFloats = static_cast<int>(cache::kLineFloats);
      for (int k = 0; k < kPanel; k += kLineFloats)
        __builtin_prefetch(prefetch + ci * kPanel + k, /*read*/ 0, /*all cache levels*/ 3);
    }
    for (int q = 0; q < Panels; ++q)
      for (int j = 0; j < NP; ++j)
        wv[q][j] = simd::load_aligned(panel + q * panel_size + ci * kPanel + j * W);
    for (int r = 0; r < Rows; ++r) {
      const simd::Packet a = simd::broadcast(in[r * ld.in + ci]);
      for (int q = 0; q < Panels; ++q)
        for (int j = 0; j < NP; ++j) acc[r][q][j] = simd::fmadd(a, wv[q][j], acc[r][q][j]);
    }
  }
  finish_tile(acc, out, e, cout, col, ld.out);
}

/// One tile (tile_body). Not inlined: inlined into panel_major's loops, the same inner loop ran
/// up to 12% slower (the 16-input-channel layers; all V1/V2/V3 pointwise shapes 2.4% faster in
/// geometric mean out of line, mobilenet_bench; V2 2.2% and V1 1.4% faster in all, sum of stage
/// minimums).
template <int Rows, int Panels, int NP, class Epilogue, bool Prefetch = false>
[[gnu::noinline]] void tile(const float* in, int64_t cin, const float* panel, float* out,
                            Epilogue e, int64_t cout, int64_t col, RowStrides ld,
                            const float* prefetch = nullptr) {
  tile_body<Rows, Panels, NP, Epilogue, Prefetch>(in, cin, panel, out, e, cout, col, ld, prefetch);
}

/// `tiles` tiles of Rows consecutive rows on the same panels, in one call: a call per tile cost
/// the layers of 16-48 input channels (short tiles) 3-17% (V2's 112x112 32->16 projection 193 ->
/// 206 GFLOP/s, mobilenet_bench).
template <int Rows, int Panels, int NP, class Epilogue>
[[gnu::noinline]] void tile_run(const float* in, int64_t cin, const float* panel, float* out,
                                Epilogue e, int64_t cout, int64_t col, RowStrides ld,
                                int64_t tiles) {
  for (int64_t t = 0; t < tiles;
       ++t, in += Rows * ld.in, out += Rows * ld.out, e = e.rows_on(Rows * ld.out))
    tile_body<Rows, Panels, NP>(in, cin, panel, out, e, cout, col, ld);
}

}  // namespace pointwise_detail
}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
