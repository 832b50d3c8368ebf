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
    PaddingMode padding = PaddingMode::Torch;  ///< resolved per input size (padding_for)
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

  /// The per-side padding at an input of `in`'s height and width.
  Padding padding_for(const Shape& in) const {
    return resolve_padding(o_.padding, o_.kernel, o_.stride, in.h, in.w);
  }

  Shape output_shape(const Shape& in) const {
    const Padding p = padding_for(in);
    return {in.n, conv_output_size(in.h, o_.kernel, o_.stride, p.top, p.bottom),
            conv_output_size(in.w, o_.kernel, o_.stride, p.left, p.right), o_.channels};
  }

  LayerInfo info(const std::string& name, const Shape& in) const {
    const Shape out = output_shape(in);
    return {name,
            "dwconv" + std::to_string(o_.kernel) + "x" + std::to_string(o_.kernel) + "/" +
                std::to_string(o_.stride) + " " + to_string(o_.activation),
            out, o_.channels * o_.kernel * o_.kernel + 2 * o_.channels,
            out.h * out.w * o_.channels * o_.kernel * o_.kernel};
  }

  /// `in` and `out` may be padded, with the same pixel stride.
  void forward(ConstTensorView in, TensorView out, ThreadPool& pool) const {
    check_shapes("DepthwiseConv2d", in.shape, out.shape, o_.channels, output_shape(in.shape));
    check_stride("DepthwiseConv2d", "input", in);
    if (in.pixel_stride() != out.pixel_stride())
      throw Error("DepthwiseConv2d: input pixel stride " + std::to_string(in.pixel_stride()) +
                  " differs from the output's " + std::to_string(out.pixel_stride()) +
                  "; padded tensors must be padded alike");
    const Padding pad = padding_for(in.shape);
    dispatch([&](auto kernel, auto stride, auto act) {
      constexpr int K = decltype(kernel)::value, S = decltype(stride)::value;
      const int64_t rows = out.shape.n * out.shape.h, C = o_.channels;
      const int64_t packets = C / simd::kWidth;
      if (split_channels(rows, pool.threads(), in.pixel_stride()))
        pool.parallel_for(packets, 1, [&](int64_t p0, int64_t p1) {
          kernels::depthwise<K, S, decltype(act)>(
              in, packed_, pad, out, 0, rows,
              {p0 * simd::kWidth, p1 == packets ? C : p1 * simd::kWidth});
        });
      else
        pool.parallel_for(rows, 1, [&](int64_t r0, int64_t r1) {
          kernels::depthwise<K, S, decltype(act)>(in, packed_, pad, out, r0, r1, {0, C});
        });
    });
  }

  /// Output rows [oy_begin, oy_end) of one image into `out` (row oy_begin first), reading input
  /// row iy (of `in_height` x `in_width`) at `input_row(iy)`, pixels `px` floats apart in both:
  /// for fused blocks, whose input rows live in a ring buffer. Single-threaded; shapes are the
  /// caller's to check.
  template <class RowFn>
  void run_rows(int64_t oy_begin, int64_t oy_end, int64_t in_height, int64_t in_width,
                RowFn&& input_row, float* out, int64_t px) const {
    const Shape in{1, in_height, in_width, o_.channels};
    const Padding pad = padding_for(in);
    dispatch([&](auto kernel, auto stride, auto act) {
      constexpr int K = decltype(kernel)::value, S = decltype(stride)::value;
      const kernels::RowColumns cols =
          kernels::row_columns<K, S>(in_width, output_shape(in).w, pad.left);
      kernels::depthwise_image_rows<K, S, decltype(act)>(oy_begin, oy_end, in_height, cols, pad.top,
                                                         o_.channels, px, packed_, input_row, out,
                                                         {0, o_.channels});
    });
  }

 private:
  /// Whether threads split the channels rather than the rows: when each would get fewer than 8
  /// rows (the 14x14 and 7x7 layers at 2 threads) of a channel-major layer. Split by rows, each
  /// thread walks its channel packets down a few rows next to the rows the other core is writing
  /// (hardware prefetch across the boundary is the likely cost; there are no performance
  /// counters on our VM to confirm it): at 2 threads these layers ran slower than at 1 (V3-Small's
  /// 14x14x240 5x5 layers 0.028 -> 0.041-0.049 ms). Split by channels they took 0.032 ms, and
  /// V3-Small 0-5% less in all. Pixel-major layers (V1's on contiguous tensors) keep the row
  /// split: their threads would share every pixel's cache lines, and V1 was slower so.
  bool split_channels(int64_t rows, int threads, int64_t in_stride) const {
    constexpr int64_t kMinRowsPerThread = 8;
    return threads > 1 && rows < kMinRowsPerThread * threads &&
           o_.channels / simd::kWidth >= 2 * threads &&
           !kernels::depthwise_detail::pixel_major(in_stride, o_.stride);
  }

  /// Calls f(kernel size, stride, activation) with all three as compile-time types.
  template <class F>
  void dispatch(F&& f) const {
    dispatch_activation(o_.activation, [&](auto act) {
      using K3 = std::integral_constant<int, 3>;
      using K5 = std::integral_constant<int, 5>;
      using S1 = std::integral_constant<int, 1>;
      using S2 = std::integral_constant<int, 2>;
      if (o_.kernel == 3)
        o_.stride == 1 ? f(K3{}, S1{}, act) : f(K3{}, S2{}, act);
      else
        o_.stride == 1 ? f(K5{}, S1{}, act) : f(K5{}, S2{}, act);
    });
  }

  Options o_;
  kernels::PackedDepthwise packed_;
};

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
