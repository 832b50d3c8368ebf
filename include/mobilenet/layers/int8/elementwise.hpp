#pragma once
// int8 layers that are not convolutions: an activation as a lookup table, the residual add,
// squeeze-and-excitation and the global average pool that hands the classifier float features.
// Each states its arithmetic in float32 operations, in order, so that an emulation can repeat it.

#include <algorithm>
#include <array>
#include <cstdint>
#include <numeric>
#include <string>

#include "mobilenet/core/activation_kind.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/kernels/lookup_int8.hpp"
#include "mobilenet/kernels/residual_add_int8.hpp"
#include "mobilenet/layers/layer_info.hpp"
#include "mobilenet/layers/pointwise_conv2d.hpp"
#include "mobilenet/layers/squeeze_excite.hpp"
#include "mobilenet/quant/quantize.hpp"
#include "mobilenet/runtime/thread_pool.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {

/// An activation applied to an int8 tensor as a 256-entry table from the input's codes to the
/// output's: out = quantize(act(dequantize(q, in)), out). Hard-swish is not a clamp, so a layer
/// followed by one requantizes to its pre-activation range and the table maps that to the
/// post-activation range (QNNPACK and XNNPACK do the same; the lookup: kernels/lookup_int8.hpp).
class LookupTableInt8 {
 public:
  LookupTableInt8(quant::QuantParams in, quant::QuantParams out, Activation act)
      : out_(out), act_(act), how_(kernels::best_lookup_int8()) {
    for (int q = quant::kMin; q <= quant::kMax; ++q)
      table_[static_cast<uint8_t>(q)] = quant::quantize(
          quant::activation_value(act, quant::dequantize(static_cast<int8_t>(q), in)), out);
  }

  quant::QuantParams output_params() const { return out_; }
  Activation activation() const { return act_; }

  /// Maps n values at x in place, split over the pool's threads.
  void forward(int8_t* x, int64_t n, ThreadPool& pool) const {
    pool.parallel_for(n, 4096, [&](int64_t i0, int64_t i1) {
      kernels::lookup_int8(how_, table_.data(), x + i0, i1 - i0);
    });
  }

 private:
  std::array<int8_t, 256> table_{};  // indexed by the code's two's-complement byte
  quant::QuantParams out_;
  Activation act_;
  kernels::LookupInt8 how_;
};

/// out = a + b of two int8 tensors with their own parameters, requantized to `out` (the
/// arithmetic: kernels/residual_add_int8.hpp).
class ResidualAddInt8 {
 public:
  ResidualAddInt8(quant::QuantParams a, quant::QuantParams b, quant::QuantParams out)
      : add_{a.zero_point, b.zero_point, out.zero_point, a.scale / out.scale, b.scale / out.scale},
        out_(out) {}

  quant::QuantParams output_params() const { return out_; }

  /// out[i] = a[i] + b[i] for n values (out may be a or b), split over the pool's threads.
  void forward(const int8_t* a, const int8_t* b, int8_t* out, int64_t n, ThreadPool& pool) const {
    pool.parallel_for(n, 4096, [&](int64_t i0, int64_t i1) {
      kernels::residual_add_int8(add_, a + i0, b + i0, out + i0, i1 - i0);
    });
  }

 private:
  kernels::ResidualAddInt8Params add_;
  quant::QuantParams out_;
};

namespace int8_pool_detail {
/// The means of L channels at `image` (row stride `stride`) over `pixels` pixels, as
/// global_average_pool_int8 states them. A fixed number of sums, so that GCC keeps them in one
/// vector register: over a run-time channel count it vectorized only counts that filled its
/// widest vector, and a 16-channel map (V3-Small's first SE, 56 x 56) ran a byte at a time.
template <int L>
void channel_means(const int8_t* image, int64_t pixels, int64_t stride, quant::QuantParams p,
                   float* out) {
  int32_t sums[L] = {};
  for (int64_t px = 0; px < pixels; ++px)
    for (int c = 0; c < L; ++c) sums[c] += image[px * stride + c];
  for (int c = 0; c < L; ++c)
    out[c] = p.scale * (static_cast<float>(sums[c]) / static_cast<float>(pixels) -
                        static_cast<float>(p.zero_point));
}
}  // namespace int8_pool_detail

/// pooled[n][c] = the mean of image n's channel c as a real value:
///   scale * (float(sum of the codes) / float(h * w) - float(zero point))
/// (the integer sum is exact: 2^31 / 255 pixels bound it, far beyond any feature map).
inline void global_average_pool_int8(const int8_t* x, const Shape& s, quant::QuantParams p,
                                     float* pooled) {
  const int64_t pixels = s.h * s.w;
  for (int64_t n = 0; n < s.n; ++n) {
    const int8_t* image = x + n * pixels * s.c;
    float* out = pooled + n * s.c;
    int64_t c = 0;
    for (; c + 16 <= s.c; c += 16)
      int8_pool_detail::channel_means<16>(image + c, pixels, s.c, p, out + c);
    for (; c + 4 <= s.c; c += 4)
      int8_pool_detail::channel_means<4>(image + c, pixels, s.c, p, out + c);
    for (; c < s.c; ++c) int8_pool_detail::channel_means<1>(image + c, pixels, s.c, p, out + c);
  }
}

/// Squeeze-and-excitation on an int8 tensor (Hu et al. 2018; MobileNetV3's form: ReLU, then a
/// hard-sigmoid gate): the channel means pooled to float, the two small FC layers in float (a
/// few thousand MACs per image), and each value scaled by its channel's gate in place, keeping
/// the tensor's parameters (the gate is in [0, 1], so the result stays in range):
///   q = round_even(float(q - z) * gate[c]) + z
class SqueezeExciteInt8 {
 public:
  /// Float buffers: pooled and gate batch x channels, hidden batch x squeeze.
  struct Scratch {
    float* pooled;
    float* hidden;
    float* gate;
  };

  SqueezeExciteInt8(int64_t channels, int64_t squeeze, const float* fc1_w, const float* fc1_b,
                    const float* fc2_w, const float* fc2_b, quant::QuantParams x)
      : gate_(channels, squeeze, fc1_w, fc1_b, fc2_w, fc2_b), x_(x) {}

  int64_t channels() const { return gate_.channels(); }
  int64_t squeeze() const { return gate_.squeeze(); }

  LayerInfo info(const std::string& name, const Shape& in) const {
    return gate_.info(name, in, " (fc float)");
  }

  /// Scales the contiguous int8 tensor x (shape `s`) in place.
  void forward(int8_t* x, const Shape& s, const Scratch& scratch, ThreadPool& pool) const {
    const int64_t n = s.n, c = s.c;
    global_average_pool_int8(x, s, x_, scratch.pooled);
    gate_.forward(scratch.pooled, n, scratch.hidden, scratch.gate, pool);
    const int64_t pixels = s.h * s.w;
    const int32_t z = x_.zero_point;
    // Each image's pixels in runs whose length is a whole number of vectors (lcm(c, 64)
    // values, the gate repeated to match): per pixel, a layer of 16 or 24 channels never
    // filled GCC's 64-lane loop and ran scalar (docs/design.md).
    const int64_t run = std::lcm(c, int64_t{64});
    const bool runs = run <= kMaxRun;
    // Pixels split over the pool's threads in whole runs; any pixel boundary starts a run in
    // phase with the repeated gate.
    const int64_t grain = runs ? run / c : 1;
    pool.parallel_for(n * pixels, grain, [&](int64_t p0, int64_t p1) {
      float repeated[kMaxRun];
      for (int64_t i = p0 / pixels; i * pixels < p1; ++i) {
        const int64_t first = std::max(p0, i * pixels), last = std::min(p1, (i + 1) * pixels);
        int8_t* values = x + first * c;
        const int64_t count = (last - first) * c;
        const float* gate = scratch.gate + i * c;
        int64_t done = 0;
        if (runs) {
          for (int64_t k = 0; k < run; ++k) repeated[k] = gate[k % c];
          for (; done + run <= count; done += run) scale(values + done, repeated, run, z);
        }
        for (; done < count; done += c) scale(values + done, gate, c, z);
      }
    });
  }

 private:
  static constexpr int64_t kMaxRun = 1024;

  // __restrict: an int8 store may alias the gate, which would keep GCC from vectorizing.
  static void scale(int8_t* __restrict v, const float* __restrict gate, int64_t c, int32_t z) {
    for (int64_t k = 0; k < c; ++k)
      v[k] = static_cast<int8_t>(quant::round_even(static_cast<float>(v[k] - z) * gate[k]) + z);
  }

  SqueezeExciteGate gate_;
  quant::QuantParams x_;
};

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
