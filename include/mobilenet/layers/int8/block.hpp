#pragma once
// The int8 block: [1x1 expand] -> kxk depthwise -> [squeeze-excite] -> 1x1 project
// [+ input], each conv followed by a lookup table where its activation is not a clamp
// (hard-swish). MobileNetV1's depthwise-separable block is the case without expansion, SE or
// residual (its projection carries the activation); V2 and V3's inverted residual the others.
// It has the members of the block concept (layers/block.hpp) over int8 views.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mobilenet/layers/block_scratch.hpp"
#include "mobilenet/layers/int8/convs.hpp"
#include "mobilenet/layers/int8/elementwise.hpp"
#include "mobilenet/layers/layer_info.hpp"
#include "mobilenet/runtime/profiler.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {

/// An int8 tensor view (contiguous) and its read-only form.
using Int8TensorView = BasicTensorView<int8_t>;
using ConstInt8TensorView = BasicTensorView<const int8_t>;

/// A conv layer and the lookup table that applies its activation when that is not a clamp.
template <class Conv>
struct Int8Stage {
  Conv conv;
  std::optional<LookupTableInt8> table;
  /// The parameters of what the stage hands on (after the table, if any).
  quant::QuantParams output_params() const {
    return table ? table->output_params() : conv.params().output;
  }
  Shape output_shape(const Shape& in) const { return conv.output_shape(in); }
  /// The conv's row, its type naming the table's activation if there is one.
  LayerInfo info(const std::string& name, const Shape& in) const {
    LayerInfo row = conv.info(name, in);
    if (table)
      row.type = row.type.substr(0, row.type.rfind(' ')) + " " + to_string(table->activation()) +
                 " (table)";
    return row;
  }
};

class BlockInt8 {
 public:
  BlockInt8(std::optional<Int8Stage<PointwiseConv2dInt8>> expand,
            Int8Stage<DepthwiseConv2dInt8> depthwise, std::optional<SqueezeExciteInt8> se,
            Int8Stage<PointwiseConv2dInt8> project, std::optional<ResidualAddInt8> residual)
      : expand_(std::move(expand)),
        depthwise_(std::move(depthwise)),
        se_(std::move(se)),
        project_(std::move(project)),
        residual_(std::move(residual)) {}

  /// The parameters of the block's output.
  quant::QuantParams output_params() const {
    return residual_ ? residual_->output_params() : project_.output_params();
  }

  Shape output_shape(const Shape& in) const {
    return project_.conv.output_shape(depthwise_.conv.output_shape(expanded_shape(in)));
  }

  BlockScratchSize scratch_size(const Shape& in, int /*threads*/, bool /*fused*/) const {
    const Shape e = expanded_shape(in), d = depthwise_.conv.output_shape(e);
    BlockScratchSize size;
    size.reserve<int8_t>(ScratchRegion::Expanded, expand_ ? e.numel() : 0);
    size.reserve<int8_t>(ScratchRegion::Depthwise, d.numel());
    if (se_) {
      size.reserve<float>(ScratchRegion::SePooled, in.n * se_->channels());
      size.reserve<float>(ScratchRegion::SeGate, in.n * se_->channels());
      size.reserve<float>(ScratchRegion::SeHidden, in.n * se_->squeeze());
    }
    return size;
  }

  void describe(const std::string& name, const Shape& in, std::vector<LayerInfo>& out) const {
    const Shape e = expanded_shape(in);
    describe_inverted_residual(name, in, e, depthwise_.conv.output_shape(e), expand_, depthwise_,
                               se_, project_, residual_.has_value(), out);
  }

  /// The contiguous int8 tensor `in` (quantized with the parameters the block was built for) to
  /// `out`, allocation-free, in `s`'s regions.
  void forward(ConstInt8TensorView in, Int8TensorView out, const BlockScratch& s, ThreadPool& pool,
               Profiler& prof) const {
    const Shape e = expanded_shape(in.shape), d = depthwise_.conv.output_shape(e);
    const int8_t* x = in.data;
    if (expand_) {
      int8_t* expanded = s.as<int8_t>(ScratchRegion::Expanded);
      expand_->conv.forward(x, in.shape, expanded, pool);
      if (expand_->table) expand_->table->forward(expanded, e.numel(), pool);
      prof.lap();
      x = expanded;
    }
    int8_t* dw = s.as<int8_t>(ScratchRegion::Depthwise);
    depthwise_.conv.forward(x, e, dw, pool);
    if (depthwise_.table) depthwise_.table->forward(dw, d.numel(), pool);
    prof.lap();
    if (se_) {
      se_->forward(dw, d,
                   {s.as<float>(ScratchRegion::SePooled), s.as<float>(ScratchRegion::SeHidden),
                    s.as<float>(ScratchRegion::SeGate)},
                   pool);
      prof.lap();
    }
    project_.conv.forward(dw, d, out.data, pool);
    if (project_.table) project_.table->forward(out.data, out.shape.numel(), pool);
    if (residual_) residual_->forward(out.data, in.data, out.data, out.shape.numel(), pool);
    prof.lap();
  }

 private:
  Shape expanded_shape(const Shape& in) const {
    return expand_ ? expand_->conv.output_shape(in) : in;
  }

  std::optional<Int8Stage<PointwiseConv2dInt8>> expand_;
  Int8Stage<DepthwiseConv2dInt8> depthwise_;
  std::optional<SqueezeExciteInt8> se_;
  Int8Stage<PointwiseConv2dInt8> project_;
  std::optional<ResidualAddInt8> residual_;
};

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
