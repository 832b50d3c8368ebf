#pragma once
// Depthwise KxK convolution, NHWC, vectorised across channels:
//   out[n, oy, ox, c] = act(bias[c] + sum_{ky,kx} in[n, oy*S-top+ky, ox*S-left+kx, c] * w[ky,kx,c])
// Taps that fall in the padding are skipped (zero padding). Kernel size, stride and activation
// are template parameters so the tap loops unroll; channels and resolution are run-time.

#include <algorithm>
#include <cstdint>
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

namespace depthwise_detail {

/// Output columns computed together in the interior: independent accumulators, and at stride 1
/// each input load serves up to K of them.
inline constexpr int kPixels = 4;

/// Where an output row's taps lie: the input row of tap row 0 (may be outside the image), the
/// tap rows [ky0, ky1) inside the image, and the interior columns [ox_lo, ox_hi) whose taps are
/// all inside.
struct RowGeometry {
  int64_t iy0;
  int ky0, ky1;
  int64_t ox_lo, ox_hi;
};

/// One output column of one channel packet with its taps limited to the image (borders).
template <int K, int S, class Act>
inline void column(const float* image, int64_t Wd, int64_t C, const simd::Packet (&wk)[K * K],
                   simd::Packet bias, RowGeometry g, int left, int64_t ox, float* out) {
  const int64_t ix0 = ox * S - left;
  const int kx0 = static_cast<int>(std::max<int64_t>(0, -ix0));
  const int kx1 = static_cast<int>(std::min<int64_t>(K, Wd - ix0));
  simd::Packet acc = bias;
  for (int ky = g.ky0; ky < g.ky1; ++ky)
    for (int kx = kx0; kx < kx1; ++kx)
      acc =
          simd::fmadd(simd::load(image + ((g.iy0 + ky) * Wd + ix0 + kx) * C), wk[ky * K + kx], acc);
  simd::store(out + ox * C, Act::apply(acc));
}

/// P interior output columns from `ox` of one channel packet whose K tap rows are all inside the
/// image: every loop has constant bounds and unrolls, so the weights stay in registers and
/// identical input addresses are loaded once.
template <int K, int S, int P, class Act>
inline void interior_columns(const float* px, int64_t row_stride, int64_t C,
                             const simd::Packet (&wk)[K * K], simd::Packet bias, float* out) {
  simd::Packet acc[P];
  for (int p = 0; p < P; ++p) acc[p] = bias;
  for (int ky = 0; ky < K; ++ky)
    for (int kx = 0; kx < K; ++kx)
      for (int p = 0; p < P; ++p)
        acc[p] = simd::fmadd(simd::load(px + ky * row_stride + (p * S + kx) * C), wk[ky * K + kx],
                             acc[p]);
  for (int p = 0; p < P; ++p) simd::store(out + p * C, Act::apply(acc[p]));
}

/// One output row of one channel packet (`image`, `w`, `bias` and `out` point at its channel).
/// Not inlined: a function of its own keeps the K*K weight packets in registers, where inlined
/// into the row loop they were reloaded from the stack for every tap.
template <int K, int S, class Act>
[[gnu::noinline]] void row_packet(const float* image, int64_t Wd, int64_t C, const float* w,
                                  int64_t w_stride, const float* bias_at, RowGeometry g, int left,
                                  int64_t OW, float* out) {
  simd::Packet wk[K * K];
  for (int t = 0; t < K * K; ++t) wk[t] = simd::load(w + t * w_stride);
  const simd::Packet bias = simd::load(bias_at);
  int64_t ox = 0;
  for (; ox < g.ox_lo; ++ox) column<K, S, Act>(image, Wd, C, wk, bias, g, left, ox, out);
  if (g.ky0 == 0 && g.ky1 == K) {
    const int64_t row_stride = Wd * C;
    const float* top = image + g.iy0 * row_stride - int64_t{left} * C;
    for (; ox + kPixels <= g.ox_hi; ox += kPixels)
      interior_columns<K, S, kPixels, Act>(top + ox * S * C, row_stride, C, wk, bias, out + ox * C);
    for (; ox < g.ox_hi; ++ox)
      interior_columns<K, S, 1, Act>(top + ox * S * C, row_stride, C, wk, bias, out + ox * C);
  }
  for (; ox < OW; ++ox) column<K, S, Act>(image, Wd, C, wk, bias, g, left, ox, out);
}

}  // namespace depthwise_detail

/// Computes output rows [row_begin, row_end) of `out`, counting rows over batch x height.
/// Per output row and channel packet, the K*K weight packets stay in registers while the loop
/// runs along the row, kPixels output columns at a time. Columns and rows whose taps all fall
/// inside the image (the interior) run fully unrolled code without bounds checks; only the few
/// border columns and rows check. When C is not a multiple of the packet width, the last packet
/// is the one ending at channel C: it overlaps the previous one and recomputes those channels
/// with the same operations, hence the same values.
template <int K, int S, class Act>
void depthwise(ConstTensorView in, const PackedDepthwise& w, const Padding& pad, TensorView out,
               int64_t row_begin, int64_t row_end) {
  using depthwise_detail::RowGeometry;
  constexpr int W = simd::kWidth;
  const int64_t H = in.shape.h, Wd = in.shape.w, C = in.shape.c;
  const int64_t OH = out.shape.h, OW = out.shape.w;
  // Interior columns: ox*S - left >= 0 and ox*S - left + K - 1 <= Wd - 1.
  const int64_t ox_lo = std::min<int64_t>(OW, (pad.left + S - 1) / S);
  const int64_t ox_hi = std::max<int64_t>(
      ox_lo, std::min<int64_t>(OW, Wd - K + pad.left >= 0 ? (Wd - K + pad.left) / S + 1 : 0));
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int64_t n = row / OH, oy = row % OH;
    const int64_t iy0 = oy * S - pad.top;
    const RowGeometry g{iy0, static_cast<int>(std::max<int64_t>(0, -iy0)),
                        static_cast<int>(std::min<int64_t>(K, H - iy0)), ox_lo, ox_hi};
    const float* image = in.data + n * H * Wd * C;
    float* orow = out.data + (n * OH + oy) * OW * C;
    if (C >= W) {
      const auto packet = [&](int64_t c) {
        depthwise_detail::row_packet<K, S, Act>(image + c, Wd, C, w.weights.data() + c, w.stride,
                                                w.bias.data() + c, g, pad.left, OW, orow + c);
      };
      for (int64_t c = 0; c + W <= C; c += W) packet(c);
      if (C % W) packet(C - W);
      continue;
    }
    for (int64_t c = 0; c < C; ++c)  // fewer channels than one packet
      for (int64_t ox = 0; ox < OW; ++ox) {
        const int64_t ix0 = ox * S - pad.left;
        const int kx0 = static_cast<int>(std::max<int64_t>(0, -ix0));
        const int kx1 = static_cast<int>(std::min<int64_t>(K, Wd - ix0));
        float acc = w.bias.data()[c];
        for (int ky = g.ky0; ky < g.ky1; ++ky)
          for (int kx = kx0; kx < kx1; ++kx)
            acc += image[((iy0 + ky) * Wd + ix0 + kx) * C + c] *
                   w.weights.data()[(ky * K + kx) * w.stride + c];
        orow[ox * C + c] = Act::apply(acc);
      }
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
