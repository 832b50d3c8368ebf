#pragma once
// MobileNetV1 depthwise-separable block (Howard et al. 2017, fig. 3):
//   3x3 depthwise + BN + ReLU -> 1x1 pointwise + BN + ReLU. Unlike V2's block, the pointwise
// output is activated and there is no residual.

#include <vector>

#include "mobilenet/layers/block_scratch.hpp"
#include "mobilenet/layers/depthwise_conv2d.hpp"
#include "mobilenet/layers/fused_bands.hpp"
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

  /// Scratch for `threads` threads; `fused`: depthwise -> pointwise by bands
  /// (fused_bands.hpp), else layer by layer (the whole depthwise output, room for it padded),
  /// which profiling uses.
  BlockScratchSize scratch_size(const Shape& in, int threads, bool fused) const {
    const Shape d = depthwise_.output_shape(in);
    BlockScratchSize size;
    size.reserve<float>(ScratchRegion::Depthwise,
                        fused && BandPlan::worth_fusing(in)
                            ? threads * BandPlan::make(in, depthwise_, threads).band_floats
                            : d.pixels() * kernels::padded_pixel_stride(d.c));
    return size;
  }

  void describe(const std::string& name, const Shape& in, std::vector<LayerInfo>& out) const {
    out.push_back(depthwise_.info(name + ".depthwise", in));
    out.push_back(pointwise_.info(name + ".pointwise", depthwise_.output_shape(in)));
  }

  /// Fused by bands where that pays, unless `prof` is timing each layer; both give
  /// bit-identical results. `in` may be padded to kernels::padded_pixel_stride (see
  /// Network::block_output_stride), the depthwise output in between is then padded alike; `out` may
  /// be padded to any stride.
  void forward(ConstTensorView in, TensorView out, const BlockScratch& s, ThreadPool& pool,
               Profiler& prof) const {
    const int64_t C = in.shape.c, padded = kernels::padded_pixel_stride(C);
    if (in.pixel_stride() != C && in.pixel_stride() != padded)
      throw Error("DepthwiseSeparable: input pixel stride " + std::to_string(in.pixel_stride()) +
                  " is neither its " + std::to_string(C) + " channels nor their padded stride " +
                  std::to_string(padded));
    if (!prof.per_layer() && BandPlan::worth_fusing(in.shape)) {
      check_shapes("DepthwiseSeparable", in.shape, out.shape, depthwise_.options().channels,
                   output_shape(in.shape));
      check_stride("DepthwiseSeparable", "output", out);
      run_fused_bands(in, nullptr, depthwise_, &pointwise_, nullptr, out.data, out.pixel_stride(),
                      nullptr, nullptr, s.as<float>(ScratchRegion::Depthwise), pool);
      return;
    }
    TensorView d{s.as<float>(ScratchRegion::Depthwise), depthwise_.output_shape(in.shape),
                 in.pixel_stride()};
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
