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

/// out[c] = scale * sum over i < count of first[i * C + c], for c < C: `count` NHWC pixels (or
/// rows of per-channel sums), summed in order.
inline void sum_pixels(const float* first, int64_t count, int64_t C, float scale, float* out) {
  constexpr int W = simd::kWidth;
  for_channel_groups(C, [&](int64_t c, auto packets) {
    constexpr int G = decltype(packets)::value;
    if constexpr (G == 0) {
      float sum = 0.0f;
      for (int64_t p = 0; p < count; ++p) sum += first[p * C + c];
      out[c] = sum * scale;
    } else {
      simd::Packet sum[G];
      for (int g = 0; g < G; ++g) sum[g] = simd::zero();
      for (const float* px = first + c; px != first + c + count * C; px += C)
        for (int g = 0; g < G; ++g) sum[g] = simd::add(sum[g], simd::load(px + g * W));
      for (int g = 0; g < G; ++g)
        simd::store(out + c + g * W, simd::mul(sum[g], simd::broadcast(scale)));
    }
  });
}

/// out[n, c] = mean over (h, w) of in[n, h, w, c], for images [n_begin, n_end). Each channel
/// sums its pixels in order.
inline void global_average_pool(ConstTensorView in, float* out, int64_t n_begin, int64_t n_end) {
  const int64_t C = in.shape.c, hw = in.shape.h * in.shape.w;
  for (int64_t n = n_begin; n < n_end; ++n)
    sum_pixels(in.data + n * hw * C, hw, C, 1.0f / static_cast<float>(hw), out + n * C);
}

/// sums[row, c] = sum over w of in[row, w, c] for rows [row_begin, row_end) over batch x height:
/// the first half of a global average pool that threads can split by rows (each then reads the
/// rows it wrote), finished by mean_of_row_sums.
inline void sum_rows(ConstTensorView in, float* sums, int64_t row_begin, int64_t row_end) {
  const int64_t Wd = in.shape.w, C = in.shape.c;
  for (int64_t row = row_begin; row < row_end; ++row)
    sum_pixels(in.data + row * Wd * C, Wd, C, 1.0f, sums + row * C);
}

/// out[n, c] = the mean of image n of `shape` from its sum_rows, rows added in order, for images
/// [n_begin, n_end). The result does not depend on how the rows were split.
inline void mean_of_row_sums(const float* sums, const Shape& shape, float* out, int64_t n_begin,
                             int64_t n_end) {
  const int64_t C = shape.c, H = shape.h;
  const float inv = 1.0f / static_cast<float>(H * shape.w);
  for (int64_t n = n_begin; n < n_end; ++n) sum_pixels(sums + n * H * C, H, C, inv, out + n * C);
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
