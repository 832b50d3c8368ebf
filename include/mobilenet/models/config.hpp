#pragma once
// The MobileNet architectures as data: one row per block (V1, V3) or per stage of repeated
// blocks (V2), exactly as the papers and torchvision write them.

#include <algorithm>
#include <string>

#include "mobilenet/core/activation.hpp"
#include "mobilenet/core/error.hpp"

namespace mobilenet {

enum class Arch { V1, V2, V3Large, V3Small };

inline const char* to_string(Arch a) {
  switch (a) {
    case Arch::V1: return "v1";
    case Arch::V2: return "v2";
    case Arch::V3Large: return "v3_large";
    case Arch::V3Small: return "v3_small";
  }
  return "?";
}

/// Parses "v1", "v2", "v3_large", "v3_small" (the names the CLI and file metadata use).
inline Arch parse_arch(const std::string& s) {
  for (Arch a : {Arch::V1, Arch::V2, Arch::V3Large, Arch::V3Small})
    if (s == to_string(a)) return a;
  throw Error("unknown architecture '" + s + "' (expected v1, v2, v3_large or v3_small)");
}

/// torchvision's _make_divisible (models/_utils.py): round to the nearest multiple of `divisor`,
/// at least `divisor`, and never more than 10% below `v`.
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
inline constexpr V1Row kV1[] = {{64, 1},  {128, 2}, {128, 1}, {256, 2}, {256, 1},  {512, 2},  {512, 1},
                         {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1}};

/// MobileNetV2 (Sandler et al. 2018, Table 2; torchvision mobilenetv2.py
/// inverted_residual_setting): expansion t, output channels c, repeats n, first stride s.
struct V2Row {
  int t, c, n, s;
};
inline constexpr int kV2Stem = 32;
inline constexpr int kV2Last = 1280;
inline constexpr V2Row kV2[] = {{1, 16, 1, 1},  {6, 24, 2, 2},  {6, 32, 3, 2},  {6, 64, 4, 2},
                         {6, 96, 3, 1},  {6, 160, 3, 2}, {6, 320, 1, 1}};

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
    {16, 3, 16, 16, true, RE, 2},   {16, 3, 72, 24, false, RE, 2}, {24, 3, 88, 24, false, RE, 1},
    {24, 5, 96, 40, true, HS, 2},   {40, 5, 240, 40, true, HS, 1}, {40, 5, 240, 40, true, HS, 1},
    {40, 5, 120, 48, true, HS, 1},  {48, 5, 144, 48, true, HS, 1}, {48, 5, 288, 96, true, HS, 2},
    {96, 5, 576, 96, true, HS, 1},  {96, 5, 576, 96, true, HS, 1}};
inline constexpr int kV3SmallLast = 1024;

}  // namespace config
}  // namespace mobilenet
