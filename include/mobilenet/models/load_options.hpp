#pragma once
// How to read a weight file: overrides for its metadata, strictness, key-name scheme.

#include <optional>
#include <string>

#include "mobilenet/core/precision.hpp"
#include "mobilenet/models/spec.hpp"

namespace mobilenet {

/// Overrides for what the file's metadata says; unset fields come from the metadata, then from
/// defaults (width 1.0; classes from the classifier's weight shape).
struct LoadOptions {
  std::optional<Arch> arch;        ///< Architecture (metadata `arch`; required for timm's files).
  std::optional<double> width;     ///< Width multiplier (metadata `width`, else 1.0).
  std::optional<int> num_classes;  ///< Classes (metadata `num_classes`, else the classifier's).
  /// Refuse weights holding NaN or infinity (the CLI's --strict). Off by default: such values
  /// then propagate through inference as IEEE arithmetic says.
  bool reject_non_finite = false;
  /// Whose key names (and model definitions, see Scheme) the file follows; unset: detected from
  /// which stem weight the file holds, torchvision's "features.0.0.weight" or timm's
  /// "conv_stem.weight" (the CLI's --scheme auto|torchvision|timm).
  std::optional<Scheme> scheme = std::nullopt;
  /// How the convs pad (metadata `padding`: "torch" or "tf_same"; else torch, as every
  /// PyTorch-trained file is). TensorFlow-trained weights need tf_same: their exporters write it.
  std::optional<PaddingMode> padding = std::nullopt;
  /// timm's model name (timm_model(), e.g. "tf_mobilenetv3_large_100"), for a timm file whose
  /// config.json is not beside it (the CLI's --timm-arch): architecture, width, padding, BatchNorm
  /// eps and variant from the name. Empty: none.
  std::string timm_arch = {};
  /// What a float file's model computes in: fp32, or fp16 where the CPU has fp16 arithmetic
  /// (an Error elsewhere; see Precision). An int8 file's model is int8 whatever this says, but
  /// asking it for fp16 is an Error. int8 from a float file: quantize().
  Precision precision = Precision::fp32;
};

}  // namespace mobilenet
