#pragma once
// A network's concrete shape: the config table with the width multiplier applied (torchvision's
// or timm's rounding rules, see Scheme) and repeats unrolled, one BlockSpec per block. This is the
// single place make_divisible is applied.
// A user can build any network of the same block vocabulary by filling a NetworkSpec.

#include <optional>
#include <vector>

#include "mobilenet/core/precision.hpp"
#include "mobilenet/kernels/padding.hpp"
#include "mobilenet/models/config.hpp"

namespace mobilenet {

/// The two block types of the MobileNets.
enum class BlockKind {
  DepthwiseSeparable,  ///< V1's depthwise conv -> pointwise conv, both activated.
  InvertedResidual     ///< [1x1 expand] -> depthwise -> [squeeze-excite] -> linear 1x1 project
                       ///< (+ input when shapes match).
};

/// One block of a network, with its channel counts after the width multiplier.
struct BlockSpec {
  /// Block type.
  BlockKind kind = BlockKind::InvertedResidual;
  int in = 0;      ///< Input channels.
  int kernel = 3;  ///< Depthwise kernel size: 3 or 5.
  /// Channels after the expansion (equal to `in`: no expansion conv).
  int expanded = 0;
  int out = 0;      ///< Output channels.
  int squeeze = 0;  ///< Squeeze-excite width; 0 = no squeeze-excite.
  /// Activation after the expansion and depthwise convs.
  Activation act = Activation::ReLU6;
  int stride = 1;  ///< Depthwise stride: 1 or 2.
};

/// A network's concrete shape: stem, blocks, optional last 1x1 conv and classifier. make_spec()
/// fills it for the four architectures; Model builds any valid one.
struct NetworkSpec {
  Arch arch = Arch::V2;                 ///< Architecture (names layers in summaries and errors).
  Scheme scheme = Scheme::Torchvision;  ///< Whose definitions (and state-dict key names).
  double width = 1.0;                   ///< Width multiplier the spec was made with.
  int num_classes = 1000;               ///< Classifier outputs.
  double bn_eps = 1e-5;                 ///< BatchNorm epsilon used when folding.
  /// How the stem and depthwise convs pad: PyTorch's (k - 1) / 2, or TensorFlow's "SAME" for
  /// TensorFlow-trained weights (resolved per input size; see PaddingMode).
  PaddingMode padding = PaddingMode::Torch;
  int stem_out = 32;                        ///< Channels of the 3x3/2 stem conv.
  Activation stem_act = Activation::ReLU6;  ///< Stem activation.
  std::vector<BlockSpec> blocks;            ///< The blocks, in order.
  int last_conv_out = 0;  ///< Channels of the 1x1 conv before pooling; 0 = none (V1).
  Activation last_conv_act = Activation::ReLU6;  ///< Activation of that conv.
  /// Classifier hidden width: 0 = a single Linear; else Linear(hidden) -> act -> Linear (V3).
  int hidden = 0;
  Activation hidden_act = Activation::HardSwish;  ///< Activation after the hidden Linear.
  bool minimal = false;  ///< MobileNetV3's minimalistic variant (ModelOptions::minimal).
};

/// What random_model() and make_spec() build: width multiplier, class count and scheme.
struct ModelOptions {
  double width = 1.0;      ///< Width multiplier, in (0, 8].
  int num_classes = 1000;  ///< Number of classes.
  /// Whose rounding rules and layer details to follow (see Scheme). They agree at width 1.0 on
  /// every channel count; at other widths V3's expanded, squeeze-excite, stem and head widths
  /// may differ.
  Scheme scheme = Scheme::Torchvision;
  /// How the convs pad: Torch for PyTorch-trained weights, TfSame for TensorFlow-trained ones.
  PaddingMode padding = PaddingMode::Torch;
  /// MobileNetV3 "minimalistic" (timm's tf_mobilenetv3_*_minimal_*, Keras' minimalistic=True):
  /// every kernel 3x3, ReLU wherever the network has hard-swish, no squeeze-excite. V3 only.
  bool minimal = false;
  /// BatchNorm epsilon to fold with; unset: the scheme's (torchvision's V3 1e-3, otherwise
  /// PyTorch's default 1e-5). TensorFlow-trained weights use 1e-3 (timm's tf_ ports, Keras).
  std::optional<double> bn_eps = std::nullopt;
  /// What random_model() computes in: fp32, or fp16 where the CPU has fp16 arithmetic (an Error
  /// elsewhere; see Precision). int8: random_int8_model().
  Precision precision = Precision::fp32;
};

/// The spec of `arch` at `o.width` with `o.num_classes` classes, channel counts rounded by
/// `o.scheme`'s rules.
/// @throws Error if the width is outside (0, 8] or the class count is not positive.
inline NetworkSpec make_spec(Arch arch, const ModelOptions& o) {
  if (!(o.width > 0.0 && o.width <= 8.0))
    throw Error("width multiplier must be in (0, 8], got " + std::to_string(o.width));
  if (o.num_classes < 1)
    throw Error("num_classes must be positive, got " + std::to_string(o.num_classes));
  if (o.minimal && arch != Arch::V3Large && arch != Arch::V3Small)
    throw Error(std::string("the minimal variant exists for MobileNetV3 only, not ") +
                to_string(arch));
  if (o.bn_eps && !(*o.bn_eps >= 0 && *o.bn_eps < 1))
    throw Error("BatchNorm eps must be in [0, 1), got " + std::to_string(*o.bn_eps));
  NetworkSpec s;
  s.arch = arch;
  s.scheme = o.scheme;
  s.width = o.width;
  s.num_classes = o.num_classes;
  s.padding = o.padding;
  s.minimal = o.minimal;
  const bool timm = o.scheme == Scheme::Timm;
  const auto scaled = [&](int c) { return make_divisible(c * o.width, 8); };
  switch (arch) {
    case Arch::V1: {
      // timm (efficientnet.py, _gen_mobilenet_v1) uses ReLU6 where the paper has ReLU.
      const Activation act = timm ? Activation::ReLU6 : Activation::ReLU;
      s.stem_out = scaled(config::kV1Stem);
      s.stem_act = act;
      int in = s.stem_out;
      for (const auto& r : config::kV1) {
        const int out = scaled(r.out);
        s.blocks.push_back({BlockKind::DepthwiseSeparable, in, 3, in, out, 0, act, r.stride});
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
          // torchvision: round(in * t); timm: make_divisible(in * t). Equal for multiples of 8.
          const int expanded = timm ? make_divisible(in * r.t, 8) : in * r.t;
          s.blocks.push_back({BlockKind::InvertedResidual, in, 3, expanded, out, 0,
                              Activation::ReLU6, i == 0 ? r.s : 1});
          in = out;
        }
      }
      // torchvision: the last conv never narrows below 1280 (make_divisible(1280 * max(1, w)));
      // timm's max(1280, round_channels(1280, w)) (efficientnet.py, _gen_mobilenet_v2) is the same.
      s.last_conv_out = make_divisible(config::kV2Last * std::max(1.0, o.width), 8);
      s.last_conv_act = Activation::ReLU6;
      break;
    }
    case Arch::V3Large:
    case Arch::V3Small: {
      // torchvision mobilenetv3.py: BatchNorm2d(eps=0.001). timm's mobilenetv3_large_* and
      // mobilenetv3_small_* keep PyTorch's default 1e-5 (only its tf_* ports pass bn_eps=1e-3).
      s.bn_eps = timm ? 1e-5 : 1e-3;
      // timm (mobilenetv3.py, _gen_mobilenet_v3): fix_stem = width < 0.75 keeps 16 stem channels.
      s.stem_out = timm && o.width < 0.75 ? config::kV3Stem : scaled(config::kV3Stem);
      s.stem_act = Activation::HardSwish;
      const bool large = arch == Arch::V3Large;
      const auto* ratios = large ? config::kV3LargeTimmExpansion : config::kV3SmallTimmExpansion;
      int in = s.stem_out, row = 0;
      const auto add = [&](const config::V3Row& r) {
        const double ratio = ratios[row++];
        // timm: mid = make_divisible(in * ratio) from the rounded input width, squeeze-excite
        // round_channels(mid * 0.25); torchvision: the table's expanded width scaled, squeeze
        // make_divisible(expanded // 4).
        const int expanded = !timm        ? scaled(r.expanded)
                             : ratio == 1 ? in
                                          : make_divisible(in * ratio, 8);
        const int squeeze = !r.se  ? 0
                            : timm ? make_divisible(expanded * 0.25, 8)
                                   : make_divisible(expanded / 4, 8);
        s.blocks.push_back({BlockKind::InvertedResidual, in, r.kernel, expanded, scaled(r.out),
                            squeeze, r.act, r.stride});
        in = s.blocks.back().out;
      };
      if (large)
        for (const auto& r : config::kV3Large) add(r);
      else
        for (const auto& r : config::kV3Small) add(r);
      s.last_conv_out =
          timm ? scaled(large ? config::kV3LargeTimmLastConv : config::kV3SmallTimmLastConv)
               : 6 * s.blocks.back().out;
      s.last_conv_act = Activation::HardSwish;
      // timm's conv_head width (num_features) is 1280 / 1024 at every width multiplier.
      const int last = large ? config::kV3LargeLast : config::kV3SmallLast;
      s.hidden = timm ? last : scaled(last);
      s.hidden_act = Activation::HardSwish;
      if (o.minimal) {
        // timm's _gen_mobilenet_v3 for "minimal": the arch_def without se0.25 and with k3 in
        // place of k5, act_layer relu for the stem, blocks and head (Keras' minimalistic alike).
        s.stem_act = s.last_conv_act = s.hidden_act = Activation::ReLU;
        for (BlockSpec& b : s.blocks) {
          b.kernel = 3;
          b.squeeze = 0;
          b.act = Activation::ReLU;
        }
      }
      break;
    }
  }
  if (o.bn_eps) s.bn_eps = *o.bn_eps;
  return s;
}

}  // namespace mobilenet
