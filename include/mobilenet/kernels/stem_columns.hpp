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

/// Rows of output rows [r0, r1) (over the batch: r = n * out.h + oy) from `image` (NHWC, values
/// of T) into `columns` (row of output pixel p at p * row_length).
template <class T>
void gather_stem_columns(const T* image, const StemWindows& g, T zero, T* columns, int64_t r0,
                         int64_t r1) {
  // One kernel row of a 3x3 stem over RGB: 3 pixels of 3 channels, copied with a fixed size.
  constexpr int64_t kRgbTapRow = 9;
  // The geometry in locals: a store through `columns` may alias anything (memcpy, int8), and
  // GCC would otherwise reload every field after each one.
  const Shape is = g.in, os = g.out;
  const Padding pad = g.pad;
  const int kernel = g.kernel, stride = g.stride;
  const int64_t cin = is.c, row = is.w * cin, k = g.row_length;
  const int64_t tap_row = int64_t{kernel} * cin;  // one kernel row's values in a column
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t n = r / os.h, oy = r % os.h;
    for (int64_t ox = 0; ox < os.w; ++ox) {
      T* col = columns + (r * os.w + ox) * k;
      const int64_t x0 = ox * stride - pad.left;
      const bool inside_x = x0 >= 0 && x0 + kernel <= is.w;
      for (int ky = 0; ky < kernel; ++ky, col += tap_row) {
        const int64_t iy = oy * stride - pad.top + ky;
        if (iy < 0 || iy >= is.h) {
          std::fill(col, col + tap_row, zero);
          continue;
        }
        const T* src = image + (n * is.h + iy) * row;
        if (inside_x && tap_row == kRgbTapRow) {
          std::memcpy(col, src + x0 * cin, kRgbTapRow * sizeof(T));
          continue;
        }
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
    }
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
