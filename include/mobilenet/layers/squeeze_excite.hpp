#pragma once
// Squeeze-and-excitation (Hu et al. 2018) as MobileNetV3 uses it (torchvision ops/misc.py):
//   s = mean_hw(x); g = hardsigmoid(fc2(relu(fc1(s)))); x *= g  (per image and channel)
// applied in place to the depthwise output, before the projection.

#include <vector>

#include "mobilenet/kernels/pool.hpp"
#include "mobilenet/layers/pointwise_conv2d.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {

/// The gate of squeeze-and-excitation from the pooled channel means, in float:
/// g = hardsigmoid(fc2(relu(fc1(s)))). Every precision's SE layer computes its gate with it.
class SqueezeExciteGate {
 public:
  /// fc1: [squeeze][channels] + bias, fc2: [channels][squeeze] + bias (PyTorch 1x1 convs).
  SqueezeExciteGate(int64_t channels, int64_t squeeze, const float* fc1_w, const float* fc1_b,
                    const float* fc2_w, const float* fc2_b)
      : fc1_({channels, squeeze, Activation::ReLU, BiasSource::Bias}, fc1_w, fc1_b),
        fc2_({squeeze, channels, Activation::HardSigmoid, BiasSource::Bias}, fc2_w, fc2_b) {}

  int64_t channels() const { return fc1_.options().in_channels; }
  int64_t squeeze() const { return fc1_.options().out_channels; }

  /// The layer's summary row, its type "squeeze-excite <squeeze width><suffix>".
  LayerInfo info(const std::string& name, const Shape& in, const std::string& suffix = "") const {
    const int64_t c = channels(), s = squeeze();
    return {name, "squeeze-excite " + std::to_string(s) + suffix, in, 2 * c * s + s + c, 2 * c * s};
  }

  /// gate (n x channels) from pooled (n x channels), through hidden (n x squeeze).
  void forward(const float* pooled, int64_t n, float* hidden, float* gate, ThreadPool& pool) const {
    fc1_.forward({pooled, {n, 1, 1, channels()}}, {hidden, {n, 1, 1, squeeze()}}, pool);
    fc2_.forward({hidden, {n, 1, 1, squeeze()}}, {gate, {n, 1, 1, channels()}}, pool);
  }

 private:
  PointwiseConv2d fc1_, fc2_;
};

class SqueezeExcite {
 public:
  /// Caller-provided scratch: row_sums of batch x height x channels floats, pooled and gate of
  /// batch x channels floats, hidden of batch x squeeze floats.
  struct Scratch {
    float* row_sums;
    float* pooled;
    float* hidden;
    float* gate;
  };

  /// fc1: [squeeze][channels] + bias, fc2: [channels][squeeze] + bias (PyTorch 1x1 convs).
  SqueezeExcite(int64_t channels, int64_t squeeze, const float* fc1_w, const float* fc1_b,
                const float* fc2_w, const float* fc2_b)
      : gate_(channels, squeeze, fc1_w, fc1_b, fc2_w, fc2_b) {}

  int64_t channels() const { return gate_.channels(); }
  int64_t squeeze() const { return gate_.squeeze(); }

  LayerInfo info(const std::string& name, const Shape& in) const { return gate_.info(name, in); }

  void forward(TensorView x, const Scratch& scratch, ThreadPool& pool) const {
    require_contiguous("SqueezeExcite", "input", x);
    const int64_t n = x.shape.n;
    // Threads pool the rows they split as the depthwise conv did, so each reads mostly rows it
    // wrote: one thread pooling the whole tensor read half of it from the other core's cache,
    // which made V3-Small's SE layers 4-8x slower at 2 threads than at 1.
    pool.parallel_for(n * x.shape.h, 1, [&](int64_t r0, int64_t r1) {
      kernels::sum_rows(x, scratch.row_sums, r0, r1);
    });
    kernels::mean_of_row_sums(scratch.row_sums, x.shape, scratch.pooled, 0, n);
    gate_.forward(scratch.pooled, n, scratch.hidden, scratch.gate, pool);
    pool.parallel_for(n * x.shape.h, 1, [&](int64_t r0, int64_t r1) {
      kernels::scale_channels(x, scratch.gate, r0, r1);
    });
  }

 private:
  SqueezeExciteGate gate_;
};

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
