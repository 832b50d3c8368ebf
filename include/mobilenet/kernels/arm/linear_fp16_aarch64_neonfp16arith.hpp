#pragma once
// A fully connected layer in fp16 on AArch64 with fp16 arithmetic, for the fp16 network's
// classifier (layers/fp16/linear.hpp):
//   y[o] = act(bias[o] + sum over k of x[k] * w[o][k])
// with x and w rounded to fp16 and the products summed in fp16 over chunks of kChunk consecutive
// inputs, each chunk's sum added to a float32 sum that starts from the float bias; the activation
// runs in float32 and y is float. Chunks bound what the classifier's 1024- and 1280-wide sums
// lose to fp16 to what a 32-wide sum loses (the pointwise layers sum up to 960 inputs in fp16),
// while the multiply-adds run on eight lanes. Eight outputs per vector; up to four groups of
// eight share each input, rounded to fp16 once per pass.

#include <arm_neon.h>

#include <algorithm>
#include <cstdint>

#include "mobilenet/core/aligned_buffer.hpp"
#include "mobilenet/core/half.hpp"
#include "mobilenet/kernels/packet.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// A fully connected layer's weights in fp16 and its bias in float.
struct PackedLinearFp16 {
  int64_t cin = 0, cout = 0;
  AlignedArray<half> weights;  ///< [groups of 8 outputs][cin][8], missing outputs zero
  AlignedArray<float> bias;    ///< [groups * 8], missing outputs zero
};

namespace linear_fp16_detail {

inline constexpr int64_t kLanes = 8;
/// Inputs per fp16 partial sum.
inline constexpr int64_t kChunk = 32;
/// Output groups per pass over the input.
inline constexpr int kGroups = 4;

/// Output groups g .. g + G - 1 of one image.
template <int G, class Act>
[[gnu::always_inline]] inline void output_groups(const float* x, const PackedLinearFp16& p,
                                                 int64_t g, float* y) {
  const int64_t cin = p.cin;
  const half* w[G];
  float32x4_t lo[G], hi[G];
#pragma GCC unroll 4
  for (int i = 0; i < G; ++i) {
    w[i] = p.weights.data() + (g + i) * cin * kLanes;
    lo[i] = vld1q_f32(p.bias.data() + (g + i) * kLanes);
    hi[i] = vld1q_f32(p.bias.data() + (g + i) * kLanes + 4);
  }
  for (int64_t k0 = 0; k0 < cin; k0 += kChunk) {
    const int64_t k1 = std::min(cin, k0 + kChunk);
    float16x8_t acc[G];
#pragma GCC unroll 4
    for (int i = 0; i < G; ++i) acc[i] = vdupq_n_f16(0);
    int64_t k = k0;
    for (; k + 8 <= k1; k += 8) {
      const float16x8_t v =
          vcombine_f16(vcvt_f16_f32(vld1q_f32(x + k)), vcvt_f16_f32(vld1q_f32(x + k + 4)));
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j)
#pragma GCC unroll 4
        for (int i = 0; i < G; ++i)
          acc[i] = vfmaq_laneq_f16(acc[i], vld1q_f16(w[i] + (k + j) * kLanes), v, j);
    }
    for (; k < k1; ++k) {
      const float16x8_t v = vdupq_n_f16(static_cast<half>(x[k]));
#pragma GCC unroll 4
      for (int i = 0; i < G; ++i) acc[i] = vfmaq_f16(acc[i], vld1q_f16(w[i] + k * kLanes), v);
    }
#pragma GCC unroll 4
    for (int i = 0; i < G; ++i) {
      lo[i] = vaddq_f32(lo[i], vcvt_f32_f16(vget_low_f16(acc[i])));
      hi[i] = vaddq_f32(hi[i], vcvt_high_f32_f16(acc[i]));
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < G; ++i) {
    const int64_t o = (g + i) * kLanes;
    alignas(16) float out[kLanes];
    vst1q_f32(out, Act::apply(lo[i]));
    vst1q_f32(out + 4, Act::apply(hi[i]));
    std::copy(out, out + std::min(kLanes, p.cout - o), y + o);
  }
}

}  // namespace linear_fp16_detail

/// Packs float weights `w` [cout][cin] (PyTorch's layout) rounded to the nearest fp16, and the
/// float `bias` [cout] (zeros if null).
inline PackedLinearFp16 pack_linear_fp16(const float* w, const float* bias, int64_t cin,
                                         int64_t cout) {
  using linear_fp16_detail::kLanes;
  const int64_t groups = (cout + kLanes - 1) / kLanes;
  PackedLinearFp16 p{cin, cout, AlignedArray<half>(static_cast<std::size_t>(groups * cin * kLanes)),
                     AlignedArray<float>(static_cast<std::size_t>(groups * kLanes))};
  std::fill(p.weights.data(), p.weights.data() + groups * cin * kLanes, half(0));
  std::fill(p.bias.data(), p.bias.data() + groups * kLanes, 0.0f);
  for (int64_t o = 0; o < cout; ++o) {
    const int64_t g = o / kLanes, lane = o % kLanes;
    for (int64_t k = 0; k < cin; ++k)
      p.weights.data()[(g * cin + k) * kLanes + lane] = static_cast<half>(w[o * cin + k]);
    p.bias.data()[o] = bias ? bias[o] : 0.0f;
  }
  return p;
}

/// Outputs of groups [g0, g1) (eight outputs each, the last group's up to p.cout) of one image:
/// `x` holds p.cin floats, `y` p.cout.
template <class Act>
void linear_fp16(const float* x, const PackedLinearFp16& p, float* y, int64_t g0, int64_t g1) {
  using namespace linear_fp16_detail;
  int64_t g = g0;
  for (; g + kGroups <= g1; g += kGroups) output_groups<kGroups, Act>(x, p, g, y);
  for (; g < g1; ++g) output_groups<1, Act>(x, p, g, y);
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
