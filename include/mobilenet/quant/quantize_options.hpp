#pragma once
// How to quantize a model to int8 (ISA-independent: the dispatching API passes it to any path).

#include <cstdio>
#include <string>

namespace mobilenet {

/// How each activation's int8 range is taken from the calibration data (quant/calibration.hpp).
enum class RangeMethod {
  /// The smallest and largest value seen: nothing is clipped, but one outlier stretches the
  /// range and coarsens every other value's step.
  minmax,
  /// The values below which (100 - p)% and p% of all values seen lie (p =
  /// QuantizeOptions::percentile): the rare outliers beyond are clipped, the rest get finer
  /// steps (the histogram calibrators of TensorRT and PyTorch offer the same).
  percentile,
};

/// How quantize() quantizes (the scheme itself: quant/quantize.hpp).
struct QuantizeOptions {
  /// One weight scale per output channel (the default), else one per tensor: only to show what
  /// per-channel scales avoid (quant/quantize.hpp).
  bool per_channel = true;
  RangeMethod method = RangeMethod::minmax;
  /// With RangeMethod::percentile: the share of values kept inside the range on each side, in
  /// percent, in (50, 100].
  double percentile = 99.99;
};

/// The method as an int8 file's metadata records it: "minmax" or "percentile 99.99".
inline std::string method_name(const QuantizeOptions& o) {
  if (o.method == RangeMethod::minmax) return "minmax";
  char p[32];
  std::snprintf(p, sizeof p, "%.10g", o.percentile);
  return std::string("percentile ") + p;
}

}  // namespace mobilenet
