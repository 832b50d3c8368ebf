// The fp16 kernels (AArch64 with fp16 arithmetic: the neon_v82 path) against a plain scalar
// reference in fp16, bit for bit: the reference does the same fused multiply-adds in the same
// order with the scalar fp16 instructions, so any difference is a kernel bug, not rounding.
// Odd shapes: channel counts that are not multiples of the 8 lanes or the 16-channel panels, row
// counts that leave every tail, strided rows, every activation, with and without a residual;
// depthwise kernels 3 and 5, strides 1 and 2, symmetric and TensorFlow "same" padding, 1x1 to
// 9x8 images, output rows split at every point. Built where fp16 arithmetic is compiled; the
// other paths' refusal of fp16 is tested with the models (test_fp16_model.cpp).

#include <gtest/gtest.h>

#include "mobilenet/core/half.hpp"

#ifdef MOBILENET_HAS_FP16_ARITHMETIC

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "mobilenet/core/tensor.hpp"
#include "mobilenet/kernels/arm/depthwise_fp16_aarch64_neonfp16arith.hpp"
#include "mobilenet/kernels/arm/linear_fp16_aarch64_neonfp16arith.hpp"
#include "mobilenet/kernels/arm/pointwise_fp16_aarch64_neonfp16arith.hpp"

namespace {

using mobilenet::Activation;
using mobilenet::half;
using mobilenet::Padding;
using mobilenet::Shape;
namespace kernels = mobilenet::kernels;
namespace fp16 = mobilenet::kernels::fp16;

std::vector<float> random_floats(std::size_t n, std::mt19937& rng, float scale) {
  std::uniform_real_distribution<float> d(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

std::vector<half> to_half(const std::vector<float>& v) {
  return std::vector<half>(v.begin(), v.end());
}

uint16_t bits(half h) {
  uint16_t b;
  std::memcpy(&b, &h, sizeof b);
  return b;
}

/// The fp16 activation of `a` on one value.
half activate(Activation a, half x) {
  return mobilenet::dispatch_activation(
      a, [&](auto act) { return fp16::activate_scalar<decltype(act)>(x); });
}

// fp16 tensors name their element type like the others.
static_assert(mobilenet::BasicTensorView<const half>::element_type == mobilenet::ElementType::f16);
static_assert(mobilenet::element_size(mobilenet::ElementType::f16) == sizeof(half));

constexpr Activation kActivations[] = {Activation::Identity, Activation::ReLU, Activation::ReLU6,
                                       Activation::HardSwish, Activation::HardSigmoid};

TEST(PointwiseFp16, MatchesScalarReferenceBitForBit) {
  std::mt19937 rng(7);
  for (int64_t cin : {1, 3, 8, 13, 27, 32, 40}) {
    for (int64_t cout : {1, 5, 8, 13, 16, 24, 40}) {
      for (int64_t rows : {1, 7, 8, 19}) {
        for (Activation a : kActivations) {
          for (bool with_residual : {false, true}) {
            // Rows padded beyond their channels, as a strided view would be.
            const int64_t in_stride = cin + 3, out_stride = cout + 5;
            const std::vector<float> w = random_floats(cout * cin, rng, 1.0f);
            const std::vector<float> b = random_floats(cout, rng, 1.0f);
            const std::vector<half> in = to_half(random_floats(rows * in_stride, rng, 4.0f));
            const std::vector<half> res = to_half(random_floats(rows * out_stride, rng, 4.0f));
            const kernels::PackedPointwiseFp16 packed =
                kernels::pack_pointwise_fp16(w.data(), b.data(), cin, cout);
            const half sentinel = static_cast<half>(-7.0f);
            std::vector<half> out(rows * out_stride, sentinel), want = out;
            mobilenet::dispatch_activation(a, [&](auto act) {
              kernels::pointwise_fp16<decltype(act)>(in.data(), in_stride, rows, packed, out.data(),
                                                     out_stride,
                                                     with_residual ? res.data() : nullptr);
            });
            for (int64_t r = 0; r < rows; ++r)
              for (int64_t co = 0; co < cout; ++co) {
                half acc = static_cast<half>(b[co]);
                for (int64_t ci = 0; ci < cin; ++ci)
                  acc = vfmah_f16(acc, in[r * in_stride + ci], static_cast<half>(w[co * cin + ci]));
                acc = activate(a, acc);
                if (with_residual) acc = vaddh_f16(acc, res[r * out_stride + co]);
                want[r * out_stride + co] = acc;
              }
            for (std::size_t i = 0; i < out.size(); ++i)
              ASSERT_EQ(bits(out[i]), bits(want[i]))
                  << "cin " << cin << " cout " << cout << " rows " << rows << " act "
                  << to_string(a) << " residual " << with_residual << " at row " << i / out_stride
                  << " column " << i % out_stride;
          }
        }
      }
    }
  }
}

TEST(LinearFp16, MatchesScalarReferenceBitForBit) {
  std::mt19937 rng(13);
  for (int64_t cin : {1, 7, 8, 31, 32, 33, 70}) {
    for (int64_t cout : {1, 5, 8, 13, 33, 40}) {
      for (Activation a : kActivations) {
        const std::vector<float> w = random_floats(cout * cin, rng, 1.0f);
        const std::vector<float> b = random_floats(cout, rng, 1.0f);
        const std::vector<float> x = random_floats(cin, rng, 4.0f);
        const kernels::PackedLinearFp16 packed =
            kernels::pack_linear_fp16(w.data(), b.data(), cin, cout);
        // The outputs of each split of the groups in two, plus a sentinel past the end.
        const int64_t groups = (cout + 7) / 8;
        for (int64_t split = 0; split <= groups; ++split) {
          std::vector<float> y(cout + 1, -7.0f), want = y;
          mobilenet::dispatch_activation(a, [&](auto act) {
            using Act = decltype(act);
            kernels::linear_fp16<Act>(x.data(), packed, y.data(), 0, split);
            kernels::linear_fp16<Act>(x.data(), packed, y.data(), split, groups);
            // fp16 sums of 32 inputs at a time, added in float to the bias.
            for (int64_t o = 0; o < cout; ++o) {
              float sum = b[o];
              for (int64_t k0 = 0; k0 < cin; k0 += 32) {
                half chunk = static_cast<half>(0.0f);
                for (int64_t k = k0; k < std::min(cin, k0 + 32); ++k)
                  chunk =
                      vfmah_f16(chunk, static_cast<half>(x[k]), static_cast<half>(w[o * cin + k]));
                sum += static_cast<float>(chunk);
              }
              want[o] = Act::apply(sum);
            }
          });
          for (int64_t o = 0; o <= cout; ++o)
            ASSERT_EQ(std::memcmp(&y[o], &want[o], sizeof(float)), 0)
                << "cin " << cin << " cout " << cout << " act " << to_string(a) << " split "
                << split << " output " << o << ": " << y[o] << " vs " << want[o];
        }
      }
    }
  }
}

TEST(DepthwiseFp16, MatchesScalarReferenceBitForBit) {
  std::mt19937 rng(11);
  for (int kernel : {3, 5}) {
    for (int stride : {1, 2}) {
      for (auto mode : {mobilenet::PaddingMode::Torch, mobilenet::PaddingMode::TfSame}) {
        for (int64_t c : {3, 8, 13, 24}) {
          for (auto [h, w] :
               {std::pair<int64_t, int64_t>{1, 1}, {2, 3}, {5, 5}, {9, 8}, {10, 7}, {7, 12}}) {
            for (Activation a : {Activation::Identity, Activation::ReLU6, Activation::HardSwish}) {
              const Shape is{1, h, w, c};
              const Padding pad = mobilenet::resolve_padding(mode, kernel, stride, h, w);
              const Shape os{1, mobilenet::conv_output_size(h, kernel, stride, pad.top, pad.bottom),
                             mobilenet::conv_output_size(w, kernel, stride, pad.left, pad.right),
                             c};
              if (os.h < 1 || os.w < 1) continue;
              const int taps = kernel * kernel;
              const std::vector<float> wt = random_floats(c * taps, rng, 1.0f);
              const std::vector<float> b = random_floats(c, rng, 1.0f);
              const std::vector<half> in = to_half(random_floats(is.numel(), rng, 4.0f));
              const kernels::PackedDepthwiseFp16 packed =
                  kernels::pack_depthwise_fp16(wt.data(), b.data(), c, kernel);
              std::vector<half> want(os.numel());
              for (int64_t oy = 0; oy < os.h; ++oy)
                for (int64_t ox = 0; ox < os.w; ++ox)
                  for (int64_t ch = 0; ch < c; ++ch) {
                    half acc = static_cast<half>(b[ch]);
                    for (int ky = 0; ky < kernel; ++ky)
                      for (int kx = 0; kx < kernel; ++kx) {
                        const int64_t iy = oy * stride - pad.top + ky,
                                      ix = ox * stride - pad.left + kx;
                        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                        acc = vfmah_f16(acc, in[(iy * w + ix) * c + ch],
                                        static_cast<half>(wt[ch * taps + ky * kernel + kx]));
                      }
                    want[(oy * os.w + ox) * c + ch] = activate(a, acc);
                  }
              // Every split of the padded rows and of the output rows in two gives the same
              // values.
              const Shape ps = kernels::padded_shape(is, pad);
              for (int64_t split = 0; split <= os.h; ++split) {
                std::vector<half> padded(ps.numel(), static_cast<half>(-5.0f));
                const int64_t padded_split = std::min(split, ps.h);
                kernels::pad_input_fp16(in.data(), is, pad, padded.data(), 0, padded_split);
                kernels::pad_input_fp16(in.data(), is, pad, padded.data(), padded_split, ps.h);
                std::vector<half> out(os.numel(), static_cast<half>(-7.0f));
                mobilenet::dispatch_activation(a, [&](auto act) {
                  kernels::depthwise_fp16<decltype(act)>(padded.data(), ps, packed, stride,
                                                         out.data(), os, 0, split);
                  kernels::depthwise_fp16<decltype(act)>(padded.data(), ps, packed, stride,
                                                         out.data(), os, split, os.h);
                });
                for (std::size_t i = 0; i < out.size(); ++i)
                  ASSERT_EQ(bits(out[i]), bits(want[i]))
                      << "k " << kernel << " s " << stride << " " << to_string(mode) << " c " << c
                      << " " << h << "x" << w << " act " << to_string(a) << " split " << split
                      << " at " << i;
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace

#endif  // MOBILENET_HAS_FP16_ARITHMETIC
