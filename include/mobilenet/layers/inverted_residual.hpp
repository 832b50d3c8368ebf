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

  BlockScratchSize scratch_size(const Shape& in) const {
    const Shape e = expanded_shape(in);
    return {expand_ ? e.numel() : 0, depthwise_.output_shape(e).numel(),
            se_ ? in.n * se_->channels() : 0, se_ ? in.n * se_->squeeze() : 0};
  }

  void describe(const std::string& name, const Shape& in, std::vector<LayerInfo>& out) const {
    const Shape e = expanded_shape(in), d = depthwise_.output_shape(e);
    if (expand_) out.push_back(expand_->info(name + ".expand", in));
    out.push_back(depthwise_.info(name + ".depthwise", e));
    if (se_) out.push_back(se_->info(name + ".se", d));
    LayerInfo p = project_.info(name + ".project", d);
    if (has_residual()) p.type += " +residual";
    out.push_back(p);
  }

  void forward(ConstTensorView in, TensorView out, const BlockScratch& s, ThreadPool& pool,
               Profiler& prof) const {
    ConstTensorView x = in;
    if (expand_) {
      TensorView e{s.expanded, expanded_shape(in.shape)};
      expand_->forward(x, e, pool);
      prof.lap();
      x = e;
    }
    TensorView d{s.depthwise, depthwise_.output_shape(x.shape)};
    depthwise_.forward(x, d, pool);
    prof.lap();
    if (se_) {
      se_->forward(d, s.se, pool);
      prof.lap();
    }
    project_.forward(d, out, pool, has_residual() ? in.data : nullptr);
    prof.lap();
  }

 private:
  Shape expanded_shape(const Shape& in) const {
    return expand_ ? expand_->output_shape(in) : in;
  }

  std::optional<PointwiseConv2d> expand_;
  DepthwiseConv2d depthwise_;
  std::optional<SqueezeExcite> se_;
  PointwiseConv2d project_;
};

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
