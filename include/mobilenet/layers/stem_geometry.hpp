#pragma once
// The shape side of a stem convolution that runs as im2col + GEMM (the int8 and fp16 stems):
// its kernel, stride and padding over the image's channels, the output shape, the summary row and
// the gather's geometry (kernels/stem_columns.hpp).

#include <cstdint>
#include <string>

#include "mobilenet/core/tensor.hpp"
#include "mobilenet/kernels/padding.hpp"
#include "mobilenet/kernels/stem_columns.hpp"
#include "mobilenet/layers/layer_info.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {

struct StemGeometry {
  int64_t cin;  ///< the image's channels
  int kernel, stride;
  PaddingMode padding;

  Padding padding_for(const Shape& in) const {
    return resolve_padding(padding, kernel, stride, in.h, in.w);
  }
  Shape output_shape(const Shape& in, int64_t cout) const {
    const Padding p = padding_for(in);
    return {in.n, conv_output_size(in.h, kernel, stride, p.top, p.bottom),
            conv_output_size(in.w, kernel, stride, p.left, p.right), cout};
  }
  /// The summary row: type "conv3x3/2 <arithmetic>" (e.g. "int8 relu6"), parameters and MACs
  /// counted as the trained model had them (weights and BatchNorm's two per channel).
  LayerInfo info(const std::string& name, const Shape& in, int64_t cout,
                 const std::string& arithmetic) const {
    const Shape out = output_shape(in, cout);
    const int64_t k = int64_t{kernel} * kernel * cin;
    return {name,
            "conv" + std::to_string(kernel) + "x" + std::to_string(kernel) + "/" +
                std::to_string(stride) + " " + arithmetic,
            out, cout * k + bias_params(BiasSource::BatchNorm, cout), out.h * out.w * cout * k};
  }
  /// The gather's geometry for the image shape `in`, rows of `row_length` values.
  kernels::StemWindows windows(const Shape& in, int64_t cout, int64_t row_length) const {
    return {in, output_shape(in, cout), padding_for(in), kernel, stride, row_length};
  }
};

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
