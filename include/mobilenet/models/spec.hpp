#pragma once
// A network's concrete shape: the config table with the width multiplier applied and repeats
// unrolled, one BlockSpec per block. This is the single place make_divisible is applied.
// A user can build any network of the same block vocabulary by filling a NetworkSpec.

#include <optional>
#include <vector>

#include "mobilenet/models/config.hpp"

namespace mobilenet {

enum class BlockKind { DepthwiseSeparable, InvertedResidual };

struct BlockSpec {
  BlockKind kind = BlockKind::InvertedResidual;
  int in = 0, kernel = 3, expanded = 0, out = 0;
  int squeeze = 0;  // squeeze-excite width; 0 = no SE
  Activation act = Activation::ReLU6;
  int stride = 1;
};

struct NetworkSpec {
  Arch arch = Arch::V2;
  double width = 1.0;
  int num_classes = 1000;
  double bn_eps = 1e-5;
  int stem_out = 32;
  Activation stem_act = Activation::ReLU6;
  std::vector<BlockSpec> blocks;
  int last_conv_out = 0;  // 0 = no 1x1 conv before pooling (V1)
  Activation last_conv_act = Activation::ReLU6;
  int hidden = 0;  // 0 = single Linear classifier; else Linear(hidden) -> act -> Linear
  Activation hidden_act = Activation::HardSwish;
};

struct ModelOptions {
  double width = 1.0;
  int num_classes = 1000;
};

inline NetworkSpec make_spec(Arch arch, const ModelOptions& o) {
  if (!(o.width > 0.0 && o.width <= 8.0))
    throw Error("width multiplier must be in (0, 8], got " + std::to_string(o.width));
  if (o.num_classes < 1) throw Error("num_classes must be positive, got " + std::to_string(o.num_classes));
  NetworkSpec s;
  s.arch = arch;
  s.width = o.width;
  s.num_classes = o.num_classes;
  const auto scaled = [&](int c) { return make_divisible(c * o.width, 8); };
  switch (arch) {
    case Arch::V1: {
      s.stem_out = scaled(config::kV1Stem);
      s.stem_act = Activation::ReLU;
      int in = s.stem_out;
      for (const auto& r : config::kV1) {
        const int out = scaled(r.out);
        s.blocks.push_back({BlockKind::DepthwiseSeparable, in, 3, in, out, 0, Activation::ReLU, r.stride});
        in = out;
      }
      break;
    }
    case Arch::V2: {
      s.stem_out = scaled(config::kV2Stem);
      s.stem_act = Activation::ReLU6;
      int in = s.stem_out;
      for (const auto& r : config::kV2) {
        const int out = scaled(r.c);
        for (int i = 0; i < r.n; ++i) {
          s.blocks.push_back({BlockKind::InvertedResidual, in, 3, in * r.t, out, 0,
                              Activation::ReLU6, i == 0 ? r.s : 1});
          in = out;
        }
      }
      // torchvision: the last conv never narrows below 1280 (make_divisible(1280 * max(1, w))).
      s.last_conv_out = make_divisible(config::kV2Last * std::max(1.0, o.width), 8);
      s.last_conv_act = Activation::ReLU6;
      break;
    }
    case Arch::V3Large:
    case Arch::V3Small: {
      s.bn_eps = 1e-3;  // torchvision mobilenetv3.py: BatchNorm2d(eps=0.001)
      s.stem_out = scaled(config::kV3Stem);
      s.stem_act = Activation::HardSwish;
      const bool large = arch == Arch::V3Large;
      const auto add = [&](const config::V3Row& r) {
        const int expanded = scaled(r.expanded);
        s.blocks.push_back({BlockKind::InvertedResidual, scaled(r.in), r.kernel, expanded,
                            scaled(r.out), r.se ? make_divisible(expanded / 4, 8) : 0, r.act,
                            r.stride});
      };
      if (large)
        for (const auto& r : config::kV3Large) add(r);
      else
        for (const auto& r : config::kV3Small) add(r);
      s.last_conv_out = 6 * s.blocks.back().out;
      s.last_conv_act = Activation::HardSwish;
      s.hidden = scaled(large ? config::kV3LargeLast : config::kV3SmallLast);
      s.hidden_act = Activation::HardSwish;
      break;
    }
  }
  return s;
}

}  // namespace mobilenet
