#pragma once
// torchvision's state-dict key names for each layer of a NetworkSpec (models/mobilenetv2.py,
// models/mobilenetv3.py; V1 follows tools/mobilenet_v1.py, which uses the same conventions).
// A conv + BatchNorm pair is "<prefix>.0" (conv) and "<prefix>.1" (BN) inside a Conv2dNormActivation.

#include <optional>
#include <string>
#include <vector>

#include "mobilenet/models/spec.hpp"

namespace mobilenet {

/// Key prefixes of a convolution and the BatchNorm that follows it.
struct ConvKeys {
  std::string conv;  ///< The weight is "<conv>.weight".
  std::string bn;    ///< "<bn>.{weight,bias,running_mean,running_var}".
};

/// Key prefixes of one block's layers.
struct BlockKeys {
  std::optional<ConvKeys> expand;  ///< The 1x1 expansion conv; unset when the block has none.
  ConvKeys depthwise;              ///< The depthwise conv.
  /// Squeeze-excite reduce 1x1 conv with bias, "<se_reduce>.{weight,bias}"; empty when the block
  /// has no squeeze-excite.
  std::string se_reduce;
  std::string se_expand;  ///< Squeeze-excite expand 1x1 conv with bias, like se_reduce.
  ConvKeys project;       ///< The 1x1 projection (V1: pointwise) conv.
};

/// Key prefixes of every layer of a network, in the order of its NetworkSpec.
struct NetworkKeys {
  ConvKeys stem;                  ///< The 3x3/2 stem conv.
  std::vector<BlockKeys> blocks;  ///< One per NetworkSpec::blocks entry.
  ConvKeys last_conv;             ///< The 1x1 conv before pooling (unused without one).
  /// The classifier's layers, "<linear>.{weight,bias}"; a weight may be stored [out, in]
  /// (Linear) or [out, in, 1, 1] (a 1x1 conv applied after pooling, as timm's MobileNetV3
  /// conv_head).
  std::vector<std::string> linears;
};

/// torchvision's state-dict key names for every layer of `spec`.
inline NetworkKeys torchvision_keys(const NetworkSpec& spec) {
  const auto conv_bn = [](const std::string& p) { return ConvKeys{p + ".0", p + ".1"}; };
  NetworkKeys k;
  k.stem = conv_bn("features.0");
  for (size_t i = 0; i < spec.blocks.size(); ++i) {
    const BlockSpec& b = spec.blocks[i];
    const std::string f = "features." + std::to_string(i + 1);
    BlockKeys bk;
    const bool expand = b.expanded != b.in;
    switch (spec.arch) {
      case Arch::V1:  // Sequential(ConvBNReLU(dw), ConvBNReLU(pw))
        bk.depthwise = conv_bn(f + ".0");
        bk.project = conv_bn(f + ".1");
        break;
      case Arch::V2: {  // conv = [ConvBNReLU6(expand)], ConvBNReLU6(dw), Conv2d, BatchNorm2d
        const int d = expand ? 1 : 0;
        if (expand) bk.expand = conv_bn(f + ".conv.0");
        bk.depthwise = conv_bn(f + ".conv." + std::to_string(d));
        bk.project = {f + ".conv." + std::to_string(d + 1), f + ".conv." + std::to_string(d + 2)};
        break;
      }
      case Arch::V3Large:
      case Arch::V3Small: {  // block = [expand], dw, [SE], project
        int j = 0;
        if (expand) bk.expand = conv_bn(f + ".block." + std::to_string(j++));
        bk.depthwise = conv_bn(f + ".block." + std::to_string(j++));
        if (b.squeeze) {  // SqueezeExcitation: fc1, ReLU, fc2, Hardsigmoid
          const std::string se = f + ".block." + std::to_string(j++);
          bk.se_reduce = se + ".fc1";
          bk.se_expand = se + ".fc2";
        }
        bk.project = conv_bn(f + ".block." + std::to_string(j));
        break;
      }
    }
    k.blocks.push_back(bk);
  }
  k.last_conv = conv_bn("features." + std::to_string(spec.blocks.size() + 1));
  if (spec.hidden)
    k.linears = {"classifier.0", "classifier.3"};  // Linear, Hardswish, Dropout, Linear
  else
    k.linears = {"classifier.1"};  // Dropout, Linear
  return k;
}

}  // namespace mobilenet
