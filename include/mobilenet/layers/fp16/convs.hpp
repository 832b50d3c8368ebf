#pragma once
// fp16 convolution layers over fp16 NHWC tensors (contiguous), built from folded float weights
// rounded to fp16 once at load (kernels: kernels/arm/*_fp16_aarch64_neonfp16arith.hpp). The
// activation runs in the kernels' epilogue, in fp16. Compiled where fp16 arithmetic is
// (core/half.hpp).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "mobilenet/core/activation.hpp"
#include "mobilenet/core/half.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/kernels/arm/convert_fp16_neonfp16arith.hpp"
#include "mobilenet/kernels/arm/depthwise_fp16_aarch64_neonfp16arith.hpp"
#include "mobilenet/kernels/arm/pointwise_fp16_aarch64_neonfp16arith.hpp"
#include "mobilenet/kernels/padding.hpp"
#include "mobilenet/layers/layer_info.hpp"
#include "mobilenet/layers/stem_geometry.hpp"
#include "mobilenet/runtime/thread_pool.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {

namespace fp16_layer_detail {
/// The largest finite fp16 value.
inline constexpr float kHalfMax = 65504.0f;

/// Throws unless every one of the `n` folded weights or biases at `v` rounds to a finite fp16
/// value: BatchNorm folding divides by sqrt(var + eps), so a channel with a tiny variance can
/// leave weights beyond fp16's range, which would silently become infinities.
inline void check_range(const char* layer, const char* what, const float* v, int64_t n) {
  for (int64_t i = 0; v && i < n; ++i)
    if (!(std::fabs(v[i]) < kHalfMax + 16.0f))  // values up to 65519.99 round to 65504
      throw Error(std::string(layer) + ": folded " + what + " " + std::to_string(v[i]) +
                  " at index " + std::to_string(i) +
                  " is outside fp16's range (65504); run this model in fp32");
}
}  // namespace fp16_layer_detail

/// A 1x1 convolution in fp16, its activation and an optional residual fused into the epilogue.
class PointwiseConv2dFp16 {
 public:
  /// `weight` [out][in], `bias` [out] (folded float).
  PointwiseConv2dFp16(int64_t in_channels, int64_t out_channels, Activation act,
                      const float* weight, const float* bias, const char* layer = "fp16 pointwise")
      : act_(act) {
    fp16_layer_detail::check_range(layer, "weight", weight, in_channels * out_channels);
    fp16_layer_detail::check_range(layer, "bias", bias, out_channels);
    packed_ = kernels::pack_pointwise_fp16(weight, bias, in_channels, out_channels);
  }

  int64_t in_channels() const { return packed_.cin; }
  int64_t out_channels() const { return packed_.cout; }

  Shape output_shape(const Shape& in) const { return {in.n, in.h, in.w, out_channels()}; }

  LayerInfo info(const std::string& name, const Shape& in) const {
    const Shape out = output_shape(in);
    const int64_t cin = in_channels(), cout = out_channels();
    return {name, std::string("conv1x1 fp16 ") + to_string(act_), out,
            cout * cin + bias_params(BiasSource::BatchNorm, cout), out.h * out.w * cout * cin};
  }

  /// `rows` rows of in_channels() values, `in_stride` apart, to rows of out_channels(), plus
  /// `residual` (same layout as out) if not null; on this thread.
  void run_rows(const half* in, int64_t in_stride, int64_t rows, half* out,
                const half* residual) const {
    dispatch_activation(act_, [&](auto act) {
      kernels::pointwise_fp16<decltype(act)>(in, in_stride, rows, packed_, out, out_channels(),
                                             residual);
    });
  }

  /// The contiguous tensor `in` (shape `s`) to `out`, + `residual` if not null, rows split over
  /// the pool's threads.
  void forward(const half* in, const Shape& s, half* out, const half* residual,
               ThreadPool& pool) const {
    const int64_t cin = in_channels(), cout = out_channels();
    pool.parallel_for(s.pixels(), kernels::pointwise_fp16_detail::kRows,
                      [&](int64_t r0, int64_t r1) {
                        run_rows(in + r0 * cin, cin, r1 - r0, out + r0 * cout,
                                 residual ? residual + r0 * cout : nullptr);
                      });
  }

 private:
  Activation act_;
  kernels::PackedPointwiseFp16 packed_;
};

/// A k x k depthwise convolution (3 or 5, stride 1 or 2) in fp16.
class DepthwiseConv2dFp16 {
 public:
  /// `weight` [C][1][k][k], `bias` [C] (folded float).
  DepthwiseConv2dFp16(int64_t channels, int kernel, int stride, PaddingMode padding, Activation act,
                      const float* weight, const float* bias)
      : kernel_(kernel), stride_(stride), padding_(padding), act_(act) {
    if (!((kernel == 3 || kernel == 5) && (stride == 1 || stride == 2)))
      throw Error("fp16 depthwise: kernel " + std::to_string(kernel) + ", stride " +
                  std::to_string(stride) + " (expected 3 or 5, 1 or 2)");
    fp16_layer_detail::check_range("fp16 depthwise", "weight", weight, channels * kernel * kernel);
    fp16_layer_detail::check_range("fp16 depthwise", "bias", bias, channels);
    packed_ = kernels::pack_depthwise_fp16(weight, bias, channels, kernel);
  }

  int64_t channels() const { return packed_.channels; }

  Padding padding_for(const Shape& in) const {
    return resolve_padding(padding_, kernel_, stride_, in.h, in.w);
  }
  Shape output_shape(const Shape& in) const {
    const Padding p = padding_for(in);
    return {in.n, conv_output_size(in.h, kernel_, stride_, p.top, p.bottom),
            conv_output_size(in.w, kernel_, stride_, p.left, p.right), in.c};
  }

  LayerInfo info(const std::string& name, const Shape& in) const {
    const Shape out = output_shape(in);
    const int64_t c = channels(), taps = int64_t{kernel_} * kernel_;
    return {name,
            "dwconv" + std::to_string(kernel_) + "x" + std::to_string(kernel_) + "/" +
                std::to_string(stride_) + " fp16 " + to_string(act_),
            out, c * taps + bias_params(BiasSource::BatchNorm, c), out.h * out.w * c * taps};
  }

  /// fp16 values of scratch forward() needs for an input of shape `in`: the input zero-padded.
  int64_t scratch_values(const Shape& in) const {
    return in.n * kernels::padded_shape(in, padding_for(in)).numel();
  }

  /// The contiguous tensor `in` (shape `s`, channels() channels) to `out`, through `scratch`
  /// (scratch_values(s)): the input padded, then output rows of all images, each step split over
  /// the pool's threads.
  void forward(const half* in, const Shape& s, half* scratch, half* out, ThreadPool& pool) const {
    if (s.c != channels())
      throw Error("fp16 depthwise: input has " + std::to_string(s.c) + " channels, weights " +
                  std::to_string(channels()));
    const Shape image{1, s.h, s.w, s.c}, os = output_shape(image);
    const Padding pad = padding_for(s);
    const Shape ps = kernels::padded_shape(image, pad);
    pool.parallel_for(s.n * ps.h, 4, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1;) {
        const int64_t n = r / ps.h, y = r % ps.h, end = std::min(r1, (n + 1) * ps.h);
        kernels::pad_input_fp16(in + n * image.numel(), image, pad, scratch + n * ps.numel(), y,
                                y + end - r);
        r = end;
      }
    });
    dispatch_activation(act_, [&](auto act) {
      pool.parallel_for(s.n * os.h, 1, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1;) {
          const int64_t n = r / os.h, oy = r % os.h, end = std::min(r1, (n + 1) * os.h);
          kernels::depthwise_fp16<decltype(act)>(scratch + n * ps.numel(), ps, packed_, stride_,
                                                 out + n * os.numel(), os, oy, oy + end - r);
          r = end;
        }
      });
    });
  }

 private:
  int kernel_, stride_;
  PaddingMode padding_;
  Activation act_;
  kernels::PackedDepthwiseFp16 packed_;
};

/// The stem: a k x k convolution of the float input image, which it first rounds to fp16. Each
/// output pixel's k * k * C inputs are gathered into a row (zeros for padding and up to a whole
/// vector: 27 -> 32 for a 3x3 RGB stem), and the rows go through the pointwise kernel.
class StemConv2dFp16 {
 public:
  /// `weight` [out][in][k][k] (PyTorch's layout), `bias` [out] (folded float).
  StemConv2dFp16(int64_t in_channels, int64_t out_channels, int kernel, int stride,
                 PaddingMode padding, Activation act, const float* weight, const float* bias)
      : geometry_{in_channels, kernel, stride, padding},
        act_(act),
        gemm_(row_length(kernel, in_channels), out_channels, act,
              tap_major(weight, out_channels, in_channels, kernel).data(), bias, "fp16 stem") {}

  int64_t out_channels() const { return gemm_.out_channels(); }

  Padding padding_for(const Shape& in) const { return geometry_.padding_for(in); }
  Shape output_shape(const Shape& in) const { return geometry_.output_shape(in, out_channels()); }
  /// fp16 values of scratch for an input of shape `in`: the image rounded to fp16, then the
  /// gathered rows.
  int64_t scratch_values(const Shape& in) const {
    return image_values(in) + output_shape(in).pixels() * gemm_.in_channels();
  }

  LayerInfo info(const std::string& name, const Shape& in) const {
    return geometry_.info(name, in, out_channels(), std::string("fp16 ") + to_string(act_));
  }

  /// The float NHWC image batch `x` to `out`, output rows split over the pool's threads;
  /// `scratch` holds scratch_values(x.shape).
  void forward(ConstTensorView x, half* scratch, half* out, ThreadPool& pool) const {
    require_contiguous("fp16 stem", "input", x);
    const Shape is = x.shape, os = output_shape(is);
    half* const image = scratch;
    half* const columns = scratch + image_values(is);
    const int64_t row = is.w * geometry_.cin;
    pool.parallel_for(is.n * is.h, 8, [&](int64_t r0, int64_t r1) {
      kernels::to_half(x.data + r0 * row, (r1 - r0) * row, image + r0 * row);
    });
    const int64_t k = gemm_.in_channels(), cout = out_channels();
    const kernels::StemWindows windows = geometry_.windows(is, cout, k);
    pool.parallel_for(os.n * os.h, 1, [&](int64_t r0, int64_t r1) {
      kernels::gather_stem_columns(image, windows, half(0), columns, r0, r1);
      gemm_.run_rows(columns + r0 * os.w * k, k, (r1 - r0) * os.w, out + r0 * os.w * cout, nullptr);
    });
  }

 private:
  /// The fp16 image's values, rounded up to whole cache lines.
  static int64_t image_values(const Shape& in) { return (in.numel() + 31) / 32 * 32; }

  /// A gathered row: k * k * C values rounded up to whole vectors of eight (the padding weighted
  /// zero), so the GEMM never takes its one-channel-at-a-time path.
  static int64_t row_length(int kernel, int64_t cin) {
    return (int64_t{kernel} * kernel * cin + 7) / 8 * 8;
  }

  /// [out][in][k][k] to [out][k][k][in] rows of row_length() (zeros after the taps), the order
  /// the gathered rows hold.
  static std::vector<float> tap_major(const float* w, int64_t cout, int64_t cin, int kernel) {
    const int64_t taps = int64_t{kernel} * kernel, row = row_length(kernel, cin);
    std::vector<float> t(static_cast<std::size_t>(cout * row), 0.0f);
    for (int64_t o = 0; o < cout; ++o)
      for (int64_t c = 0; c < cin; ++c)
        for (int64_t tap = 0; tap < taps; ++tap)
          t[static_cast<std::size_t>(o * row + tap * cin + c)] = w[(o * cin + c) * taps + tap];
    return t;
  }

  StemGeometry geometry_;
  Activation act_;
  PointwiseConv2dFp16 gemm_;
};

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
