#pragma once
// Image preprocessing as torchvision's ImageNet evaluation transforms do it:
//   Resize(resize_size) (shorter side, bilinear with antialiasing, as PIL) -> CenterCrop(crop)
//   -> ToTensor (/255) -> Normalize(mean, std),
// from 8-bit interleaved pixels with a row stride, into NHWC float.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/core/tensor.hpp"

namespace mobilenet {

enum class PixelFormat { Gray, RGB, BGR, RGBA, BGRA };

struct PreprocessOptions {
  int resize_size = 256;  // shorter side after resizing
  int crop_size = 224;    // square centre crop
  float mean[3] = {0.485f, 0.456f, 0.406f};
  float std[3] = {0.229f, 0.224f, 0.225f};
};

namespace detail {

/// PIL-style separable resampling weights along one axis with the bilinear (triangle) filter,
/// widened by the scale factor when shrinking (antialiasing).
struct ResampleAxis {
  std::vector<int> first;
  std::vector<int> count;
  std::vector<std::vector<float>> weights;

  ResampleAxis(int in, int out) : first(static_cast<size_t>(out)), count(static_cast<size_t>(out)), weights(static_cast<size_t>(out)) {
    const double scale = static_cast<double>(in) / out;
    const double filter_scale = std::max(scale, 1.0);
    const double support = filter_scale;  // the triangle filter has support 1
    for (int x = 0; x < out; ++x) {
      const double center = (x + 0.5) * scale;
      const int lo = std::max(static_cast<int>(center - support + 0.5), 0);
      const int hi = std::min(static_cast<int>(center + support + 0.5), in);
      std::vector<float>& w = weights[static_cast<size_t>(x)];
      double total = 0.0;
      for (int j = lo; j < hi; ++j) {
        const double t = std::abs((j - center + 0.5) / filter_scale);
        const double v = t < 1.0 ? 1.0 - t : 0.0;
        w.push_back(static_cast<float>(v));
        total += v;
      }
      for (float& v : w) v = total > 0 ? static_cast<float>(v / total) : 0.0f;
      first[static_cast<size_t>(x)] = lo;
      count[static_cast<size_t>(x)] = hi - lo;
    }
  }
};

inline uint8_t round_to_u8(float v) {
  return static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
}

}  // namespace detail

/// Preprocesses one image into `out` (crop x crop x 3 floats, NHWC order).
inline void preprocess_into(const uint8_t* pixels, int width, int height, int64_t row_stride,
                            PixelFormat format, const PreprocessOptions& o, float* out) {
  if (!pixels) throw Error("preprocess: null pixel buffer");
  if (width < 1 || height < 1)
    throw Error("preprocess: image size must be positive, got " + std::to_string(width) + "x" + std::to_string(height));
  if (o.resize_size < 1 || o.crop_size < 1 || o.crop_size > o.resize_size)
    throw Error("preprocess: need 0 < crop_size <= resize_size, got crop " + std::to_string(o.crop_size) +
                " and resize " + std::to_string(o.resize_size));
  const int channels = format == PixelFormat::Gray ? 1 : (format == PixelFormat::RGB || format == PixelFormat::BGR) ? 3 : 4;
  if (row_stride < static_cast<int64_t>(width) * channels)
    throw Error("preprocess: row stride " + std::to_string(row_stride) + " is smaller than a row of " +
                std::to_string(width) + " pixels");
  const bool bgr = format == PixelFormat::BGR || format == PixelFormat::BGRA;
  // torchvision Resize(int): the shorter side becomes resize_size, the longer keeps the ratio.
  int rw, rh;
  if (width <= height) {
    rw = o.resize_size;
    rh = static_cast<int>(static_cast<int64_t>(o.resize_size) * height / width);
  } else {
    rh = o.resize_size;
    rw = static_cast<int>(static_cast<int64_t>(o.resize_size) * width / height);
  }
  // Horizontal pass then vertical pass, rounding to 8 bits after each as PIL does.
  const detail::ResampleAxis ax(width, rw), ay(height, rh);
  std::vector<uint8_t> wide(static_cast<size_t>(height) * static_cast<size_t>(rw) * 3);
  for (int y = 0; y < height; ++y) {
    const uint8_t* row = pixels + y * row_stride;
    for (int x = 0; x < rw; ++x) {
      float acc[3] = {0, 0, 0};
      const auto& w = ax.weights[static_cast<size_t>(x)];
      for (int k = 0; k < ax.count[static_cast<size_t>(x)]; ++k) {
        const uint8_t* p = row + (ax.first[static_cast<size_t>(x)] + k) * channels;
        for (int c = 0; c < 3; ++c) {
          const int src = channels == 1 ? 0 : (bgr ? 2 - c : c);
          acc[c] += w[static_cast<size_t>(k)] * p[src];
        }
      }
      for (int c = 0; c < 3; ++c)
        wide[(static_cast<size_t>(y) * static_cast<size_t>(rw) + static_cast<size_t>(x)) * 3 + static_cast<size_t>(c)] = detail::round_to_u8(acc[c]);
    }
  }
  // torchvision CenterCrop: offsets int(round((size - crop) / 2)), Python rounds half to even.
  const int top = static_cast<int>(std::nearbyint((rh - o.crop_size) / 2.0));
  const int left = static_cast<int>(std::nearbyint((rw - o.crop_size) / 2.0));
  for (int y = 0; y < o.crop_size; ++y) {
    const int sy = top + y;
    for (int x = 0; x < o.crop_size; ++x) {
      const size_t sx = static_cast<size_t>(left + x);
      float acc[3] = {0, 0, 0};
      const auto& w = ay.weights[static_cast<size_t>(sy)];
      for (int k = 0; k < ay.count[static_cast<size_t>(sy)]; ++k) {
        const size_t src_y = static_cast<size_t>(ay.first[static_cast<size_t>(sy)] + k);
        for (int c = 0; c < 3; ++c) acc[c] += w[static_cast<size_t>(k)] * wide[(src_y * static_cast<size_t>(rw) + sx) * 3 + static_cast<size_t>(c)];
      }
      float* dst = out + (static_cast<int64_t>(y) * o.crop_size + x) * 3;
      for (int c = 0; c < 3; ++c) dst[c] = (detail::round_to_u8(acc[c]) / 255.0f - o.mean[c]) / o.std[c];
    }
  }
}

/// Preprocesses one image into a new [1, crop, crop, 3] tensor.
inline Tensor preprocess(const uint8_t* pixels, int width, int height, int64_t row_stride,
                         PixelFormat format, const PreprocessOptions& o) {
  Tensor t({1, o.crop_size, o.crop_size, 3});
  preprocess_into(pixels, width, height, row_stride, format, o, t.data());
  return t;
}

/// Copies an NCHW float array (PyTorch's layout) into an NHWC tensor.
inline void nchw_to_nhwc(const float* src, TensorView dst) {
  const int64_t N = dst.shape.n, C = dst.shape.c, H = dst.shape.h, W = dst.shape.w;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x)
          dst.data[((n * H + y) * W + x) * C + c] = src[((n * C + c) * H + y) * W + x];
}

}  // namespace mobilenet
