#pragma once
// Dense KxK convolution, NHWC, for layers with few input channels (the 3-channel stem):
//   out[n, oy, ox, co] = act(bias[co] + sum_{ky,kx,ci} in[n, iy, ix, ci] * w[co, ci, ky, kx])
// Each input value is broadcast and multiplied into packets of output channels.

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

/// Dense conv weights as [K][K][cin][cout rounded up to two packets] (the kernel reads output
/// channels two packets at a time).
struct PackedConv {
  int kernel = 0;
  int64_t cin = 0, cout = 0, cout_stride = 0;
  AlignedBuffer weights;
  AlignedBuffer bias;
};

/// Packs PyTorch's conv weight [cout][cin][K][K] and bias [cout].
inline PackedConv pack_conv(const float* w, const float* bias, int64_t cin, int64_t cout,
                            int kernel) {
  const int64_t cs = (cout + 2 * simd::kWidth - 1) / (2 * simd::kWidth) * (2 * simd::kWidth);
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

namespace conv2d_detail {

/// Output pixels computed together: enough independent accumulators to hide FMA latency
/// (P pixels x NP packets), within the register file (32 vector registers on AVX-512/AArch64).
#if defined(EIGEN_VECTORIZE_AVX512) || defined(__aarch64__)
inline constexpr int kPixels = 8;
#else
inline constexpr int kPixels = 4;
#endif

/// P output pixels, `S` input columns apart, times NP packets of output channels from `co`,
/// over taps [ky0, ky1) x [kx0, kx1). `px0` points at the input pixel of the first pixel's first
/// tap, (iy0 + ky0, ix0 + kx0).
/// CIN > 0 fixes the input channel count at compile time (3 for RGB stems), so the innermost
/// loop unrolls; CIN = 0 reads it from `cin_runtime`.
template <int K, int S, class Act, int P, int NP, int CIN>
inline void pixels(const float* px0, int64_t row_stride, int64_t cin_runtime, int ky0, int ky1,
                   int kx0, int kx1, const PackedConv& w, int64_t co, float* out, int64_t cout) {
  const int64_t cin = CIN > 0 ? CIN : cin_runtime;
  constexpr int W = simd::kWidth;
  const int64_t cs = w.cout_stride;
  simd::Packet acc[P][NP];
  for (int j = 0; j < NP; ++j) {
    const simd::Packet b = simd::load_aligned(w.bias.data() + co + j * W);
    for (int p = 0; p < P; ++p) acc[p][j] = b;
  }
  for (int ky = ky0; ky < ky1; ++ky)
    for (int kx = kx0; kx < kx1; ++kx) {
      const float* in = px0 + (ky - ky0) * row_stride + (kx - kx0) * cin;
      const float* wt = w.weights.data() + (ky * K + kx) * cin * cs + co;
      for (int64_t ci = 0; ci < cin; ++ci) {
        simd::Packet wv[NP];
        for (int j = 0; j < NP; ++j) wv[j] = simd::load_aligned(wt + ci * cs + j * W);
        for (int p = 0; p < P; ++p) {
          const simd::Packet a = simd::broadcast(in[p * S * cin + ci]);
          for (int j = 0; j < NP; ++j) acc[p][j] = simd::fmadd(a, wv[j], acc[p][j]);
        }
      }
    }
  for (int p = 0; p < P; ++p)
    for (int j = 0; j < NP; ++j) {
      float* o = out + p * cout + co + j * W;
      const simd::Packet v = Act::apply(acc[p][j]);
      const int64_t valid = cout - (co + j * W);
      if (valid >= W) {
        simd::store(o, v);
      } else if (valid > 0) {  // the last, partial packet of output channels
        alignas(64) float tmp[W];
        simd::store(tmp, v);
        std::copy(tmp, tmp + valid, o);
      }
    }
}

}  // namespace conv2d_detail

/// Computes output rows [row_begin, row_end) of `out`, counting rows over batch x height.
/// Interior output columns (all taps inside the image) go kPixels at a time, each input value
/// broadcast once per tap into packets of output channels; border columns one at a time.
template <int K, int S, class Act>
void conv2d(ConstTensorView in, const PackedConv& w, const Padding& pad, TensorView out,
            int64_t row_begin, int64_t row_end) {
  using namespace conv2d_detail;
  constexpr int W = simd::kWidth;
  const int64_t H = in.shape.h, Wd = in.shape.w, Cin = in.shape.c;
  const int64_t OH = out.shape.h, OW = out.shape.w, Cout = out.shape.c;
  const int64_t ox_lo = std::min<int64_t>(OW, (pad.left + S - 1) / S);
  const int64_t ox_hi = std::max<int64_t>(
      ox_lo, std::min<int64_t>(OW, Wd - K + pad.left >= 0 ? (Wd - K + pad.left) / S + 1 : 0));
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int64_t n = row / OH, oy = row % OH;
    const int64_t iy0 = oy * S - pad.top;
    const int ky0 = static_cast<int>(std::max<int64_t>(0, -iy0));
    const int ky1 = static_cast<int>(std::min<int64_t>(K, H - iy0));
    const float* image = in.data + n * H * Wd * Cin;
    float* orow = out.data + (n * OH + oy) * OW * Cout;
    // Pointer arithmetic stays inside the image: taps start at row iy0 + ky0 and column ix0 + kx0.
    const auto input_at = [&](int64_t iy, int64_t ix) { return image + (iy * Wd + ix) * Cin; };
    const auto run = [&](auto np, auto cin_tag) {
      constexpr int NP = decltype(np)::value, CIN = decltype(cin_tag)::value;
      for (int64_t co = 0; co < Cout; co += NP * W) {
        const auto border = [&](int64_t ox) {
          const int64_t ix0 = ox * S - pad.left;
          const int kx0 = static_cast<int>(std::max<int64_t>(0, -ix0));
          const int kx1 = static_cast<int>(std::min<int64_t>(K, Wd - ix0));
          pixels<K, S, Act, 1, NP, CIN>(input_at(iy0 + ky0, ix0 + kx0), Wd * Cin, Cin, ky0, ky1, kx0,
                                        kx1, w, co, orow + ox * Cout, Cout);
        };
        int64_t ox = 0;
        for (; ox < ox_lo; ++ox) border(ox);
        for (; ox + kPixels <= ox_hi; ox += kPixels)
          pixels<K, S, Act, kPixels, NP, CIN>(input_at(iy0 + ky0, ox * S - pad.left), Wd * Cin, Cin, ky0,
                                              ky1, 0, K, w, co, orow + ox * Cout, Cout);
        for (; ox < OW; ++ox) border(ox);
      }
    };
    // Two packets of output channels per step when there are that many (the 32-channel stems).
    using One = std::integral_constant<int, 1>;
    using Two = std::integral_constant<int, 2>;
    using Rgb = std::integral_constant<int, 3>;
    using AnyCin = std::integral_constant<int, 0>;
    if (Cin == 3)
      Cout > W ? run(Two{}, Rgb{}) : run(One{}, Rgb{});
    else
      Cout > W ? run(Two{}, AnyCin{}) : run(One{}, AnyCin{});
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
