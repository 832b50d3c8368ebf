#pragma once
// The stem's im2col for the int8 and fp16 stems, which run their k x k convolution of the image
// as a GEMM: each output pixel's k * k * C inputs gathered into one row of `row_length` values,
// tap-major ([ky][kx][c], the order the packed weights hold), padding taps and the row's tail
// holding `zero` (the value that stands for 0: the int8 input's zero point, or 0).

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "mobilenet/core/tensor.hpp"
#include "mobilenet/kernels/padding.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// The geometry of a stem's gather.
struct StemWindows {
  Shape in, out;  ///< the image and the conv's output
  Padding pad;
  int kernel, stride;
  int64_t row_length;  ///< values per gathered row (k * k * C, padded)
};

namespace stem_columns_detail {

/// One kernel row of a 3x3 stem over RGB: 3 pixels of 3 channels.
inline constexpr int64_t kRgbTapRow = 9;

/// The usual stem's windows that lie inside the image: 3x3 over RGB, rows of RowLength values
/// (28 for int8, 32 for fp16), `count` windows from column `x` (in values) of the three image
/// rows `rows`, `step` values apart. Fixed-size copies and a fixed-length tail, straight-line
/// code: the general loop spent over a hundred instructions per window on set-up.
template <int64_t RowLength, class T>
void gather_rgb_3x3_inside(const T* const (&rows)[3], int64_t x, int64_t step, int64_t count,
                           T zero, T* col) {
  constexpr int64_t kTaps = 3 * kRgbTapRow;
  static_assert(RowLength >= kTaps, "a row holds the window");
  for (int64_t i = 0; i < count; ++i, x += step, col += RowLength) {
    std::memcpy(col, rows[0] + x, kRgbTapRow * sizeof(T));
    std::memcpy(col + kRgbTapRow, rows[1] + x, kRgbTapRow * sizeof(T));
    std::memcpy(col + 2 * kRgbTapRow, rows[2] + x, kRgbTapRow * sizeof(T));
    for (int64_t t = kTaps; t < RowLength; ++t) col[t] = zero;
  }
}

}  // namespace stem_columns_detail

/// Rows of output rows [r0, r1) (over the batch: r = n * out.h + oy) from `image` (NHWC, values
/// of T) into `columns` (row of output pixel p at p * row_length).
template <class T>
void gather_stem_columns(const T* image, const StemWindows& g, T zero, T* columns, int64_t r0,
                         int64_t r1) {
  using stem_columns_detail::kRgbTapRow;
  // The geometry in locals: a store through `columns` may alias anything (memcpy, int8), and
  // GCC would otherwise reload every field after each one.
  const Shape is = g.in, os = g.out;
  const Padding pad = g.pad;
  const int kernel = g.kernel, stride = g.stride;
  const int64_t cin = is.c, row = is.w * cin, k = g.row_length;
  const int64_t tap_row = int64_t{kernel} * cin;  // one kernel row's values in a column
  const bool rgb_3x3 = kernel == 3 && cin == 3 && (k == 28 || k == 32);
  // Output columns [inside_lo, inside_hi) have windows inside the image's width.
  const int64_t inside_lo = std::min<int64_t>(os.w, (pad.left + stride - 1) / stride);
  const int64_t inside_hi =
      std::max(inside_lo, std::min<int64_t>(os.w, (is.w - kernel + pad.left) / stride + 1));
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t n = r / os.h, oy = r % os.h, iy0 = oy * stride - pad.top;
    const auto window = [&](int64_t ox) {
      T* col = columns + (r * os.w + ox) * k;
      const int64_t x0 = ox * stride - pad.left;
      const bool inside_x = x0 >= 0 && x0 + kernel <= is.w;
      for (int ky = 0; ky < kernel; ++ky, col += tap_row) {
        const int64_t iy = iy0 + ky;
        if (iy < 0 || iy >= is.h) {
          std::fill(col, col + tap_row, zero);
          continue;
        }
        const T* src = image + (n * is.h + iy) * row;
        if (inside_x) {
          std::copy(src + x0 * cin, src + x0 * cin + tap_row, col);
          continue;
        }
        for (int kx = 0; kx < kernel; ++kx) {
          const int64_t ix = x0 + kx;
          if (ix < 0 || ix >= is.w)
            std::fill(col + kx * cin, col + (kx + 1) * cin, zero);
          else
            std::copy(src + ix * cin, src + (ix + 1) * cin, col + kx * cin);
        }
      }
      std::fill(col, columns + (r * os.w + ox + 1) * k, zero);  // the row's padding
    };
    if (!rgb_3x3 || iy0 < 0 || iy0 + kernel > is.h || inside_lo >= inside_hi) {
      for (int64_t ox = 0; ox < os.w; ++ox) window(ox);
      continue;
    }
    for (int64_t ox = 0; ox < inside_lo; ++ox) window(ox);
    const T* const rows[3] = {image + (n * is.h + iy0) * row, image + (n * is.h + iy0 + 1) * row,
                              image + (n * is.h + iy0 + 2) * row};
    const int64_t x = (inside_lo * stride - pad.left) * cin, count = inside_hi - inside_lo;
    T* const col = columns + (r * os.w + inside_lo) * k;
    if (k == 32)
      stem_columns_detail::gather_rgb_3x3_inside<32>(rows, x, stride * cin, count, zero, col);
    else
      stem_columns_detail::gather_rgb_3x3_inside<28>(rows, x, stride * cin, count, zero, col);
    for (int64_t ox = inside_hi; ox < os.w; ++ox) window(ox);
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
