#pragma once
// AVX-512 pointwise tile for layers whose output is one and a half packets (24 channels): two
// rows per accumulator triple, from the row-pair weights that pack_pointwise adds for them
// (uses_row_pairs). Selected by panel_major (pointwise.hpp) on the AVX-512 path only.

#include <immintrin.h>

#include <cstdint>

#include "mobilenet/kernels/pointwise_tile.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {
namespace pointwise_detail {

/// Rows 2p and 2p + 1 of Pairs row pairs of a layer whose cout is one and a half packets (see
/// uses_row_pairs), from the pair weights: the two rows' outputs are adjacent in a contiguous NHWC
/// output (panel_major uses pair tiles only then), three whole packets, the middle one half of
/// each row. Each input channel takes three FMAs per pair where the panel tile takes four (two per
/// row, a quarter of their lanes padding; measured in docs/design.md). Every output element gets
/// the same operations as in `tile` (bias, then fmadd over ci in order, then the epilogue), so
/// results do not depend on which of the two computes it. Not inlined, as `tile` (faster out of
/// line on the 24-channel shapes).
template <int Pairs, class Epilogue>
[[gnu::noinline]] void pair_tile(const float* in, int64_t cin, int64_t in_stride,
                                 const float* pair_weights, float* out, Epilogue e) {
  constexpr int W = simd::kWidth;
  const int64_t pair_floats = 3 * W;  // = 2 * cout
  simd::Packet acc[Pairs][3];
  for (int p = 0; p < Pairs; ++p)
    for (int j = 0; j < 3; ++j) acc[p][j] = e.start(j * W);
  for (int64_t ci = 0; ci < cin; ++ci) {
    simd::Packet wv[3];
    for (int j = 0; j < 3; ++j) wv[j] = simd::load_aligned(pair_weights + ci * pair_floats + j * W);
    for (int p = 0; p < Pairs; ++p) {
      const simd::Packet a = simd::broadcast(in[(2 * p) * in_stride + ci]);
      const float* b_in = in + (2 * p + 1) * in_stride + ci;
      const simd::Packet b = simd::broadcast(*b_in);
      // Lanes [0, W/2) of the middle packet belong to row 2p, the others to row 2p + 1: a with
      // its upper half replaced by a broadcast (faster than blending a and b).
      const simd::Packet mixed =
          _mm512_mask_broadcastss_ps(a, static_cast<__mmask16>(0xFF00), _mm_load_ss(b_in));
      acc[p][0] = simd::fmadd(a, wv[0], acc[p][0]);
      acc[p][1] = simd::fmadd(mixed, wv[1], acc[p][1]);
      acc[p][2] = simd::fmadd(b, wv[2], acc[p][2]);
    }
  }
#pragma GCC unroll 16
  for (int p = 0; p < Pairs; ++p)
#pragma GCC unroll 3
    for (int j = 0; j < 3; ++j) e.store(acc[p][j], out, p * pair_floats + j * W, W);
}

}  // namespace pointwise_detail
}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
