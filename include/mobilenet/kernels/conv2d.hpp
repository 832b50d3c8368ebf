#pragma once
// Dense KxK convolution, NHWC, for layers with few input channels (the 3-channel stem):
//   out[n, oy, ox, co] = act(bias[co] + sum_{ky,kx,ci} in[n, iy, ix, ci] * w[co, ci, ky, kx])
// Each input value is broadcast and multiplied into packets of output channels.

#include <algorithm>
#include <cstdint>

#include "mobilenet/core/aligned_buffer.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/kernels/packet.hpp"
#include "mobilenet/kernels/padding.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// Dense conv weights as [K][K][cin][cout rounded up to the packet width].
struct PackedConv {
  int kernel = 0;
  int64_t cin = 0, cout = 0, cout_stride = 0;
  AlignedBuffer weights;
  AlignedBuffer bias;
};

/// Packs PyTorch's conv weight [cout][cin][K][K] and bias [cout].
inline PackedConv pack_conv(const float* w, const float* bias, int64_t cin, int64_t cout,
                            int kernel) {
  const int64_t cs = (cout + simd::kWidth - 1) / simd::kWidth * simd::kWidth;
  PackedConv p{kernel, cin, cout, cs,
               AlignedBuffer(static_cast<std::size_t>(kernel * kernel * cin * cs)),
               AlignedBuffer(static_cast<std::size_t>(cs))};
  for (int64_t co = 0; co < cout; ++co) {
    for (int64_t ci = 0; ci < cin; ++ci)
      for (int t = 0; t < kernel * kernel; ++t)
        p.weights.data()[(t * cin + ci) * cs + co] = w[(co * cin + ci) * kernel * kernel + t];
    p.bias.data()[co] = bias ? bias[co] : 0.0f;
  }
  return p;
}

/// Computes output rows [row_begin, row_end) of `out`, counting rows over batch x height.
template <int K, int S, class Act>
void conv2d(ConstTensorView in, const PackedConv& w, const Padding& pad, TensorView out,
            int64_t row_begin, int64_t row_end) {
  constexpr int W = simd::kWidth;
  const int64_t H = in.shape.h, Wd = in.shape.w, Cin = in.shape.c;
  const int64_t OH = out.shape.h, OW = out.shape.w, Cout = out.shape.c, cs = w.cout_stride;
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int64_t n = row / OH, oy = row % OH;
    const int64_t iy0 = oy * S - pad.top;
    const int ky0 = static_cast<int>(std::max<int64_t>(0, -iy0));
    const int ky1 = static_cast<int>(std::min<int64_t>(K, H - iy0));
    const float* image = in.data + n * H * Wd * Cin;
    for (int64_t ox = 0; ox < OW; ++ox) {
      const int64_t ix0 = ox * S - pad.left;
      const int kx0 = static_cast<int>(std::max<int64_t>(0, -ix0));
      const int kx1 = static_cast<int>(std::min<int64_t>(K, Wd - ix0));
      float* o = out.data + ((n * OH + oy) * OW + ox) * Cout;
      for (int64_t co = 0; co < Cout; co += W) {
        simd::Packet acc = simd::load_aligned(w.bias.data() + co);
        for (int ky = ky0; ky < ky1; ++ky)
          for (int kx = kx0; kx < kx1; ++kx) {
            const float* px = image + ((iy0 + ky) * Wd + ix0 + kx) * Cin;
            const float* wt = w.weights.data() + (ky * K + kx) * Cin * cs + co;
            for (int64_t ci = 0; ci < Cin; ++ci)
              acc = simd::fmadd(simd::broadcast(px[ci]), simd::load_aligned(wt + ci * cs), acc);
          }
        acc = Act::apply(acc);
        if (co + W <= Cout) {
          simd::store(o + co, acc);
        } else {  // the last, partial packet of output channels
          alignas(64) float tmp[W];
          simd::store(tmp, acc);
          std::copy(tmp, tmp + (Cout - co), o + co);
        }
      }
    }
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
