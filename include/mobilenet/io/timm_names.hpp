#pragma once
// timm's (pytorch-image-models) state-dict key names for each layer of a NetworkSpec, and
// network_keys(), which picks torchvision's or timm's names by the spec's Scheme.
//
// From timm's definitions (the module attribute names, not copied code):
// - models/efficientnet.py (EfficientNet: MobileNet V1 and V2) and models/mobilenetv3.py
//   (MobileNetV3): stem `conv_stem` + `bn1`; `blocks` is a Sequential of stages, each a
//   Sequential of blocks, so a block is "blocks.<stage>.<index in stage>".
// - The stages are the rows of the arch_def lists in _gen_mobilenet_v1 / _gen_mobilenet_v2
//   (efficientnet.py) and _gen_mobilenet_v3 (mobilenetv3.py).
// - models/_efficientnet_blocks.py: DepthwiseSeparableConv ("ds"/"dsa", a block without
//   expansion) = conv_dw, bn1, [se], conv_pw, bn2; InvertedResidual ("ir") = conv_pw, bn1,
//   conv_dw, bn2, [se], conv_pwl, bn3; ConvBnAct ("cn") = conv, bn1; SqueezeExcite = conv_reduce,
//   conv_expand (1x1 convs with bias).
// - Heads: EfficientNet (V2) has conv_head + bn2 before pooling, then `classifier` (Linear); V1
//   has no head conv (num_features=0). MobileNetV3 puts its last 1x1 conv in the last stage (a
//   "cn" block), pools, then `conv_head` (a 1x1 Conv2d with bias, weight [out, in, 1, 1], where
//   torchvision has Linear classifier.0), then `classifier`.

#include <string>
#include <vector>

#include "mobilenet/io/torchvision_names.hpp"

namespace mobilenet {

namespace detail {

/// Blocks per stage in timm's arch_def, the last 1x1 conv's "cn" stage of V3 not counted.
inline std::vector<int> timm_stage_sizes(Arch arch) {
  switch (arch) {
    case Arch::V1:
      return {1, 2, 2, 6, 2};  // dsa_r1_k3_s1_c64, dsa_r2_..._c128, ..._c256, r6 c512, r2 c1024
    case Arch::V2: {           // ds_r1_k3_s1_c16, ir_r2_k3_s2_e6_c24, ...: the table's n
      std::vector<int> sizes;
      for (const auto& r : config::kV2) sizes.push_back(r.n);
      return sizes;
    }
    case Arch::V3Large:
      return {1, 2, 3, 4, 2, 3};  // then cn_r1_k1_s1_c960
    case Arch::V3Small:
      return {1, 2, 3, 2, 3};  // then cn_r1_k1_s1_c576
  }
  return {};
}

}  // namespace detail

/// timm's state-dict key names for every layer of `spec`.
/// @throws Error if `spec` does not have as many blocks as timm's network of its architecture.
inline NetworkKeys timm_keys(const NetworkSpec& spec) {
  const std::vector<int> stages = detail::timm_stage_sizes(spec.arch);
  size_t total = 0;
  for (int n : stages) total += static_cast<size_t>(n);
  if (spec.blocks.size() != total)
    throw Error("timm key names need the " + std::to_string(total) +
                " blocks of timm's mobilenet " + to_string(spec.arch) + ", the spec has " +
                std::to_string(spec.blocks.size()));
  NetworkKeys k;
  k.stem = {"conv_stem", "bn1"};
  size_t i = 0;
  for (size_t stage = 0; stage < stages.size(); ++stage) {
    for (int j = 0; j < stages[stage]; ++j, ++i) {
      const BlockSpec& b = spec.blocks[i];
      const std::string p = "blocks." + std::to_string(stage) + "." + std::to_string(j) + ".";
      BlockKeys bk;
      if (b.expanded == b.in) {  // DepthwiseSeparableConv
        bk.depthwise = {p + "conv_dw", p + "bn1"};
        bk.project = {p + "conv_pw", p + "bn2"};
      } else {  // InvertedResidual
        bk.expand = ConvKeys{p + "conv_pw", p + "bn1"};
        bk.depthwise = {p + "conv_dw", p + "bn2"};
        bk.project = {p + "conv_pwl", p + "bn3"};
      }
      if (b.squeeze) {
        bk.se_reduce = p + "se.conv_reduce";
        bk.se_expand = p + "se.conv_expand";
      }
      k.blocks.push_back(bk);
    }
  }
  switch (spec.arch) {
    case Arch::V1:  // no head conv: pool, classifier
      k.linears = {"classifier"};
      break;
    case Arch::V2:  // conv_head, bn2 (ReLU6), pool, classifier
      k.last_conv = {"conv_head", "bn2"};
      k.linears = {"classifier"};
      break;
    case Arch::V3Large:
    case Arch::V3Small: {  // last stage: ConvBnAct; pool, conv_head (bias), hardswish, classifier
      const std::string p = "blocks." + std::to_string(stages.size()) + ".0.";
      k.last_conv = {p + "conv", p + "bn1"};
      k.linears = {"conv_head", "classifier"};
      break;
    }
  }
  return k;
}

/// The key names of the spec's scheme: torchvision_keys or timm_keys.
inline NetworkKeys network_keys(const NetworkSpec& spec) {
  return spec.scheme == Scheme::Timm ? timm_keys(spec) : torchvision_keys(spec);
}

}  // namespace mobilenet
