#pragma once
// Squeeze-and-excitation (Hu et al. 2018) as MobileNetV3 uses it (torchvision ops/misc.py):
//   s = mean_hw(x); g = hardsigmoid(fc2(relu(fc1(s)))); x *= g  (per image and channel)
// applied in place to the depthwise output, before the projection.

#include <vector>

#include "mobilenet/kernels/pool.hpp"
#include "mobilenet/layers/pointwise_conv2d.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {

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
      : fc1_({channels, squeeze, Activation::ReLU, BiasSource::Bias}, fc1_w, fc1_b),
        fc2_({squeeze, channels, Activation::HardSigmoid, BiasSource::Bias}, fc2_w, fc2_b) {}

  int64_t channels() const { return fc1_.options().in_channels; }
  int64_t squeeze() const { return fc1_.options().out_channels; }

  LayerInfo info(const std::string& name, const Shape& in) const {
    const int64_t c = channels(), s = squeeze();
    return {name, "squeeze-excite " + std::to_string(s), in, 2 * c * s + s + c, 2 * c * s};
  }

  void forward(TensorView x, const Scratch& scratch, ThreadPool& pool) const {
    require_contiguous("SqueezeExcite", "input", x);
    const int64_t n = x.shape.n, c = channels();
    // Threads pool the rows they split as the depthwise conv did, so each reads mostly rows it
    // wrote: one thread pooling the whole tensor read half of it from the other core's cache,
    // which made V3-Small's SE layers 4-8x slower at 2 threads than at 1.
    pool.parallel_for(n * x.shape.h, 1, [&](int64_t r0, int64_t r1) {
      kernels::sum_rows(x, scratch.row_sums, r0, r1);
    });
    kernels::mean_of_row_sums(scratch.row_sums, x.shape, scratch.pooled, 0, n);
    fc1_.forward({scratch.pooled, {n, 1, 1, c}}, {scratch.hidden, {n, 1, 1, squeeze()}}, pool);
    fc2_.forward({scratch.hidden, {n, 1, 1, squeeze()}}, {scratch.gate, {n, 1, 1, c}}, pool);
    pool.parallel_for(n * x.shape.h, 1, [&](int64_t r0, int64_t r1) {
      kernels::scale_channels(x, scratch.gate, r0, r1);
    });
  }

 private:
  PointwiseConv2d fc1_, fc2_;
};

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
