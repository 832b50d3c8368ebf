#pragma once
// Dense KxK convolution layer (the stem), with BatchNorm folded and the activation fused.

#include <string>

#include "mobilenet/core/activation.hpp"
#include "mobilenet/kernels/conv2d.hpp"
#include "mobilenet/layers/layer_info.hpp"
#include "mobilenet/runtime/thread_pool.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {

class Conv2d {
 public:
  struct Options {
    int64_t in_channels = 3, out_channels = 0;
    int kernel = 3, stride = 2;
    PaddingMode padding = PaddingMode::Torch;  ///< resolved per input size (padding_for)
    Activation activation = Activation::Identity;
    BiasSource bias_source = BiasSource::BatchNorm;
  };

  /// `weight` is PyTorch's [out][in][k][k], `bias` [out] (BatchNorm already folded in).
  Conv2d(const Options& o, const float* weight, const float* bias)
      : o_(o), packed_(kernels::pack_conv(weight, bias, o.in_channels, o.out_channels, o.kernel)) {
    if (!((o.kernel == 3 && (o.stride == 1 || o.stride == 2))))
      throw Error("Conv2d supports 3x3 kernels with stride 1 or 2, got " +
                  std::to_string(o.kernel) + "x" + std::to_string(o.kernel) + "/" +
                  std::to_string(o.stride));
    if (o.in_channels * o.kernel * o.kernel > kernels::kConvRowsFloats)
      throw Error("Conv2d supports at most " +
                  std::to_string(kernels::kConvRowsFloats / (o.kernel * o.kernel)) +
                  " input channels (it is meant for stems), got " + std::to_string(o.in_channels));
  }

  const Options& options() const { return o_; }

  /// The per-side padding at an input of `in`'s height and width.
  Padding padding_for(const Shape& in) const {
    return resolve_padding(o_.padding, o_.kernel, o_.stride, in.h, in.w);
  }

  Shape output_shape(const Shape& in) const {
    const Padding p = padding_for(in);
    return {in.n, conv_output_size(in.h, o_.kernel, o_.stride, p.top, p.bottom),
            conv_output_size(in.w, o_.kernel, o_.stride, p.left, p.right), o_.out_channels};
  }

  LayerInfo info(const std::string& name, const Shape& in) const {
    const Shape out = output_shape(in);
    return {name,
            "conv" + std::to_string(o_.kernel) + "x" + std::to_string(o_.kernel) + "/" +
                std::to_string(o_.stride) + " " + to_string(o_.activation),
            out,
            o_.out_channels * o_.in_channels * o_.kernel * o_.kernel +
                bias_params(o_.bias_source, o_.out_channels),
            out.h * out.w * o_.out_channels * o_.in_channels * o_.kernel * o_.kernel};
  }

  void forward(ConstTensorView in, TensorView out, ThreadPool& pool) const {
    check_shapes("Conv2d", in.shape, out.shape, o_.in_channels, output_shape(in.shape));
    require_contiguous("Conv2d", "input", in);
    require_contiguous("Conv2d", "output", out);
    const Padding pad = padding_for(in.shape);
    dispatch_activation(o_.activation, [&](auto act) {
      using Act = decltype(act);
      pool.parallel_for(out.shape.n * out.shape.h, 1, [&](int64_t r0, int64_t r1) {
        if (o_.stride == 1)
          kernels::conv2d<3, 1, Act>(in, packed_, pad, out, r0, r1);
        else
          kernels::conv2d<3, 2, Act>(in, packed_, pad, out, r0, r1);
      });
    });
  }

 private:
  Options o_;
  kernels::PackedPointwise packed_;  // over gathered rows, see kernels/conv2d.hpp
};

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
