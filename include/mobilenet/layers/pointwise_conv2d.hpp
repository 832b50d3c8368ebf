#pragma once
// Pointwise (1x1) convolution, also used as the fully connected layer (a 1x1 conv on a 1x1
// image): BatchNorm folded or a plain bias, activation and optional residual add fused.

#include <string>

#include "mobilenet/core/activation.hpp"
#include "mobilenet/kernels/cache_geometry.hpp"
#include "mobilenet/kernels/pointwise.hpp"
#include "mobilenet/layers/layer_info.hpp"
#include "mobilenet/runtime/thread_pool.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {

class PointwiseConv2d {
 public:
  struct Options {
    int64_t in_channels = 0, out_channels = 0;
    Activation activation = Activation::Identity;
    BiasSource bias_source = BiasSource::BatchNorm;
  };

  /// `weight` is PyTorch's [out][in] (or [out][in][1][1]), `bias` [out].
  PointwiseConv2d(const Options& o, const float* weight, const float* bias)
      : o_(o), packed_(kernels::pack_pointwise(weight, bias, o.in_channels, o.out_channels)) {}

  const Options& options() const { return o_; }

  Shape output_shape(const Shape& in) const { return {in.n, in.h, in.w, o_.out_channels}; }

  LayerInfo info(const std::string& name, const Shape& in, const char* type = "conv1x1") const {
    return {name, std::string(type) + " " + to_string(o_.activation), output_shape(in),
            o_.out_channels * o_.in_channels + bias_params(o_.bias_source, o_.out_channels),
            in.pixels() / in.n * o_.in_channels * o_.out_channels};
  }

  /// `residual`, if given, has the shape and pixel stride of `out` and is added after the
  /// activation. `in` and `out` may be padded (pixel strides above their channels). Threads
  /// split the rows; they split the output channels (whole weight panels), each reading its share
  /// of the weights, when there are too few rows to give each thread a tile (fully connected
  /// layers at batch 1, squeeze-excite), and on layers of at most 64 rows (7x7 layers, fully
  /// connected layers at small batches) with 1 MB of weights or more, which would otherwise each
  /// stream all of them from L3 or memory (V1's 7x7 blocks at 2 threads 4-5% faster, V2's last
  /// two 2-3%). Splitting the channels of 7x7 layers with smaller weights measured no faster: the
  /// next layer's threads then read rows half written by the other core.
  void forward(ConstTensorView in, TensorView out, ThreadPool& pool,
               const float* residual = nullptr) const {
    check_shapes("PointwiseConv2d", in.shape, out.shape, o_.in_channels, output_shape(in.shape));
    check_stride("PointwiseConv2d", "input", in);
    check_stride("PointwiseConv2d", "output", out);
    const int64_t rows = in.shape.pixels(), panels = kernels::pointwise_panels(o_.out_channels);
    constexpr int64_t kFewRows = 64, kLargeWeights = cache::kSplitWeightBytes;
    const bool few_rows = rows < kernels::pointwise_detail::kRowGrain * pool.threads();
    const bool streams_weights =
        rows <= kFewRows &&
        o_.in_channels * o_.out_channels * int64_t{sizeof(float)} >= kLargeWeights;
    const bool split_channels = (few_rows || streams_weights) && panels >= pool.threads();
    const kernels::RowStrides ld{in.pixel_stride(), out.pixel_stride()};
    dispatch_activation(o_.activation, [&](auto act) {
      using Act = decltype(act);
      if (split_channels)
        pool.parallel_for(panels, 1, [&](int64_t p0, int64_t p1) {
          kernels::pointwise<Act>(in.data, packed_, out.data, residual, ld, 0, rows, p0, p1);
        });
      else
        pool.parallel_for(rows, kernels::pointwise_row_grain(packed_), [&](int64_t r0, int64_t r1) {
          kernels::pointwise<Act>(in.data, packed_, out.data, residual, ld, r0, r1);
        });
    });
  }

  /// `rows` rows of `in` (in_channels each, ld.in floats apart) into `out` (ld.out apart),
  /// single-threaded: for fused blocks, which split the work themselves. Shapes are the caller's
  /// to check.
  void run_rows(const float* in, float* out, const float* residual, int64_t rows,
                kernels::RowStrides ld) const {
    dispatch_activation(o_.activation, [&](auto act) {
      kernels::pointwise<decltype(act)>(in, packed_, out, residual, ld, 0, rows);
    });
  }

 private:
  Options o_;
  kernels::PackedPointwise packed_;
};

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
