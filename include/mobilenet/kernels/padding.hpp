#pragma once
// Explicit per-side zero padding. PyTorch-trained MobileNets pad (k-1)/2 on every side;
// TF "same" padding is asymmetric at stride 2 (more at the bottom/right).

#include <cstdint>

namespace mobilenet {

struct Padding {
  int top = 0, left = 0, bottom = 0, right = 0;

  static Padding symmetric(int p) { return {p, p, p, p}; }
};

/// Output extent of a convolution along one axis; 0 or less means the input is too small.
inline int64_t conv_output_size(int64_t in, int kernel, int stride, int pad_before,
                                int pad_after) {
  const int64_t span = in + pad_before + pad_after - kernel;
  return span < 0 ? 0 : span / stride + 1;
}

}  // namespace mobilenet
