#pragma once
// MobileNetV2/V3 inverted residual block (Sandler et al. 2018, fig. 3; Howard et al. 2019, fig. 4):
//   [1x1 expand + act] -> kxk depthwise + act -> [squeeze-excite] -> 1x1 linear projection
//   (+ input, when stride is 1 and channels are kept).
// The expansion is absent when expanded == in channels (torchvision's rule); the residual add is
// fused into the projection's epilogue.

#include <optional>
#include <vector>

#include "mobilenet/layers/block_scratch.hpp"
#include "mobilenet/layers/depthwise_conv2d.hpp"
#include "mobilenet/layers/fused_bands.hpp"
#include "mobilenet/layers/layer_info.hpp"
#include "mobilenet/layers/pointwise_conv2d.hpp"
#include "mobilenet/layers/squeeze_excite.hpp"
#include "mobilenet/runtime/profiler.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {

class InvertedResidual {
 public:
  InvertedResidual(std::optional<PointwiseConv2d> expand, DepthwiseConv2d depthwise,
                   std::optional<SqueezeExcite> se, PointwiseConv2d project)
      : expand_(std::move(expand)),
        depthwise_(std::move(depthwise)),
        se_(std::move(se)),
        project_(std::move(project)) {}

  int64_t in_channels() const {
    return expand_ ? expand_->options().in_channels : depthwise_.options().channels;
  }
  bool has_residual() const {
    return depthwise_.options().stride == 1 && in_channels() == project_.options().out_channels;
  }

  Shape output_shape(const Shape& in) const {
    return project_.output_shape(depthwise_.output_shape(expanded_shape(in)));
  }

  /// Scratch for `threads` threads; `fused`: the banded path (fused_bands.hpp), else the
  /// layer-by-layer one (whole expanded and depthwise tensors), which profiling uses.
  BlockScratchSize scratch_size(const Shape& in, int threads, bool fused) const {
    const Shape e = expanded_shape(in), d = depthwise_.output_shape(e);
    BlockScratchSize size;
    size.reserve<float>(ScratchRegion::Expanded, expand_ ? e.numel() : 0);
    size.reserve<float>(ScratchRegion::Depthwise, d.numel());
    if (se_) {
      size.reserve<float>(ScratchRegion::SeRowSums, in.n * d.h * se_->channels());
      size.reserve<float>(ScratchRegion::SePooled, in.n * se_->channels());
      size.reserve<float>(ScratchRegion::SeGate, in.n * se_->channels());
      size.reserve<float>(ScratchRegion::SeHidden, in.n * se_->squeeze());
    }
    if (fused && BandPlan::worth_fusing(e)) {
      const BandPlan plan = BandPlan::make(e, depthwise_, threads);
      size.reserve<float>(ScratchRegion::Expanded, expand_ ? threads * plan.ring_floats : 0);
      size.reserve<float>(ScratchRegion::Depthwise, se_ ? d.numel() : threads * plan.band_floats);
    }
    return size;
  }

  void describe(const std::string& name, const Shape& in, std::vector<LayerInfo>& out) const {
    const Shape e = expanded_shape(in);
    describe_inverted_residual(name, in, e, depthwise_.output_shape(e), expand_, depthwise_, se_,
                               project_, has_residual(), out);
  }

  /// Fused by bands (fused_bands.hpp) where that pays, unless `prof` is timing each layer; both
  /// paths give bit-identical results. `s` must be planned by scratch_size with the same choice.
  void forward(ConstTensorView in, TensorView out, const BlockScratch& s, ThreadPool& pool,
               Profiler& prof) const {
    require_contiguous("InvertedResidual", "input", in);
    require_contiguous("InvertedResidual", "output", out);
    const float* residual = has_residual() ? in.data : nullptr;
    if (!prof.per_layer() && BandPlan::worth_fusing(expanded_shape(in.shape))) {
      const Shape d = depthwise_.output_shape(expanded_shape(in.shape));
      check_shapes("InvertedResidual", in.shape, out.shape, in_channels(),
                   project_.output_shape(d));
      if (se_) {
        run_fused_bands(in, expand_ ? &*expand_ : nullptr, depthwise_, nullptr, nullptr, nullptr, 0,
                        s.as<float>(ScratchRegion::Depthwise), s.as<float>(ScratchRegion::Expanded),
                        nullptr, pool);
        se_->forward({s.as<float>(ScratchRegion::Depthwise), d}, s.se(), pool);
        project_.forward({s.as<float>(ScratchRegion::Depthwise), d}, out, pool, residual);
      } else {
        run_fused_bands(in, expand_ ? &*expand_ : nullptr, depthwise_, &project_, residual,
                        out.data, out.shape.c, nullptr, s.as<float>(ScratchRegion::Expanded),
                        s.as<float>(ScratchRegion::Depthwise), pool);
      }
      return;
    }
    ConstTensorView x = in;
    if (expand_) {
      TensorView e{s.as<float>(ScratchRegion::Expanded), expanded_shape(in.shape)};
      expand_->forward(x, e, pool);
      prof.lap();
      x = e;
    }
    TensorView d{s.as<float>(ScratchRegion::Depthwise), depthwise_.output_shape(x.shape)};
    depthwise_.forward(x, d, pool);
    prof.lap();
    if (se_) {
      se_->forward(d, s.se(), pool);
      prof.lap();
    }
    project_.forward(d, out, pool, residual);
    prof.lap();
  }

 private:
  Shape expanded_shape(const Shape& in) const { return expand_ ? expand_->output_shape(in) : in; }

  std::optional<PointwiseConv2d> expand_;
  DepthwiseConv2d depthwise_;
  std::optional<SqueezeExcite> se_;
  PointwiseConv2d project_;
};

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
