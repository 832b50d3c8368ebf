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
    for (int t = 0; t < kernel * kernel; ++t) p.weights.data()[t * stride + c] = w[c * kernel * kernel + t];
    p.bias.data()[c] = bias ? bias[c] : 0.0f;
  }
  return p;
}

/// Computes output rows [row_begin, row_end) of `out`, counting rows over batch x height.
/// Per output row and channel packet, the K*K weight packets stay in registers while the loop
/// runs along the row, kPixels output columns at a time (independent accumulators, and shared
/// input loads at stride 1). Columns whose taps all fall inside the image (the interior) need no
/// bounds checks; only the few border columns do. When C is not a multiple of the packet width,
/// the last packet is the one ending at channel C: it overlaps the previous one and recomputes
/// those channels with the same operations, hence the same values.
template <int K, int S, class Act>
void depthwise(ConstTensorView in, const PackedDepthwise& w, const Padding& pad, TensorView out,
               int64_t row_begin, int64_t row_end) {
  constexpr int W = simd::kWidth;
  constexpr int kPixels = 4;
  const int64_t H = in.shape.h, Wd = in.shape.w, C = in.shape.c;
  const int64_t OH = out.shape.h, OW = out.shape.w;
  // Interior columns: ox*S - left >= 0 and ox*S - left + K - 1 <= Wd - 1.
  const int64_t ox_lo = std::min<int64_t>(OW, (pad.left + S - 1) / S);
  const int64_t ox_hi = std::max<int64_t>(
      ox_lo, std::min<int64_t>(OW, Wd - K + pad.left >= 0 ? (Wd - K + pad.left) / S + 1 : 0));
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int64_t n = row / OH, oy = row % OH;
    const int64_t iy0 = oy * S - pad.top;
    const int ky0 = static_cast<int>(std::max<int64_t>(0, -iy0));
    const int ky1 = static_cast<int>(std::min<int64_t>(K, H - iy0));
    const float* image = in.data + n * H * Wd * C;
    float* orow = out.data + (n * OH + oy) * OW * C;

    const auto channel_packet = [&](int64_t c) {
      simd::Packet wk[K * K];
      for (int t = 0; t < K * K; ++t) wk[t] = simd::load(w.weights.data() + t * w.stride + c);
      const simd::Packet bias = simd::load(w.bias.data() + c);
      // One output column with its taps limited to the image.
      const auto border = [&](int64_t ox) {
        const int64_t ix0 = ox * S - pad.left;
        const int kx0 = static_cast<int>(std::max<int64_t>(0, -ix0));
        const int kx1 = static_cast<int>(std::min<int64_t>(K, Wd - ix0));
        simd::Packet acc = bias;
        for (int ky = ky0; ky < ky1; ++ky)
          for (int kx = kx0; kx < kx1; ++kx)
            acc = simd::fmadd(simd::load(image + ((iy0 + ky) * Wd + ix0 + kx) * C + c), wk[ky * K + kx], acc);
        simd::store(orow + ox * C + c, Act::apply(acc));
      };
      // P interior columns from ox on.
      const auto interior = [&](int64_t ox, auto pixels) {
        constexpr int P = decltype(pixels)::value;
        simd::Packet acc[P];
        for (int p = 0; p < P; ++p) acc[p] = bias;
        for (int ky = ky0; ky < ky1; ++ky) {
          const float* px = image + ((iy0 + ky) * Wd + ox * S - pad.left) * C + c;
          for (int kx = 0; kx < K; ++kx)
            for (int p = 0; p < P; ++p)
              acc[p] = simd::fmadd(simd::load(px + (p * S + kx) * C), wk[ky * K + kx], acc[p]);
        }
        for (int p = 0; p < P; ++p) simd::store(orow + (ox + p) * C + c, Act::apply(acc[p]));
      };
      int64_t ox = 0;
      for (; ox < ox_lo; ++ox) border(ox);
      for (; ox + kPixels <= ox_hi; ox += kPixels) interior(ox, std::integral_constant<int, kPixels>{});
      for (; ox < ox_hi; ++ox) interior(ox, std::integral_constant<int, 1>{});
      for (; ox < OW; ++ox) border(ox);
    };

    if (C >= W) {
      for (int64_t c = 0; c + W <= C; c += W) channel_packet(c);
      if (C % W) channel_packet(C - W);
      continue;
    }
    for (int64_t c = 0; c < C; ++c)  // fewer channels than one packet
      for (int64_t ox = 0; ox < OW; ++ox) {
        const int64_t ix0 = ox * S - pad.left;
        const int kx0 = static_cast<int>(std::max<int64_t>(0, -ix0));
        const int kx1 = static_cast<int>(std::min<int64_t>(K, Wd - ix0));
        float acc = w.bias.data()[c];
        for (int ky = ky0; ky < ky1; ++ky)
          for (int kx = kx0; kx < kx1; ++kx)
            acc += image[((iy0 + ky) * Wd + ix0 + kx) * C + c] * w.weights.data()[(ky * K + kx) * w.stride + c];
        orow[ox * C + c] = Act::apply(acc);
      }
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
