#pragma once
// int8 depthwise KxK convolution over NHWC tensors (the arithmetic: quant/quantize.hpp):
//   acc[c] = bias[c] + sum over the window's taps inside the image of (in[c] - zp_in) * w[tap][c]
//   out[c] = requantize(acc[c], multiplier[c], clamp)
// Padding contributes nothing, as a zero-valued input does (its code is zp_in). The loops run over
// channels innermost on contiguous int8 and int32 arrays, which the compiler vectorizes for the
// ISA it is given (sign extension, subtract, 32-bit multiply, add; then the requantization's
// convert, multiply, clamp, round, narrow), so one source serves every path; the integer sums are
// exact, and the requantization is the same float operations as the scalar quant::requantize,
// so every ISA gives the same bytes.

#include <algorithm>
#include <cstdint>

#include "mobilenet/core/aligned_buffer.hpp"
#include "mobilenet/core/error.hpp"
#include "mobilenet/core/isa.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/kernels/padding.hpp"
#include "mobilenet/quant/quantize.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// An int8 depthwise layer's weights, tap-major ([k * k][channels], so each tap's channels are
/// contiguous), with its bias, multipliers, input zero point and output clamp.
struct PackedDepthwiseInt8 {
  int64_t channels = 0;
  int kernel = 0;
  AlignedArray<int8_t> weights;    ///< [kernel * kernel][channels]
  AlignedArray<int32_t> bias;      ///< [channels]
  AlignedArray<float> multiplier;  ///< [channels]
  int32_t input_zero_point = 0;
  quant::OutputClamp clamp;
};

/// Packs PyTorch-layout weights `w` [channels][1][k][k] (symmetric int8), the int32 `bias`
/// [channels] (null: zero) and the requantization `multiplier` [channels].
inline PackedDepthwiseInt8 pack_depthwise_int8(const int8_t* w, const int32_t* bias,
                                               const float* multiplier, int64_t channels,
                                               int kernel, int32_t input_zero_point,
                                               quant::OutputClamp clamp) {
  const int taps = kernel * kernel;
  PackedDepthwiseInt8 p{channels,
                        kernel,
                        AlignedArray<int8_t>(static_cast<std::size_t>(taps * channels)),
                        AlignedArray<int32_t>(static_cast<std::size_t>(channels)),
                        AlignedArray<float>(static_cast<std::size_t>(channels)),
                        input_zero_point,
                        clamp};
  for (int64_t c = 0; c < channels; ++c) {
    for (int t = 0; t < taps; ++t) p.weights.data()[t * channels + c] = w[c * taps + t];
    p.bias.data()[c] = bias ? bias[c] : 0;
    p.multiplier.data()[c] = multiplier[c];
  }
  return p;
}

namespace depthwise_int8_detail {
/// Channels per accumulator block: an int32 array on the stack (no allocation), a few vector
/// registers' worth on every ISA.
inline constexpr int64_t kBlock = 64;

/// One output pixel's channels [c0, c0 + n): `taps_in` points at the window's input pixels (null
/// for a tap outside the image).
template <int K>
inline void pixel(const int8_t* const (&taps_in)[K * K], const PackedDepthwiseInt8& w, int64_t c0,
                  int64_t n, int8_t* out) {
  int32_t acc[kBlock];
  const int32_t zp = w.input_zero_point;
  const int32_t* bias = w.bias.data() + c0;
  for (int64_t c = 0; c < n; ++c) acc[c] = bias[c];
  for (int t = 0; t < K * K; ++t) {
    if (!taps_in[t]) continue;
    const int8_t* x = taps_in[t] + c0;
    const int8_t* wt = w.weights.data() + t * w.channels + c0;
    for (int64_t c = 0; c < n; ++c) acc[c] += (int32_t{x[c]} - zp) * int32_t{wt[c]};
  }
  const float* m = w.multiplier.data() + c0;
  for (int64_t c = 0; c < n; ++c) out[c] = quant::requantize(acc[c], m[c], w.clamp);
}

template <int K>
inline void run(const int8_t* in, const Shape& is, const PackedDepthwiseInt8& w, int stride,
                const Padding& pad, int8_t* out, const Shape& os) {
  const int64_t C = is.c;
  for (int64_t b = 0; b < is.n; ++b)
    for (int64_t oy = 0; oy < os.h; ++oy)
      for (int64_t ox = 0; ox < os.w; ++ox) {
        const int8_t* taps_in[K * K];
        for (int ky = 0; ky < K; ++ky)
          for (int kx = 0; kx < K; ++kx) {
            const int64_t iy = oy * stride - pad.top + ky, ix = ox * stride - pad.left + kx;
            taps_in[ky * K + kx] = iy < 0 || iy >= is.h || ix < 0 || ix >= is.w
                                       ? nullptr
                                       : in + ((b * is.h + iy) * is.w + ix) * C;
          }
        int8_t* o = out + ((b * os.h + oy) * os.w + ox) * C;
        for (int64_t c0 = 0; c0 < C; c0 += kBlock)
          pixel<K>(taps_in, w, c0, std::min(kBlock, C - c0), o + c0);
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
/// (1 or 2) and per-side `pad`; `out` holds depthwise_int8_output_shape() elements.
/// @throws Error if the channels differ from the weights', the kernel is not 3 or 5, or the
/// stride is not 1 or 2.
inline void depthwise_int8(const int8_t* in, const Shape& is, const PackedDepthwiseInt8& w,
                           int stride, const Padding& pad, int8_t* out) {
  if (is.c != w.channels)
    throw Error("int8 depthwise: input has " + std::to_string(is.c) + " channels, weights " +
                std::to_string(w.channels));
  if (stride != 1 && stride != 2)
    throw Error("int8 depthwise: stride " + std::to_string(stride) + " (expected 1 or 2)");
  const Shape os = depthwise_int8_output_shape(is, w, stride, pad);
  if (w.kernel == 3) return depthwise_int8_detail::run<3>(in, is, w, stride, pad, out, os);
  if (w.kernel == 5) return depthwise_int8_detail::run<5>(in, is, w, stride, pad, out, os);
  throw Error("int8 depthwise: kernel " + std::to_string(w.kernel) + " (expected 3 or 5)");
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
