#pragma once
// Global average pooling and per-channel scaling (the two ends of squeeze-and-excitation).

#include <cstdint>
#include <type_traits>

#include "mobilenet/core/tensor.hpp"
#include "mobilenet/kernels/packet.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// Channel packets handled together by the loops below: G independent accumulators (pool) or
/// scale factors (scale) in registers while the loop runs over the pixels, so a packet costs
/// about a load and an operation instead of a loop iteration (about a third of the
/// instructions on AArch64, bench/arm_insnmix.sh).
inline constexpr int kPoolPackets = 4;

/// `f(c, std::integral_constant<int, G>)` for the channels of a row of C in groups of G
/// packets starting at channel c: kPoolPackets packets, then single packets, then (G = 0)
/// each scalar channel left.
template <class F>
inline void for_channel_groups(int64_t C, F&& f) {
  constexpr int W = simd::kWidth, G = kPoolPackets;
  int64_t c = 0;
  for (; c + G * W <= C; c += G * W) f(c, std::integral_constant<int, G>{});
  for (; c + W <= C; c += W) f(c, std::integral_constant<int, 1>{});
  for (; c < C; ++c) f(c, std::integral_constant<int, 0>{});
}

/// out[n, c] = mean over (h, w) of in[n, h, w, c], for images [n_begin, n_end). Each channel
/// sums its pixels in order.
inline void global_average_pool(ConstTensorView in, float* out, int64_t n_begin, int64_t n_end) {
  constexpr int W = simd::kWidth;
  const int64_t C = in.shape.c, hw = in.shape.h * in.shape.w;
  const float inv = 1.0f / static_cast<float>(hw);
  for (int64_t n = n_begin; n < n_end; ++n) {
    const float* image = in.data + n * hw * C;
    float* o = out + n * C;
    for_channel_groups(C, [&](int64_t c, auto packets) {
      constexpr int G = decltype(packets)::value;
      if constexpr (G == 0) {
        float sum = 0.0f;
        for (int64_t p = 0; p < hw; ++p) sum += image[p * C + c];
        o[c] = sum * inv;
      } else {
        simd::Packet sum[G];
        for (int g = 0; g < G; ++g) sum[g] = simd::zero();
        for (const float* px = image + c; px != image + c + hw * C; px += C)
          for (int g = 0; g < G; ++g) sum[g] = simd::add(sum[g], simd::load(px + g * W));
        for (int g = 0; g < G; ++g)
          simd::store(o + c + g * W, simd::mul(sum[g], simd::broadcast(inv)));
      }
    });
  }
}

/// x[n, h, w, c] *= scale[n, c] for rows [row_begin, row_end) over batch x height.
inline void scale_channels(TensorView x, const float* scale, int64_t row_begin, int64_t row_end) {
  constexpr int W = simd::kWidth;
  const int64_t Hh = x.shape.h, Wd = x.shape.w, C = x.shape.c;
  for (int64_t row = row_begin; row < row_end; ++row) {
    const float* s = scale + (row / Hh) * C;
    float* first = x.data + row * Wd * C;
    for_channel_groups(C, [&](int64_t c, auto packets) {
      constexpr int G = decltype(packets)::value;
      if constexpr (G == 0) {
        for (int64_t px = 0; px < Wd; ++px) first[px * C + c] *= s[c];
      } else {
        simd::Packet factor[G];
        for (int g = 0; g < G; ++g) factor[g] = simd::load(s + c + g * W);
        for (float* px = first + c; px != first + c + Wd * C; px += C)
          for (int g = 0; g < G; ++g)
            simd::store(px + g * W, simd::mul(simd::load(px + g * W), factor[g]));
      }
    });
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
