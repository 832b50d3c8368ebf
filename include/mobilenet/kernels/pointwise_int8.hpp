#pragma once
// int8 pointwise (1x1) convolution over NHWC rows (the arithmetic: quant/quantize.hpp):
//   acc[r, co] = bias[co] + sum_ci (in[r, ci] - zp_in) * w[co, ci]           (int32, exact)
//   out[r, co] = requantize(acc[r, co], multiplier[co], clamp)             (int8)
// Integer sums are exact in any order, so every tile, ISA and thread split gives the same bytes
// as the scalar reference; the float requantization is the same operations everywhere.
//
// Layout: weights packed once into panels of kPanel output channels, and inside a panel into
// groups of kGroup consecutive input channels, [panels][groups][kPanel][kGroup] bytes, the input
// channels zero-padded to whole groups. One 32-bit lane then holds one output's four weights of
// a group, the unit of the dot-product instructions (x86 VPDPBUSD, AArch64 SDOT) that multiply
// four byte pairs into one int32 lane.
//
// The zero-point correction -zp_in * sum_ci w[co, ci] is folded into the packed bias, and with it
// the tile's activation offset: VPDPBUSD multiplies unsigned by signed bytes, so the AVX-512 VNNI
// tile feeds in + 128 (the sign bit flipped) and its bias subtracts 128 * sum_ci w[co, ci] more
// (XNNPACK and oneDNN do the same). The packing is therefore per tile (PackedPointwiseInt8 records
// the offset it was packed for).
//
// Tiles: the generic one (plain C++, every ISA), x86/pointwise_int8_avx512vnni.hpp,
// x86/pointwise_int8_avx2.hpp, arm/pointwise_int8_aarch64_neondot.hpp (ARMv8.2 dotprod),
// arm/pointwise_int8_aarch64_neon.hpp (ARMv8.0: SMULL / SMLAL / SADALP) and
// arm/pointwise_int8_armv7_neon.hpp (the same products in ARMv7's registers); layers take the best
// this unit holds and this CPU runs (best_int8_tile()), kernel tests name theirs.

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "mobilenet/core/aligned_buffer.hpp"
#include "mobilenet/core/error.hpp"
#include "mobilenet/core/isa.hpp"
#include "mobilenet/kernels/cache_geometry.hpp"
#include "mobilenet/kernels/pointwise_tile.hpp"
#include "mobilenet/quant/quantize.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

namespace pointwise_int8_detail {
/// Output channels per panel: two AVX-512 registers of int32 accumulators.
inline constexpr int kPanel = 32;
/// Input channels per 32-bit lane of the dot-product instructions.
inline constexpr int kGroup = 4;

inline int64_t panels(int64_t cout) {
  return (cout + kPanel - 1) / kPanel;
}
inline int64_t groups(int64_t cin) {
  return (cin + kGroup - 1) / kGroup;
}

/// The four input bytes of group `g` of a row of `cin` channels as one 32-bit word (the first
/// channel in the low byte); past `cin` (a partial last group) zero bytes, never reading beyond
/// the row. No call: a copy of run-time size would be one, and across a call the NEON tiles'
/// accumulators have to live in memory.
inline int32_t load_group(const int8_t* row, int64_t g, int64_t cin) {
  const int64_t first = g * kGroup;
  if (first + kGroup <= cin) {
    int32_t v;
    std::memcpy(&v, row + first, sizeof v);
    return v;
  }
  uint32_t v = 0;
  for (int64_t i = 0; first + i < cin; ++i)
    v |= uint32_t{static_cast<uint8_t>(row[first + i])} << (8 * i);
  return static_cast<int32_t>(v);
}
}  // namespace pointwise_int8_detail

/// The epilogue of an int8 tile: per output channel the packed int32 bias (with the zero-point
/// corrections) and the float multiplier, and the output's zero point and clamp. Pointers are at
/// the tile's first output channel.
struct Requantize {
  const int32_t* bias;
  const float* multiplier;
  quant::OutputClamp clamp;
};

/// A tile's `run` (`blocks` tiles of Rows rows, one after the other, times one panel, of which
/// `valid` output channels are stored) for tiles whose set-up is cheap enough to repeat per
/// tile of rows: Tile::block<Rows> once per tile.
template <class Tile>
struct EachRowTile {
  template <int Rows>
  static void run(const int8_t* in, int64_t in_stride, int64_t cin, const int8_t* panel,
                  const Requantize& e, int8_t* out, int64_t out_stride, int64_t valid,
                  int64_t blocks) {
    for (int64_t b = 0; b < blocks; ++b)
      Tile::template block<Rows>(in + b * Rows * in_stride, in_stride, cin, panel, e,
                                 out + b * Rows * out_stride, out_stride, valid);
  }
};

/// The plain C++ tile, for every ISA (and the reference shape of the others).
struct GenericInt8Tile : EachRowTile<GenericInt8Tile> {
  static constexpr const char* kName = "generic";
  static constexpr int kRows = 4;
  static constexpr int32_t kActivationOffset = 0;

  /// Rows rows times one panel.
  template <int Rows>
  static void block(const int8_t* in, int64_t in_stride, int64_t cin, const int8_t* panel,
                    const Requantize& e, int8_t* out, int64_t out_stride, int64_t valid) {
    using namespace pointwise_int8_detail;
    int32_t acc[Rows][kPanel];
    for (int r = 0; r < Rows; ++r)
      for (int o = 0; o < kPanel; ++o) acc[r][o] = e.bias[o];
    const int64_t n_groups = groups(cin);
    for (int64_t g = 0; g < n_groups; ++g) {
      const int8_t* w = panel + g * kPanel * kGroup;
      for (int r = 0; r < Rows; ++r) {
        // Whole groups as one fixed-size copy; load_group (a copy of run-time size, a call)
        // only for a partial last group.
        int8_t x[kGroup];
        if ((g + 1) * kGroup <= cin) {
          std::memcpy(x, in + r * in_stride + g * kGroup, sizeof x);
        } else {
          const int32_t word = load_group(in + r * in_stride, g, cin);
          std::memcpy(x, &word, sizeof x);
        }
        for (int o = 0; o < kPanel; ++o)
          for (int i = 0; i < kGroup; ++i)
            acc[r][o] += (int32_t{x[i]} + kActivationOffset) * int32_t{w[o * kGroup + i]};
      }
    }
    for (int r = 0; r < Rows; ++r)
      for (int64_t o = 0; o < valid; ++o)
        out[r * out_stride + o] = quant::requantize(acc[r][o], e.multiplier[o], e.clamp);
  }
};

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet

#if defined(__AVX2__)
#include "mobilenet/kernels/x86/pointwise_int8_avx2.hpp"
#endif
#if defined(__AVX512BW__) && defined(__AVX512VL__)
#include "mobilenet/core/cpu_features.hpp"
#include "mobilenet/kernels/x86/pointwise_int8_avx512vnni.hpp"
#elif defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
#include "mobilenet/kernels/arm/pointwise_int8_aarch64_neondot.hpp"
#elif defined(__aarch64__)
#include "mobilenet/kernels/arm/pointwise_int8_aarch64_neon.hpp"
#elif defined(__ARM_NEON)
#include "mobilenet/kernels/arm/pointwise_int8_armv7_neon.hpp"
#endif

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// The int8 pointwise tiles (the run-time form of a tile type).
enum class Int8Tile { Generic, Avx512Vnni, Avx2, NeonDot, NeonMlal, NeonV7 };

/// The best int8 pointwise tile this translation unit holds and this CPU runs: the dot-product
/// tile where the unit's flags include the instructions, and on x86 also where they include
/// AVX-512 BW and VL but not VNNI, if the CPU has VNNI (the tile's functions enable it
/// themselves; a path built for AVX-512 thus serves Skylake-X, with the AVX2 tile, and VNNI
/// CPUs alike).
inline Int8Tile best_int8_tile() {
#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VL__)
  return Int8Tile::Avx512Vnni;
#elif defined(__AVX512BW__) && defined(__AVX512VL__)
  return cpu_features() & bit(CpuFeature::AVX512VNNI) ? Int8Tile::Avx512Vnni : Int8Tile::Avx2;
#elif defined(__AVX2__)
  return Int8Tile::Avx2;
#elif defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
  return Int8Tile::NeonDot;
#elif defined(__aarch64__)
  return Int8Tile::NeonMlal;
#elif defined(__ARM_NEON)
  return Int8Tile::NeonV7;
#else
  return Int8Tile::Generic;
#endif
}

/// Calls f(tile) with a value of the tile type `t` names (one this unit holds).
template <class F>
decltype(auto) with_int8_tile(Int8Tile t, F&& f) {
  switch (t) {
#if defined(__AVX2__)
    case Int8Tile::Avx2:
      return f(Avx2Int8Tile{});
#endif
#if defined(__AVX512BW__) && defined(__AVX512VL__)
    case Int8Tile::Avx512Vnni:
      return f(Avx512VnniInt8Tile{});
#elif defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
    case Int8Tile::NeonDot:
      return f(NeonDotInt8Tile{});
#elif defined(__aarch64__)
    case Int8Tile::NeonMlal:
      return f(NeonMlalInt8Tile{});
#elif defined(__ARM_NEON)
    case Int8Tile::NeonV7:
      return f(NeonV7Int8Tile{});
#endif
    default:
      return f(GenericInt8Tile{});
  }
}

/// The best int8 pointwise tile this translation unit's flags alone allow (no run-time choice).
#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VL__)
using DefaultInt8Tile = Avx512VnniInt8Tile;
#elif defined(__AVX2__)
using DefaultInt8Tile = Avx2Int8Tile;
#elif defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
using DefaultInt8Tile = NeonDotInt8Tile;
#elif defined(__aarch64__)
using DefaultInt8Tile = NeonMlalInt8Tile;
#elif defined(__ARM_NEON)
using DefaultInt8Tile = NeonV7Int8Tile;
#else
using DefaultInt8Tile = GenericInt8Tile;
#endif

/// An int8 pointwise layer's weights and requantization in a tile's layout.
struct PackedPointwiseInt8 {
  int64_t cin = 0, cout = 0;
  int32_t activation_offset = 0;   ///< The tile's (see the top of this file).
  AlignedArray<int8_t> weights;    ///< [panels][groups][kPanel][kGroup]
  AlignedArray<int32_t> bias;      ///< [panels * kPanel], zero-point corrections folded in
  AlignedArray<float> multiplier;  ///< [panels * kPanel]
  quant::OutputClamp clamp;
};

/// Packs quantized weights `w` [cout][cin] (symmetric int8), the int32 `bias` [cout] (at scale
/// s_in * s_w[co]; null: zero), the requantization `multiplier` [cout] and the output clamp, for
/// inputs with zero point `input_zero_point`, in Tile's layout.
template <class Tile = DefaultInt8Tile>
PackedPointwiseInt8 pack_pointwise_int8(const int8_t* w, const int32_t* bias,
                                        const float* multiplier, int64_t cin, int64_t cout,
                                        int32_t input_zero_point, quant::OutputClamp clamp) {
  using namespace pointwise_int8_detail;
  const int64_t n_panels = panels(cout), n_groups = groups(cin);
  PackedPointwiseInt8 p{
      cin,
      cout,
      Tile::kActivationOffset,
      AlignedArray<int8_t>(static_cast<std::size_t>(n_panels * n_groups * kPanel * kGroup)),
      AlignedArray<int32_t>(static_cast<std::size_t>(n_panels * kPanel)),
      AlignedArray<float>(static_cast<std::size_t>(n_panels * kPanel)),
      clamp};
  for (int64_t co = 0; co < cout; ++co) {
    const int64_t panel = co / kPanel, lane = co % kPanel;
    int64_t weight_sum = 0;
    for (int64_t ci = 0; ci < cin; ++ci) {
      const int8_t v = w[co * cin + ci];
      weight_sum += v;
      p.weights.data()[((panel * n_groups + ci / kGroup) * kPanel + lane) * kGroup + ci % kGroup] =
          v;
    }
    const int64_t corrected =
        (bias ? bias[co] : 0) - (int64_t{input_zero_point} + Tile::kActivationOffset) * weight_sum;
    if (corrected < INT32_MIN || corrected > INT32_MAX)
      throw Error("int8 pointwise: output channel " + std::to_string(co) +
                  "'s bias with the zero-point correction overflows int32");
    p.bias.data()[co] = static_cast<int32_t>(corrected);
    p.multiplier.data()[co] = multiplier[co];
  }
  return p;
}

/// out[r, :] for rows [0, rows) of `in` (row strides in elements: ld.in >= cin, ld.out >= cout),
/// with Tile, which `w` must have been packed for.
template <class Tile = DefaultInt8Tile>
void pointwise_int8(const int8_t* in, int64_t rows, RowStrides ld, const PackedPointwiseInt8& w,
                    int8_t* out) {
  using namespace pointwise_int8_detail;
  if (w.activation_offset != Tile::kActivationOffset)
    throw Error("int8 pointwise: weights packed for another tile");
  constexpr int R = Tile::kRows;
  // Every panel over `blocks` tiles of Rows rows from in_rows, one call of the tile each.
  const auto run_panels = [&](auto rows_c, const int8_t* in_rows, int8_t* out_rows,
                              int64_t blocks) {
    constexpr int Rows = decltype(rows_c)::value;
    for (int64_t p = 0; p < panels(w.cout); ++p) {
      const int64_t col = p * kPanel;
      const Requantize e{w.bias.data() + col, w.multiplier.data() + col, w.clamp};
      Tile::template run<Rows>(
          in_rows, ld.in, w.cin, w.weights.data() + p * groups(w.cin) * kPanel * kGroup, e,
          out_rows + col, ld.out, std::min<int64_t>(kPanel, w.cout - col), blocks);
    }
  };
  // Panels outermost over chunks of rows whose input stays in L2 (a panel's weights, cin x 32
  // bytes, stay in L1 meanwhile): a tile call covers all of a chunk's whole tiles, so its set-up
  // (the call, the bias, multipliers and clamp, the row pointers) is paid once per chunk, not
  // once per R rows, where it cost as much as the products on layers of 16-32 input channels.
  const int64_t whole = rows / R * R;
  const int64_t chunk = std::max<int64_t>(1, cache::kL2WorkingSetBytes / (w.cin * R)) * R;
  for (int64_t r0 = 0; r0 < whole; r0 += chunk)
    run_panels(std::integral_constant<int, R>{}, in + r0 * ld.in, out + r0 * ld.out,
               std::min(chunk, whole - r0) / R);
  // The last rows - whole < R rows, one tile height each.
  const auto tail = [&](auto self, auto rows_c) {
    constexpr int Rows = decltype(rows_c)::value;
    if constexpr (Rows < R) {
      if (rows - whole == Rows)
        run_panels(rows_c, in + whole * ld.in, out + whole * ld.out, 1);
      else
        self(self, std::integral_constant<int, Rows + 1>{});
    }
  };
  if (whole < rows) tail(tail, std::integral_constant<int, 1>{});
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
