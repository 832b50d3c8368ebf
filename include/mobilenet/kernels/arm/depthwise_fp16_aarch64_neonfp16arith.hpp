#pragma once
// The fp16 depthwise KxK convolution (3 or 5, stride 1 or 2) over NHWC tensors on AArch64 with
// fp16 arithmetic:
//   out[c] = act(bias[c] + sum over the window's taps of in[c] * w[tap][c])
// in fp16, taps in row-major order with one fused multiply-add each, on the input zero-padded on
// every side first (pad_input_fp16), so that every window lies inside it and runs the same
// straight-line code. A padding tap adds 0 * w, which leaves the sum as it was (a -0 sum becomes
// +0), so the outputs are those of the taps inside the image alone. Eight channels per vector; a
// group's K*K weight vectors stay in registers over a band of output rows, and several adjacent
// windows of a row go at a time, sharing their loads. Channels past the last whole group (never
// in MobileNets, whose widths are multiples of 8) run one at a time with scalar fp16 FMA.
//
// Why a copy: on MobileNet's 14 x 14 and 7 x 7 maps a quarter to four fifths of the windows
// cross the border (5 x 5 with padding 2 on 7 x 7: 40 of 49), and a border window's own code
// (its range of taps, no loads shared) costs about three times an inside one. Copying costs two
// instructions (LDP, STP) per 16 values of the input once.

#include <arm_neon.h>

#include <algorithm>
#include <cstdint>

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

/// Output rows per band: a group's weights are loaded once per band, and a band's input rows
/// stay in cache while every group passes over them.
inline constexpr int64_t kBandRows = 8;

/// Output pixels ox .. ox + P - 1 of one row, of one channel group: `rows[ky]` is tap row ky's
/// padded input row at the first window's first tap. The P windows overlap, so each input
/// vector is loaded once and feeds every window it is a tap of: (P - 1) * S + K loads per tap
/// row where P windows alone take P * K. Each accumulator still starts from the bias and takes
/// its taps in row-major order, so the outputs are those of one window at a time.
template <int K, int S, int P, class Act>
[[gnu::always_inline]] inline void windows(const half* const (&rows)[K], int64_t c,
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
      const float16x8_t v = vld1q_f16(rows[ky] + j * c);
#pragma GCC unroll 8
      for (int p = 0; p < P; ++p) {
        const int kx = j - p * S;
        if (kx >= 0 && kx < K) acc[p] = vfmaq_f16(acc[p], v, w[ky * K + kx]);
      }
    }
#pragma GCC unroll 8
  for (int p = 0; p < P; ++p) vst1q_f16(out + p * c, fp16::activate<Act>(acc[p]));
}

/// Output pixels per windows() call: 4 of a 3x3 kernel (9 weight, 4 accumulator registers), 2
/// of a 5x5 (25 weight registers leave room for 2).
template <int K>
inline constexpr int kWindows = K == 3 ? 4 : 2;

/// Output rows [oy0, oy1) of one channel group: `in` and `out` point at the group's first
/// channel of the padded image and of the output; `c` is the pixel stride of both.
template <int K, int S, class Act>
[[gnu::always_inline]] inline void group_rows(const half* in, int64_t in_w, int64_t c,
                                              const half* weights, const half* bias, half* out,
                                              int64_t out_w, int64_t oy0, int64_t oy1) {
  float16x8_t w[K * K];
#pragma GCC unroll 25
  for (int t = 0; t < K * K; ++t) w[t] = vld1q_f16(weights + t * kLanes);
  const float16x8_t b = vld1q_f16(bias);
  constexpr int P = kWindows<K>;
  const int64_t step = S * c;  // from one window to the next
  for (int64_t oy = oy0; oy < oy1; ++oy) {
    const half* rows[K];
#pragma GCC unroll 5
    for (int ky = 0; ky < K; ++ky) rows[ky] = in + (oy * S + ky) * in_w * c;
    half* o = out + oy * out_w * c;
    const auto advance = [&](int windows_done) {
#pragma GCC unroll 5
      for (int ky = 0; ky < K; ++ky) rows[ky] += windows_done * step;
      o += windows_done * c;
    };
    int64_t ox = 0;
    for (; ox + P <= out_w; ox += P, advance(P)) windows<K, S, P, Act>(rows, c, w, b, o);
    if (P > 2 && ox + 2 <= out_w) {
      windows<K, S, 2, Act>(rows, c, w, b, o);
      ox += 2;
      advance(2);
    }
    for (; ox < out_w; ++ox, advance(1)) windows<K, S, 1, Act>(rows, c, w, b, o);
  }
}

/// Output rows [oy0, oy1) of one channel past the last whole group, in scalar fp16.
template <int K, int S, class Act>
inline void channel_rows(const half* in, int64_t in_w, int64_t c, const half* w, half bias,
                         half* out, int64_t out_w, int64_t oy0, int64_t oy1) {
  for (int64_t oy = oy0; oy < oy1; ++oy)
    for (int64_t ox = 0; ox < out_w; ++ox) {
      half acc = bias;
      for (int ky = 0; ky < K; ++ky)
        for (int kx = 0; kx < K; ++kx)
          acc = vfmah_f16(acc, in[((oy * S + ky) * in_w + ox * S + kx) * c],
                          w[(ky * K + kx) * kLanes]);
      out[(oy * out_w + ox) * c] = fp16::activate_scalar<Act>(acc);
    }
}

template <int K, int S, class Act>
void rows(const half* padded, const Shape& ps, const PackedDepthwiseFp16& p, half* out,
          const Shape& os, int64_t oy0, int64_t oy1) {
  const int64_t c = ps.c, groups = c / kLanes, taps = int64_t{K} * K;
  for (int64_t band = oy0; band < oy1; band += kBandRows) {
    const int64_t end = std::min(oy1, band + kBandRows);
    for (int64_t g = 0; g < groups; ++g)
      group_rows<K, S, Act>(padded + g * kLanes, ps.w, c, p.weights.data() + g * taps * kLanes,
                            p.bias.data() + g * kLanes, out + g * kLanes, os.w, band, end);
    for (int64_t ch = groups * kLanes; ch < c; ++ch) {
      const int64_t g = ch / kLanes, lane = ch % kLanes;
      channel_rows<K, S, Act>(padded + ch, ps.w, c, p.weights.data() + g * taps * kLanes + lane,
                              p.bias.data()[ch], out + ch, os.w, band, end);
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

/// The shape of `is` zero-padded by `pad` (one image).
inline Shape padded_shape(const Shape& is, Padding pad) {
  return {1, is.h + pad.top + pad.bottom, is.w + pad.left + pad.right, is.c};
}

/// Rows [y0, y1) of one image `in` (shape `is`, contiguous) zero-padded by `pad`, in
/// `padded` (padded_shape(is, pad), contiguous): row y of the padded image is input row
/// y - pad.top between pad.left and pad.right zero pixels, or zeros above and below the input.
inline void pad_input_fp16(const half* in, const Shape& is, Padding pad, half* padded, int64_t y0,
                           int64_t y1) {
  const int64_t c = is.c, row = is.w * c, padded_row = (is.w + pad.left + pad.right) * c;
  for (int64_t y = y0; y < y1; ++y) {
    half* out = padded + y * padded_row;
    const int64_t iy = y - pad.top;
    if (iy < 0 || iy >= is.h) {
      std::fill(out, out + padded_row, half(0));
      continue;
    }
    std::fill(out, out + pad.left * c, half(0));
    std::copy(in + iy * row, in + (iy + 1) * row, out + pad.left * c);
    std::fill(out + pad.left * c + row, out + padded_row, half(0));
  }
}

/// Output rows [oy0, oy1) of one image: `padded` (a padded_shape(), contiguous, from
/// pad_input_fp16) to `out` (shape `os`, contiguous), `stride` 1 or 2, activation `Act`.
template <class Act>
void depthwise_fp16(const half* padded, const Shape& ps, const PackedDepthwiseFp16& p, int stride,
                    half* out, const Shape& os, int64_t oy0, int64_t oy1) {
  using namespace depthwise_fp16_detail;
  if (p.kernel == 3 && stride == 1) return rows<3, 1, Act>(padded, ps, p, out, os, oy0, oy1);
  if (p.kernel == 3 && stride == 2) return rows<3, 2, Act>(padded, ps, p, out, os, oy0, oy1);
  if (p.kernel == 5 && stride == 1) return rows<5, 1, Act>(padded, ps, p, out, os, oy0, oy1);
  return rows<5, 2, Act>(padded, ps, p, out, os, oy0, oy1);
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
