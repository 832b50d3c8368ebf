#pragma once
// Zero padding of a convolution's input: explicit per-side amounts for the kernels, and the two
// rules MobileNet checkpoints are trained with. PyTorch-trained MobileNets pad (k-1)/2 on every
// side; TensorFlow-trained ones use "SAME", which depends on the input size and at stride 2 puts
// the odd pixel at the bottom/right.

#include <algorithm>
#include <cstdint>
#include <string>

#include "mobilenet/core/error.hpp"

namespace mobilenet {

/// Zeros added before and after the input along each axis.
struct Padding {
  int top = 0, left = 0, bottom = 0, right = 0;

  static Padding symmetric(int p) { return {p, p, p, p}; }
};

/// How a convolution layer pads its input.
enum class PaddingMode {
  /// (k - 1) / 2 on every side, whatever the input size: PyTorch's convs in torchvision and timm.
  Torch,
  /// TensorFlow's "SAME": the output is ceil(in / stride) and the padding that needs,
  /// max((out - 1) * stride + k - in, 0), is split with the odd pixel after (bottom/right).
  /// What Keras applications and timm's tf_ ports were trained with.
  TfSame,
};

/// "torch" or "tf_same".
inline const char* to_string(PaddingMode m) {
  return m == PaddingMode::TfSame ? "tf_same" : "torch";
}

/// The mode named `s` ("torch" or "tf_same").
/// @throws Error for any other name.
inline PaddingMode parse_padding_mode(const std::string& s) {
  if (s == "torch") return PaddingMode::Torch;
  if (s == "tf_same") return PaddingMode::TfSame;
  throw Error("unknown padding mode '" + s + "' (expected torch or tf_same)");
}

/// Output extent of a convolution along one axis; 0 or less means the input is too small.
inline int64_t conv_output_size(int64_t in, int kernel, int stride, int pad_before, int pad_after) {
  const int64_t span = in + pad_before + pad_after - kernel;
  return span < 0 ? 0 : span / stride + 1;
}

/// The per-side padding `mode` gives a `kernel` x `kernel`, stride `stride` convolution on a
/// `height` x `width` input. TfSame follows TensorFlow's GetWindowedOutputSize
/// (tensorflow/core/framework/kernel_shape_util.cc) and timm's get_same_padding
/// (timm/layers/padding.py).
inline Padding resolve_padding(PaddingMode mode, int kernel, int stride, int64_t height,
                               int64_t width) {
  if (mode == PaddingMode::Torch) return Padding::symmetric((kernel - 1) / 2);
  const auto total = [&](int64_t in) {
    const int64_t out = (in + stride - 1) / stride;
    return static_cast<int>(std::max<int64_t>((out - 1) * stride + kernel - in, 0));
  };
  const int th = total(height), tw = total(width);
  return {th / 2, tw / 2, th - th / 2, tw - tw / 2};
}

}  // namespace mobilenet
