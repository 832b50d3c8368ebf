#pragma once
// A fully connected layer of the fp16 network's classifier (models/fp16_network.hpp): float
// features in, float outputs, the multiply-adds in fp16 with float32 sums of 32-input fp16
// partial sums (kernels/arm/linear_fp16_aarch64_neonfp16arith.hpp). It has PointwiseConv2d's
// members the classifier uses (layers/classifier.hpp).

#include <string>

#include "mobilenet/core/activation.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/kernels/arm/linear_fp16_aarch64_neonfp16arith.hpp"
#include "mobilenet/layers/fp16/convs.hpp"
#include "mobilenet/layers/pointwise_conv2d.hpp"
#include "mobilenet/runtime/thread_pool.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {

class LinearFp16 {
 public:
  using Options = PointwiseConv2d::Options;

  /// `weight` is PyTorch's [out][in], `bias` [out] (float).
  /// @throws Error if a weight is beyond fp16's range.
  LinearFp16(const Options& o, const float* weight, const float* bias) : o_(o) {
    fp16_layer_detail::check_range("fp16 linear", "weight", weight, o.in_channels * o.out_channels);
    packed_ = kernels::pack_linear_fp16(weight, bias, o.in_channels, o.out_channels);
  }

  const Options& options() const { return o_; }

  Shape output_shape(const Shape& in) const { return {in.n, in.h, in.w, o_.out_channels}; }

  LayerInfo info(const std::string& name, const Shape& in, const char* type) const {
    return {name, std::string(type) + " fp16 (fp32 sums) " + to_string(o_.activation),
            output_shape(in), o_.out_channels * o_.in_channels + o_.out_channels,
            in.pixels() / in.n * o_.in_channels * o_.out_channels};
  }

  /// `in` (n x 1 x 1 x in_channels, contiguous) to `out` (n x 1 x 1 x out_channels), the
  /// output groups split over the pool's threads.
  void forward(ConstTensorView in, TensorView out, ThreadPool& pool) const {
    check_shapes("LinearFp16", in.shape, out.shape, o_.in_channels, output_shape(in.shape));
    require_contiguous("LinearFp16", "input", in);
    require_contiguous("LinearFp16", "output", out);
    const int64_t images = in.shape.pixels(), cin = o_.in_channels, cout = o_.out_channels;
    const int64_t groups =
        (cout + kernels::linear_fp16_detail::kLanes - 1) / kernels::linear_fp16_detail::kLanes;
    dispatch_activation(o_.activation, [&](auto act) {
      pool.parallel_for(groups, kernels::linear_fp16_detail::kGroups, [&](int64_t g0, int64_t g1) {
        for (int64_t n = 0; n < images; ++n)
          kernels::linear_fp16<decltype(act)>(in.data + n * cin, packed_, out.data + n * cout, g0,
                                              g1);
      });
    });
  }

 private:
  Options o_;
  kernels::PackedLinearFp16 packed_;
};

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
