#pragma once
// Conversions between float32 and fp16 arrays, eight values per step (FCVTN/FCVTN2, FCVTL/
// FCVTL2), round to nearest even as a scalar conversion rounds: the fp16 stem's input image and
// the fp16 network's float-pooled features. GCC 12 leaves the plain loops scalar.

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

/// sums[c] += float(x[c]) for c < n: one pixel of an fp16 tensor added to float sums.
inline void add_to_sums(const half* x, int64_t n, float* sums) {
  int64_t c = 0;
  for (; c + 8 <= n; c += 8) {
    const float16x8_t v = vld1q_f16(x + c);
    vst1q_f32(sums + c, vaddq_f32(vld1q_f32(sums + c), vcvt_f32_f16(vget_low_f16(v))));
    vst1q_f32(sums + c + 4, vaddq_f32(vld1q_f32(sums + c + 4), vcvt_high_f32_f16(v)));
  }
  for (; c < n; ++c) sums[c] += static_cast<float>(x[c]);
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
