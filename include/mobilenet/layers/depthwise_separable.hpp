#pragma once
// MobileNetV1 depthwise-separable block (Howard et al. 2017, fig. 3):
//   3x3 depthwise + BN + ReLU -> 1x1 pointwise + BN + ReLU. Unlike V2's block, the pointwise
// output is activated and there is no residual.

#include <vector>

#include "mobilenet/layers/block_scratch.hpp"
#include "mobilenet/layers/depthwise_conv2d.hpp"
#include "mobilenet/layers/pointwise_conv2d.hpp"
#include "mobilenet/runtime/profiler.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {

class DepthwiseSeparable {
 public:
  DepthwiseSeparable(DepthwiseConv2d depthwise, PointwiseConv2d pointwise)
      : depthwise_(std::move(depthwise)), pointwise_(std::move(pointwise)) {}

  Shape output_shape(const Shape& in) const {
    return pointwise_.output_shape(depthwise_.output_shape(in));
  }

  BlockScratchSize scratch_size(const Shape& in) const {
    return {0, depthwise_.output_shape(in).numel(), 0, 0};
  }

  void describe(const std::string& name, const Shape& in, std::vector<LayerInfo>& out) const {
    out.push_back(depthwise_.info(name + ".depthwise", in));
    out.push_back(pointwise_.info(name + ".pointwise", depthwise_.output_shape(in)));
  }

  void forward(ConstTensorView in, TensorView out, const BlockScratch& s, ThreadPool& pool,
               Profiler& prof) const {
    TensorView d{s.depthwise, depthwise_.output_shape(in.shape)};
    depthwise_.forward(in, d, pool);
    prof.lap();
    pointwise_.forward(d, out, pool);
    prof.lap();
  }

 private:
  DepthwiseConv2d depthwise_;
  PointwiseConv2d pointwise_;
};

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
