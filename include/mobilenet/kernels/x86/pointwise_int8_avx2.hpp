#pragma once
// The int8 pointwise tile on AVX2 (layout and arithmetic: ../pointwise_int8.hpp), for x86 CPUs
// without AVX-512 VNNI (Haswell to Zen 3, and Skylake-X).
//
// AVX2's byte multiply-add, VPMADDUBSW, sums two u8 x s8 products in 16 bits with saturation:
// with activations made unsigned (in + 128) and weights up to 127 in magnitude a pair reaches
// 2 * 255 * 127, past int16, and the result would differ from the other paths'. So both operands
// are sign-extended to 16 bits (VPMOVSXBW) and VPMADDWD adds pairs of 16-bit products in 32-bit
// lanes, where |in| <= 128 and |w| <= 127 cannot overflow (XNNPACK's AVX2 QS8 kernels do the same).
//
// One group's four input bytes of a row are broadcast and widened to four 16-bit copies of
// [x0 x1 x2 x3]; the group's weights of four outputs, [o][4] bytes, widen to the same shape, so
// VPMADDWD leaves, per output, two partial sums (x0 w0 + x1 w1, x2 w2 + x3 w3) in adjacent
// lanes. The partial sums are added once per tile, in the epilogue (VPHADDD), with the bias.
// A tile is two rows by half a panel (16 outputs): eight accumulators, the two broadcast rows and
// a widened weight register in AVX2's sixteen registers.

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "mobilenet/core/isa.hpp"
#include "mobilenet/kernels/x86/requantize_int8_avx2.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

struct Avx2Int8Tile : EachRowTile<Avx2Int8Tile> {
  static constexpr const char* kName = "avx2";
  static constexpr int kRows = 2;
  static constexpr int32_t kActivationOffset = 0;

  /// Rows rows times one panel.
  template <int Rows>
  static void block(const int8_t* in, int64_t in_stride, int64_t cin, const int8_t* panel,
                    const Requantize& e, int8_t* out, int64_t out_stride, int64_t valid) {
    using namespace pointwise_int8_detail;
    static_assert(kPanel == 32 && kGroup == 4, "a panel is two halves of 16 outputs");
    static_assert(Rows == 1 || Rows == 2, "one or two rows");
    // A single row (a layer's odd last row) runs as two copies of itself, stored once.
    const int8_t* in1 = Rows == 2 ? in + in_stride : in;
    int8_t* out1 = Rows == 2 ? out + out_stride : nullptr;
    for (int64_t half = 0; half * 16 < valid; ++half) {
      const Requantize eh{e.bias + 16 * half, e.multiplier + 16 * half, e.clamp};
      half_panel(in, in1, cin, panel + 16 * half * kGroup, eh, out + 16 * half,
                 out1 ? out1 + 16 * half : nullptr, std::min<int64_t>(16, valid - 16 * half));
    }
  }

 private:
  /// 16 outputs of rows `in0` and `in1` to `out0` and (if not null) `out1`; `weights` points at
  /// the half's first output in group 0. The accumulators are named variables, not an array:
  /// GCC kept an array's vectors in memory or copied them between registers every iteration.
  static void half_panel(const int8_t* in0, const int8_t* in1, int64_t cin, const int8_t* weights,
                         const Requantize& e, int8_t* out0, int8_t* out1, int64_t valid) {
    using namespace pointwise_int8_detail;
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;  // row 0, outputs 4j..4j+3
    __m256i b0 = a0, b1 = a0, b2 = a0, b3 = a0;                      // row 1
    const int64_t full = cin / kGroup, n_groups = groups(cin);
    for (int64_t g = 0; g < n_groups; ++g) {
      int32_t v0, v1;
      if (g < full) {
        std::memcpy(&v0, in0 + g * kGroup, sizeof v0);
        std::memcpy(&v1, in1 + g * kGroup, sizeof v1);
      } else {
        v0 = load_group(in0, g, cin);
        v1 = load_group(in1, g, cin);
      }
      const __m256i x0 = _mm256_cvtepi8_epi16(_mm_set1_epi32(v0)),
                    x1 = _mm256_cvtepi8_epi16(_mm_set1_epi32(v1));
      const int8_t* w = weights + g * kPanel * kGroup;
      // Outputs 4j..4j+3 of both rows.
      const auto accumulate = [&](__m256i& a, __m256i& b, int j) {
        const __m256i wj =
            _mm256_cvtepi8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(w + 16 * j)));
        a = _mm256_add_epi32(a, _mm256_madd_epi16(x0, wj));
        b = _mm256_add_epi32(b, _mm256_madd_epi16(x1, wj));
      };
      accumulate(a0, b0, 0);
      accumulate(a1, b1, 1);
      accumulate(a2, b2, 2);
      accumulate(a3, b3, 3);
    }
    store_row(a0, a1, a2, a3, e, out0, valid);
    if (out1) store_row(b0, b1, b2, b3, e, out1, valid);
  }

  /// One row's 16 outputs from its four accumulators: adjacent partial sums added and the 64-bit
  /// pairs put back in output order, then the bias and the requantization.
  static void store_row(__m256i a0, __m256i a1, __m256i a2, __m256i a3, const Requantize& e,
                        int8_t* out, int64_t valid) {
    const auto sums8 = [&](__m256i a, __m256i b, int k) {
      return _mm256_add_epi32(_mm256_permute4x64_epi64(_mm256_hadd_epi32(a, b), 0xD8),
                              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e.bias + 8 * k)));
    };
    const __m128i bytes =
        narrow16_avx2(requantize8_avx2(sums8(a0, a1, 0), e.multiplier, e.clamp),
                      requantize8_avx2(sums8(a2, a3, 1), e.multiplier + 8, e.clamp));
    if (valid == 16) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out), bytes);
    } else {
      alignas(16) int8_t kept[16];
      _mm_store_si128(reinterpret_cast<__m128i*>(kept), bytes);
      for (int64_t o = 0; o < valid; ++o) out[o] = kept[o];
    }
  }
};

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
