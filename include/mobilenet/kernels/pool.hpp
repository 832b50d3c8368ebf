#pragma once
// Global average pooling and per-channel scaling (the two ends of squeeze-and-excitation).

#include <cstdint>

#include "mobilenet/core/tensor.hpp"
#include "mobilenet/kernels/packet.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// out[n, c] = mean over (h, w) of in[n, h, w, c], for images [n_begin, n_end).
inline void global_average_pool(ConstTensorView in, float* out, int64_t n_begin, int64_t n_end) {
  constexpr int W = simd::kWidth;
  const int64_t C = in.shape.c, hw = in.shape.h * in.shape.w, vec_end = C / W * W;
  const float inv = 1.0f / static_cast<float>(hw);
  for (int64_t n = n_begin; n < n_end; ++n) {
    const float* image = in.data + n * hw * C;
    float* o = out + n * C;
    int64_t c = 0;
    for (; c < vec_end; c += W) {
      simd::Packet sum = simd::zero();
      for (int64_t p = 0; p < hw; ++p) sum = simd::add(sum, simd::load(image + p * C + c));
      simd::store(o + c, simd::mul(sum, simd::broadcast(inv)));
    }
    for (; c < C; ++c) {
      float sum = 0.0f;
      for (int64_t p = 0; p < hw; ++p) sum += image[p * C + c];
      o[c] = sum * inv;
    }
  }
}

/// x[n, h, w, c] *= scale[n, c] for rows [row_begin, row_end) over batch x height.
inline void scale_channels(TensorView x, const float* scale, int64_t row_begin, int64_t row_end) {
  constexpr int W = simd::kWidth;
  const int64_t Hh = x.shape.h, Wd = x.shape.w, C = x.shape.c, vec_end = C / W * W;
  for (int64_t row = row_begin; row < row_end; ++row) {
    const float* s = scale + (row / Hh) * C;
    float* p = x.data + row * Wd * C;
    for (int64_t px = 0; px < Wd; ++px, p += C) {
      int64_t c = 0;
      for (; c < vec_end; c += W) simd::store(p + c, simd::mul(simd::load(p + c), simd::load(s + c)));
      for (; c < C; ++c) p[c] *= s[c];
    }
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
