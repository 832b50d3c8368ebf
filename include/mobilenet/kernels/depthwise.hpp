#pragma once
// Depthwise KxK convolution, NHWC, vectorised across channels:
//   out[n, oy, ox, c] = act(bias[c] + sum_{ky,kx} in[n, oy*S-top+ky, ox*S-left+kx, c] * w[ky,kx,c])
// Taps that fall in the padding are skipped (zero padding). Kernel size, stride and activation
// are template parameters so the tap loops unroll; channels and resolution are run-time.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "mobilenet/core/aligned_buffer.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/kernels/packet.hpp"
#include "mobilenet/kernels/padding.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// Depthwise weights as [K*K][channels rounded up to the packet width], bias likewise.
struct PackedDepthwise {
  int kernel = 0;
  int64_t channels = 0, stride = 0;  // stride: floats between two taps (>= channels)
  AlignedBuffer weights;
  AlignedBuffer bias;
};

/// Packs PyTorch's depthwise weight [C][1][K][K] and bias [C].
inline PackedDepthwise pack_depthwise(const float* w, const float* bias, int64_t channels,
                                      int kernel) {
  const int64_t stride = (channels + simd::kWidth - 1) / simd::kWidth * simd::kWidth;
  PackedDepthwise p{kernel, channels, stride,
                    AlignedBuffer(static_cast<std::size_t>(kernel * kernel * stride)),
                    AlignedBuffer(static_cast<std::size_t>(stride))};
  for (int64_t c = 0; c < channels; ++c) {
    for (int t = 0; t < kernel * kernel; ++t)
      p.weights.data()[t * stride + c] = w[c * kernel * kernel + t];
    p.bias.data()[c] = bias ? bias[c] : 0.0f;
  }
  return p;
}

/// The input rows one output row reads: row[ky] is input row oy*S - top + ky (column 0,
/// channel 0) for the tap rows [ky0, ky1) inside the image; the others are never read. Rows are
/// pointers, not offsets into one tensor, so a fused block can feed rows from a ring buffer.
template <int K>
struct TapRows {
  const float* row[K] = {};
  int ky0 = 0, ky1 = 0;
};

/// The columns of an output row: width, input width, left padding, and the interior columns
/// [ox_lo, ox_hi) whose taps all fall inside the image.
struct RowColumns {
  int64_t out_width, in_width;
  int left;
  int64_t ox_lo, ox_hi;
};

/// Interior columns of a K x K, stride-S depthwise conv: ox*S - left >= 0 and
/// ox*S - left + K - 1 <= in_width - 1.
template <int K, int S>
inline RowColumns row_columns(int64_t in_width, int64_t out_width, int left) {
  const int64_t lo = std::min<int64_t>(out_width, (left + S - 1) / S);
  const int64_t hi = std::max<int64_t>(
      lo,
      std::min<int64_t>(out_width, in_width - K + left >= 0 ? (in_width - K + left) / S + 1 : 0));
  return {out_width, in_width, left, lo, hi};
}

/// The rows of output row `oy` of an image of `height` rows, `row(iy)` giving input row iy.
template <int K, int S, class RowFn>
inline TapRows<K> tap_rows(int64_t oy, int top, int64_t height, RowFn&& row) {
  TapRows<K> t;
  const int64_t iy0 = oy * S - top;
  t.ky0 = static_cast<int>(std::max<int64_t>(0, -iy0));
  t.ky1 = static_cast<int>(std::min<int64_t>(K, height - iy0));
  for (int ky = t.ky0; ky < t.ky1; ++ky) t.row[ky] = row(iy0 + ky);
  return t;
}

namespace depthwise_detail {

/// Output columns computed together in the interior: independent accumulators, and at stride 1
/// each input load serves up to K of them.
inline constexpr int kPixels = 4;

/// One output column of one channel packet with its taps limited to the image (borders).
template <int K, int S, class Act>
inline void column(const TapRows<K>& taps, int64_t C, const simd::Packet (&wk)[K * K],
                   simd::Packet bias, RowColumns cols, int64_t ox, float* out) {
  const int64_t ix0 = ox * S - cols.left;
  const int kx0 = static_cast<int>(std::max<int64_t>(0, -ix0));
  const int kx1 = static_cast<int>(std::min<int64_t>(K, cols.in_width - ix0));
  simd::Packet acc = bias;
  for (int ky = taps.ky0; ky < taps.ky1; ++ky)
    for (int kx = kx0; kx < kx1; ++kx)
      acc = simd::fmadd(simd::load(taps.row[ky] + (ix0 + kx) * C), wk[ky * K + kx], acc);
  simd::store(out + ox * C, Act::apply(acc));
}

/// P interior output columns of one channel packet whose K tap rows are all inside the image,
/// reading input column `first` on: every loop has constant bounds and unrolls, so the weights
/// stay in registers and identical input addresses are loaded once.
template <int K, int S, int P, class Act>
inline void interior_columns(const TapRows<K>& taps, int64_t first, int64_t C,
                             const simd::Packet (&wk)[K * K], simd::Packet bias, float* out) {
  simd::Packet acc[P];
  for (int p = 0; p < P; ++p) acc[p] = bias;
  for (int ky = 0; ky < K; ++ky) {
    const float* px = taps.row[ky] + first * C;
    for (int kx = 0; kx < K; ++kx)
      for (int p = 0; p < P; ++p)
        acc[p] = simd::fmadd(simd::load(px + (p * S + kx) * C), wk[ky * K + kx], acc[p]);
  }
  for (int p = 0; p < P; ++p) simd::store(out + p * C, Act::apply(acc[p]));
}

/// One output row of one channel packet (`taps`, `w`, `bias` and `out` point at its channel).
/// Not inlined: a function of its own keeps the K*K weight packets in registers, where inlined
/// into the row loop they were reloaded from the stack for every tap.
template <int K, int S, class Act>
[[gnu::noinline]] void row_packet(TapRows<K> taps, RowColumns cols, int64_t C, const float* w,
                                  int64_t w_stride, const float* bias_at, float* out) {
  simd::Packet wk[K * K];
  for (int t = 0; t < K * K; ++t) wk[t] = simd::load(w + t * w_stride);
  const simd::Packet bias = simd::load(bias_at);
  int64_t ox = 0;
  for (; ox < cols.ox_lo; ++ox) column<K, S, Act>(taps, C, wk, bias, cols, ox, out);
  if (taps.ky0 == 0 && taps.ky1 == K) {
    for (; ox + kPixels <= cols.ox_hi; ox += kPixels)
      interior_columns<K, S, kPixels, Act>(taps, ox * S - cols.left, C, wk, bias, out + ox * C);
    for (; ox < cols.ox_hi; ++ox)
      interior_columns<K, S, 1, Act>(taps, ox * S - cols.left, C, wk, bias, out + ox * C);
  }
  for (; ox < cols.out_width; ++ox) column<K, S, Act>(taps, C, wk, bias, cols, ox, out);
}

/// Channels from which a row runs pixel-major (row_pixels): walking one channel packet along a
/// row reads addresses C * 4 bytes apart, which for wide rows map to a handful of L1 sets and
/// evict each other (on Zen 5, pixel-major runs V1's 28x28x128 stride-2 layer 1.6x and its
/// 14x14x512 layers 1.25x as fast; 32 channels measured no clear difference). On ARM, where we
/// can count instructions but not time them, rows stay channel-major: the weights then stay in
/// registers, and V3-Large executes 7% fewer instructions (bench/arm_insnmix.sh).
#if defined(EIGEN_VECTORIZE_NEON)
inline constexpr int64_t kWideChannels = std::numeric_limits<int64_t>::max();
#else
inline constexpr int64_t kWideChannels = 64;
#endif

/// One output row with the channels innermost: per group of kPixels output columns, every
/// channel packet in turn, its K*K weight packets loaded from L1 each time.
template <int K, int S, class Act>
[[gnu::noinline]] void row_pixels(const TapRows<K>& taps, RowColumns cols, int64_t C,
                                  const PackedDepthwise& w, float* out) {
  constexpr int W = simd::kWidth;
  const auto each_packet = [&](auto&& f) {
    for (int64_t c = 0; c + W <= C; c += W) f(c);
    if (C % W) f(C - W);
  };
  // f(taps, weights, bias) of channel packet c.
  const auto with_packet = [&](int64_t c, auto&& f) {
    TapRows<K> shifted = taps;
    for (int ky = taps.ky0; ky < taps.ky1; ++ky) shifted.row[ky] += c;
    simd::Packet wk[K * K];
    for (int t = 0; t < K * K; ++t) wk[t] = simd::load(w.weights.data() + t * w.stride + c);
    f(shifted, wk, simd::load(w.bias.data() + c));
  };
  const auto border = [&](int64_t ox) {
    each_packet([&](int64_t c) {
      with_packet(c, [&](const TapRows<K>& t, const simd::Packet(&wk)[K * K], simd::Packet b) {
        column<K, S, Act>(t, C, wk, b, cols, ox, out + c);
      });
    });
  };
  const auto interior = [&](int64_t ox, auto pixels) {
    constexpr int P = decltype(pixels)::value;
    each_packet([&](int64_t c) {
      with_packet(c, [&](const TapRows<K>& t, const simd::Packet(&wk)[K * K], simd::Packet b) {
        interior_columns<K, S, P, Act>(t, ox * S - cols.left, C, wk, b, out + ox * C + c);
      });
    });
  };
  int64_t ox = 0;
  for (; ox < cols.ox_lo; ++ox) border(ox);
  if (taps.ky0 == 0 && taps.ky1 == K) {
    for (; ox + kPixels <= cols.ox_hi; ox += kPixels)
      interior(ox, std::integral_constant<int, kPixels>{});
    for (; ox < cols.ox_hi; ++ox) interior(ox, std::integral_constant<int, 1>{});
  }
  for (; ox < cols.out_width; ++ox) border(ox);
}

}  // namespace depthwise_detail

/// One output row, all C channels, into `out` ([out_width][C]). Per channel packet, the K*K
/// weight packets stay in registers while the loop runs along the row, kPixels output columns at
/// a time. Columns and rows whose taps all fall inside the image (the interior) run fully
/// unrolled code without bounds checks; only the few border columns and rows check. When C is
/// not a multiple of the packet width, the last packet is the one ending at channel C: it
/// overlaps the previous one and recomputes those channels with the same operations, hence the
/// same values.
template <int K, int S, class Act>
void depthwise_row(const TapRows<K>& taps, RowColumns cols, int64_t C, const PackedDepthwise& w,
                   float* out) {
  constexpr int W = simd::kWidth;
  if (C >= depthwise_detail::kWideChannels) {
    depthwise_detail::row_pixels<K, S, Act>(taps, cols, C, w, out);
    return;
  }
  if (C >= W) {
    const auto packet = [&](int64_t c) {
      TapRows<K> shifted = taps;
      for (int ky = taps.ky0; ky < taps.ky1; ++ky) shifted.row[ky] += c;
      depthwise_detail::row_packet<K, S, Act>(shifted, cols, C, w.weights.data() + c, w.stride,
                                              w.bias.data() + c, out + c);
    };
    for (int64_t c = 0; c + W <= C; c += W) packet(c);
    if (C % W) packet(C - W);
    return;
  }
  for (int64_t c = 0; c < C; ++c)  // fewer channels than one packet
    for (int64_t ox = 0; ox < cols.out_width; ++ox) {
      const int64_t ix0 = ox * S - cols.left;
      const int kx0 = static_cast<int>(std::max<int64_t>(0, -ix0));
      const int kx1 = static_cast<int>(std::min<int64_t>(K, cols.in_width - ix0));
      float acc = w.bias.data()[c];
      for (int ky = taps.ky0; ky < taps.ky1; ++ky)
        for (int kx = kx0; kx < kx1; ++kx)
          acc += taps.row[ky][(ix0 + kx) * C + c] * w.weights.data()[(ky * K + kx) * w.stride + c];
      out[ox * C + c] = Act::apply(acc);
    }
}

/// Computes output rows [row_begin, row_end) of `out` from the tensor `in`, counting rows over
/// batch x height.
template <int K, int S, class Act>
void depthwise(ConstTensorView in, const PackedDepthwise& w, const Padding& pad, TensorView out,
               int64_t row_begin, int64_t row_end) {
  const int64_t H = in.shape.h, Wd = in.shape.w, C = in.shape.c, OH = out.shape.h;
  const RowColumns cols = row_columns<K, S>(Wd, out.shape.w, pad.left);
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int64_t n = row / OH, oy = row % OH;
    const float* image = in.data + n * H * Wd * C;
    const auto taps =
        tap_rows<K, S>(oy, pad.top, H, [&](int64_t iy) { return image + iy * Wd * C; });
    depthwise_row<K, S, Act>(taps, cols, C, w, out.data + row * out.shape.w * C);
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
