#pragma once
// The fp16 depthwise KxK convolution (3 or 5, stride 1 or 2) over NHWC tensors on AArch64 with
// fp16 arithmetic:
//   out[c] = act(bias[c] + sum over the window's taps inside the image of in[c] * w[tap][c])
// in fp16, taps in row-major order with one fused multiply-add each, padding taps skipped, so
// that every output is the same value whichever path computed it. Eight channels per vector; a
// group's K*K weight vectors stay in registers along an output row. Windows inside the image run
// straight-line code, several adjacent ones at a time sharing their loads; border windows take
// their inside taps, also straight-line for the column ranges MobileNet's padding gives. Channels
// past the last whole group (never in MobileNets, whose widths are multiples of 8) run one at a
// time with scalar fp16 FMA.

#include <arm_neon.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "mobilenet/core/aligned_buffer.hpp"
#include "mobilenet/core/half.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/kernels/arm/activation_fp16_neonfp16arith.hpp"
#include "mobilenet/kernels/padding.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// A depthwise layer's weights in fp16: [groups of 8 channels][k * k][8] (the last group's
/// missing channels zero), and the bias [groups * 8].
struct PackedDepthwiseFp16 {
  int64_t channels = 0;
  int kernel = 0;
  AlignedArray<half> weights;
  AlignedArray<half> bias;
};

namespace depthwise_fp16_detail {

inline constexpr int64_t kLanes = 8;

/// Output columns [lo, hi) whose windows lie inside the input width.
struct Interior {
  int64_t lo, hi;
};

inline Interior interior_columns(int64_t in_w, int64_t out_w, int kernel, int stride, int left) {
  const int64_t lo = std::min<int64_t>(out_w, (left + stride - 1) / stride);
  const int64_t last = in_w - kernel + left;  // the last window start inside, in padded units
  const int64_t hi = last < 0 ? lo : std::clamp<int64_t>(last / stride + 1, lo, out_w);
  return {lo, hi};
}

/// Output pixels ox .. ox + P - 1 of one row, of one channel group, all windows inside the image:
/// `rows[ky]` is tap row ky's input row, `x` the first pixel's first tap column (in halfs). The P
/// windows overlap, so each input vector is loaded once and feeds every window it is a tap of:
/// (P - 1) * S + K loads per tap row where P windows alone take P * K. Each accumulator still
/// starts from the bias and takes its taps in row-major order, so the outputs are those of one
/// window at a time (and of the border path).
template <int K, int S, int P, class Act>
[[gnu::always_inline]] inline void inside_pixels(const half* const (&rows)[K], int64_t x, int64_t c,
                                                 const float16x8_t (&w)[K * K], float16x8_t b,
                                                 half* out) {
  constexpr int kColumns = (P - 1) * S + K;
  float16x8_t acc[P];
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p) acc[p] = b;
#pragma GCC unroll 5
  for (int ky = 0; ky < K; ++ky)
#pragma GCC unroll 16
    for (int j = 0; j < kColumns; ++j) {
      const float16x8_t v = vld1q_f16(rows[ky] + x + j * c);
#pragma GCC unroll 8
      for (int p = 0; p < P; ++p) {
        const int kx = j - p * S;
        if (kx >= 0 && kx < K) acc[p] = vfmaq_f16(acc[p], v, w[ky * K + kx]);
      }
    }
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p) vst1q_f16(out + p * c, fp16::activate<Act>(acc[p]));
}

/// Output pixels per inside_pixels call: 4 of a 3x3 kernel (9 weight, 4 accumulator registers),
/// 2 of a 5x5 (25 weight registers leave room for 2).
template <int K>
inline constexpr int kInsidePixels = K == 3 ? 4 : 2;

/// A window crossing the image's edge whose taps inside are rows [ky_lo, ky_hi) and columns
/// [KxLo, KxHi) (a compile-time pair, so the weights come from registers and the columns are
/// straight-line code): `origin` is where the window's tap (0, 0) would be, `row` the stride of
/// an image row. The same taps in the same order as inside_pixels, so the same value.
template <int K, int KxLo, int KxHi, class Act>
[[gnu::always_inline]] inline void edge_window(const half* origin, int64_t row, int64_t c,
                                               int ky_lo, int ky_hi, const float16x8_t (&w)[K * K],
                                               float16x8_t b, half* out) {
  float16x8_t acc = b;
#pragma GCC unroll 5
  for (int ky = 0; ky < K; ++ky) {
    if (ky < ky_lo || ky >= ky_hi) continue;
    const half* p = origin + ky * row;
#pragma GCC unroll 5
    for (int kx = KxLo; kx < KxHi; ++kx)
      acc = vfmaq_f16(acc, vld1q_f16(p + kx * c), w[ky * K + kx]);
  }
  vst1q_f16(out, fp16::activate<Act>(acc));
}

/// edge_window for the column range [kx_lo, kx_hi) if it is one of those padding up to K / 2 on
/// either side gives (every MobileNet layer's); false otherwise.
template <int K, class Act, int KxLo, int... HiOffset>
[[gnu::always_inline]] inline bool edge_window_from(int kx_lo, int kx_hi, const half* origin,
                                                    int64_t row, int64_t c, int ky_lo, int ky_hi,
                                                    const float16x8_t (&w)[K * K], float16x8_t b,
                                                    half* out,
                                                    std::integer_sequence<int, HiOffset...>) {
  return kx_lo == KxLo &&
         ((kx_hi == K / 2 + 1 + HiOffset && (edge_window<K, KxLo, K / 2 + 1 + HiOffset, Act>(
                                                 origin, row, c, ky_lo, ky_hi, w, b, out),
                                             true)) ||
          ...);
}
template <int K, class Act, int... KxLo>
[[gnu::always_inline]] inline bool known_edge_window(int kx_lo, int kx_hi, const half* origin,
                                                     int64_t row, int64_t c, int ky_lo, int ky_hi,
                                                     const float16x8_t (&w)[K * K], float16x8_t b,
                                                     half* out,
                                                     std::integer_sequence<int, KxLo...>) {
  return (edge_window_from<K, Act, KxLo>(kx_lo, kx_hi, origin, row, c, ky_lo, ky_hi, w, b, out,
                                         std::make_integer_sequence<int, K - K / 2>{}) ||
          ...);
}

/// One output row (`oy`) of one channel group: `in` and `out` point at the group's first
/// channel of the image and of the output row; `c` is the pixel stride of both.
template <int K, int S, class Act>
[[gnu::always_inline]] inline void group_row(const half* in, int64_t in_h, int64_t in_w, int64_t c,
                                             const half* weights, const half* bias, half* out,
                                             int64_t out_w, int64_t oy, Padding pad,
                                             Interior inside) {
  float16x8_t w[K * K];
#pragma GCC unroll 25
  for (int t = 0; t < K * K; ++t) w[t] = vld1q_f16(weights + t * kLanes);
  const float16x8_t b = vld1q_f16(bias);
  const int64_t iy0 = oy * S - pad.top;
  const int ky_lo = static_cast<int>(std::max<int64_t>(0, -iy0));
  const int ky_hi = static_cast<int>(std::min<int64_t>(K, in_h - iy0));
  // A window that crosses the image's edge: its taps inside, in the same order.
  const auto border = [&](int64_t ox) {
    const int64_t ix0 = ox * S - pad.left;
    const int kx_lo = static_cast<int>(std::max<int64_t>(0, -ix0));
    const int kx_hi = static_cast<int>(std::min<int64_t>(K, in_w - ix0));
    if (known_edge_window<K, Act>(kx_lo, kx_hi, in + (iy0 * in_w + ix0) * c, in_w * c, c, ky_lo,
                                  ky_hi, w, b, out + ox * c,
                                  std::make_integer_sequence<int, K / 2 + 1>{}))
      return;
    // Other ranges (images narrower than the kernel): the taps inside, one by one.
    float16x8_t acc = b;
    for (int ky = ky_lo; ky < ky_hi; ++ky) {
      const half* p = in + ((iy0 + ky) * in_w + ix0) * c;
      const half* taps = weights + ky * K * kLanes;  // from memory: w[] stays in registers
      for (int kx = kx_lo; kx < kx_hi; ++kx)
        acc = vfmaq_f16(acc, vld1q_f16(p + kx * c), vld1q_f16(taps + kx * kLanes));
    }
    vst1q_f16(out + ox * c, fp16::activate<Act>(acc));
  };
  if (ky_lo != 0 || ky_hi != K) {
    for (int64_t ox = 0; ox < out_w; ++ox) border(ox);
    return;
  }
  for (int64_t ox = 0; ox < inside.lo; ++ox) border(ox);
  const half* rows[K];
  for (int ky = 0; ky < K; ++ky) rows[ky] = in + (iy0 + ky) * in_w * c;
  constexpr int P = kInsidePixels<K>;
  int64_t ox = inside.lo;
  for (; ox + P <= inside.hi; ox += P)
    inside_pixels<K, S, P, Act>(rows, (ox * S - pad.left) * c, c, w, b, out + ox * c);
  for (; ox < inside.hi; ++ox)
    inside_pixels<K, S, 1, Act>(rows, (ox * S - pad.left) * c, c, w, b, out + ox * c);
  for (ox = inside.hi; ox < out_w; ++ox) border(ox);
}

/// One output row of one channel past the last whole group, in scalar fp16.
template <int K, int S, class Act>
inline void channel_row(const half* in, int64_t in_h, int64_t in_w, int64_t c, const half* w,
                        half bias, half* out, int64_t out_w, int64_t oy, Padding pad) {
  const int64_t iy0 = oy * S - pad.top;
  for (int64_t ox = 0; ox < out_w; ++ox) {
    const int64_t ix0 = ox * S - pad.left;
    half acc = bias;
    for (int ky = 0; ky < K; ++ky)
      for (int kx = 0; kx < K; ++kx) {
        const int64_t iy = iy0 + ky, ix = ix0 + kx;
        if (iy < 0 || iy >= in_h || ix < 0 || ix >= in_w) continue;
        acc = vfmah_f16(acc, in[(iy * in_w + ix) * c], w[(ky * K + kx) * kLanes]);
      }
    out[ox * c] = fp16::activate_scalar<Act>(acc);
  }
}

template <int K, int S, class Act>
void rows(const half* in, const Shape& is, const PackedDepthwiseFp16& p, Padding pad, half* out,
          const Shape& os, int64_t oy0, int64_t oy1) {
  const int64_t c = is.c, groups = c / kLanes, taps = int64_t{K} * K;
  const Interior inside = interior_columns(is.w, os.w, K, S, pad.left);
  for (int64_t oy = oy0; oy < oy1; ++oy) {
    half* out_row = out + oy * os.w * c;
    for (int64_t g = 0; g < groups; ++g)
      group_row<K, S, Act>(in + g * kLanes, is.h, is.w, c, p.weights.data() + g * taps * kLanes,
                           p.bias.data() + g * kLanes, out_row + g * kLanes, os.w, oy, pad, inside);
    for (int64_t ch = groups * kLanes; ch < c; ++ch) {
      const int64_t g = ch / kLanes, lane = ch % kLanes;
      channel_row<K, S, Act>(in + ch, is.h, is.w, c, p.weights.data() + g * taps * kLanes + lane,
                             p.bias.data()[ch], out_row + ch, os.w, oy, pad);
    }
  }
}

}  // namespace depthwise_fp16_detail

/// Packs float weights `w` [channels][1][k][k] (PyTorch's layout) and `bias` [channels], rounded
/// to the nearest fp16.
inline PackedDepthwiseFp16 pack_depthwise_fp16(const float* w, const float* bias, int64_t channels,
                                               int kernel) {
  using depthwise_fp16_detail::kLanes;
  const int64_t groups = (channels + kLanes - 1) / kLanes, taps = int64_t{kernel} * kernel;
  PackedDepthwiseFp16 p{channels, kernel,
                        AlignedArray<half>(static_cast<std::size_t>(groups * taps * kLanes)),
                        AlignedArray<half>(static_cast<std::size_t>(groups * kLanes))};
  for (int64_t ch = 0; ch < channels; ++ch) {
    const int64_t g = ch / kLanes, lane = ch % kLanes;
    for (int64_t t = 0; t < taps; ++t)
      p.weights.data()[(g * taps + t) * kLanes + lane] = static_cast<half>(w[ch * taps + t]);
    p.bias.data()[ch] = static_cast<half>(bias ? bias[ch] : 0.0f);
  }
  return p;
}

/// Output rows [oy0, oy1) of one image: `in` (shape `is`, n = 1, contiguous) to `out` (shape
/// `os`, contiguous), `stride` 1 or 2, with `pad`, activation `Act`.
template <class Act>
void depthwise_fp16(const half* in, const Shape& is, const PackedDepthwiseFp16& p, int stride,
                    Padding pad, half* out, const Shape& os, int64_t oy0, int64_t oy1) {
  using namespace depthwise_fp16_detail;
  if (p.kernel == 3 && stride == 1) return rows<3, 1, Act>(in, is, p, pad, out, os, oy0, oy1);
  if (p.kernel == 3 && stride == 2) return rows<3, 2, Act>(in, is, p, pad, out, os, oy0, oy1);
  if (p.kernel == 5 && stride == 1) return rows<5, 1, Act>(in, is, p, pad, out, os, oy0, oy1);
  return rows<5, 2, Act>(in, is, p, pad, out, os, oy0, oy1);
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
