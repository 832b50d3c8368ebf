#pragma once
// Image preprocessing as torchvision's ImageNet evaluation transforms (and timm's) do it on PIL
// images:
//   Resize(resize_size) (shorter side; bilinear or bicubic with antialiasing, as PIL)
//   -> CenterCrop(crop) -> ToTensor (/255) -> Normalize(mean, std),
// from 8-bit interleaved pixels with a row stride, into NHWC float. The resampling is PIL's own
// arithmetic (Pillow's libImaging/Resample.c): per-axis filter weights computed in double,
// normalised, rounded to 22-bit fixed point, a horizontal then a vertical pass each rounding and
// clipping to 8 bits. So the output equals torchvision's and timm's bit for bit (tested on
// photographs, test_preprocess.cpp).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/tensor.hpp"

namespace mobilenet {

/// Channel order of 8-bit interleaved input pixels (alpha is ignored, gray is replicated).
enum class PixelFormat { Gray, RGB, BGR, RGBA, BGRA };

/// The resampling filter of the resize, as PIL names them.
enum class Interpolation {
  Bilinear,  ///< Triangle filter, support 1 (torchvision's default).
  Bicubic,   ///< Keys' cubic with a = -0.5, support 2 (timm's tf_ ports and EfficientNets).
};

/// "bilinear" or "bicubic".
inline const char* to_string(Interpolation i) {
  return i == Interpolation::Bicubic ? "bicubic" : "bilinear";
}

/// The filter named `s` ("bilinear" or "bicubic").
/// @throws Error for any other name.
inline Interpolation parse_interpolation(const std::string& s) {
  if (s == "bilinear") return Interpolation::Bilinear;
  if (s == "bicubic") return Interpolation::Bicubic;
  throw Error("unknown interpolation '" + s + "' (expected bilinear or bicubic)");
}

/// torchvision's ImageNet evaluation transforms by default; ModelMetadata::preprocess_options()
/// gives a weight file's own.
struct PreprocessOptions {
  int resize_size = 256;  ///< The shorter side is resized to this (antialiased).
  Interpolation interpolation = Interpolation::Bilinear;  ///< The resize's filter.
  int crop_size = 224;  ///< Side of the square centre crop: the output's height and width.
  float mean[3] = {0.485f, 0.456f, 0.406f};  ///< Per-channel (RGB) mean of pixels in [0, 1].
  float std[3] = {0.229f, 0.224f, 0.225f};   ///< Per-channel (RGB) standard deviation.
};

/// One line naming the preset, e.g. "resize 256 (bilinear), centre crop 224, mean
/// 0.485,0.456,0.406, std 0.229,0.224,0.225", as mobilenet-summary prints it.
inline std::string to_string(const PreprocessOptions& o) {
  const auto triple = [](const float(&v)[3]) {
    std::string s;
    for (int i = 0; i < 3; ++i) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%s%g", i ? "," : "", static_cast<double>(v[i]));
      s += buf;
    }
    return s;
  };
  return "resize " + std::to_string(o.resize_size) + " (" + to_string(o.interpolation) +
         "), centre crop " + std::to_string(o.crop_size) + ", mean " + triple(o.mean) + ", std " +
         triple(o.std);
}

namespace detail {

/// Pillow's filters (Resample.c: bilinear_filter, bicubic_filter with a = -0.5) and supports.
inline double resample_filter(Interpolation f, double x) {
  x = std::abs(x);
  if (f == Interpolation::Bilinear) return x < 1.0 ? 1.0 - x : 0.0;
  constexpr double a = -0.5;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

/// Fractional bits of Pillow's fixed-point weights for 8-bit images (PRECISION_BITS).
inline constexpr int kWeightBits = 32 - 8 - 2;

/// Pillow's resampling weights along one axis (precompute_coeffs, normalize_coeffs_8bpc): the
/// filter widened by the scale factor when shrinking (antialiasing), normalised to sum 1, in
/// fixed point, for output samples [first_out, first_out + count) of a resize from `in` to `out`
/// samples.
struct ResampleAxis {
  std::vector<int64_t> first;                 // first input sample of each output
  std::vector<std::vector<int32_t>> weights;  // one weight per input sample from `first`

  ResampleAxis(Interpolation filter, int64_t in, int64_t out, int64_t first_out, int64_t count) {
    const double scale = static_cast<double>(in) / static_cast<double>(out);
    const double filter_scale = std::max(scale, 1.0);
    const double support = (filter == Interpolation::Bicubic ? 2.0 : 1.0) * filter_scale;
    const double inverse = 1.0 / filter_scale;  // Pillow multiplies by the reciprocal
    for (int64_t x = first_out; x < first_out + count; ++x) {
      const double center = (static_cast<double>(x) + 0.5) * scale;
      // Pillow truncates toward zero, then clamps.
      const int64_t lo = std::max<int64_t>(static_cast<int64_t>(center - support + 0.5), 0);
      const int64_t hi = std::min<int64_t>(static_cast<int64_t>(center + support + 0.5), in);
      std::vector<double> w;
      double total = 0.0;
      for (int64_t j = lo; j < hi; ++j) {
        const double v = resample_filter(filter, (static_cast<double>(j) - center + 0.5) * inverse);
        w.push_back(v);
        total += v;
      }
      std::vector<int32_t> fixed;
      for (double v : w) {
        const double k = (total != 0.0 ? v / total : v) * double(1 << kWeightBits);
        fixed.push_back(static_cast<int32_t>(k < 0 ? k - 0.5 : k + 0.5));  // round half away
      }
      first.push_back(lo);
      weights.push_back(std::move(fixed));
    }
  }
};

/// A fixed-point sum rounded and clipped to 8 bits (Pillow's clip8 after adding half a unit).
inline uint8_t clip8(int64_t acc) {
  const int64_t v = (acc + (int64_t{1} << (kWeightBits - 1))) >> kWeightBits;
  return static_cast<uint8_t>(std::clamp<int64_t>(v, 0, 255));
}

}  // namespace detail

/// Preprocesses one image into `out` (crop x crop x 3 floats, NHWC order). Only the crop window
/// of the resized image is computed, so work and memory depend on the crop, not the image size.
/// `pixels` holds `height` rows of `width` interleaved 8-bit pixels in `format`, `row_stride`
/// bytes apart (at least width x channels).
/// @throws Error if a size, the stride or the options are invalid.
inline void preprocess_into(const uint8_t* pixels, int width, int height, int64_t row_stride,
                            PixelFormat format, const PreprocessOptions& o, float* out) {
  constexpr int kMaxSize = 1 << 14;
  if (!pixels) throw Error("preprocess: null pixel buffer");
  if (width < 1 || height < 1)
    throw Error("preprocess: image size must be positive, got " + std::to_string(width) + "x" +
                std::to_string(height));
  if (o.resize_size < 1 || o.crop_size < 1 || o.crop_size > o.resize_size ||
      o.resize_size > kMaxSize)
    throw Error("preprocess: need 0 < crop_size <= resize_size <= " + std::to_string(kMaxSize) +
                ", got crop " + std::to_string(o.crop_size) + " and resize " +
                std::to_string(o.resize_size));
  const int channels = format == PixelFormat::Gray                                  ? 1
                       : (format == PixelFormat::RGB || format == PixelFormat::BGR) ? 3
                                                                                    : 4;
  if (row_stride < static_cast<int64_t>(width) * channels)
    throw Error("preprocess: row stride " + std::to_string(row_stride) +
                " is smaller than a row of " + std::to_string(width) + " pixels");
  const bool bgr = format == PixelFormat::BGR || format == PixelFormat::BGRA;
  // torchvision Resize(int): the shorter side becomes resize_size, the longer one
  // int(resize_size * long / short), computed in double as Python does.
  const auto longer = [&](int long_side, int short_side) {
    return static_cast<int64_t>(static_cast<double>(o.resize_size) * long_side / short_side);
  };
  const int64_t rw = width <= height ? o.resize_size : longer(width, height);
  const int64_t rh = width <= height ? longer(height, width) : o.resize_size;
  // torchvision CenterCrop: offsets int(round((size - crop) / 2)), Python rounds half to even.
  const int64_t crop = o.crop_size;
  const auto top = static_cast<int64_t>(std::nearbyint(static_cast<double>(rh - crop) / 2.0));
  const auto left = static_cast<int64_t>(std::nearbyint(static_cast<double>(rw - crop) / 2.0));
  const detail::ResampleAxis ax(o.interpolation, width, rw, left, crop),
      ay(o.interpolation, height, rh, top, crop);
  // Horizontal pass over the input rows the crop needs, then the vertical pass, rounding to
  // 8 bits after each as PIL does.
  const int64_t row0 = ay.first.front();
  const int64_t row1 = ay.first.back() + static_cast<int64_t>(ay.weights.back().size());
  std::vector<uint8_t> wide(static_cast<size_t>((row1 - row0) * crop * 3));
  for (int64_t y = row0; y < row1; ++y) {
    const uint8_t* row = pixels + y * row_stride;
    for (int64_t x = 0; x < crop; ++x) {
      int64_t acc[3] = {0, 0, 0};
      const auto& w = ax.weights[static_cast<size_t>(x)];
      for (size_t k = 0; k < w.size(); ++k) {
        const uint8_t* p =
            row + (ax.first[static_cast<size_t>(x)] + static_cast<int64_t>(k)) * channels;
        for (int c = 0; c < 3; ++c) acc[c] += w[k] * p[channels == 1 ? 0 : (bgr ? 2 - c : c)];
      }
      for (int c = 0; c < 3; ++c)
        wide[static_cast<size_t>(((y - row0) * crop + x) * 3 + c)] = detail::clip8(acc[c]);
    }
  }
  for (int64_t y = 0; y < crop; ++y) {
    const auto& w = ay.weights[static_cast<size_t>(y)];
    const int64_t first = ay.first[static_cast<size_t>(y)] - row0;
    for (int64_t x = 0; x < crop; ++x) {
      int64_t acc[3] = {0, 0, 0};
      for (size_t k = 0; k < w.size(); ++k)
        for (int c = 0; c < 3; ++c)
          acc[c] +=
              w[k] *
              wide[static_cast<size_t>(((first + static_cast<int64_t>(k)) * crop + x) * 3 + c)];
      float* dst = out + (y * crop + x) * 3;
      for (int c = 0; c < 3; ++c) dst[c] = (detail::clip8(acc[c]) / 255.0f - o.mean[c]) / o.std[c];
    }
  }
}

/// Preprocesses one image into a new [1, crop, crop, 3] tensor (see preprocess_into()).
inline Tensor preprocess(const uint8_t* pixels, int width, int height, int64_t row_stride,
                         PixelFormat format, const PreprocessOptions& o) {
  Tensor t({1, o.crop_size, o.crop_size, 3});
  preprocess_into(pixels, width, height, row_stride, format, o, t.data());
  return t;
}

/// Copies an NCHW float array (PyTorch's layout) of `dst`'s shape into `dst` (NHWC).
inline void nchw_to_nhwc(const float* src, TensorView dst) {
  const int64_t N = dst.shape.n, C = dst.shape.c, H = dst.shape.h, W = dst.shape.w;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x)
          dst.data[((n * H + y) * W + x) * C + c] = src[((n * C + c) * H + y) * W + x];
}

}  // namespace mobilenet
