#pragma once
// NHWC tensors: `Shape`, the non-owning views that kernels and layers take (BasicTensorView<T>,
// typed by their element; `TensorView` / `ConstTensorView` for float32) and the owning float
// `Tensor`.

#include <cstdint>
#include <string>
#include <type_traits>

#include "mobilenet/core/aligned_buffer.hpp"
#include "mobilenet/core/eigen.hpp"
#include "mobilenet/core/element_type.hpp"
#include "mobilenet/core/error.hpp"

namespace mobilenet {

/// Batch, height, width, channels; the data is laid out in this order (NHWC).
struct Shape {
  int64_t n = 0;  ///< Batch size.
  int64_t h = 0;  ///< Height.
  int64_t w = 0;  ///< Width.
  int64_t c = 0;  ///< Channels.

  /// Number of elements, n * h * w * c.
  int64_t numel() const { return n * h * w * c; }
  /// Number of pixels over the batch, n * h * w: the rows of matrix().
  int64_t pixels() const { return n * h * w; }
  /// True if all four dimensions are equal.
  bool operator==(const Shape& o) const { return n == o.n && h == o.h && w == o.w && c == o.c; }
  /// True if any dimension differs.
  bool operator!=(const Shape& o) const { return !(*this == o); }
  /// The shape as text for messages, e.g. "[1, 224, 224, 3] (NHWC)".
  std::string str() const {
    return "[" + std::to_string(n) + ", " + std::to_string(h) + ", " + std::to_string(w) + ", " +
           std::to_string(c) + "] (NHWC)";
  }
};

/// A dynamic-size row-major matrix of T (what a tensor view maps to).
template <class T>
using RowMajorMatrixOf = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
/// A dynamic-size row-major float matrix.
using RowMajorMatrix = RowMajorMatrixOf<float>;

/// A non-owning view of NHWC data of element type T (const T: read-only): a pointer, a Shape
/// and, for padded data, a pixel stride. Float views are TensorView and ConstTensorView.
template <class T>
struct BasicTensorView {
  /// What the view holds, as a run-time value.
  static constexpr ElementType element_type = element_type_v<T>;

  T* data = nullptr;  ///< First element; the view does not own it.
  Shape shape;        ///< Shape of the data (NHWC).
  /// Elements from one pixel to the next when larger than shape.c: the padded activations a
  /// model keeps between some layers (Network::block_output_stride). 0, the default, means
  /// shape.c: contiguous.
  int64_t stride = 0;

  /// Number of elements.
  int64_t numel() const { return shape.numel(); }
  /// Elements from one pixel to the next: shape.c unless padded.
  int64_t pixel_stride() const { return stride ? stride : shape.c; }
  /// Whether the pixels follow each other without padding.
  bool contiguous() const { return pixel_stride() == shape.c; }
  /// The tensor as a (N*H*W) x C row-major matrix, rows pixel_stride() elements apart.
  Eigen::Map<std::conditional_t<std::is_const_v<T>, const RowMajorMatrixOf<std::remove_const_t<T>>,
                                RowMajorMatrixOf<T>>,
             Eigen::Unaligned, Eigen::OuterStride<>>
  matrix() const {
    return {data, static_cast<Eigen::Index>(shape.pixels()), static_cast<Eigen::Index>(shape.c),
            Eigen::OuterStride<>(static_cast<Eigen::Index>(pixel_stride()))};
  }
  /// A mutable view converts to a read-only one.
  operator BasicTensorView<const T>() const { return {data, shape, stride}; }
};

/// A mutable, non-owning NHWC view.
using TensorView = BasicTensorView<float>;
/// A read-only, non-owning NHWC view (what Model::forward takes and returns).
using ConstTensorView = BasicTensorView<const float>;

/// An owning NHWC tensor with 64-byte aligned storage. Movable, not copyable; converts to
/// TensorView and ConstTensorView.
class Tensor {
 public:
  /// An empty tensor (shape all zeros, no storage).
  Tensor() = default;
  /// A zero-filled tensor of `shape`.
  /// @throws Error if a dimension is negative.
  explicit Tensor(const Shape& shape) : buffer_(checked_size(shape)), shape_(shape) {}

  /// The tensor's shape.
  const Shape& shape() const { return shape_; }
  /// The first element (NHWC order, contiguous).
  float* data() { return buffer_.data(); }
  /// The first element (NHWC order, contiguous).
  const float* data() const { return buffer_.data(); }
  /// Number of elements.
  int64_t numel() const { return shape_.numel(); }
  /// A mutable view of the whole tensor.
  TensorView view() { return {data(), shape_}; }
  /// A read-only view of the whole tensor.
  ConstTensorView view() const { return {data(), shape_}; }
  /// Same as view().
  operator TensorView() { return view(); }
  /// Same as view() const.
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
