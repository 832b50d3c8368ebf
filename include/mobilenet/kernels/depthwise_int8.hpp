#pragma once
// int8 depthwise KxK convolution over NHWC tensors (the arithmetic: quant/quantize.hpp):
//   acc[c] = bias[c] + sum over the window's taps inside the image of (in[c] - zp_in) * w[tap][c]
//   out[c] = requantize(acc[c], multiplier[c], clamp)
// Padding contributes nothing, as a zero-valued input does (its code is zp_in). On AVX-512 VNNI
// CPUs whole blocks of 64 channels take four taps per VPDPBUSD
// (x86/depthwise_int8_quads_avx512vnni.hpp); the other channels go in blocks of 16 as vector types
// (sign extension, subtract, 32-bit multiply, add; then the requantization's convert, multiply,
// clamp, round, narrow), one source for every path; the integer sums are exact, and the
// requantization is the same float operations as the scalar quant::requantize, so every ISA gives
// the same bytes.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "mobilenet/core/aligned_buffer.hpp"
#include "mobilenet/core/error.hpp"
#include "mobilenet/core/isa.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/kernels/padding.hpp"
#include "mobilenet/quant/quantize.hpp"
#if defined(__SSE4_1__)
#include "mobilenet/kernels/x86/widen_int8_x86.hpp"
#elif defined(__aarch64__)
#include "mobilenet/kernels/arm/requantize_int8_aarch64_neon.hpp"
#endif
#if defined(__ARM_NEON)
#include "mobilenet/kernels/arm/depthwise_int8_pairs_neon.hpp"
#if defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
#include "mobilenet/kernels/arm/depthwise_int8_columns_aarch64_neondot.hpp"
#elif defined(__aarch64__)
#include "mobilenet/kernels/arm/depthwise_int8_3x3_aarch64_neon.hpp"
#endif
#elif defined(__AVX2__)
#include "mobilenet/kernels/x86/depthwise_int8_pairs_avx2.hpp"
#include "mobilenet/kernels/x86/requantize_int8_avx2.hpp"
#if defined(__AVX512BW__)
#include "mobilenet/kernels/x86/depthwise_int8_pairs_avx512.hpp"
#include "mobilenet/kernels/x86/requantize_int8_avx512.hpp"
#endif
#if defined(__AVX512BW__) && defined(__AVX512VL__)
#include "mobilenet/core/cpu_features.hpp"
#include "mobilenet/kernels/x86/depthwise_int8_quads_avx512vnni.hpp"
#endif
#endif

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

namespace depthwise_int8_detail {
/// Channels are padded to a multiple of this (the widest block: one AVX-512 register of int32
/// lanes, two AVX2, four SSE2 or NEON).
inline constexpr int64_t kBlock = 16;

inline int64_t padded_channels(int64_t channels) {
  return (channels + kBlock - 1) / kBlock * kBlock;
}

/// Whether whole channel blocks multiply in 16-bit pairs of taps, reading a row of the input
/// zero point for taps outside the image: with NEON (arm/depthwise_int8_pairs_neon.hpp: SMULL,
/// SMLAL, SADDW on the weights as bytes), about a third of the instructions of 32-bit lanes; with
/// AVX2 (x86/depthwise_int8_pairs_avx2.hpp: VPMADDWD on the weights as interleaved 16-bit pairs),
/// half. SSE2 and SSE4.1 keep 32-bit lanes.
#if defined(__ARM_NEON)
inline constexpr bool kNeonPairs = true, kAvx2Pairs = false;
#elif defined(__AVX2__)
inline constexpr bool kNeonPairs = false, kAvx2Pairs = true;
#else
inline constexpr bool kNeonPairs = false, kAvx2Pairs = false;
#endif
inline constexpr bool kPairTaps = kNeonPairs || kAvx2Pairs;

/// Pairs of taps of a k x k kernel (an odd last tap paired with a zero weight).
inline int tap_pairs(int kernel) {
  return (kernel * kernel + 1) / 2;
}
}  // namespace depthwise_int8_detail

/// An int8 depthwise layer's weights, tap-major ([k * k][channels] with the channels zero-padded
/// to whole blocks, so each tap's channels are contiguous), with its bias, multipliers (padded
/// likewise), input zero point and output clamp.
struct PackedDepthwiseInt8 {
  int64_t channels = 0;
  int kernel = 0;
  AlignedArray<int32_t> weights;  ///< [kernel * kernel][padded channels], sign-extended
  AlignedArray<int8_t> bytes;     ///< the same as int8, where kNeonPairs (else empty)
  /// [tap pairs][padded channels][2]: each channel's weights of taps 2p and 2p + 1 (0 past the
  /// last tap), where kAvx2Pairs (else empty)
  AlignedArray<int16_t> pairs;
  /// [padded channels] bytes of the input zero point, where kPairTaps: what padding taps read
  AlignedArray<int8_t> zero_point_row;
  AlignedArray<int32_t> bias;      ///< [padded channels]
  AlignedArray<float> multiplier;  ///< [padded channels]
  /// Weights four taps per 32-bit lane for the dot-product kernels, with their starting sums
  /// (and multipliers), else empty: the whole blocks of 64 channels in the order of the AVX-512
  /// VNNI kernels (x86/depthwise_int8_quads_avx512vnni.hpp), where this unit has AVX-512 BW and
  /// VL and the CPU VNNI; 3x3 kernels' whole blocks of 16 channels for SDOT where this unit has
  /// the ARMv8.2 dot product (arm/depthwise_int8_columns_aarch64_neondot.hpp; channels in order,
  /// so the multipliers are `multiplier`'s).
  AlignedArray<int8_t> quad_weights;
  AlignedArray<int32_t> quad_start;
  AlignedArray<float> quad_multiplier;
  int32_t input_zero_point = 0;
  quant::OutputClamp clamp;
};

/// Packs PyTorch-layout weights `w` [channels][1][k][k] (symmetric int8), the int32 `bias`
/// [channels] (null: zero) and the requantization `multiplier` [channels].
/// @throws Error if a weight is -128 (symmetric int8 weights lie in [-127, 127]; the pairs of
/// 16-bit products rely on it).
inline PackedDepthwiseInt8 pack_depthwise_int8(const int8_t* w, const int32_t* bias,
                                               const float* multiplier, int64_t channels,
                                               int kernel, int32_t input_zero_point,
                                               quant::OutputClamp clamp) {
  const int taps = kernel * kernel;
  const int64_t padded = depthwise_int8_detail::padded_channels(channels);
  PackedDepthwiseInt8 p{
      channels,
      kernel,
      AlignedArray<int32_t>(static_cast<std::size_t>(taps * padded)),
      AlignedArray<int8_t>(
          depthwise_int8_detail::kNeonPairs ? static_cast<std::size_t>(taps * padded) : 0),
      AlignedArray<int16_t>(
          depthwise_int8_detail::kAvx2Pairs
              ? static_cast<std::size_t>(2 * depthwise_int8_detail::tap_pairs(kernel) * padded)
              : 0),
      AlignedArray<int8_t>(depthwise_int8_detail::kPairTaps ? static_cast<std::size_t>(padded) : 0),
      AlignedArray<int32_t>(static_cast<std::size_t>(padded)),
      AlignedArray<float>(static_cast<std::size_t>(padded)),
      {},
      {},
      {},
      input_zero_point,
      clamp};
  if (depthwise_int8_detail::kPairTaps)
    std::fill(p.zero_point_row.data(), p.zero_point_row.data() + padded,
              static_cast<int8_t>(input_zero_point));
  for (int64_t c = 0; c < channels; ++c) {
    for (int t = 0; t < taps; ++t) {
      const int8_t v = w[c * taps + t];
      if (v == quant::kMin)
        throw Error("int8 depthwise: channel " + std::to_string(c) +
                    " holds weight -128; symmetric int8 weights lie in [-127, 127]");
      p.weights.data()[t * padded + c] = v;
      if (depthwise_int8_detail::kNeonPairs) p.bytes.data()[t * padded + c] = v;
      if (depthwise_int8_detail::kAvx2Pairs) p.pairs.data()[(t / 2 * padded + c) * 2 + t % 2] = v;
    }
    p.bias.data()[c] = bias ? bias[c] : 0;
    p.multiplier.data()[c] = multiplier[c];
  }
#if defined(__AVX512BW__) && defined(__AVX512VL__)
  if ((channels >= depthwise_quads_detail::kChannels ||
       depthwise_quads_detail::pixel_pairs(channels, kernel)) &&
      (cpu_features() & bit(CpuFeature::AVX512VNNI))) {
    const auto lanes =
        static_cast<std::size_t>(depthwise_quads_detail::packed_lanes(channels, kernel));
    p.quad_weights = AlignedArray<int8_t>(
        static_cast<std::size_t>(depthwise_quads_detail::packed_weight_bytes(channels, kernel)));
    p.quad_start = AlignedArray<int32_t>(lanes);
    p.quad_multiplier = AlignedArray<float>(lanes);
    pack_depthwise_quads_avx512vnni(w, bias, multiplier, channels, kernel, input_zero_point,
                                    p.quad_weights.data(), p.quad_start.data(),
                                    p.quad_multiplier.data());
  }
#elif defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
  if (kernel == 3 && channels >= 16) {
    p.quad_weights = AlignedArray<int8_t>(
        static_cast<std::size_t>(channels / 16 * depthwise_columns_neondot_detail::kBlockBytes));
    p.quad_start = AlignedArray<int32_t>(static_cast<std::size_t>(channels / 16 * 16));
    pack_depthwise_columns_neondot(w, bias, channels, input_zero_point, p.quad_weights.data(),
                                   p.quad_start.data());
  }
#endif
  return p;
}

namespace depthwise_int8_detail {

// Blocks of channels as GCC/Clang vector types: plain C++ arithmetic on them compiles to one
// AVX-512 instruction per 16 lanes, two AVX2, four SSE2 or NEON ones, whatever this unit's flags
// allow, without depending on the auto-vectorizer (which spilled the accumulators of plain
// loops). Helpers take and give blocks by reference: a 64-byte vector passed by value has another
// ABI without AVX-512 (GCC's -Wpsabi).
// Spelled out per width: GCC drops a vector_size that depends on a template parameter.
template <int L>
struct Lanes;
template <>
struct Lanes<16> {
  using I8 = int8_t __attribute__((vector_size(16)));
  using I16 = int16_t __attribute__((vector_size(32)));
  using I32 = int32_t __attribute__((vector_size(64)));
  using F32 = float __attribute__((vector_size(64)));
};
template <>
struct Lanes<8> {
  using I8 = int8_t __attribute__((vector_size(8)));
  using I16 = int16_t __attribute__((vector_size(16)));
  using I32 = int32_t __attribute__((vector_size(32)));
  using F32 = float __attribute__((vector_size(32)));
};

/// Sign-extends L bytes at `p`: on x86 with PMOVSXBD (x86/widen_int8_x86.hpp), elsewhere as
/// generic vectors through int16 (GCC 12 lowers a direct 8-to-32-bit conversion lane by lane,
/// the two steps to SXTL / SXTL2).
template <int L>
inline void widen(const int8_t* p, typename Lanes<L>::I32& out) {
#if defined(__SSE4_1__)
  widen_int8_x86<L>(p, &out);
#else
  typename Lanes<L>::I8 v;
  std::memcpy(&v, p, sizeof v);
  out = __builtin_convertvector(__builtin_convertvector(v, typename Lanes<L>::I16),
                                typename Lanes<L>::I32);
#endif
}

/// quant::requantize on L lanes, in the same float operations: convert, multiply, max, min,
/// round to nearest even, add the zero point. The rounding adds and subtracts 1.5 * 2^23, which
/// rounds to an integer in the default rounding mode (ties to even) for |f| <= 2^22; the clamp
/// has put f within int8's span of that. AArch64 has its own form
/// (arm/requantize_int8_aarch64_neon.hpp): GCC lowers this one's selects lane by lane there.
template <int L>
inline void requantize(const typename Lanes<L>::I32& acc, const float* multiplier,
                       const quant::OutputClamp& c, typename Lanes<L>::I8& out) {
#if defined(__aarch64__)
  int32x4_t a[L / 4];
  float32x4_t m[L / 4];
  std::memcpy(a, &acc, sizeof a);
  for (int k = 0; k < L / 4; ++k) m[k] = vld1q_f32(multiplier + 4 * k);
  requantize_int8_neon<L>(a, m, neon_output_clamp(c), reinterpret_cast<int8_t*>(&out));
#else
  using F32 = typename Lanes<L>::F32;
  using I32 = typename Lanes<L>::I32;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23
  F32 m;
  std::memcpy(&m, multiplier, sizeof m);
  F32 f = __builtin_convertvector(acc, F32) * m;
  f = f < c.lo ? c.lo : f;
  f = c.hi < f ? c.hi : f;
  f = (f + kRound) - kRound;
  out = __builtin_convertvector(__builtin_convertvector(f, I32) + c.zero_point,
                                typename Lanes<L>::I8);
#endif
}

/// Output row `oy` of image `in` (one batch item), channels [c0, c0 + n) as L lanes, the block's
/// K * K weight vectors held in registers across the row. Columns whose window lies inside the
/// image run without bounds checks; the border columns check each tap (with NEON and AVX2 they
/// read the zero point's row instead, below). Partial: n < L (the last
/// channels of a layer whose count is not a multiple of 8): inputs go through a zero-filled copy
/// so that nothing is read past the pixel, outputs are stored n bytes.
template <int K, int L, bool Partial>
inline void row_block(const int8_t* in, const Shape& is, const PackedDepthwiseInt8& w, int stride,
                      const Padding& pad, int64_t oy, int64_t ow, int64_t c0, int64_t n,
                      int8_t* out) {
  using I32 = typename Lanes<L>::I32;
  const int64_t C = is.c, stride_c = padded_channels(C);
  I32 wv[K * K], bias;
  for (int t = 0; t < K * K; ++t)
    std::memcpy(&wv[t], w.weights.data() + t * stride_c + c0, sizeof(I32));
  std::memcpy(&bias, w.bias.data() + c0, sizeof bias);
  const int32_t zp = w.input_zero_point;
  const int8_t* rows[K];  // the window's input rows at channel c0, null outside the image
  for (int ky = 0; ky < K; ++ky) {
    const int64_t iy = oy * stride - pad.top + ky;
    rows[ky] = iy < 0 || iy >= is.h ? nullptr : in + iy * is.w * C + c0;
  }
  // One tap: acc += (x - zp) * w, or acc += x * w where the caller has folded -zp * w into the
  // starting value (a window entirely inside the image).
  const auto tap = [&](I32& acc, const int8_t* x, int t, auto subtract_zero_point) {
    I32 v;
    if constexpr (Partial) {
      int8_t bytes[L] = {};
      std::memcpy(bytes, x, static_cast<std::size_t>(n));
      widen<L>(bytes, v);
    } else {
      widen<L>(x, v);
    }
    if constexpr (decltype(subtract_zero_point)::value) v -= zp;
    acc += v * wv[t];
  };
  using Subtract = std::true_type;
  const auto store = [&](const I32& acc, int64_t ox) {
    typename Lanes<L>::I8 q;
    requantize<L>(acc, w.multiplier.data() + c0, w.clamp, q);
    std::memcpy(out + ox * C + c0, &q, Partial ? static_cast<std::size_t>(n) : sizeof q);
  };
  const auto checked = [&](int64_t ox) {
    I32 acc = bias;
    for (int ky = 0; ky < K; ++ky) {
      if (!rows[ky]) continue;
      for (int kx = 0; kx < K; ++kx) {
        const int64_t ix = ox * stride - pad.left + kx;
        if (ix >= 0 && ix < is.w) tap(acc, rows[ky] + ix * C, ky * K + kx, Subtract{});
      }
    }
    store(acc, ox);
  };
  // Columns [inner_begin, inner_end) read input columns ox * stride - left + [0, K) inside the
  // image.
  const int64_t inner_begin = std::min<int64_t>(ow, (pad.left + stride - 1) / stride);
  const int64_t last_start = is.w - K + pad.left;  // the last window start inside, plus left
  const int64_t inner_end =
      Partial || last_start < 0
          ? inner_begin
          : std::max(inner_begin, std::min<int64_t>(ow, last_start / stride + 1));
  bool all_rows = true;
  for (int ky = 0; ky < K; ++ky) all_rows = all_rows && rows[ky];
  // Every tap inside: sum (x - zp) * w = sum x * w - zp * sum w, the second term folded in.
  I32 start = bias;
  for (int t = 0; t < K * K; ++t) start -= zp * wv[t];
#if defined(__ARM_NEON)
  if constexpr (!Partial) {
    // Every column in NEON registers, in pairs of taps (arm/depthwise_int8_pairs_neon.hpp):
    // taps outside the image read a row of the input zero point, so that with -zp * sum w
    // folded in they add (zp - zp) * w = 0, as the border columns' skipped taps do.
    int32x4_t first[L / 4];
    std::memcpy(first, &start, sizeof first);
    const int8_t* zero = w.zero_point_row.data() + c0;
#if defined(__aarch64__)
    const NeonOutputClamp clamp = neon_output_clamp(w.clamp);
    float32x4_t m[L / 4];
    for (int k = 0; k < L / 4; ++k) m[k] = vld1q_f32(w.multiplier.data() + c0 + 4 * k);
#endif
    int8x16_t bytes[K * K];  // tap t's L weights in the low bytes
    for (int t = 0; t < K * K; ++t) {
      const int8_t* p = w.bytes.data() + t * stride_c + c0;
      bytes[t] = L == 16 ? vld1q_s8(p) : vcombine_s8(vld1_s8(p), vdup_n_s8(0));
    }
    const auto column = [&](int64_t ox) {
      int32x4_t acc[L / 4];
      for (int k = 0; k < L / 4; ++k) acc[k] = first[k];
      const int64_t x0 = ox * stride - pad.left;
      if (all_rows && ox >= inner_begin && ox < inner_end) {
        pair_taps_neon<K, L>([&](int t) { return rows[t / K] + (x0 + t % K) * C; }, bytes, acc);
      } else {
        pair_taps_neon<K, L>(
            [&](int t) {
              const int64_t ix = x0 + t % K;
              return rows[t / K] && ix >= 0 && ix < is.w ? rows[t / K] + ix * C : zero;
            },
            bytes, acc);
      }
#if defined(__aarch64__)
      requantize_int8_neon<L>(acc, m, clamp, out + ox * C + c0);
#else
      I32 sum;
      std::memcpy(&sum, acc, sizeof sum);
      store(sum, ox);
#endif
    };
    int64_t ox = 0;
#if defined(__aarch64__) && !defined(__ARM_FEATURE_DOTPROD)
    // ARMv8.0's 3x3 windows inside the image in assembly (arm/depthwise_int8_3x3_aarch64_neon.hpp).
    if constexpr (K == 3 && L == 16) {
      if (all_rows && inner_end > inner_begin) {
        for (; ox < inner_begin; ++ox) column(ox);
        const int64_t x0 = (inner_begin * stride - pad.left) * C;
        depthwise3x3_pairs_asm(rows[0] + x0, rows[1] + x0, rows[2] + x0, C, stride * C,
                               inner_end - inner_begin, bytes, first, w.multiplier.data() + c0,
                               clamp, out + inner_begin * C + c0);
        ox = inner_end;
      }
    }
#endif
    for (; ox < ow; ++ox) column(ox);
    return;
  }
#elif defined(__AVX2__)
  if constexpr (!Partial) {
    // Every column in pairs of taps (x86/depthwise_int8_pairs_avx2.hpp; blocks of 16 in one
    // register with AVX-512: x86/depthwise_int8_pairs_avx512.hpp), border taps reading the zero
    // point's row as with NEON above.
    const int8_t* zero = w.zero_point_row.data() + c0;
    const int16_t* pairs = w.pairs.data() + 2 * c0;
    const float* multiplier = w.multiplier.data() + c0;
    // f(taps) with the input of tap t of column ox: inside the image, or the zero point's row.
    const auto with_taps = [&](int64_t ox, auto&& f) {
      const int64_t x0 = ox * stride - pad.left;
      if (all_rows && ox >= inner_begin && ox < inner_end) {
        f([&](int t) { return rows[t / K] + (x0 + t % K) * C; });
      } else {
        f([&](int t) {
          const int64_t ix = x0 + t % K;
          return rows[t / K] && ix >= 0 && ix < is.w ? rows[t / K] + ix * C : zero;
        });
      }
    };
#if defined(__AVX512BW__)
    if constexpr (L == 16) {
      __m512i first;
      std::memcpy(&first, &start, sizeof first);
      const __m512 m = _mm512_loadu_ps(multiplier);
      for (int64_t ox = 0; ox < ow; ++ox) {
        __m512i acc = first;
        with_taps(ox, [&](auto taps) { pair_taps_avx512<K>(taps, pairs, 2 * stride_c, acc); });
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + ox * C + c0),
                         requantize16_avx512(acc, m, w.clamp));
      }
      return;
    }
#endif
    __m256i first[L / 8];
    std::memcpy(first, &start, sizeof first);
    for (int64_t ox = 0; ox < ow; ++ox) {
      __m256i acc[L / 8];
      for (int k = 0; k < L / 8; ++k) acc[k] = first[k];
      with_taps(ox, [&](auto taps) { pair_taps_avx2<K, L>(taps, pairs, 2 * stride_c, acc); });
      int8_t* dst = out + ox * C + c0;
      const __m256i low = requantize8_avx2(acc[0], multiplier, w.clamp);
      if constexpr (L == 16) {
        const __m256i high = requantize8_avx2(acc[1], multiplier + 8, w.clamp);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), narrow16_avx2(low, high));
      } else {
        _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), narrow16_avx2(low, low));
      }
    }
    return;
  }
#endif
  int64_t ox = 0;
  for (; ox < inner_begin; ++ox) checked(ox);
  if (all_rows) {
    for (; ox < inner_end; ++ox) {
      I32 acc = start;
      const int64_t x0 = (ox * stride - pad.left) * C;
      for (int ky = 0; ky < K; ++ky)
        for (int kx = 0; kx < K; ++kx)
          tap(acc, rows[ky] + x0 + kx * C, ky * K + kx, std::false_type{});
      store(acc, ox);
    }
  }
  for (; ox < inner_end; ++ox) {
    I32 acc = bias;
    const int64_t x0 = (ox * stride - pad.left) * C;
    for (int ky = 0; ky < K; ++ky) {
      if (!rows[ky]) continue;
      for (int kx = 0; kx < K; ++kx) tap(acc, rows[ky] + x0 + kx * C, ky * K + kx, Subtract{});
    }
    store(acc, ox);
  }
  for (; ox < ow; ++ox) checked(ox);
}

#if defined(__AVX512BW__) && defined(__AVX512VL__)
/// Output row `oy`, the 64 channels of block `block` (depthwise_quads_detail::block_first), with
/// the VNNI kernels (3x3 by columns): taps outside the image, and the padding taps past K * K, read
/// the zero point's row.
template <int K>
inline void quad_row_block(const int8_t* in, const Shape& is, const PackedDepthwiseInt8& w,
                           int stride, const Padding& pad, int64_t oy, int64_t ow, int64_t block,
                           int8_t* out) {
  const int64_t C = is.c, c0 = depthwise_quads_detail::block_first(block, C);
  const int8_t* rows[K];  // the window's input rows at channel c0, null outside the image
  bool all_rows = true;
  for (int ky = 0; ky < K; ++ky) {
    const int64_t iy = oy * stride - pad.top + ky;
    rows[ky] = iy < 0 || iy >= is.h ? nullptr : in + iy * is.w * C + c0;
    all_rows = all_rows && rows[ky];
  }
  const int8_t* zero = w.zero_point_row.data() + c0;
  const int8_t* weights = w.quad_weights.data() + block * depthwise_quads_detail::tap_quads(K) *
                                                      depthwise_quads_detail::kChannels * 4;
  const int32_t* start = w.quad_start.data() + block * depthwise_quads_detail::kChannels;
  const float* multiplier = w.quad_multiplier.data() + block * depthwise_quads_detail::kChannels;
  if constexpr (K == 3) {
    const auto pixel = [&](int ky, int64_t x) {
      return rows[ky] && x >= 0 && x < is.w ? rows[ky] + x * C : zero;
    };
    if (stride == 1)
      depthwise_columns3_avx512vnni<1>(pixel, -pad.left, ow, weights, start, multiplier, w.clamp,
                                       out + c0, C);
    else
      depthwise_columns3_avx512vnni<2>(pixel, -pad.left, ow, weights, start, multiplier, w.clamp,
                                       out + c0, C);
  } else {
    // Columns whose window lies inside the image, as in row_block.
    const int64_t inner_begin = std::min<int64_t>(ow, (pad.left + stride - 1) / stride);
    const int64_t last_start = is.w - K + pad.left;
    const int64_t inner_end =
        last_start < 0 ? inner_begin
                       : std::max(inner_begin, std::min<int64_t>(ow, last_start / stride + 1));
    for (int64_t ox = 0; ox < ow; ++ox) {
      const int64_t x0 = ox * stride - pad.left;
      int8_t* dst = out + ox * C + c0;
      if (all_rows && ox >= inner_begin && ox < inner_end) {
        depthwise_quads_avx512vnni<K>(
            [&](int t) { return t < K * K ? rows[t / K] + (x0 + t % K) * C : zero; }, weights,
            start, multiplier, w.clamp, dst);
      } else {
        depthwise_quads_avx512vnni<K>(
            [&](int t) {
              const int64_t ix = x0 + t % K;
              return t < K * K && rows[t / K] && ix >= 0 && ix < is.w ? rows[t / K] + ix * C : zero;
            },
            weights, start, multiplier, w.clamp, dst);
      }
    }
  }
}
#endif

/// Output rows [row_begin, row_end) of the batch, counted over images (image b's row oy is
/// b * os.h + oy).
#if defined(__AVX512BW__) && defined(__AVX512VL__)
/// Output row `oy` of a 32-channel 3x3 layer at stride 1 with the VNNI column kernel, two pixels
/// per register: a column of the kernel is then a pair of input pixels, output pixels 2g and
/// 2g + 1 read the pairs at 2g - left + kx, which is the kernel's stride-2 walk over pairs.
/// Pairs with a pixel outside the image are assembled with the zero point's pixel; an odd last
/// output goes through a scratch pair.
inline void pixel_pair_row(const int8_t* in, const Shape& is, const PackedDepthwiseInt8& w,
                           const Padding& pad, int64_t oy, int64_t ow, int8_t* out) {
  constexpr int64_t C = 32;
  const int8_t* rows[3];  // the window's input rows, null outside the image
  for (int ky = 0; ky < 3; ++ky) {
    const int64_t iy = oy - pad.top + ky;
    rows[ky] = iy < 0 || iy >= is.h ? nullptr : in + iy * is.w * C;
  }
  alignas(64) int8_t zero[2 * C];
  std::memset(zero, w.input_zero_point, sizeof zero);
  alignas(64) int8_t edge[3][2 * C];
  const auto pair = [&](int ky, int64_t x) -> const int8_t* {
    if (!rows[ky]) return zero;
    if (x >= 0 && x + 1 < is.w) return rows[ky] + x * C;
    for (int64_t p = 0; p < 2; ++p) {
      const int64_t ix = x + p;
      std::memcpy(edge[ky] + p * C, ix >= 0 && ix < is.w ? rows[ky] + ix * C : zero, C);
    }
    return edge[ky];
  };
  const int64_t pairs = ow / 2;
  depthwise_columns3_avx512vnni<2>(pair, -pad.left, pairs, w.quad_weights.data(),
                                   w.quad_start.data(), w.quad_multiplier.data(), w.clamp, out,
                                   2 * C);
  if (ow % 2 != 0) {
    alignas(64) int8_t last[2 * C];
    depthwise_columns3_avx512vnni<2>(pair, 2 * pairs - pad.left, 1, w.quad_weights.data(),
                                     w.quad_start.data(), w.quad_multiplier.data(), w.clamp, last,
                                     2 * C);
    std::memcpy(out + 2 * pairs * C, last, C);
  }
}
#endif

#if defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
/// Output row `oy`, channels [c0, c0 + 16) of a 3x3 kernel with SDOT, by columns.
inline void column_row_block(const int8_t* in, const Shape& is, const PackedDepthwiseInt8& w,
                             int stride, const Padding& pad, int64_t oy, int64_t ow, int64_t c0,
                             int8_t* out) {
  const int64_t C = is.c;
  depthwise_columns_neondot_detail::WindowRows window{{}, w.zero_point_row.data() + c0, is.w, C};
  for (int ky = 0; ky < 3; ++ky) {
    const int64_t iy = oy * stride - pad.top + ky;
    window.row[ky] = iy < 0 || iy >= is.h ? nullptr : in + iy * is.w * C + c0;
  }
  const int8_t* q = w.quad_weights.data() + c0 / 16 * depthwise_columns_neondot_detail::kBlockBytes;
  const NeonOutputClamp clamp = neon_output_clamp(w.clamp);
  if (stride == 1)
    depthwise_columns3_neondot<1>(window, -pad.left, ow, q, w.quad_start.data() + c0,
                                  w.multiplier.data() + c0, clamp, out + c0);
  else
    depthwise_columns3_neondot<2>(window, -pad.left, ow, q, w.quad_start.data() + c0,
                                  w.multiplier.data() + c0, clamp, out + c0);
}
#endif

template <int K>
inline void run(const int8_t* in, const Shape& is, const PackedDepthwiseInt8& w, int stride,
                const Padding& pad, int8_t* out, const Shape& os, int64_t row_begin,
                int64_t row_end) {
  const int64_t C = is.c;
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int64_t b = row / os.h, oy = row % os.h;
    const int8_t* image = in + b * is.h * is.w * C;
    int8_t* o = out + row * os.w * C;
    int64_t c0 = 0;
#if defined(__AVX512BW__) && defined(__AVX512VL__)
    if (w.quad_start.size() != 0 && depthwise_quads_detail::pixel_pairs(C, K) && stride == 1) {
      pixel_pair_row(image, is, w, pad, oy, os.w, o);
      continue;
    }
    // (A pixel-pair layer at stride 2 takes the pairs path.)
    if (w.quad_start.size() != 0 && !depthwise_quads_detail::pixel_pairs(C, K)) {
      for (int64_t block = 0; block < depthwise_quads_detail::blocks(C, K); ++block)
        quad_row_block<K>(image, is, w, stride, pad, oy, os.w, block, o);
      c0 = depthwise_quads_detail::covered(C, K);
    }
#elif defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
    if constexpr (K == 3)
      if (w.quad_weights.size() != 0)
        for (; c0 + 16 <= C; c0 += 16) column_row_block(image, is, w, stride, pad, oy, os.w, c0, o);
#endif
    for (; c0 + 16 <= C; c0 += 16)
      row_block<K, 16, false>(image, is, w, stride, pad, oy, os.w, c0, 16, o);
    if (c0 + 8 <= C) {
      row_block<K, 8, false>(image, is, w, stride, pad, oy, os.w, c0, 8, o);
      c0 += 8;
    }
    if (c0 < C) row_block<K, 8, true>(image, is, w, stride, pad, oy, os.w, c0, C - c0, o);
  }
}
}  // namespace depthwise_int8_detail

/// The output shape of `w` at `stride` with `pad` on `is`.
inline Shape depthwise_int8_output_shape(const Shape& is, const PackedDepthwiseInt8& w, int stride,
                                         const Padding& pad) {
  return {is.n, conv_output_size(is.h, w.kernel, stride, pad.top, pad.bottom),
          conv_output_size(is.w, w.kernel, stride, pad.left, pad.right), is.c};
}

/// out = the depthwise convolution of contiguous NHWC `in` (shape `is`) with `w` at `stride`
/// (1 or 2) and per-side `pad`; `out` holds depthwise_int8_output_shape() elements. Only output
/// rows [row_begin, row_end) are written, counted over the batch (image b's row oy is
/// b * output height + oy; row_end < 0: to the last), so that threads can share one image.
/// @throws Error if the channels differ from the weights', the kernel is not 3 or 5, the
/// stride is not 1 or 2, or the rows are out of range.
inline void depthwise_int8(const int8_t* in, const Shape& is, const PackedDepthwiseInt8& w,
                           int stride, const Padding& pad, int8_t* out, int64_t row_begin = 0,
                           int64_t row_end = -1) {
  if (is.c != w.channels)
    throw Error("int8 depthwise: input has " + std::to_string(is.c) + " channels, weights " +
                std::to_string(w.channels));
  if (stride != 1 && stride != 2)
    throw Error("int8 depthwise: stride " + std::to_string(stride) + " (expected 1 or 2)");
  const Shape os = depthwise_int8_output_shape(is, w, stride, pad);
  const int64_t rows = os.n * os.h;
  if (row_end < 0) row_end = rows;
  if (row_begin < 0 || row_begin > row_end || row_end > rows)
    throw Error("int8 depthwise: output rows [" + std::to_string(row_begin) + ", " +
                std::to_string(row_end) + ") outside [0, " + std::to_string(rows) + ")");
  if (w.kernel == 3)
    return depthwise_int8_detail::run<3>(in, is, w, stride, pad, out, os, row_begin, row_end);
  if (w.kernel == 5)
    return depthwise_int8_detail::run<5>(in, is, w, stride, pad, out, os, row_begin, row_end);
  throw Error("int8 depthwise: kernel " + std::to_string(w.kernel) + " (expected 3 or 5)");
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
