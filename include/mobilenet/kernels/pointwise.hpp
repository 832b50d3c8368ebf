#pragma once
// Pointwise (1x1) convolution and fully connected layers as one GEMM kernel over NHWC rows
// (layout and generic micro-kernel: pointwise_tile.hpp; AVX-512 row-pair tile:
// x86/pointwise_pair_avx512.hpp; AArch64 micro-kernels: arm/pointwise_aarch64_neon.hpp):
//   out[r, co] = act(bias[co] + sum_ci in[r, ci] * w[co, ci]) (+ residual[r, co])

#include <algorithm>
#include <cstdint>
#include <tuple>

#include "mobilenet/kernels/cache_geometry.hpp"
#include "mobilenet/kernels/pointwise_tile.hpp"
#if defined(EIGEN_VECTORIZE_AVX512)
#include "mobilenet/kernels/x86/pointwise_pair_avx512.hpp"
#endif
// MOBILENET_POINTWISE_PACKED: this header's own switch for the AArch64 packed-row path, undefined
// at its end so that it never reaches users' code; other headers read kPackedRowsPath.
#if defined(EIGEN_VECTORIZE_NEON) && defined(__aarch64__)
#include "mobilenet/kernels/arm/pointwise_aarch64_neon.hpp"
#define MOBILENET_POINTWISE_PACKED 1
#endif

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {
namespace pointwise_detail {

#ifndef MOBILENET_POINTWISE_PACKED
/// `tiles` tiles of Rows consecutive rows; with `prefetch`, the first one prefetches (a call of
/// its own), the others run as one call.
template <int Rows, int Panels, int NP, class Epilogue, bool Prefetch = false>
inline void full_tile(const float* in, int64_t cin, const float* panel, float* out, Epilogue e,
                      int64_t cout, int64_t col, RowStrides ld, const float* prefetch = nullptr,
                      int64_t tiles = 1) {
  if constexpr (Prefetch) {
    if (prefetch) {
      tile<Rows, Panels, NP, Epilogue, true>(in, cin, panel, out, e, cout, col, ld, prefetch);
      if (--tiles == 0) return;
      in += Rows * ld.in;
      out += Rows * ld.out;
      e = e.rows_on(Rows * ld.out);
    }
  }
  if (tiles == 1) return tile<Rows, Panels, NP>(in, cin, panel, out, e, cout, col, ld);
  tile_run<Rows, Panels, NP>(in, cin, panel, out, e, cout, col, ld, tiles);
}
#endif

/// Rows rows (compile-time) times panels [p_begin, p_end): Panels at a time while enough remain
/// (more independent accumulators when there are few rows, e.g. the classifier at batch 1), for
/// `tiles` times Rows consecutive rows. The layer's epilogue: bias, Act, + `residual`.
template <int Rows, int Panels, class Act, bool Prefetch = false>
inline void row_tile(const float* in, const PackedPointwise& w, float* out, const float* residual,
                     RowStrides ld, int64_t p_begin, int64_t p_end, const float* prefetch = nullptr,
                     int64_t tiles = 1) {
  const int64_t cin = w.cin, cout = w.cout, last = pointwise_panels(cout) - 1;
  const auto at = [&](int64_t p) {
    const int64_t col = p * kPanel;
    return std::make_tuple(
        w.weights.data() + p * cin * kPanel, out + col,
        BiasActResidual<Act>{w.bias.data() + col, residual ? residual + col : nullptr}, col);
  };
  int64_t p = p_begin;
  for (; p + Panels <= std::min(p_end, last); p += Panels) {  // all but the last panel are full
    const auto [panel, o, e, col] = at(p);
    full_tile<Rows, Panels, 2, BiasActResidual<Act>, Prefetch>(in, cin, panel, o, e, cout, col, ld,
                                                               prefetch, tiles);
  }
  for (; p < p_end; ++p) {
    const auto [panel, o, e, col] = at(p);
    if (cout - col > simd::kWidth)
      full_tile<Rows, 1, 2>(in, cin, panel, o, e, cout, col, ld, nullptr, tiles);
    else
      full_tile<Rows, 1, 1>(in, cin, panel, o, e, cout, col, ld, nullptr, tiles);
  }
}

/// Whether rows go through the AArch64 packed-row tiles (arm/pointwise_aarch64_neon.hpp) where
/// their input fits, instead of the generic tiles.
#ifdef MOBILENET_POINTWISE_PACKED
inline constexpr bool kPackedRowsPath = true;
#else
inline constexpr bool kPackedRowsPath = false;
#endif

/// Row counts that threads' chunks are multiples of: whole tiles of the main path.
#ifdef MOBILENET_POINTWISE_PACKED
inline constexpr int kRowGrain = kPackedRows;
#else
inline constexpr int kRowGrain = kRows;
#endif

/// Rows in [1, kRows) times panels [p_begin, p_end), with as many panels per tile as keep about
/// 2 * kRows accumulators.
template <class Act, int Rows = 1>
inline void tail_rows(int64_t rows, const float* in, const PackedPointwise& w, float* out,
                      const float* residual, RowStrides ld, int64_t p_begin, int64_t p_end) {
  if constexpr (Rows < kRows) {
    if (rows == Rows)
      row_tile<Rows, std::max(1, kRows / Rows), Act>(in, w, out, residual, ld, p_begin, p_end);
    else
      tail_rows<Act, Rows + 1>(rows, in, w, out, residual, ld, p_begin, p_end);
  }
}

/// Fewest rows of a tile in a balanced block (see pointwise()): 6 of 8 on 32-register ISAs, 3 of
/// 4 elsewhere. Such tiles still have enough accumulators (12) to keep both FMA pipes busy.
inline constexpr int kMinBalancedRows = kRows - kRows / 4;

/// `tiles` tiles of `rows` rows each, rows in [kMinBalancedRows, kRows], on one panel column
/// range.
template <class Act, bool Prefetch, int Rows = kRows>
inline void balanced_tiles(int64_t rows, int64_t tiles, const float* in, const PackedPointwise& w,
                           float* out, const float* residual, RowStrides ld, int64_t p_begin,
                           int64_t p_end, const float* prefetch = nullptr) {
  if constexpr (Rows >= kMinBalancedRows) {
    if (rows == Rows)
      row_tile<Rows, 1, Act, Prefetch>(in, w, out, residual, ld, p_begin, p_end, prefetch, tiles);
    else
      balanced_tiles<Act, Prefetch, Rows - 1>(rows, tiles, in, w, out, residual, ld, p_begin, p_end,
                                              prefetch);
  }
}

/// Whether `panels` weight panels of `cin` input channels are large enough (96 KiB) to come
/// from L3 or memory on every inference (see pointwise()).
inline bool large_weights(int64_t cin, int64_t panels) {
  return cin * panels * kPanel * int64_t{sizeof(float)} >= cache::kStreamedWeightBytes;
}

/// The generic loop of pointwise() below: blocks of rows, panel-major inside a block. With
/// Prefetch, each panel's first tile also prefetches the next panel.
template <class Act, bool Prefetch>
void panel_major(const float* in, const PackedPointwise& w, float* out, const float* residual,
                 RowStrides ld, int64_t row_begin, int64_t row_end, int64_t p_begin,
                 int64_t p_end) {
  const int64_t cin = w.cin;
  const auto in_at = [&](int64_t r) { return in + r * ld.in; };
  const auto out_at = [&](int64_t r) { return out + r * ld.out; };
  const auto res_at = [&](int64_t r) { return residual ? residual + r * ld.out : nullptr; };
  // Rows per block: about 256 KiB of input, which stays in L2 while each weight panel in turn
  // meets all its rows. Panel-major order reads each weight once per block: a layer's weights
  // come from memory (they do not stay cached from one inference to the next), and one pass
  // over them streams while the block's rows are computed. (Row-major order made every 8-row
  // tile pass over all weights, the first pass waiting on memory: 7x7 layers ran at 75% of
  // their hot-cache speed inside a model.)
  // A block goes in tiles of kMinBalancedRows..kRows rows where it can, so that no short tail
  // tile makes one more pass over all the weights for a few rows, when it has at most 8 tiles'
  // rows (7x7 layers, a thread's share of them: with 4 MB of weights, V1's last layer took as
  // long on 49 rows as on 56 with a 1-row tail) or large weights (below). Small weights with
  // more tiles keep whole tiles and a tail, which costs them little: balanced tiles measured
  // 3-5% slower on 14x14 layers with 40-80 input channels. Layers of one and a half packets of
  // outputs take pairs of rows first (pair_tile), when their output is contiguous.
  const auto next_panel = [&](int64_t p) {
    return Prefetch && p + 1 < p_end ? w.weights.data() + (p + 1) * cin * kPanel : nullptr;
  };
  const int64_t max_block = std::max<int64_t>(
      kRows, (cache::kL2WorkingSetBytes / int64_t{sizeof(float)} / std::max<int64_t>(cin, 1)) /
                 kRows * kRows);
  const int64_t total = row_end - row_begin, blocks = (total + max_block - 1) / max_block;
  for (int64_t i = 0; i < blocks; ++i) {
    // Large weights (Prefetch): blocks of equal size, each in balanced tiles, so that no block
    // ends in a short tail that makes one more pass over the weights for a few rows (V1's
    // 14x14x512 layer made 3 passes over its 1 MB of weights for 196 rows, 2 with this).
    const int64_t b0 = row_begin + (Prefetch ? total * i / blocks : i * max_block);
    const int64_t b1 =
        Prefetch ? row_begin + total * (i + 1) / blocks : std::min(row_end, b0 + max_block);
    const int64_t rows = b1 - b0;
    const int64_t tiles = (rows + kRows - 1) / kRows;
    if ((tiles <= 8 || Prefetch) && rows >= kMinBalancedRows * tiles) {
      // `tiles` tiles of rows / tiles rows, the first rows % tiles of them one row more: two
      // runs of equal tiles, the first tile prefetching.
      const int64_t n = rows / tiles, longer = rows % tiles, r1 = b0 + longer * (n + 1);
      for (int64_t p = p_begin; p < p_end; ++p) {
        if (longer)
          balanced_tiles<Act, Prefetch>(n + 1, longer, in_at(b0), w, out_at(b0), res_at(b0), ld, p,
                                        p + 1, next_panel(p));
        if (longer < tiles)
          balanced_tiles<Act, Prefetch>(n, tiles - longer, in_at(r1), w, out_at(r1), res_at(r1), ld,
                                        p, p + 1, longer ? nullptr : next_panel(p));
      }
      continue;
    }
    int64_t r0 = b0;  // rows before r0 went through pair_tile
#if defined(EIGEN_VECTORIZE_AVX512)
    if constexpr (!Prefetch) {
      constexpr int kPairs = kRows;  // 24 accumulators
      if (w.pair_weights.size() && p_begin == 0 && p_end == 1 && ld.out == w.cout)
        for (; r0 + 2 * kPairs <= b1; r0 += 2 * kPairs)
          pair_tile<kPairs>(in_at(r0), cin, ld.in, w.pair_weights.data(), out_at(r0),
                            BiasActResidual<Act>{w.pair_bias.data(), res_at(r0)});
    }
#endif
    const int64_t full_end = r0 + (b1 - r0) / kRows * kRows;
    for (int64_t p = p_begin; p < p_end; ++p) {
      if constexpr (Prefetch) {
        for (int64_t r = r0; r < full_end; r += kRows)
          row_tile<kRows, 1, Act, true>(in_at(r), w, out_at(r), res_at(r), ld, p, p + 1,
                                        r == r0 ? next_panel(p) : nullptr);
      } else if (full_end > r0) {
        row_tile<kRows, 1, Act>(in_at(r0), w, out_at(r0), res_at(r0), ld, p, p + 1, nullptr,
                                (full_end - r0) / kRows);
      }
    }
    if (full_end < b1)
      tail_rows<Act>(b1 - full_end, in_at(full_end), w, out_at(full_end), res_at(full_end), ld,
                     p_begin, p_end);
  }
}

}  // namespace pointwise_detail

/// Computes rows [row_begin, row_end) of `out` (row r at out + r * ld.out, cout channels) from
/// `in` (row r at in + r * ld.in, cin channels), output channels [p_begin * kPanel, p_end *
/// kPanel) of them (weight panels p_begin..p_end-1; see pointwise_panels). `residual`, if not
/// null, has the layout of `out` and is added after the activation.
template <class Act>
void pointwise(const float* in, const PackedPointwise& w, float* out, const float* residual,
               RowStrides ld, int64_t row_begin, int64_t row_end, int64_t p_begin, int64_t p_end) {
  using namespace pointwise_detail;
  const int64_t cin = w.cin;
#ifdef MOBILENET_POINTWISE_PACKED
  if (kPackedRows * cin <= kPackFloats && row_end - row_begin >= kPackedRows) {
    const auto res_at = [&](int64_t r) { return residual ? residual + r * ld.out : nullptr; };
    // Blocks of whole groups, at most kPackFloats of input: packed once, then every panel.
    alignas(16) float packed[kPackFloats];
    const int64_t block_groups = kPackFloats / (kPackedRows * cin);
    int64_t r = row_begin;
    for (; r + kPackedRows <= row_end;) {
      const int64_t groups = std::min(block_groups, (row_end - r) / kPackedRows);
      pack_rows(in + r * ld.in, cin, ld.in, groups, packed);
      packed_rows<Act>(packed, groups, w, out + r * ld.out, res_at(r), ld.out, p_begin, p_end);
      r += groups * kPackedRows;
    }
    for (; r + kRows <= row_end; r += kRows)
      row_tile<kRows, 1, Act>(in + r * ld.in, w, out + r * ld.out, res_at(r), ld, p_begin, p_end);
    if (r < row_end)
      tail_rows<Act>(row_end - r, in + r * ld.in, w, out + r * ld.out, res_at(r), ld, p_begin,
                     p_end);
    return;
  }
#endif
  // Weights of 96 KiB or more (V1 from 28x28x128 on, the 14x14 and 7x7 layers of V2 and V3)
  // come from L3 or memory on every inference: the first tile of each panel then also prefetches
  // the next panel, which the hardware prefetcher did not do in time (V1, 1 thread: 14x14x512
  // blocks 4%, 7x7 blocks 6-10% faster; lowering the bound from 256 to 96 KiB: V2's 14x14 blocks
  // 1-2% faster, where the kernel ran 10-18% slower in the model than with hot caches). Smaller
  // weights stay cached; prefetching them measured 2-3% slower, and so did the layers that do not
  // prefetch when the prefetching tiles were inlined in the same loop (measured before the tiles
  // were out of line, pointwise_tile.hpp), hence two instantiations.
  if (large_weights(cin, p_end - p_begin))
    panel_major<Act, true>(in, w, out, residual, ld, row_begin, row_end, p_begin, p_end);
  else
    panel_major<Act, false>(in, w, out, residual, ld, row_begin, row_end, p_begin, p_end);
}

/// The row count that threads' shares of a layer should be multiples of: whole tiles, except for
/// large weights, which panel_major splits into balanced tiles whatever the row count (V1's
/// 14x14 layers then take 98 rows per thread, not 96 and 100 with a tail).
inline int64_t pointwise_row_grain([[maybe_unused]] const PackedPointwise& w) {
  using namespace pointwise_detail;
#ifndef MOBILENET_POINTWISE_PACKED  // the AArch64 packed path works in groups of kPackedRows
  if (large_weights(w.cin, pointwise_panels(w.cout))) return 1;
#endif
  return kRowGrain;
}

/// All output channels of rows [row_begin, row_end).
template <class Act>
void pointwise(const float* in, const PackedPointwise& w, float* out, const float* residual,
               RowStrides ld, int64_t row_begin, int64_t row_end) {
  pointwise<Act>(in, w, out, residual, ld, row_begin, row_end, 0, pointwise_panels(w.cout));
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet

#undef MOBILENET_POINTWISE_PACKED
