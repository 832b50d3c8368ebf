#pragma once
// Dense KxK convolution, NHWC, for layers with few input channels (the 3-channel stem):
//   out[n, oy, ox, co] = act(bias[co] + sum_{ky,kx,ci} in[n, iy, ix, ci] * w[co, ci, ky, kx])
// as a GEMM over rows of each output pixel's K*K*cin input values, weights packed as
// [cout][ky][kx][ci] like a pointwise layer's. Pixels whose taps all fall inside the image read
// their K tap rows straight from the input (direct_tile); the border pixels' rows are gathered
// (im2col, zeros for taps in the padding) and go through the pointwise kernel. With
// K*K*cin = 27 the GEMM keeps the FMA units busy, where broadcasting each input into packets of
// outputs left them two-thirds idle.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "mobilenet/core/tensor.hpp"
#include "mobilenet/kernels/cache_geometry.hpp"
#include "mobilenet/kernels/padding.hpp"
#include "mobilenet/kernels/pointwise.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// Floats of gathered rows (32 KiB, on the stack): rows of K*K*cin floats must fit.
inline constexpr int64_t kConvRowsFloats = 8192;

/// Packs PyTorch's conv weight [cout][cin][K][K] and bias [cout] as a pointwise layer over
/// gathered rows ordered [ky][kx][ci], the order of NHWC input taps.
inline PackedPointwise pack_conv(const float* w, const float* bias, int64_t cin, int64_t cout,
                                 int kernel) {
  const int64_t taps = int64_t{kernel} * kernel, row = taps * cin;
  std::vector<float> reordered(static_cast<std::size_t>(cout * row));
  for (int64_t co = 0; co < cout; ++co)
    for (int64_t ci = 0; ci < cin; ++ci)
      for (int64_t t = 0; t < taps; ++t)
        reordered[static_cast<std::size_t>(co * row + t * cin + ci)] =
            w[(co * cin + ci) * taps + t];
  return pack_pointwise(reordered.data(), bias, row, cout);
}

namespace conv2d_detail {

/// Copies `n` floats; CIN > 0 makes n = K * CIN a compile-time count the compiler unrolls (a
/// memcpy call per tap would cost more than the tap's arithmetic).
template <int K, int CIN>
inline void copy_taps(const float* src, float* dst, int64_t n) {
  if constexpr (CIN > 0) {
    for (int i = 0; i < K * CIN; ++i) dst[i] = src[i];
  } else {
    std::copy(src, src + n, dst);
  }
}

/// Gathers the K x K x cin input values of output pixels [ox0, ox0 + count) of the row whose
/// first tap row is iy0, into rows of K*K*cin floats at `rows`.
template <int K, int S, int CIN>
inline void gather(const float* image, int64_t H, int64_t Wd, int64_t cin, const Padding& pad,
                   int64_t iy0, int64_t ox0, int64_t count, float* rows) {
  const int64_t span = K * cin;  // one tap row: K pixels of cin channels, contiguous in NHWC
  for (int64_t p = 0; p < count; ++p) {
    const int64_t ix0 = (ox0 + p) * S - pad.left;
    float* dst = rows + p * K * span;
    for (int ky = 0; ky < K; ++ky, dst += span) {
      const int64_t iy = iy0 + ky;
      if (iy < 0 || iy >= H) {
        std::fill(dst, dst + span, 0.0f);
      } else if (ix0 >= 0 && ix0 + K <= Wd) {
        copy_taps<K, CIN>(image + (iy * Wd + ix0) * cin, dst, span);
      } else {
        for (int kx = 0; kx < K; ++kx) {
          const int64_t ix = ix0 + kx;
          float* d = dst + kx * cin;
          if (ix < 0 || ix >= Wd)
            std::fill(d, d + cin, 0.0f);
          else
            std::copy(image + (iy * Wd + ix) * cin, image + (iy * Wd + ix + 1) * cin, d);
        }
      }
    }
  }
}

/// Whether interior pixels run direct_tile. Not on AArch64: its gathered rows go through the
/// packed assembly tile (kernels/arm/pointwise_aarch64_neon.hpp), which loads four inputs per
/// instruction where direct_tile broadcasts each; with direct_tile, V2 and V3-Small executed 3.3%
/// more instructions per inference (bench/arm_insnmix.sh).
inline constexpr bool kDirect = !pointwise_detail::kPackedRowsPath;

/// Rows consecutive output pixels of one output row, all taps inside the image, times one weight
/// panel, read straight from the input: `taps[ky]` points at the first pixel's first tap of tap
/// row ky, and pixel r's taps of that row are the K*CIN floats from taps[ky] + r*S*CIN. The
/// pointwise tile's loop with K input runs per row instead of one (making the pointwise tile
/// itself take runs cost 8-10% on its small-cin layers, so this is a separate instance); the sums
/// run in the order of a gathered row, from the bias, so every pixel gets the value the gathered
/// path would give it. Not inlined, as the pointwise tile: V3-Large's stem (16 outputs) took
/// 77-82 us instead of 92-102 inlined into direct_pixels' loops (sum of stage minimums, 6
/// alternated rounds), V2's and V1's (32 outputs) 1-3% less.
template <int K, int S, int CIN, int Rows, int NP, class Epilogue>
[[gnu::noinline]] void direct_tile(const float* const (&taps)[K], const float* panel, float* out,
                                   Epilogue e, int64_t cout, int64_t col) {
  using namespace pointwise_detail;
  constexpr int W = simd::kWidth, kRun = K * CIN;
  simd::Packet acc[Rows][1][NP];
  for (int r = 0; r < Rows; ++r)
    for (int j = 0; j < NP; ++j) acc[r][0][j] = e.start(j * W);
  for (int ky = 0; ky < K; ++ky)
    for (int t = 0; t < kRun; ++t) {
      simd::Packet wv[NP];
      for (int j = 0; j < NP; ++j)
        wv[j] = simd::load_aligned(panel + (ky * kRun + t) * kPanel + j * W);
      for (int r = 0; r < Rows; ++r) {
        const simd::Packet a = simd::broadcast(taps[ky][r * S * CIN + t]);
        for (int j = 0; j < NP; ++j) acc[r][0][j] = simd::fmadd(a, wv[j], acc[r][0][j]);
      }
    }
  finish_tile(acc, out, e, cout, col, cout);
}

/// Output pixels [ox, ox + count) of one output row, all taps inside the image, count a multiple
/// of kRows: direct_tile on every weight panel.
template <int K, int S, int CIN, class Act>
inline void direct_pixels(const float* const (&rows)[K], int64_t ix0, int64_t count,
                          const PackedPointwise& w, float* out) {
  using namespace pointwise_detail;
  const int64_t cout = w.cout;
  for (int64_t p = 0; p < count; p += kRows) {
    const float* taps[K];
    for (int ky = 0; ky < K; ++ky) taps[ky] = rows[ky] + (ix0 + p * S) * CIN;
    for (int64_t q = 0; q < pointwise_panels(cout); ++q) {
      const int64_t col = q * kPanel;
      const float* panel = w.weights.data() + q * K * K * CIN * kPanel;
      float* o = out + p * cout + col;
      const BiasActResidual<Act> e{w.bias.data() + col, nullptr};
      if (cout - col > simd::kWidth)
        direct_tile<K, S, CIN, kRows, 2>(taps, panel, o, e, cout, col);
      else
        direct_tile<K, S, CIN, kRows, 1>(taps, panel, o, e, cout, col);
    }
  }
}

/// Prefetches into L2 the input rows that output row `row` + 1 reads for the first time. The
/// stem's input is the first data an inference touches, and after a model whose weights the L3
/// does not keep (V1, V3-Large here) it comes from memory, where the hardware prefetcher alone
/// left the stem at about half its hot-cache speed. Stem alone, 3->16 / 3->32 channels, after
/// streaming 256 MB: 123-147 -> 88-92 us / 135 -> 118 us; with hot caches 61-63 -> 65 us /
/// 96-100 -> 102-105 us. Prefetching the output rows for writing as well cost more than it saved.
/// Always inlined: GCC deletes calls to a function that only prefetches (no side effects).
template <int K, int S>
[[gnu::always_inline]] inline void prefetch_next_input(ConstTensorView in, int64_t out_height,
                                                       int64_t row, int64_t row_end, int top) {
  constexpr int64_t kLineFloats = cache::kLineFloats;
  const int64_t next = row + 1;
  if (next >= row_end) return;
  const int64_t H = in.shape.h, in_row = in.shape.w * in.shape.c;
  const int64_t n = next / out_height, oy = next % out_height;
  // Rows of `next` below the previous output row's (all of them for the first row of an image;
  // at the bottom, where `last` is clipped, a row the previous one read too, which costs little).
  const int64_t last = std::min(H, oy * S - top + K);
  const int64_t first = std::max<int64_t>(0, oy == 0 ? oy * S - top : last - S);
  const float* image = in.data + n * H * in_row;
  for (int64_t f = first * in_row; f < last * in_row; f += kLineFloats)
    __builtin_prefetch(image + f, /*read*/ 0, /*L2*/ 2);
}

}  // namespace conv2d_detail

/// Computes output rows [row_begin, row_end) of `out`, counting rows over batch x height:
/// per output row, up to kConvRowsFloats of gathered rows at a time through the GEMM kernel.
/// Requires K*K*cin <= kConvRowsFloats (the layer checks).
template <int K, int S, class Act>
void conv2d(ConstTensorView in, const PackedPointwise& w, const Padding& pad, TensorView out,
            int64_t row_begin, int64_t row_end) {
  const int64_t H = in.shape.h, Wd = in.shape.w, cin = in.shape.c;
  const int64_t OH = out.shape.h, OW = out.shape.w, cout = out.shape.c;
  const int64_t chunk = std::max<int64_t>(1, kConvRowsFloats / (K * K * cin));
  alignas(64) float rows[kConvRowsFloats];
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int64_t n = row / OH, oy = row % OH;
    const float* image = in.data + n * H * Wd * cin;
    float* orow = out.data + row * OW * cout;
    const int64_t iy0 = oy * S - pad.top;
    conv2d_detail::prefetch_next_input<K, S>(in, OH, row, row_end, pad.top);
    // Columns [direct_begin, direct_end) run direct (3-channel input, all K tap rows inside the
    // image, all taps of the columns too, whole tiles); the others are gathered.
    int64_t direct_begin = 0, direct_end = 0;
    if (conv2d_detail::kDirect && cin == 3 && iy0 >= 0 && iy0 + K <= H) {
      direct_begin = std::min<int64_t>(OW, (pad.left + S - 1) / S);
      const int64_t last = Wd - K + pad.left >= 0 ? (Wd - K + pad.left) / S + 1 : 0;
      const int64_t interior_end = std::max(direct_begin, std::min<int64_t>(OW, last));
      direct_end = direct_begin + (interior_end - direct_begin) / pointwise_detail::kRows *
                                      pointwise_detail::kRows;
      const float* tap_rows[K];
      for (int ky = 0; ky < K; ++ky) tap_rows[ky] = image + (iy0 + ky) * Wd * cin;
      conv2d_detail::direct_pixels<K, S, 3, Act>(tap_rows, direct_begin * S - pad.left,
                                                 direct_end - direct_begin, w,
                                                 orow + direct_begin * cout);
    }
    const auto gathered = [&](int64_t begin, int64_t end) {
      for (int64_t ox0 = begin; ox0 < end; ox0 += chunk) {
        const int64_t count = std::min(chunk, end - ox0);
        if (cin == 3)
          conv2d_detail::gather<K, S, 3>(image, H, Wd, cin, pad, iy0, ox0, count, rows);
        else
          conv2d_detail::gather<K, S, 0>(image, H, Wd, cin, pad, iy0, ox0, count, rows);
        pointwise<Act>(rows, w, orow + ox0 * cout, nullptr, {w.cin, cout}, 0, count);
      }
    };
    gathered(0, direct_begin);
    gathered(direct_end, OW);
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
