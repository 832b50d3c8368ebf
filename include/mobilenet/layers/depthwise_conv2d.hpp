#pragma once
// Depthwise KxK convolution layer (K = 3 or 5, stride 1 or 2), BatchNorm folded, activation fused.

#include <string>
#include <type_traits>

#include "mobilenet/core/activation.hpp"
#include "mobilenet/kernels/depthwise.hpp"
#include "mobilenet/layers/layer_info.hpp"
#include "mobilenet/runtime/thread_pool.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {

class DepthwiseConv2d {
 public:
  struct Options {
    int64_t channels = 0;
    int kernel = 3, stride = 1;
    Padding padding;
    Activation activation = Activation::Identity;
  };

  /// `weight` is PyTorch's [C][1][k][k], `bias` [C] (BatchNorm already folded in).
  DepthwiseConv2d(const Options& o, const float* weight, const float* bias)
      : o_(o), packed_(kernels::pack_depthwise(weight, bias, o.channels, o.kernel)) {
    if ((o.kernel != 3 && o.kernel != 5) || (o.stride != 1 && o.stride != 2))
      throw Error("DepthwiseConv2d supports kernels 3 and 5 with stride 1 or 2, got " +
                  std::to_string(o.kernel) + "x" + std::to_string(o.kernel) + "/" +
                  std::to_string(o.stride));
  }

  const Options& options() const { return o_; }

  Shape output_shape(const Shape& in) const {
    return {in.n, conv_output_size(in.h, o_.kernel, o_.stride, o_.padding.top, o_.padding.bottom),
            conv_output_size(in.w, o_.kernel, o_.stride, o_.padding.left, o_.padding.right),
            o_.channels};
  }

  LayerInfo info(const std::string& name, const Shape& in) const {
    const Shape out = output_shape(in);
    return {name,
            "dwconv" + std::to_string(o_.kernel) + "x" + std::to_string(o_.kernel) + "/" +
                std::to_string(o_.stride) + " " + to_string(o_.activation),
            out, o_.channels * o_.kernel * o_.kernel + 2 * o_.channels,
            out.h * out.w * o_.channels * o_.kernel * o_.kernel};
  }

  void forward(ConstTensorView in, TensorView out, ThreadPool& pool) const {
    check_shapes("DepthwiseConv2d", in.shape, out.shape, o_.channels, output_shape(in.shape));
    dispatch_activation(o_.activation, [&](auto act) {
      using Act = decltype(act);
      auto run = [&](auto kernel_tag, auto stride_tag) {
        constexpr int K = decltype(kernel_tag)::value, S = decltype(stride_tag)::value;
        pool.parallel_for(out.shape.n * out.shape.h, 1, [&](int64_t r0, int64_t r1) {
          kernels::depthwise<K, S, Act>(in, packed_, o_.padding, out, r0, r1);
        });
      };
      using K3 = std::integral_constant<int, 3>;
      using K5 = std::integral_constant<int, 5>;
      using S1 = std::integral_constant<int, 1>;
      using S2 = std::integral_constant<int, 2>;
      if (o_.kernel == 3)
        o_.stride == 1 ? run(K3{}, S1{}) : run(K3{}, S2{});
      else
        o_.stride == 1 ? run(K5{}, S1{}) : run(K5{}, S2{});
    });
  }

 private:
  Options o_;
  kernels::PackedDepthwise packed_;
};

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
