#pragma once
// The int8 depthwise kernel's blocks of 64 channels on AVX-512 VNNI: four taps per VPDPBUSD.
//
// VPDPBUSD adds, in each 32-bit lane, four byte products. The pairs of taps with VPMADDWD
// (x86/depthwise_int8_pairs_avx512.hpp) widen 16 channels of two taps to 16 bits and spend about
// eight instructions on 32 products; here four taps' 64-byte rows are interleaved with bytes and
// words unpacked within each 128-bit lane (four VPUNPCK?BW, four VPUNPCK?WD), which leaves four
// registers that each hold, per lane, four channels' four taps, and one VPDPBUSD per register adds
// 64 products: about 24 instructions per 256 products. The unpacking puts channels
// 16 L + 4 j + s (128-bit lane L, register j, 32-bit slot s) in register j's lane 4 L + s, so the
// weights, the starting sums and the multipliers are packed in that order; after the
// requantization, VPACKSSDW and VPACKSSWB (which also work within 128-bit lanes) put the codes
// back in channel order. Activations enter unsigned (in + 128, the sign bit flipped), corrected
// in the starting sums, as in the pointwise tile; taps outside the image read the zero point's
// row, and a kernel's taps are padded to a multiple of four with zero weights, so both add
// nothing after the correction. A remainder of 32-63 channels takes one more block, overlapping the
// one before; fewer take the pairs path.
//
// A 3x3 kernel groups its taps by column instead: one register set holds an input column's three
// rows (the fourth slot's weight is zero), and the output columns that share an input column
// share its unpacking, so a row of outputs at stride 1 unpacks each input column once rather than
// three times (at stride 2, twice per output rather than three times).

#include <immintrin.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <string>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/isa.hpp"
#include "mobilenet/kernels/x86/dpbusd_avx512vnni.hpp"
#include "mobilenet/quant/quantize.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

namespace depthwise_quads_detail {
inline constexpr int64_t kChannels = 64;  ///< per block: one register of bytes per tap

inline int tap_quads(int kernel) {
  return kernel == 3 ? 3 : (kernel * kernel + 3) / 4;
}
/// The tap (ky * kernel + kx) in slot `s` of quad `q`, or -1 for a zero weight: for 3x3 quad q is
/// column kx = q and slot s row ky = s; otherwise taps in order, four per quad.
inline int tap_in_quad(int kernel, int q, int s) {
  if (kernel == 3) return s < 3 ? s * 3 + q : -1;
  const int t = 4 * q + s;
  return t < kernel * kernel ? t : -1;
}
/// Whether a layer takes two pixels per register: 32 channels of a 3x3 kernel (V1's and V2's
/// first depthwise layer), one block whose lane holding channel c + 32 holds channel c again;
/// else blocks of 64 channels (below).
inline bool pixel_pairs(int64_t channels, int kernel) {
  return channels == 32 && kernel == 3;
}
/// The blocks: the whole ones and, where 32 or more channels are left after them, one more that
/// ends at the last channel and so overlaps the one before (MobileNetV3's 88, 96, 120, 240, 288,
/// 480 and 672 channels). The overlapped channels are computed twice, to the same codes; one
/// block of 64 costs fewer instructions than the two to four 8- and 16-channel blocks of the
/// pairs path it replaces. Fewer than 32 left over take the pairs path.
inline int64_t blocks(int64_t channels, int kernel) {
  if (pixel_pairs(channels, kernel)) return 1;
  const bool overlapping = channels > kChannels && channels % kChannels >= kChannels / 2;
  return channels / kChannels + (overlapping ? 1 : 0);
}
/// Block b's first channel.
inline int64_t block_first(int64_t b, int64_t channels) {
  return std::min(b * kChannels, channels - kChannels);
}
/// The channels [0, covered) the blocks compute (not for pixel pairs).
inline int64_t covered(int64_t channels, int kernel) {
  return std::min(blocks(channels, kernel) * kChannels, channels);
}
/// Packed sizes: weight bytes, and starting sums or multipliers.
inline int64_t packed_weight_bytes(int64_t channels, int kernel) {
  return blocks(channels, kernel) * tap_quads(kernel) * kChannels * 4;
}
inline int64_t packed_lanes(int64_t channels, int kernel) {
  return blocks(channels, kernel) * kChannels;
}

/// The channel that register j's lane l holds after the unpacking (see the top of this file).
inline int64_t channel_of(int j, int l) {
  return 16 * (l / 4) + 4 * j + l % 4;
}
}  // namespace depthwise_quads_detail

/// Packs the whole 64-channel blocks of `w` (PyTorch layout [channels][1][k][k]), or its pixel
/// pairs' block, for the kernels
/// below into `weights` ([blocks][tap quads][4 registers][16 lanes][4 slots] bytes, the taps
/// placed by tap_in_quad), `start`
/// ([blocks][4][16]: bias - (zp_in + 128) * the channel's weight sum) and `multiplier_out`
/// (likewise); depthwise_quads_detail gives their sizes.
/// @throws Error if a starting sum overflows int32.
inline void pack_depthwise_quads_avx512vnni(const int8_t* w, const int32_t* bias,
                                            const float* multiplier, int64_t channels, int kernel,
                                            int32_t input_zero_point, int8_t* weights,
                                            int32_t* start, float* multiplier_out) {
  using namespace depthwise_quads_detail;
  const int taps = kernel * kernel, quads = tap_quads(kernel);
  const bool pairs = pixel_pairs(channels, kernel);
  for (int64_t b = 0; b < blocks(channels, kernel); ++b)
    for (int j = 0; j < 4; ++j)
      for (int l = 0; l < 16; ++l) {
        const int64_t c =
            pairs ? channel_of(j, l) % channels : block_first(b, channels) + channel_of(j, l);
        const int64_t lane = b * kChannels + 16 * j + l;
        int64_t sum = 0;
        for (int q = 0; q < quads; ++q)
          for (int slot = 0; slot < 4; ++slot) {
            const int t = tap_in_quad(kernel, q, slot);
            const int8_t v = t < 0 ? int8_t{0} : w[c * taps + t];
            sum += v;
            weights[(((b * quads + q) * 4 + j) * 16 + l) * 4 + slot] = v;
          }
        const int64_t first = (bias ? bias[c] : 0) - (int64_t{input_zero_point} + 128) * sum;
        if (first < INT32_MIN || first > INT32_MAX)
          throw Error("int8 depthwise: channel " + std::to_string(c) +
                      "'s bias with the zero-point correction overflows int32");
        start[lane] = static_cast<int32_t>(first);
        multiplier_out[lane] = multiplier[c];
      }
}

namespace depthwise_quads_detail {
/// The four registers' (channel-permuted) sums requantized and stored as 64 codes in order.
[[gnu::always_inline]] inline void requantize64(__m512i a0, __m512i a1, __m512i a2, __m512i a3,
                                                const float* multiplier,
                                                const quant::OutputClamp& c, int8_t* out) {
  const __m512 lo = _mm512_set1_ps(c.lo), hi = _mm512_set1_ps(c.hi);
  const __m512i zp = _mm512_set1_epi32(c.zero_point);
  // quant::requantize's operations, as requantize16_avx512 does them, without the narrowing.
  const auto codes = [&](__m512i acc, int j) {
    __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_loadu_ps(multiplier + 16 * j));
    f = _mm512_min_ps(_mm512_max_ps(f, lo), hi);
    return _mm512_add_epi32(_mm512_cvtps_epi32(f), zp);
  };
  const __m512i low = _mm512_packs_epi32(codes(a0, 0), codes(a1, 1)),
                high = _mm512_packs_epi32(codes(a2, 2), codes(a3, 3));
  _mm512_storeu_si512(out, _mm512_packs_epi16(low, high));
}
}  // namespace depthwise_quads_detail

/// One output pixel's 64 channels of a kernel other than 3x3: `tap(t)` gives tap t's 64 input bytes
/// (for t up to the padded tap count; past the kernel's taps any readable 64 bytes); `q` the
/// block's packed weights, `start` and `multiplier` its 64 starting sums and multipliers.
template <int K, class TapInput>
[[gnu::target("avx512vnni")]] inline void depthwise_quads_avx512vnni(
    TapInput tap, const int8_t* q, const int32_t* start, const float* multiplier,
    const quant::OutputClamp& clamp, int8_t* out) {
  using namespace depthwise_quads_detail;
  const __m512i sign = _mm512_set1_epi8(static_cast<char>(0x80));
  __m512i a0 = _mm512_loadu_si512(start), a1 = _mm512_loadu_si512(start + 16),
          a2 = _mm512_loadu_si512(start + 32), a3 = _mm512_loadu_si512(start + 48);
  constexpr int kQuads = (K * K + 3) / 4;
#pragma GCC unroll 7
  for (int t = 0; t < kQuads; ++t) {
    const __m512i x0 = _mm512_loadu_si512(tap(4 * t)), x1 = _mm512_loadu_si512(tap(4 * t + 1)),
                  x2 = _mm512_loadu_si512(tap(4 * t + 2)), x3 = _mm512_loadu_si512(tap(4 * t + 3));
    const __m512i lo01 = _mm512_unpacklo_epi8(x0, x1), hi01 = _mm512_unpackhi_epi8(x0, x1),
                  lo23 = _mm512_unpacklo_epi8(x2, x3), hi23 = _mm512_unpackhi_epi8(x2, x3);
    const int8_t* w = q + t * kChannels * 4;  // 4 registers x 16 lanes x 4 taps
    a0 = dpbusd_avx512(a0, _mm512_xor_si512(_mm512_unpacklo_epi16(lo01, lo23), sign),
                       _mm512_load_si512(w));
    a1 = dpbusd_avx512(a1, _mm512_xor_si512(_mm512_unpackhi_epi16(lo01, lo23), sign),
                       _mm512_load_si512(w + 64));
    a2 = dpbusd_avx512(a2, _mm512_xor_si512(_mm512_unpacklo_epi16(hi01, hi23), sign),
                       _mm512_load_si512(w + 128));
    a3 = dpbusd_avx512(a3, _mm512_xor_si512(_mm512_unpackhi_epi16(hi01, hi23), sign),
                       _mm512_load_si512(w + 192));
  }
  requantize64(a0, a1, a2, a3, multiplier, clamp, out);
}

namespace depthwise_quads_detail {
/// An input column's three rows of 64 channels, unpacked for VPDPBUSD: register j's lane l holds
/// channel channel_of(j, l)'s bytes of rows 0, 1, 2 (and row 2 again, weighted zero), unsigned.
struct Column {
  __m512i r0, r1, r2, r3;
};

[[gnu::always_inline]] inline Column unpack_column(const int8_t* row0, const int8_t* row1,
                                                   const int8_t* row2) {
  const __m512i sign = _mm512_set1_epi8(static_cast<char>(0x80));
  const __m512i x0 = _mm512_xor_si512(_mm512_loadu_si512(row0), sign),
                x1 = _mm512_xor_si512(_mm512_loadu_si512(row1), sign),
                x2 = _mm512_xor_si512(_mm512_loadu_si512(row2), sign);
  const __m512i lo01 = _mm512_unpacklo_epi8(x0, x1), hi01 = _mm512_unpackhi_epi8(x0, x1),
                lo22 = _mm512_unpacklo_epi8(x2, x2), hi22 = _mm512_unpackhi_epi8(x2, x2);
  return {_mm512_unpacklo_epi16(lo01, lo22), _mm512_unpackhi_epi16(lo01, lo22),
          _mm512_unpacklo_epi16(hi01, hi22), _mm512_unpackhi_epi16(hi01, hi22)};
}

template <class PixelInput>
[[gnu::always_inline]] inline Column column_at(const PixelInput& pixel, int64_t x) {
  return unpack_column(pixel(0, x), pixel(1, x), pixel(2, x));
}

/// acc += column `c` times its packed weights `w` (one quad: 4 registers x 16 lanes x 4 slots).
[[gnu::always_inline]] inline void add_column(__m512i& a0, __m512i& a1, __m512i& a2, __m512i& a3,
                                              const Column& c, const int8_t* w) {
  a0 = dpbusd_avx512(a0, c.r0, _mm512_load_si512(w));
  a1 = dpbusd_avx512(a1, c.r1, _mm512_load_si512(w + 64));
  a2 = dpbusd_avx512(a2, c.r2, _mm512_load_si512(w + 128));
  a3 = dpbusd_avx512(a3, c.r3, _mm512_load_si512(w + 192));
}
}  // namespace depthwise_quads_detail

/// A row of `ow` output pixels' 64 channels of a 3x3 kernel at `Stride` (1 or 2): `pixel(ky, x)`
/// gives the 64 input bytes of window row ky at input column x (the zero point's row outside the
/// image), output ox's window starting at column ox * Stride + x0; `q` the block's packed
/// weights (quad kx: column kx), `start` and `multiplier` its 64 starting sums and multipliers;
/// output ox's codes at out + ox * out_step.
template <int Stride, class PixelInput>
[[gnu::target("avx512vnni")]] inline void depthwise_columns3_avx512vnni(
    PixelInput pixel, int64_t x0, int64_t ow, const int8_t* q, const int32_t* start,
    const float* multiplier, const quant::OutputClamp& clamp, int8_t* out, int64_t out_step) {
  using namespace depthwise_quads_detail;
  static_assert(Stride == 1 || Stride == 2, "stride 1 or 2");
  // The window's first two columns carried from the previous output.
  Column first = column_at(pixel, x0), second = column_at(pixel, x0 + 1);
  for (int64_t ox = 0; ox < ow; ++ox) {
    const int64_t x = ox * Stride + x0;
    const Column third = column_at(pixel, x + 2);
    __m512i a0 = _mm512_loadu_si512(start), a1 = _mm512_loadu_si512(start + 16),
            a2 = _mm512_loadu_si512(start + 32), a3 = _mm512_loadu_si512(start + 48);
    add_column(a0, a1, a2, a3, first, q);
    add_column(a0, a1, a2, a3, second, q + kChannels * 4);
    add_column(a0, a1, a2, a3, third, q + 2 * kChannels * 4);
    requantize64(a0, a1, a2, a3, multiplier, clamp, out + ox * out_step);
    if constexpr (Stride == 1) {
      first = second;
      second = third;
    } else {
      first = third;
      if (ox + 1 < ow) second = column_at(pixel, x + 3);
    }
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
