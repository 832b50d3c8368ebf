#pragma once
// Builds a Network from a NetworkSpec and a weight source: the folded float weights
// (models/folded_network.hpp) packed into each float layer.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mobilenet/core/isa.hpp"
#include "mobilenet/models/folded_network.hpp"
#include "mobilenet/models/network.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace network_builder {

inline Conv2d make_stem(const NetworkSpec& spec, const FoldedConv& f) {
  return Conv2d({3, spec.stem_out, 3, 2, spec.padding, spec.stem_act}, f.weight.data(),
                f.bias.data());
}

inline Block make_block(const NetworkSpec& spec, const BlockSpec& b, const FoldedBlock& f) {
  DepthwiseConv2d depthwise({b.expanded, b.kernel, b.stride, spec.padding, b.act},
                            f.depthwise.weight.data(), f.depthwise.bias.data());
  const bool dw_separable = b.kind == BlockKind::DepthwiseSeparable;
  PointwiseConv2d project({b.expanded, b.out, dw_separable ? b.act : Activation::Identity},
                          f.project.weight.data(), f.project.bias.data());
  if (dw_separable) return DepthwiseSeparable(std::move(depthwise), std::move(project));

  std::optional<PointwiseConv2d> expand;
  if (f.expand)
    expand.emplace(PointwiseConv2d::Options{b.in, b.expanded, b.act}, f.expand->weight.data(),
                   f.expand->bias.data());
  std::optional<SqueezeExcite> se;
  if (f.se_reduce)
    se.emplace(b.expanded, b.squeeze, f.se_reduce->weight.data(), f.se_reduce->bias.data(),
               f.se_expand->weight.data(), f.se_expand->bias.data());
  return InvertedResidual(std::move(expand), std::move(depthwise), std::move(se),
                          std::move(project));
}

/// The classifier's Linear layers (the last without activation, a hidden one with the spec's).
template <class Linear = PointwiseConv2d>
BasicClassifier<Linear> make_classifier(const NetworkSpec& spec,
                                        const std::vector<FoldedConv>& linears) {
  const int64_t features = spec.last_conv_out ? spec.last_conv_out : spec.blocks.back().out;
  std::vector<Linear> layers;
  int64_t in = features;
  for (size_t i = 0; i < linears.size(); ++i) {
    const bool last = i + 1 == linears.size();
    const int64_t out = last ? spec.num_classes : spec.hidden;
    layers.emplace_back(
        PointwiseConv2d::Options{in, out, last ? Activation::Identity : spec.hidden_act,
                                 BiasSource::Bias},
        linears[i].weight.data(), linears[i].bias.data());
    in = out;
  }
  return BasicClassifier<Linear>(std::move(layers));
}

inline std::optional<PointwiseConv2d> make_last_conv(const NetworkSpec& spec,
                                                     const std::optional<FoldedConv>& f) {
  if (!f) return std::nullopt;
  return PointwiseConv2d(
      PointwiseConv2d::Options{spec.blocks.back().out, spec.last_conv_out, spec.last_conv_act},
      f->weight.data(), f->bias.data());
}

}  // namespace network_builder

/// Builds `spec` with weights from `source`, named by `keys` (see network_keys()).
/// @throws Error if this CPU lacks an instruction set the code was compiled for
/// (require_compiled_isa()), the spec is invalid or its key names do not match it; a
/// SafetensorsWeights source records missing or mis-shaped tensors instead (see
/// SafetensorsWeights::check_complete).
inline Network build_network(const NetworkSpec& spec, WeightSource& source,
                             const NetworkKeys& keys) {
  using namespace network_builder;
  require_compiled_isa();  // before any packing code runs
  const FoldedNetwork f = load_folded_network(spec, source, keys);
  std::vector<Block> blocks;
  for (size_t i = 0; i < spec.blocks.size(); ++i)
    blocks.push_back(make_block(spec, spec.blocks[i], f.blocks[i]));
  return Network{spec, make_stem(spec, f.stem), std::move(blocks),
                 make_last_conv(spec, f.last_conv), make_classifier(spec, f.linears)};
}

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
