#pragma once
// Depthwise KxK convolution, NHWC, vectorised across channels:
//   out[n, oy, ox, c] = act(bias[c] + sum_{ky,kx} in[n, oy*S-top+ky, ox*S-left+kx, c] * w[ky,kx,c])
// Taps that fall in the padding are skipped (zero padding). Kernel size, stride and activation
// are template parameters so the tap loops unroll; channels and resolution are run-time.

#include <algorithm>
#include <cstdint>

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
template <int K, int S, class Act>
void depthwise(ConstTensorView in, const PackedDepthwise& w, const Padding& pad, TensorView out,
               int64_t row_begin, int64_t row_end) {
  constexpr int W = simd::kWidth;
  const int64_t H = in.shape.h, Wd = in.shape.w, C = in.shape.c;
  const int64_t OH = out.shape.h, OW = out.shape.w;
  const int64_t vec_end = C / W * W;
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int64_t n = row / OH, oy = row % OH;
    const int64_t iy0 = oy * S - pad.top;
    const int ky0 = static_cast<int>(std::max<int64_t>(0, -iy0));
    const int ky1 = static_cast<int>(std::min<int64_t>(K, H - iy0));
    const float* image = in.data + n * H * Wd * C;
    float* orow = out.data + (n * OH + oy) * OW * C;
    for (int64_t ox = 0; ox < OW; ++ox) {
      const int64_t ix0 = ox * S - pad.left;
      const int kx0 = static_cast<int>(std::max<int64_t>(0, -ix0));
      const int kx1 = static_cast<int>(std::min<int64_t>(K, Wd - ix0));
      float* o = orow + ox * C;
      int64_t c = 0;
      for (; c < vec_end; c += W) {
        simd::Packet acc = simd::load_aligned(w.bias.data() + c);
        for (int ky = ky0; ky < ky1; ++ky) {
          const float* irow = image + ((iy0 + ky) * Wd + ix0) * C + c;
          const float* wrow = w.weights.data() + ky * K * w.stride + c;
          for (int kx = kx0; kx < kx1; ++kx)
            acc = simd::fmadd(simd::load(irow + kx * C), simd::load_aligned(wrow + kx * w.stride), acc);
        }
        simd::store(o + c, Act::apply(acc));
      }
      for (; c < C; ++c) {  // channels past the last full packet
        float acc = w.bias.data()[c];
        for (int ky = ky0; ky < ky1; ++ky)
          for (int kx = kx0; kx < kx1; ++kx)
            acc += image[((iy0 + ky) * Wd + ix0 + kx) * C + c] * w.weights.data()[(ky * K + kx) * w.stride + c];
        o[c] = Act::apply(acc);
      }
    }
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
