#pragma once
// What a weight file says about its model beyond the weights: labels and preprocessing.

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "mobilenet/io/preprocess.hpp"

namespace mobilenet {

/// What a model file says about how to feed it (safetensors `__metadata__`), with torchvision's
/// ImageNet defaults for whatever the file leaves out.
struct ModelMetadata {
  /// Class names, one per class (metadata `labels`); empty when the file has none.
  std::vector<std::string> labels;
  /// Per-channel (RGB) mean subtracted from pixels scaled to [0, 1] (metadata `mean`).
  float mean[3] = {0.485f, 0.456f, 0.406f};
  /// Per-channel (RGB) standard deviation the centred pixels are divided by (metadata `std`).
  float std[3] = {0.229f, 0.224f, 0.225f};
  /// Side of the square centre crop the model expects (metadata `input_size`).
  int input_size = 224;
  /// The shorter image side is resized to this before cropping (metadata `resize_size`).
  int resize_size = 256;
  /// The resize's filter (metadata `interpolation`: bilinear or bicubic).
  Interpolation interpolation = Interpolation::Bilinear;
  /// Every `__metadata__` entry as stored in the file, including ones the library does not use.
  std::map<std::string, std::string> raw;

  /// The preprocessing this metadata describes: resize and its filter, centre crop, mean, std.
  PreprocessOptions preprocess_options() const {
    PreprocessOptions o;
    o.resize_size = resize_size;
    o.interpolation = interpolation;
    o.crop_size = input_size;
    std::copy(mean, mean + 3, o.mean);
    std::copy(std, std + 3, o.std);
    return o;
  }
};

}  // namespace mobilenet
