// The int8 arithmetic (quant/quantize.hpp) on hand-computed cases, and every int8 pointwise tile
// this build compiles against a plain scalar reference, bit for bit, on odd shapes: channel
// counts that are not multiples of the 4-channel groups or the 32-channel panels, row counts
// that leave tails of every height, strided rows, all zero points and the three clamps; and the
// int8 depthwise kernel likewise (kernels 3 and 5, strides 1 and 2, symmetric and TensorFlow
// "same" padding, 1x1 to 9x8 images, batch 2).

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "error_expectations.hpp"
#include "mobilenet/kernels/depthwise_int8.hpp"
#include "mobilenet/kernels/lookup_int8.hpp"
#include "mobilenet/kernels/pointwise_int8.hpp"
#include "mobilenet/kernels/quantize_int8.hpp"
#include "mobilenet/kernels/residual_add_int8.hpp"
#include "mobilenet/layers/int8/elementwise.hpp"

namespace {

using mobilenet::Activation;
using namespace mobilenet::quant;
using testing_io::expect_error_containing;
namespace kernels = mobilenet::kernels;

TEST(Quant, RoundsHalfToEven) {
  EXPECT_EQ(round_even(2.5f), 2);
  EXPECT_EQ(round_even(3.5f), 4);
  EXPECT_EQ(round_even(-2.5f), -2);
  EXPECT_EQ(round_even(-3.5f), -4);
  EXPECT_EQ(round_even(2.4999998f), 2);
  const OutputClamp full{};
  EXPECT_EQ(requantize(5, 0.5f, full), 2);  // 2.5 -> 2
  EXPECT_EQ(requantize(7, 0.5f, full), 4);  // 3.5 -> 4
  EXPECT_EQ(requantize(-7, 0.5f, full), -4);
  EXPECT_EQ(requantize(1000, 1.0f, full), 127);
  EXPECT_EQ(requantize(-1000, 1.0f, full), -128);
  const OutputClamp shifted{10, -138.0f, 117.0f};  // zero point 10: the clamp is relative to it
  EXPECT_EQ(requantize(5, 0.5f, shifted), 12);
  EXPECT_EQ(requantize(1000, 1.0f, shifted), 127);
  EXPECT_EQ(requantize(-1000, 1.0f, shifted), -128);
}

TEST(Quant, ActivationRangeIncludesZeroExactly) {
  const QuantParams p = activation_params(-1.0f, 3.0f);
  EXPECT_FLOAT_EQ(p.scale, 4.0f / 255.0f);
  EXPECT_EQ(p.zero_point, -64);  // -128 + 1 / (4/255) = -64.25
  EXPECT_EQ(dequantize(quantize(0.0f, p), p), 0.0f);
  EXPECT_NEAR(dequantize(quantize(3.0f, p), p), 3.0f, p.scale / 2);
  EXPECT_NEAR(dequantize(quantize(-1.0f, p), p), -1.0f, p.scale / 2);
  EXPECT_EQ(quantize(100.0f, p), 127);
  EXPECT_EQ(quantize(-100.0f, p), -128);
  EXPECT_EQ(quantize(std::numeric_limits<float>::quiet_NaN(), p), -128);
  // A positive range is widened down to 0: zero at the lowest code.
  const QuantParams positive = activation_params(2.0f, 5.0f);
  EXPECT_EQ(positive.zero_point, -128);
  EXPECT_FLOAT_EQ(positive.scale, 5.0f / 255.0f);
  EXPECT_EQ(activation_params(0.0f, 0.0f).scale, 1.0f);
  expect_error_containing([] { activation_params(1.0f, -1.0f); }, {"is not a finite interval"});
  expect_error_containing([] { activation_params(0.0f, std::nanf("")); },
                          {"is not a finite interval"});
}

TEST(Quant, PerChannelWeightsKeepSmallChannelsThatPerTensorLoses) {
  // Row 0 spans +-1, row 1 +-0.003 (what BatchNorm folding does to a channel with a large
  // running variance).
  const std::vector<float> w = {1.0f, -0.5f, 0.25f, 0.003f, -0.0015f, 0.001f};
  const QuantizedWeights pc = quantize_weights(w.data(), 2, 3);
  EXPECT_EQ(pc.values, (std::vector<int8_t>{127, -64, 32, 127, -64, 42}));  // -63.5 -> -64
  EXPECT_FLOAT_EQ(pc.scales[1], 0.003f / 127);
  const QuantizedWeights pt = quantize_weights(w.data(), 2, 3, /*per_channel=*/false);
  EXPECT_EQ(pt.values, (std::vector<int8_t>{127, -64, 32, 0, 0, 0}));  // row 1 rounds to nothing
  EXPECT_EQ(pt.scales[0], pt.scales[1]);
  const std::vector<float> zeros(4, 0.0f);
  EXPECT_EQ(quantize_weights(zeros.data(), 2, 2).scales[0], 1.0f);
  const std::vector<float> bad = {0.0f, std::numeric_limits<float>::infinity()};
  expect_error_containing([&] { quantize_weights(bad.data(), 1, 2); },
                          {"weight [0][1] is not finite"});
  EXPECT_EQ(quantize_bias(1.0f, 0.5f, 0.25f), 8);
  expect_error_containing([] { quantize_bias(1e30f, 1e-3f, 1e-3f); }, {"does not fit int32"});
}

TEST(Quant, ReluAndRelu6FoldIntoTheClamp) {
  const QuantParams p{0.05f, -20};
  const OutputClamp relu = output_clamp(p, Activation::ReLU);
  EXPECT_EQ(relu.lo, 0.0f);  // q_min = zero point
  EXPECT_EQ(relu.hi, 147.0f);
  const OutputClamp relu6 = output_clamp(p, Activation::ReLU6);
  EXPECT_EQ(relu6.hi, 120.0f);  // 6 / 0.05
  EXPECT_EQ(requantize(1 << 20, 1.0f, relu6), 100);
  EXPECT_EQ(requantize(-(1 << 20), 1.0f, relu6), -20);
  // A range that ends below 6: ReLU6's top is the int8 top.
  EXPECT_EQ(output_clamp({0.01f, 0}, Activation::ReLU6).hi, 127.0f);
  expect_error_containing([&] { output_clamp(p, Activation::HardSwish); },
                          {"activation hardswish is not a clamp"});
}

/// The scalar reference: acc = bias + sum (x - zp_in) * w in int64 (checked to fit int32, as the
/// kernels' int32 lanes need), then requantize.
std::vector<int8_t> reference_pointwise(const std::vector<int8_t>& x, int64_t rows, int64_t cin,
                                        int64_t in_stride, const std::vector<int8_t>& w,
                                        const std::vector<int32_t>& bias,
                                        const std::vector<float>& multiplier, int64_t cout,
                                        int32_t zp_in, const OutputClamp& clamp) {
  std::vector<int8_t> out(static_cast<size_t>(rows * cout));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t co = 0; co < cout; ++co) {
      int64_t acc = bias[static_cast<size_t>(co)];
      for (int64_t ci = 0; ci < cin; ++ci)
        acc += (int64_t{x[static_cast<size_t>(r * in_stride + ci)]} - zp_in) *
               w[static_cast<size_t>(co * cin + ci)];
      EXPECT_LE(std::abs(acc), int64_t{1} << 31);
      out[static_cast<size_t>(r * cout + co)] =
          requantize(static_cast<int32_t>(acc), multiplier[static_cast<size_t>(co)], clamp);
    }
  return out;
}

template <class Tile>
void expect_tile_matches_reference(const char* tile_name) {
  SCOPED_TRACE(tile_name);
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(-128, 127), weight(-127, 127), bias(-(1 << 20), 1 << 20);
  const Activation clamps[] = {Activation::Identity, Activation::ReLU, Activation::ReLU6};
  int cases = 0, saturated = 0, total = 0;
  for (int64_t cin : {1, 3, 4, 5, 7, 8, 16, 17, 24, 33, 40, 64, 101, 700})
    for (int64_t cout : {1, 3, 16, 17, 31, 32, 33, 40, 100})
      for (int64_t rows : {1, 3, 4, 5, 8, 9, 13, 37}) {
        // Every third case strided: rows farther apart than their channels, and output bytes
        // between rows that must stay untouched.
        const bool strided = cases % 3 == 2;
        const int64_t in_stride = cin + (strided ? 5 : 0), out_stride = cout + (strided ? 3 : 0);
        std::vector<int8_t> x(static_cast<size_t>(rows * in_stride)),
            w(static_cast<size_t>(cout * cin));
        for (auto& v : x) v = static_cast<int8_t>(byte(rng));
        for (auto& v : w) v = static_cast<int8_t>(weight(rng));
        std::vector<int32_t> b(static_cast<size_t>(cout));
        std::vector<float> m(static_cast<size_t>(cout));
        for (int64_t co = 0; co < cout; ++co) {
          b[static_cast<size_t>(co)] = bias(rng);
          // Outputs spread over about +-50 codes around the zero point, some beyond int8's
          // range: the sums' spread is about 1.5 * 74 * 73 * sqrt(cin) (the inputs' and
          // weights' standard deviations, the zero point) plus the bias's 6e5.
          m[static_cast<size_t>(co)] =
              (0.5f + 0.01f * static_cast<float>(co % 50)) * 50.0f /
              (1.5f * 74.0f * 73.0f * std::sqrt(static_cast<float>(cin)) + 6e5f);
        }
        const int32_t zp_in = byte(rng);
        const QuantParams out_params{0.02f + 0.001f * static_cast<float>(cases % 40), byte(rng)};
        const OutputClamp clamp = output_clamp(out_params, clamps[cases % 3]);
        const kernels::PackedPointwiseInt8 packed = kernels::pack_pointwise_int8<Tile>(
            w.data(), b.data(), m.data(), cin, cout, zp_in, clamp);
        constexpr int8_t kGuard = 0x5a;
        std::vector<int8_t> got(static_cast<size_t>(rows * out_stride), kGuard);
        kernels::pointwise_int8<Tile>(x.data(), rows, {in_stride, out_stride}, packed, got.data());
        const std::vector<int8_t> want =
            reference_pointwise(x, rows, cin, in_stride, w, b, m, cout, zp_in, clamp);
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t co = 0; co < cout; ++co) {
            const int8_t g = got[static_cast<size_t>(r * out_stride + co)],
                         e = want[static_cast<size_t>(r * cout + co)];
            ASSERT_EQ(int{g}, int{e}) << "cin " << cin << " cout " << cout << " rows " << rows
                                      << " row " << r << " channel " << co;
            saturated += e == 127 || e == -128;
            ++total;
          }
          for (int64_t co = cout; co < out_stride; ++co)
            ASSERT_EQ(int{got[static_cast<size_t>(r * out_stride + co)]}, int{kGuard})
                << "wrote past channel " << cout << " of row " << r;
        }
        ++cases;
      }
  // The cases must exercise both the clamp and the values inside it.
  EXPECT_GT(saturated, total / 100);
  EXPECT_LT(saturated, total / 4);
  // Rows over several of the driver's chunks (it runs each panel over chunks of rows whose
  // input fits cache::kL2WorkingSetBytes: 21 tiles of 4 rows at 3000 channels), a partial last
  // chunk and a tail of fewer rows than a tile.
  {
    const int64_t rows = 203, cin = 3000, cout = 40;
    std::vector<int8_t> x(static_cast<size_t>(rows * cin)), w(static_cast<size_t>(cout * cin));
    for (auto& v : x) v = static_cast<int8_t>(byte(rng));
    for (auto& v : w) v = static_cast<int8_t>(weight(rng));
    const std::vector<int32_t> b(static_cast<size_t>(cout), 1000);
    const std::vector<float> m(static_cast<size_t>(cout), 1.0f / 40000.0f);
    const auto packed =
        kernels::pack_pointwise_int8<Tile>(w.data(), b.data(), m.data(), cin, cout, 3, {});
    std::vector<int8_t> got(static_cast<size_t>(rows * cout));
    kernels::pointwise_int8<Tile>(x.data(), rows, {cin, cout}, packed, got.data());
    EXPECT_EQ(got, reference_pointwise(x, rows, cin, cin, w, b, m, cout, 3, {}));
  }
  // The largest products (tiles that sum two of them in 16 bits reach 2 * 128 * 127 there).
  for (const int8_t input : {int8_t{-128}, int8_t{127}})
    for (const int8_t w_value : {int8_t{-127}, int8_t{127}}) {
      const int64_t rows = 5, cin = 45, cout = 33;
      const std::vector<int8_t> x(static_cast<size_t>(rows * cin), input),
          w(static_cast<size_t>(cout * cin), w_value);
      const std::vector<int32_t> b(static_cast<size_t>(cout), 0);
      const std::vector<float> m(static_cast<size_t>(cout), 1.0f / 8192.0f);
      const auto packed =
          kernels::pack_pointwise_int8<Tile>(w.data(), b.data(), m.data(), cin, cout, 0, {});
      std::vector<int8_t> got(static_cast<size_t>(rows * cout));
      kernels::pointwise_int8<Tile>(x.data(), rows, {cin, cout}, packed, got.data());
      EXPECT_EQ(got, reference_pointwise(x, rows, cin, cin, w, b, m, cout, 0, {}))
          << "input " << int{input} << ", weight " << int{w_value};
    }
}

TEST(PointwiseInt8, GenericTileMatchesReferenceBitForBit) {
  expect_tile_matches_reference<kernels::GenericInt8Tile>("generic");
}

#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VL__)
TEST(PointwiseInt8, Avx512VnniTileMatchesReferenceBitForBit) {
  expect_tile_matches_reference<kernels::Avx512VnniInt8Tile>("avx512vnni");
}
#endif

#if defined(__AVX2__)
TEST(PointwiseInt8, Avx2TileMatchesReferenceBitForBit) {
  expect_tile_matches_reference<kernels::Avx2Int8Tile>("avx2");
}
#endif

#if defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
TEST(PointwiseInt8, NeonDotTileMatchesReferenceBitForBit) {
  expect_tile_matches_reference<kernels::NeonDotInt8Tile>("neondot");
}
#elif defined(__aarch64__)
TEST(PointwiseInt8, NeonMlalTileMatchesReferenceBitForBit) {
  expect_tile_matches_reference<kernels::NeonMlalInt8Tile>("neonmlal");
}
#elif defined(__ARM_NEON)
TEST(PointwiseInt8, NeonV7TileMatchesReferenceBitForBit) {
  expect_tile_matches_reference<kernels::NeonV7Int8Tile>("neonv7");
}
#endif

/// The generic tile's code with another activation offset: weights packed for it must not run on
/// the generic tile.
struct OffsetTile : kernels::GenericInt8Tile {
  static constexpr int32_t kActivationOffset = 1;
};

TEST(PointwiseInt8, RefusesWeightsPackedForAnotherTileAndBiasOverflow) {
  const std::vector<int8_t> w = {127, 127};
  const std::vector<int32_t> b = {0};
  const std::vector<float> m = {1.0f};
  const auto packed =
      kernels::pack_pointwise_int8<OffsetTile>(w.data(), b.data(), m.data(), 2, 1, 0, {});
  std::vector<int8_t> x(2), y(1);
  expect_error_containing(
      [&] {
        kernels::pointwise_int8<kernels::GenericInt8Tile>(x.data(), 1, {2, 1}, packed, y.data());
      },
      {"weights packed for another tile"});
  const std::vector<int32_t> big = {2147483000};
  expect_error_containing(
      [&] {
        kernels::pack_pointwise_int8<kernels::GenericInt8Tile>(w.data(), big.data(), m.data(), 2, 1,
                                                               -128, {});
      },
      {"output channel 0's bias with the zero-point correction overflows int32"});
}

/// The scalar reference depthwise: taps outside the image skipped (a zero input), int64 sums.
std::vector<int8_t> reference_depthwise(const std::vector<int8_t>& x, const mobilenet::Shape& is,
                                        const std::vector<int8_t>& w, int k, int stride,
                                        const mobilenet::Padding& pad,
                                        const std::vector<int32_t>& bias,
                                        const std::vector<float>& multiplier, int32_t zp_in,
                                        const OutputClamp& clamp, const mobilenet::Shape& os) {
  std::vector<int8_t> out(static_cast<size_t>(os.numel()));
  for (int64_t n = 0; n < os.n; ++n)
    for (int64_t oy = 0; oy < os.h; ++oy)
      for (int64_t ox = 0; ox < os.w; ++ox)
        for (int64_t c = 0; c < os.c; ++c) {
          int64_t acc = bias[static_cast<size_t>(c)];
          for (int ky = 0; ky < k; ++ky)
            for (int kx = 0; kx < k; ++kx) {
              const int64_t iy = oy * stride - pad.top + ky, ix = ox * stride - pad.left + kx;
              if (iy < 0 || iy >= is.h || ix < 0 || ix >= is.w) continue;
              acc += (int64_t{x[static_cast<size_t>(((n * is.h + iy) * is.w + ix) * is.c + c)]} -
                      zp_in) *
                     w[static_cast<size_t>((c * k + ky) * k + kx)];
            }
          out[static_cast<size_t>(((n * os.h + oy) * os.w + ox) * os.c + c)] =
              requantize(static_cast<int32_t>(acc), multiplier[static_cast<size_t>(c)], clamp);
        }
  return out;
}

TEST(DepthwiseInt8, MatchesReferenceBitForBit) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> byte(-128, 127), weight(-127, 127), bias(-20000, 20000);
  const Activation clamps[] = {Activation::Identity, Activation::ReLU, Activation::ReLU6};
  int cases = 0, saturated = 0, total = 0;
  // Blocks of 64 (on AVX-512 VNNI: 64, 67, 93, 130, and 100 and 120 with a last block that
  // overlaps the one before), of 16, of 8 (24, 93) and partial ones (fewer than 8 left).
  for (int64_t channels : {1, 3, 16, 17, 24, 32, 64, 67, 93, 100, 120, 130})
    for (int k : {3, 5})
      for (int stride : {1, 2})
        for (auto [h, wd] : {std::pair<int64_t, int64_t>{1, 1}, {2, 3}, {5, 5}, {9, 8}, {7, 4}})
          for (mobilenet::PaddingMode mode :
               {mobilenet::PaddingMode::Torch, mobilenet::PaddingMode::TfSame}) {
            const mobilenet::Shape is{2, h, wd, channels};
            const mobilenet::Padding pad = mobilenet::resolve_padding(mode, k, stride, h, wd);
            std::vector<int8_t> x(static_cast<size_t>(is.numel())),
                w(static_cast<size_t>(channels * k * k));
            for (auto& v : x) v = static_cast<int8_t>(byte(rng));
            for (auto& v : w) v = static_cast<int8_t>(weight(rng));
            std::vector<int32_t> b(static_cast<size_t>(channels));
            std::vector<float> m(static_cast<size_t>(channels));
            for (int64_t c = 0; c < channels; ++c) {
              b[static_cast<size_t>(c)] = bias(rng);
              // Sums spread about 1.5 * 74 * 73 * k: outputs over about +-50 codes.
              m[static_cast<size_t>(c)] = (0.5f + 0.02f * static_cast<float>(c % 25)) * 50.0f /
                                          (1.5f * 74.0f * 73.0f * static_cast<float>(k));
            }
            const int32_t zp_in = byte(rng);
            const OutputClamp clamp = output_clamp({0.03f, byte(rng)}, clamps[cases % 3]);
            const auto packed = kernels::pack_depthwise_int8(w.data(), b.data(), m.data(), channels,
                                                             k, zp_in, clamp);
#if defined(__AVX512BW__) && defined(__AVX512VL__)
            // The whole blocks of 64 take the VNNI kernel where the CPU has VNNI.
            if (mobilenet::cpu_features() & mobilenet::bit(mobilenet::CpuFeature::AVX512VNNI)) {
              // 32 channels of a 3x3 kernel: one block of pixel pairs; 32 or more channels
              // past the whole blocks of 64 (and at least one whole block): one more block.
              const int64_t blocks = channels == 32 && k == 3
                                         ? 1
                                         : channels / 64 + (channels > 64 && channels % 64 >= 32);
              ASSERT_EQ(packed.quad_start.size(), static_cast<size_t>(blocks * 64));
            }
#elif defined(__aarch64__) && defined(__ARM_FEATURE_DOTPROD)
            // 3x3 kernels' whole blocks of 16 take the SDOT column kernel.
            ASSERT_EQ(packed.quad_weights.size(),
                      static_cast<size_t>(k == 3 ? channels / 16 * 3 * 16 * 4 : 0));
#endif
            const mobilenet::Shape os =
                kernels::depthwise_int8_output_shape(is, packed, stride, pad);
            std::vector<int8_t> got(static_cast<size_t>(os.numel()));
            kernels::depthwise_int8(x.data(), is, packed, stride, pad, got.data());
            // Output rows in two pieces, as threads split them, give the same bytes.
            const int64_t rows = os.n * os.h, split = rows / 3;
            std::vector<int8_t> pieces(got.size());
            kernels::depthwise_int8(x.data(), is, packed, stride, pad, pieces.data(), 0, split);
            kernels::depthwise_int8(x.data(), is, packed, stride, pad, pieces.data(), split, rows);
            ASSERT_EQ(pieces, got) << "rows split at " << split;
            const std::vector<int8_t> want =
                reference_depthwise(x, is, w, k, stride, pad, b, m, zp_in, clamp, os);
            for (size_t i = 0; i < want.size(); ++i) {
              ASSERT_EQ(int{got[i]}, int{want[i]})
                  << "channels " << channels << " k " << k << " stride " << stride << " " << h
                  << "x" << wd << " " << mobilenet::to_string(mode) << " at flat index " << i;
              saturated += want[i] == 127 || want[i] == -128;
              ++total;
            }
            ++cases;
          }
  EXPECT_GT(saturated, total / 200);
  EXPECT_LT(saturated, total / 4);
  std::vector<int8_t> w(9 * 4);
  const std::vector<float> m(4, 1.0f);
  const auto packed = kernels::pack_depthwise_int8(w.data(), nullptr, m.data(), 4, 3, 0, {});
  std::vector<int8_t> x(16), y(16);
  expect_error_containing(
      [&] {
        kernels::depthwise_int8(x.data(), {1, 2, 2, 3}, packed, 1, {}, y.data());
      },
      {"int8 depthwise: input has 3 channels, weights 4"});
  expect_error_containing(
      [&] {
        kernels::depthwise_int8(x.data(), {1, 2, 2, 4}, packed, 3, {}, y.data());
      },
      {"stride 3 (expected 1 or 2)"});
  expect_error_containing(
      [&] {
        const std::vector<int8_t> image(3 * 3 * 4);  // one 1x1 output row without padding
        kernels::depthwise_int8(image.data(), {1, 3, 3, 4}, packed, 1, {}, y.data(), 1, 3);
      },
      {"int8 depthwise: output rows [1, 3) outside [0, 1)"});
}

// The largest products: every input -128 or 127 against weights -127 or 127, 25 taps, so that
// pairs of 16-bit products reach their extreme (2 * 128 * 127) where a kernel pairs taps; and a
// weight of -128, which symmetric quantization never gives, is refused.
TEST(DepthwiseInt8, ExtremeProductsStayExactAndWeightMinus128IsRefused) {
  const int k = 5;
  // 88 channels: a block of 64 for the AVX-512 VNNI kernel (four taps per VPDPBUSD) and 24 for
  // the pairs of taps.
  for (const int64_t channels : {24, 88})
    for (const int8_t input : {int8_t{-128}, int8_t{127}})
      for (const int8_t weight : {int8_t{-127}, int8_t{127}}) {
        const mobilenet::Shape is{1, 7, 7, channels};
        const std::vector<int8_t> x(static_cast<size_t>(is.numel()), input);
        const std::vector<int8_t> w(static_cast<size_t>(is.c * k * k), weight);
        const std::vector<int32_t> b(static_cast<size_t>(is.c), 0);
        const std::vector<float> m(static_cast<size_t>(is.c), 1.0f / 4096.0f);
        const auto packed =
            kernels::pack_depthwise_int8(w.data(), b.data(), m.data(), is.c, k, 0, {});
        const mobilenet::Padding pad{2, 2, 2, 2};
        const mobilenet::Shape os = kernels::depthwise_int8_output_shape(is, packed, 1, pad);
        std::vector<int8_t> got(static_cast<size_t>(os.numel()));
        kernels::depthwise_int8(x.data(), is, packed, 1, pad, got.data());
        EXPECT_EQ(got, reference_depthwise(x, is, w, k, 1, pad, b, m, 0, {}, os))
            << channels << " channels, input " << int{input} << ", weight " << int{weight};
      }
  std::vector<int8_t> w(9, 1);
  w[4] = -128;
  const std::vector<float> m(1, 1.0f);
  expect_error_containing(
      [&] { kernels::pack_depthwise_int8(w.data(), nullptr, m.data(), 1, 3, 0, {}); },
      {"int8 depthwise: channel 0 holds weight -128; symmetric int8 weights lie in [-127, 127]"});
}

// The table lookup of hard-swish: the form this build and CPU run (and must run: NEON on every
// AArch64, VBMI where the path has AVX-512 and the CPU VBMI) against the plain loop, over every
// byte value and lengths that leave every tail of the 16- and 64-byte vectors.
TEST(LookupInt8, BestFormMatchesThePlainLoop) {
  const kernels::LookupInt8 best = kernels::best_lookup_int8();
#if defined(__aarch64__)
  EXPECT_EQ(best, kernels::LookupInt8::Neon);
#elif defined(__AVX512BW__) && defined(__AVX512VL__)
  if (mobilenet::cpu_features() & mobilenet::bit(mobilenet::CpuFeature::AVX512VBMI)) {
    EXPECT_EQ(best, kernels::LookupInt8::Avx512Vbmi);
  }
#endif
  std::mt19937 rng(11);
  std::vector<int8_t> table(256);
  for (int8_t& t : table) t = static_cast<int8_t>(rng());
  for (const int64_t n : {0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 255, 256, 293, 1000}) {
    SCOPED_TRACE(n);
    // n values and one byte past the end, which must stay 99.
    std::vector<int8_t> x(static_cast<std::size_t>(n) + 1, int8_t{99});
    for (int64_t i = 0; i < n; ++i)
      x[static_cast<std::size_t>(i)] = static_cast<int8_t>(i * 37 + 5);
    std::vector<int8_t> expected = x;
    kernels::lookup_int8_generic(table.data(), expected.data(), n);
    kernels::lookup_int8(best, table.data(), x.data(), n);
    EXPECT_EQ(x, expected);
    EXPECT_EQ(x[static_cast<std::size_t>(n)], 99);
  }
}

// The residual add in the form this build runs (NEON on AArch64) against the plain loop, over
// lengths that leave every tail of the 16-value step, written over its first input as the block
// does, with multipliers that saturate the output at both ends and zero points at both extremes.
TEST(ResidualAddInt8, BestFormMatchesThePlainLoop) {
  std::mt19937 rng(5);
  const kernels::ResidualAddInt8Params cases[] = {{0, 0, 0, 0.5f, 0.5f},
                                                  {-128, 127, 3, 0.9f, 1.7f},
                                                  {127, -128, -128, 2.5f, 3.1f},
                                                  {-7, 12, 127, 0.013f, 0.21f},
                                                  {40, -90, -20, 1.0f, 1.0f}};
  for (const kernels::ResidualAddInt8Params& p : cases)
    for (const int64_t n : {0, 1, 15, 16, 17, 31, 33, 100, 1000}) {
      SCOPED_TRACE(testing::Message() << "zero points " << p.za << ", " << p.zb << ", " << p.zo
                                      << ", multipliers " << p.ma << ", " << p.mb << ", n " << n);
      std::vector<int8_t> a(static_cast<std::size_t>(n)), b(a.size());
      for (int8_t& v : a) v = static_cast<int8_t>(rng());
      for (int8_t& v : b) v = static_cast<int8_t>(rng());
      std::vector<int8_t> expected(a.size());
      kernels::residual_add_int8_generic(p, a.data(), b.data(), expected.data(), n);
      kernels::residual_add_int8(p, a.data(), b.data(), a.data(), n);
      EXPECT_EQ(a, expected);
    }
}

// Quantizing floats in the form this build runs (NEON on AArch64) against the plain loop: values
// on and beside rounding ties, far outside the int8 range, infinities and NaN, over lengths that
// leave every tail of the 16-value step, with zero points at both extremes.
TEST(QuantizeInt8, BestFormMatchesThePlainLoop) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  const mobilenet::quant::QuantParams cases[] = {{0.02f, 0},        {0.5f, -128}, {0.5f, 127},
                                                 {1.0f / 3.0f, 17}, {1e-30f, -5}, {7.25f, -128}};
  const float specials[] = {std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(),
                            -0.0f,
                            1e30f,
                            -1e30f,
                            3e9f,
                            -3e9f,
                            40000.0f,
                            -40000.0f};
  for (const mobilenet::quant::QuantParams& p : cases)
    for (const int64_t n : {0, 1, 15, 16, 17, 33, 100, 1000}) {
      SCOPED_TRACE(testing::Message()
                   << "scale " << p.scale << ", zero point " << p.zero_point << ", n " << n);
      std::vector<float> x(static_cast<std::size_t>(n));
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (i % 7 == 3) {
          x[i] = specials[i % std::size(specials)];
        } else if (i % 5 == 1) {  // a tie of x / scale, or next to one
          const float tie = (std::round(normal(rng) * 40.0f) + 0.5f) * p.scale;
          x[i] = std::nextafter(tie, i % 3 == 0 ? tie : (i % 3 == 1 ? 1e38f : -1e38f));
        } else {
          x[i] = normal(rng) * p.scale * 30.0f;
        }
      }
      std::vector<int8_t> expected(x.size()), got(x.size());
      mobilenet::quant::quantize(x.data(), n, p, expected.data());
      kernels::quantize_int8(x.data(), n, p, got.data());
      EXPECT_EQ(got, expected);
    }
}

// The int8 global average pool (SE's squeeze and the classifier's input) against its stated
// arithmetic, summed plainly, over channel counts that leave every remainder of its 16- and
// 4-channel blocks and a batch of two.
TEST(GlobalAveragePoolInt8, MatchesTheStatedArithmetic) {
  std::mt19937 rng(3);
  const mobilenet::quant::QuantParams p{0.037f, -11};
  for (const int64_t c : {1, 3, 4, 5, 15, 16, 17, 20, 33, 72, 88}) {
    const mobilenet::Shape s{2, 5, 7, c};
    std::vector<int8_t> x(static_cast<std::size_t>(s.numel()));
    for (int8_t& v : x) v = static_cast<int8_t>(rng());
    std::vector<float> got(static_cast<std::size_t>(2 * c));
    mobilenet::global_average_pool_int8(x.data(), s, p, got.data());
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t k = 0; k < c; ++k) {
        int32_t sum = 0;
        for (int64_t px = 0; px < 35; ++px)
          sum += x[static_cast<std::size_t>((n * 35 + px) * c + k)];
        const float want =
            p.scale * (static_cast<float>(sum) / 35.0f - static_cast<float>(p.zero_point));
        EXPECT_EQ(got[static_cast<std::size_t>(n * c + k)], want)
            << c << " channels, image " << n << ", channel " << k;
      }
  }
}

}  // namespace
