#pragma once
// int8 convolution layers over int8 NHWC tensors: a quantized layer's packed weights and
// requantization (the arithmetic: quant/quantize.hpp; kernels: kernels/pointwise_int8.hpp and
// kernels/depthwise_int8.hpp), built from folded float weights and the calibrated parameters of
// the layer's input and output. The activation folded in is a clamp (Identity, ReLU, ReLU6); a
// hard-swish follows as a lookup table (layers/int8/elementwise.hpp).

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "mobilenet/core/activation_kind.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/kernels/depthwise_int8.hpp"
#include "mobilenet/kernels/padding.hpp"
#include "mobilenet/kernels/pointwise_int8.hpp"
#include "mobilenet/kernels/quantize_int8.hpp"
#include "mobilenet/layers/layer_info.hpp"
#include "mobilenet/layers/stem_geometry.hpp"
#include "mobilenet/quant/quantize.hpp"
#include "mobilenet/runtime/thread_pool.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {

/// The quantization around an int8 conv layer.
struct Int8LayerParams {
  quant::QuantParams input, output;
  Activation clamp = Activation::Identity;  ///< folded into requantization (a clamp)
};

namespace int8_layer_detail {
/// Checks that quantized weights hold `rows` x `cols` values and `rows` scales.
inline void check_weights(const char* layer, const quant::QuantizedWeights& w, int64_t rows,
                          int64_t cols) {
  if (w.values.size() != static_cast<std::size_t>(rows * cols) ||
      w.scales.size() != static_cast<std::size_t>(rows))
    throw Error(std::string(layer) + ": " + std::to_string(w.values.size()) + " weights and " +
                std::to_string(w.scales.size()) + " scales, expected " +
                std::to_string(rows * cols) + " and " + std::to_string(rows));
}
}  // namespace int8_layer_detail

/// A 1x1 convolution in int8. (Summaries count parameters as the trained model had them: the
/// weights and BatchNorm's two per channel, as the float layers do.)
class PointwiseConv2dInt8 {
 public:
  /// `weight` int8 [out][in] with a scale per output channel, `bias` [out] folded float.
  PointwiseConv2dInt8(int64_t in_channels, int64_t out_channels,
                      const quant::QuantizedWeights& weight, const float* bias,
                      const Int8LayerParams& p)
      : cin_(in_channels), cout_(out_channels), p_(p), tile_(kernels::best_int8_tile()) {
    int8_layer_detail::check_weights("int8 pointwise", weight, cout_, cin_);
    const quant::Requantization r =
        quant::requantization(weight.scales, bias, p.input, p.output, p.clamp);
    packed_ = kernels::with_int8_tile(tile_, [&](auto tile) {
      return kernels::pack_pointwise_int8<decltype(tile)>(weight.values.data(), r.bias.data(),
                                                          r.multiplier.data(), cin_, cout_,
                                                          p.input.zero_point, r.clamp);
    });
  }

  int64_t in_channels() const { return cin_; }
  int64_t out_channels() const { return cout_; }
  const Int8LayerParams& params() const { return p_; }

  Shape output_shape(const Shape& in) const { return {in.n, in.h, in.w, cout_}; }

  LayerInfo info(const std::string& name, const Shape& in) const {
    const Shape out = output_shape(in);
    return {name, std::string("conv1x1 int8 ") + to_string(p_.clamp), out,
            cout_ * cin_ + bias_params(BiasSource::BatchNorm, cout_), out.h * out.w * cout_ * cin_};
  }

  /// `rows` contiguous rows of in_channels() values to rows of out_channels(), on this thread.
  void run_rows(const int8_t* in, int64_t rows, int8_t* out) const {
    kernels::with_int8_tile(tile_, [&](auto tile) {
      kernels::pointwise_int8<decltype(tile)>(in, rows, {cin_, cout_}, packed_, out);
    });
  }

  /// The contiguous tensor `in` (shape `s`) to `out`, rows split over the pool's threads.
  void forward(const int8_t* in, const Shape& s, int8_t* out, ThreadPool& pool) const {
    // Chunks of whole tiles of the widest tile's rows.
    pool.parallel_for(s.pixels(), 8, [&](int64_t r0, int64_t r1) {
      run_rows(in + r0 * cin_, r1 - r0, out + r0 * cout_);
    });
  }

 private:
  int64_t cin_, cout_;
  Int8LayerParams p_;
  kernels::Int8Tile tile_;  // the tile the weights are packed for
  kernels::PackedPointwiseInt8 packed_;
};

/// A k x k depthwise convolution (3 or 5, stride 1 or 2) in int8.
class DepthwiseConv2dInt8 {
 public:
  /// `weight` int8 [C][1][k][k] with a scale per channel, `bias` [C] folded float.
  DepthwiseConv2dInt8(int64_t channels, int kernel, int stride, PaddingMode padding,
                      const quant::QuantizedWeights& weight, const float* bias,
                      const Int8LayerParams& p)
      : kernel_(kernel), stride_(stride), padding_(padding), p_(p) {
    if (!((kernel == 3 || kernel == 5) && (stride == 1 || stride == 2)))
      throw Error("int8 depthwise: kernel " + std::to_string(kernel) + ", stride " +
                  std::to_string(stride) + " (expected 3 or 5, 1 or 2)");
    int8_layer_detail::check_weights("int8 depthwise", weight, channels, int64_t{kernel} * kernel);
    const quant::Requantization r =
        quant::requantization(weight.scales, bias, p.input, p.output, p.clamp);
    packed_ = kernels::pack_depthwise_int8(weight.values.data(), r.bias.data(), r.multiplier.data(),
                                           channels, kernel, p.input.zero_point, r.clamp);
  }

  int64_t channels() const { return packed_.channels; }
  const Int8LayerParams& params() const { return p_; }

  Padding padding_for(const Shape& in) const {
    return resolve_padding(padding_, kernel_, stride_, in.h, in.w);
  }
  Shape output_shape(const Shape& in) const {
    return kernels::depthwise_int8_output_shape(in, packed_, stride_, padding_for(in));
  }

  LayerInfo info(const std::string& name, const Shape& in) const {
    const Shape out = output_shape(in);
    const int64_t c = channels(), taps = int64_t{kernel_} * kernel_;
    return {name,
            "dwconv" + std::to_string(kernel_) + "x" + std::to_string(kernel_) + "/" +
                std::to_string(stride_) + " int8 " + to_string(p_.clamp),
            out, c * taps + bias_params(BiasSource::BatchNorm, c), out.h * out.w * c * taps};
  }

  /// The contiguous tensor `in` (shape `s`, channels() channels) to `out`, output rows split
  /// over the pool's threads.
  void forward(const int8_t* in, const Shape& s, int8_t* out, ThreadPool& pool) const {
    if (s.c != channels())
      throw Error("int8 depthwise: input has " + std::to_string(s.c) + " channels, weights " +
                  std::to_string(channels()));
    const Shape os = output_shape(s);
    const Padding pad = padding_for(s);
    pool.parallel_for(os.n * os.h, 1, [&](int64_t r0, int64_t r1) {
      kernels::depthwise_int8(in, s, packed_, stride_, pad, out, r0, r1);
    });
  }

 private:
  int kernel_, stride_;
  PaddingMode padding_;
  Int8LayerParams p_;
  kernels::PackedDepthwiseInt8 packed_;
};

/// The stem: a k x k convolution of the float input image, which it quantizes with
/// params().input, then gathers each output pixel's k * k * C inputs into a row (padding holds
/// the zero point, i.e. real 0); the rows go through the int8 pointwise kernel.
class StemConv2dInt8 {
 public:
  /// `weight` int8 in PyTorch's [out][in][k][k] with a scale per output channel, `bias` [out]
  /// folded float.
  StemConv2dInt8(int64_t in_channels, int64_t out_channels, int kernel, int stride,
                 PaddingMode padding, const quant::QuantizedWeights& weight, const float* bias,
                 const Int8LayerParams& p)
      : geometry_{in_channels, kernel, stride, padding},
        gemm_(padded_row(kernel, in_channels), out_channels,
              tap_major(weight, out_channels, in_channels, kernel), bias, p) {}

  const Int8LayerParams& params() const { return gemm_.params(); }
  int64_t out_channels() const { return gemm_.out_channels(); }

  Padding padding_for(const Shape& in) const { return geometry_.padding_for(in); }
  Shape output_shape(const Shape& in) const { return geometry_.output_shape(in, out_channels()); }
  /// Bytes of scratch for an input of shape `in`: the quantized image, then the gathered rows.
  int64_t scratch_bytes(const Shape& in) const {
    return image_bytes(in) + output_shape(in).pixels() * gemm_.in_channels();
  }

  LayerInfo info(const std::string& name, const Shape& in) const {
    return geometry_.info(name, in, out_channels(),
                          std::string("int8 ") + to_string(params().clamp));
  }

  /// The float NHWC image batch `x` to `out`, rows split over the pool's threads; `scratch`
  /// holds scratch_bytes(x.shape).
  void forward(ConstTensorView x, int8_t* scratch, int8_t* out, ThreadPool& pool) const {
    require_contiguous("int8 stem", "input", x);
    const Shape is = x.shape, os = output_shape(is);
    int8_t* const image = scratch;
    int8_t* const columns = scratch + image_bytes(is);
    const quant::QuantParams in = params().input;
    const int64_t row = is.w * is.c;
    pool.parallel_for(is.n * is.h, 8, [&](int64_t r0, int64_t r1) {
      kernels::quantize_int8(x.data + r0 * row, (r1 - r0) * row, in, image + r0 * row);
    });
    const int64_t k = gemm_.in_channels(), cout = out_channels();
    const kernels::StemWindows windows = geometry_.windows(is, cout, k);
    const auto zero = static_cast<int8_t>(in.zero_point);
    pool.parallel_for(os.n * os.h, 1, [&](int64_t r0, int64_t r1) {
      kernels::gather_stem_columns(image, windows, zero, columns, r0, r1);
      gemm_.run_rows(columns + r0 * os.w * k, (r1 - r0) * os.w, out + r0 * os.w * cout);
    });
  }

 private:
  /// The quantized image's bytes, rounded up to whole cache lines.
  static int64_t image_bytes(const Shape& in) { return (in.numel() + 63) / 64 * 64; }

  /// A gathered row's bytes: k * k * C rounded up to whole groups of the dot-product
  /// instructions (kernels/pointwise_int8.hpp), the padding weighted zero, so that the GEMM never
  /// takes its partial-group path (27 -> 28 for RGB).
  static int64_t padded_row(int kernel, int64_t cin) {
    const int64_t g = kernels::pointwise_int8_detail::kGroup;
    return (int64_t{kernel} * kernel * cin + g - 1) / g * g;
  }

  /// [out][in][k][k] to [out][k][k][in] rows of padded_row() (zeros after the taps), the order
  /// the gathered rows hold; the scales unchanged.
  static quant::QuantizedWeights tap_major(const quant::QuantizedWeights& w, int64_t cout,
                                           int64_t cin, int kernel) {
    const int64_t taps = int64_t{kernel} * kernel, row = padded_row(kernel, cin);
    int8_layer_detail::check_weights("int8 stem", w, cout, cin * taps);
    quant::QuantizedWeights t{std::vector<int8_t>(static_cast<std::size_t>(cout * row), 0),
                              w.scales};
    for (int64_t o = 0; o < cout; ++o)
      for (int64_t c = 0; c < cin; ++c)
        for (int64_t tap = 0; tap < taps; ++tap)
          t.values[static_cast<std::size_t>(o * row + tap * cin + c)] =
              w.values[static_cast<std::size_t>((o * cin + c) * taps + tap)];
    return t;
  }

  StemGeometry geometry_;
  PointwiseConv2dInt8 gemm_;
};

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
