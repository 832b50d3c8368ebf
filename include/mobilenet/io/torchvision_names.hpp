#pragma once
// torchvision's state-dict key names for each layer of a NetworkSpec (models/mobilenetv2.py,
// models/mobilenetv3.py; V1 follows tools/mobilenet_v1.py, which uses the same conventions).
// A conv + BatchNorm pair is "<prefix>.0" (conv) and "<prefix>.1" (BN) inside a Conv2dNormActivation.

#include <optional>
#include <string>
#include <vector>

#include "mobilenet/models/spec.hpp"

namespace mobilenet {

struct ConvKeys {
  std::string conv, bn;  // "<conv>.weight"; "<bn>.{weight,bias,running_mean,running_var}"
};

struct BlockKeys {
  std::optional<ConvKeys> expand;
  ConvKeys depthwise;
  // Squeeze-excite 1x1 convs with bias, "<se_reduce>.{weight,bias}" and "<se_expand>.{...}";
  // empty when the block has none.
  std::string se_reduce, se_expand;
  ConvKeys project;
};

struct NetworkKeys {
  ConvKeys stem;
  std::vector<BlockKeys> blocks;
  ConvKeys last_conv;
  // "<linear>.{weight,bias}"; a weight may be stored [out, in] (Linear) or [out, in, 1, 1] (a 1x1
  // conv applied after pooling, as timm's MobileNetV3 conv_head).
  std::vector<std::string> linears;
};

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
