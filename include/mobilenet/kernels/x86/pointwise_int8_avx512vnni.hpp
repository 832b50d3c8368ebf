#pragma once
// The int8 pointwise tile on AVX-512 VNNI (layout and arithmetic: ../pointwise_int8.hpp).
// Each row's four input bytes of a group are broadcast to all sixteen lanes, their sign bits
// flipped (VPDPBUSD takes the activations unsigned: in + 128, corrected in the packed bias), and
// one VPDPBUSD per sixteen outputs adds the four products of the group into the int32 lanes.
// The epilogue requantizes sixteen outputs per register (x86/requantize_int8_avx512.hpp).
//
// Included wherever AVX-512 BW and VL are compiled in: the functions carry VNNI as a target
// attribute, so a path built for AVX-512 without VNNI (Skylake-X has none) still holds the tile,
// and runs it only on CPUs that have VNNI (kernels::best_int8_tile()).

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "mobilenet/core/isa.hpp"
#include "mobilenet/kernels/x86/dpbusd_avx512vnni.hpp"
#include "mobilenet/kernels/x86/requantize_int8_avx512.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

struct Avx512VnniInt8Tile {
  static constexpr const char* kName = "avx512vnni";
  /// Rows per tile: 8 rows x 2 accumulators, plus 2 weight registers, a broadcast and the sign
  /// flip, in 32 registers.
  static constexpr int kRows = 8;
  static constexpr int32_t kActivationOffset = 128;

  template <int Rows>
  [[gnu::target("avx512vnni")]] static void run(const int8_t* in, int64_t in_stride, int64_t cin,
                                                const int8_t* panel, const Requantize& e,
                                                int8_t* out, int64_t out_stride, int64_t valid,
                                                int64_t blocks) {
    using namespace pointwise_int8_detail;
    static_assert(kPanel == 32 && kGroup == 4, "two registers of 16 int32 lanes per panel");
    // One accumulator register per 16 outputs; a panel with at most 16 valid needs one.
    for (int64_t b = 0; b < blocks; ++b, in += Rows * in_stride, out += Rows * out_stride) {
      if (valid > 16)
        body<Rows, 2>(in, in_stride, cin, panel, e, out, out_stride, valid);
      else
        body<Rows, 1>(in, in_stride, cin, panel, e, out, out_stride, valid);
    }
  }

 private:
  /// Adds group `g` of every row (its four bytes as one word, from `load`) times the panel's
  /// weights. A function of its own, not a lambda: a lambda would not carry the target
  /// attribute the dot-product intrinsic needs.
  template <int Rows, int NP, class Load>
  [[gnu::always_inline, gnu::target("avx512vnni")]] static inline void step(
      __m512i (&acc)[Rows][NP], const int8_t* in, int64_t in_stride, const int8_t* panel, int64_t g,
      Load load) {
    using namespace pointwise_int8_detail;
    const __m512i sign = _mm512_set1_epi8(static_cast<char>(0x80));
    __m512i w[NP];
    for (int j = 0; j < NP; ++j) w[j] = _mm512_load_si512(panel + (g * kPanel + 16 * j) * kGroup);
    for (int r = 0; r < Rows; ++r) {
      const __m512i x = _mm512_xor_si512(_mm512_set1_epi32(load(in + r * in_stride, g)), sign);
      for (int j = 0; j < NP; ++j) acc[r][j] = dpbusd_avx512(acc[r][j], x, w[j]);
    }
  }

  template <int Rows, int NP>
  [[gnu::always_inline, gnu::target("avx512vnni")]] static inline void body(
      const int8_t* in, int64_t in_stride, int64_t cin, const int8_t* panel, const Requantize& e,
      int8_t* out, int64_t out_stride, int64_t valid) {
    using namespace pointwise_int8_detail;
    __m512i acc[Rows][NP];
    for (int j = 0; j < NP; ++j) {
      const __m512i b = _mm512_loadu_si512(e.bias + 16 * j);
      for (int r = 0; r < Rows; ++r) acc[r][j] = b;
    }
    const int64_t full = cin / kGroup;
    const auto whole = [](const int8_t* row, int64_t g) {
      int32_t v;
      std::memcpy(&v, row + g * kGroup, sizeof v);
      return v;
    };
    for (int64_t g = 0; g < full; ++g) step<Rows, NP>(acc, in, in_stride, panel, g, whole);
    if (full < groups(cin))
      step<Rows, NP>(acc, in, in_stride, panel, full,
                     [cin](const int8_t* row, int64_t g) { return load_group(row, g, cin); });

    for (int j = 0; j < NP; ++j) {
      const __m512 m = _mm512_loadu_ps(e.multiplier + 16 * j);
      const int64_t n = std::min<int64_t>(16, valid - 16 * j);
      const __mmask16 mask = static_cast<__mmask16>((1u << n) - 1u);
      for (int r = 0; r < Rows; ++r)
        _mm_mask_storeu_epi8(out + r * out_stride + 16 * j, mask,
                             requantize16_avx512(acc[r][j], m, e.clamp));
    }
  }
};

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
