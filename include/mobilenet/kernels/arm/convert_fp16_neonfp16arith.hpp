#pragma once
// Conversions between float32 and fp16 arrays, eight values per step (FCVTN/FCVTN2, FCVTL/
// FCVTL2), round to nearest even as a scalar conversion rounds: the fp16 stem's input image and
// the fp16 network's float-pooled features, and the float32 sums of an fp16 tensor's channels.
// GCC 12 leaves the plain loops scalar.

#include <arm_neon.h>

#include <cstdint>

#include "mobilenet/core/half.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// out[i] = fp16(in[i]) for n values.
inline void to_half(const float* in, int64_t n, half* out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    vst1q_f16(out + i, vcvt_high_f16_f32(vcvt_f16_f32(vld1q_f32(in + i)), vld1q_f32(in + i + 4)));
  for (; i < n; ++i) out[i] = static_cast<half>(in[i]);
}

/// sums[c] = the float32 sum of channel c over `pixels` pixels of an fp16 NHWC image of `channels`
/// channels, added in pixel order. Sixteen channels at a time, their sums in four registers
/// across all pixels: sums kept in memory cost a load and a store per eight values and pixel.
inline void channel_sums(const half* image, int64_t pixels, int64_t channels, float* sums) {
  int64_t c = 0;
  for (; c + 16 <= channels; c += 16) {
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0;
    const half* p = image + c;
    for (int64_t px = 0; px < pixels; ++px, p += channels) {
      const float16x8_t a = vld1q_f16(p), b = vld1q_f16(p + 8);
      s0 = vaddq_f32(s0, vcvt_f32_f16(vget_low_f16(a)));
      s1 = vaddq_f32(s1, vcvt_high_f32_f16(a));
      s2 = vaddq_f32(s2, vcvt_f32_f16(vget_low_f16(b)));
      s3 = vaddq_f32(s3, vcvt_high_f32_f16(b));
    }
    vst1q_f32(sums + c, s0);
    vst1q_f32(sums + c + 4, s1);
    vst1q_f32(sums + c + 8, s2);
    vst1q_f32(sums + c + 12, s3);
  }
  for (; c < channels; ++c) {
    float sum = 0.0f;
    for (int64_t px = 0; px < pixels; ++px) sum += static_cast<float>(image[px * channels + c]);
    sums[c] = sum;
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
