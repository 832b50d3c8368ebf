#pragma once
// The MobileNet architectures as data: one row per block (V1, V3) or per stage of repeated
// blocks (V2), exactly as the papers and torchvision write them.

#include <algorithm>
#include <string>

#include "mobilenet/core/activation_kind.hpp"
#include "mobilenet/core/error.hpp"

namespace mobilenet {

/// A MobileNet architecture.
enum class Arch {
  V1,       ///< MobileNet V1 (Howard et al. 2017): depthwise-separable blocks.
  V2,       ///< MobileNetV2 (Sandler et al. 2018): inverted residuals with linear bottlenecks.
  V3Large,  ///< MobileNetV3-Large (Howard et al. 2019).
  V3Small   ///< MobileNetV3-Small (Howard et al. 2019).
};

/// The architecture's name as the CLI and file metadata spell it: "v1", "v2", "v3_large",
/// "v3_small".
inline const char* to_string(Arch a) {
  switch (a) {
    case Arch::V1:
      return "v1";
    case Arch::V2:
      return "v2";
    case Arch::V3Large:
      return "v3_large";
    case Arch::V3Small:
      return "v3_small";
  }
  return "?";
}

/// Parses "v1", "v2", "v3_large", "v3_small" (the names the CLI and file metadata use).
/// @throws Error for any other name.
inline Arch parse_arch(const std::string& s) {
  for (Arch a : {Arch::V1, Arch::V2, Arch::V3Large, Arch::V3Small})
    if (s == to_string(a)) return a;
  throw Error("unknown architecture '" + s + "' (expected v1, v2, v3_large or v3_small)");
}

/// Whose model definitions a weight file follows. Torchvision: torchvision's mobilenetv2.py and
/// mobilenetv3.py (V1: tools/mobilenet_v1.py, same conventions). Timm: pytorch-image-models'
/// mobilenetv1_*, mobilenetv2_* (efficientnet.py) and mobilenetv3_large_* / mobilenetv3_small_*
/// (mobilenetv3.py). Besides the state-dict key names, timm's builders round some channel counts
/// differently and differ in two layer details (V1's activation, V3's BatchNorm eps); make_spec
/// applies either set of rules.
enum class Scheme {
  Torchvision,  ///< torchvision's definitions and state-dict keys ("features.0.0.weight", ...).
  Timm          ///< timm's definitions and state-dict keys ("conv_stem.weight", ...).
};

/// The scheme's name: "torchvision" or "timm".
inline const char* to_string(Scheme s) {
  return s == Scheme::Timm ? "timm" : "torchvision";
}

/// Parses "torchvision" or "timm".
/// @throws Error for any other name.
inline Scheme parse_scheme(const std::string& s) {
  for (Scheme x : {Scheme::Torchvision, Scheme::Timm})
    if (s == to_string(x)) return x;
  throw Error("unknown key-name scheme '" + s + "' (expected torchvision or timm)");
}

/// torchvision's _make_divisible (models/_utils.py): round to the nearest multiple of `divisor`,
/// at least `divisor`, and never more than 10% below `v`. timm's make_divisible
/// (timm/layers/helpers.py, default round_limit 0.9) and round_channels
/// (_efficientnet_builder.py, which calls it on channels * multiplier) are the same rule.
inline int make_divisible(double v, int divisor = 8) {
  int rounded = std::max(divisor, static_cast<int>(v + divisor / 2.0) / divisor * divisor);
  if (rounded < 0.9 * v) rounded += divisor;
  return rounded;
}

namespace config {

/// MobileNetV1 (Howard et al. 2017, Table 1): depthwise-separable blocks after a 32-channel
/// 3x3/2 stem; ReLU throughout.
struct V1Row {
  int out, stride;
};
inline constexpr int kV1Stem = 32;
inline constexpr V1Row kV1[] = {{64, 1},  {128, 2},  {128, 1}, {256, 2}, {256, 1},
                                {512, 2}, {512, 1},  {512, 1}, {512, 1}, {512, 1},
                                {512, 1}, {1024, 2}, {1024, 1}};

/// MobileNetV2 (Sandler et al. 2018, Table 2; torchvision mobilenetv2.py
/// inverted_residual_setting): expansion t, output channels c, repeats n, first stride s.
struct V2Row {
  int t, c, n, s;
};
inline constexpr int kV2Stem = 32;
inline constexpr int kV2Last = 1280;
inline constexpr V2Row kV2[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};

/// MobileNetV3 (Howard et al. 2019, Tables 1 and 2; torchvision mobilenetv3.py bneck_conf):
/// input, kernel, expanded, output channels, squeeze-excite, activation, stride.
struct V3Row {
  int in, kernel, expanded, out;
  bool se;
  Activation act;
  int stride;
};
inline constexpr Activation RE = Activation::ReLU, HS = Activation::HardSwish;
inline constexpr int kV3Stem = 16;
inline constexpr V3Row kV3Large[] = {
    {16, 3, 16, 16, false, RE, 1},   {16, 3, 64, 24, false, RE, 2},
    {24, 3, 72, 24, false, RE, 1},   {24, 5, 72, 40, true, RE, 2},
    {40, 5, 120, 40, true, RE, 1},   {40, 5, 120, 40, true, RE, 1},
    {40, 3, 240, 80, false, HS, 2},  {80, 3, 200, 80, false, HS, 1},
    {80, 3, 184, 80, false, HS, 1},  {80, 3, 184, 80, false, HS, 1},
    {80, 3, 480, 112, true, HS, 1},  {112, 3, 672, 112, true, HS, 1},
    {112, 5, 672, 160, true, HS, 2}, {160, 5, 960, 160, true, HS, 1},
    {160, 5, 960, 160, true, HS, 1}};
inline constexpr int kV3LargeLast = 1280;
inline constexpr V3Row kV3Small[] = {
    {16, 3, 16, 16, true, RE, 2},  {16, 3, 72, 24, false, RE, 2}, {24, 3, 88, 24, false, RE, 1},
    {24, 5, 96, 40, true, HS, 2},  {40, 5, 240, 40, true, HS, 1}, {40, 5, 240, 40, true, HS, 1},
    {40, 5, 120, 48, true, HS, 1}, {48, 5, 144, 48, true, HS, 1}, {48, 5, 288, 96, true, HS, 2},
    {96, 5, 576, 96, true, HS, 1}, {96, 5, 576, 96, true, HS, 1}};
inline constexpr int kV3SmallLast = 1024;

/// timm's MobileNetV3 (mobilenetv3.py, _gen_mobilenet_v3) writes the same rows as block strings
/// with an expansion ratio ("ir_r1_k3_s1_e3.67_c24_nre") that it multiplies by the block's
/// already-rounded input width (_efficientnet_blocks.py, InvertedResidual: mid_chs =
/// make_divisible(in_chs * exp_ratio)); torchvision scales the table's expanded width instead.
/// One ratio per row of kV3Large / kV3Small; 1 is timm's "ds" block (no expansion conv).
inline constexpr double kV3LargeTimmExpansion[] = {1,   4,   3, 3, 3, 3, 6, 2.5,
                                                   2.3, 2.3, 6, 6, 6, 6, 6};
inline constexpr double kV3SmallTimmExpansion[] = {1, 4.5, 3.67, 4, 6, 6, 3, 3, 6, 6, 6};
/// timm's last 1x1 conv is a block of its own ("cn_r1_k1_s1_c960" / "..._c576"), its width scaled
/// like any block's; torchvision uses 6x the last block's (scaled) output.
inline constexpr int kV3LargeTimmLastConv = 960;
inline constexpr int kV3SmallTimmLastConv = 576;

}  // namespace config
}  // namespace mobilenet
