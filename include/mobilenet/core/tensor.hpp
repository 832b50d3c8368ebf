#pragma once
// NHWC float tensors: `Shape`, the non-owning views `TensorView` / `ConstTensorView` that
// kernels and layers take, and the owning `Tensor`.

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <type_traits>

#include "mobilenet/core/aligned_buffer.hpp"
#include "mobilenet/core/error.hpp"

namespace mobilenet {

/// Batch, height, width, channels; the data is laid out in this order (NHWC).
struct Shape {
  int64_t n = 0, h = 0, w = 0, c = 0;

  int64_t numel() const { return n * h * w * c; }
  int64_t pixels() const { return n * h * w; }
  bool operator==(const Shape& o) const { return n == o.n && h == o.h && w == o.w && c == o.c; }
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string str() const {
    return "[" + std::to_string(n) + ", " + std::to_string(h) + ", " + std::to_string(w) + ", " +
           std::to_string(c) + "] (NHWC)";
  }
};

using RowMajorMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <class T>
struct BasicTensorView {
  T* data = nullptr;
  Shape shape;

  int64_t numel() const { return shape.numel(); }
  /// The tensor as a (N*H*W) x C row-major matrix.
  Eigen::Map<std::conditional_t<std::is_const_v<T>, const RowMajorMatrix, RowMajorMatrix>> matrix()
      const {
    return {data, static_cast<Eigen::Index>(shape.pixels()), static_cast<Eigen::Index>(shape.c)};
  }
  operator BasicTensorView<const T>() const { return {data, shape}; }
};

using TensorView = BasicTensorView<float>;
using ConstTensorView = BasicTensorView<const float>;

/// An owning NHWC tensor with 64-byte aligned storage.
class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(const Shape& shape) : buffer_(checked_size(shape)), shape_(shape) {}

  const Shape& shape() const { return shape_; }
  float* data() { return buffer_.data(); }
  const float* data() const { return buffer_.data(); }
  int64_t numel() const { return shape_.numel(); }
  TensorView view() { return {data(), shape_}; }
  ConstTensorView view() const { return {data(), shape_}; }
  operator TensorView() { return view(); }
  operator ConstTensorView() const { return view(); }

 private:
  static std::size_t checked_size(const Shape& s) {
    if (s.n < 0 || s.h < 0 || s.w < 0 || s.c < 0)
      throw Error("tensor shape has a negative dimension: " + s.str());
    return static_cast<std::size_t>(s.numel());
  }
  AlignedBuffer buffer_;
  Shape shape_;
};

}  // namespace mobilenet
