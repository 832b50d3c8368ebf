// Every kernel against the scalar reference on awkward shapes: channel counts that are not a
// multiple of any SIMD width, kernels 3 and 5, strides 1 and 2, 1x1 to 15x7 images, symmetric
// and asymmetric (TF "same") padding, every activation, 1 and 2 threads.

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "mobilenet/kernels/pool.hpp"
#include "mobilenet/layers/conv2d.hpp"
#include "mobilenet/layers/depthwise_conv2d.hpp"
#include "mobilenet/layers/pointwise_conv2d.hpp"
#include "reference.hpp"

namespace {

using mobilenet::Activation;
using mobilenet::Padding;
using mobilenet::PaddingMode;
using mobilenet::Shape;

std::vector<float> random_vector(int64_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(rng);
  return v;
}

// Scalar-vs-fast tolerance: float32 sums of the same terms in another order differ by at most
// a few ulps of the sum of absolute terms; 1e-5 of it leaves room for ~80 terms' worth of rounding.
void expect_close(const reference::ConvResult& ref, const float* got, const std::string& what) {
  for (size_t i = 0; i < ref.out.size(); ++i) {
    const double tol = 1e-5 * std::max(1.0, ref.magnitude[i]);
    ASSERT_NEAR(got[i], ref.out[i], tol) << what << " at flat index " << i;
  }
}

const Activation kActivations[] = {Activation::Identity, Activation::ReLU, Activation::ReLU6,
                                   Activation::HardSwish, Activation::HardSigmoid};

TEST(Pointwise, MatchesReferenceOnOddShapes) {
  uint32_t seed = 1;
  // rows 13 and 37: packed groups of 12 rows on AArch64 plus a tail; cin 700: two packed groups
  // per block; cin 1400: too wide to pack, the unpacked tiles. cout 200: enough weight panels
  // for threads to split the channels of the 1- and 5-row cases; with cin 700 and 1400, weights
  // large enough for balanced tiles in blocks of equal size (rows 100: 2 or 3 blocks on x86);
  // cin 1400 x cout 200 (1.1 MB) with at most 64 rows: threads split the channels. cout 24:
  // pairs of rows on AVX-512 (pair_tile), 16 rows a tile, then the usual tiles; at 2 and 3
  // threads the rows 100 shares run balanced tiles, which ASSERT_EQ compares with pair_tile.
  // Rows 37 and 100 with small weights: runs of whole tiles in one call (tile_run) and a tail;
  // rows 17 with cin 1400 and 1 or 2 weight panels: the same on AArch64's unpacked path.
  for (int64_t cin : {1, 3, 7, 17, 33, 64, 700, 1400})
    for (int64_t cout : {1, 3, 7, 16, 17, 24, 33, 40, 200})
      for (int64_t rows : {1, 5, 9, 13, 17, 37, 100})
        for (bool residual : {false, true}) {
          const Activation act = kActivations[seed % 5];
          const Shape is{1, 1, rows, cin};
          const auto x = random_vector(is.numel(), seed++, -4, 4);
          const auto w = random_vector(cout * cin, seed++);
          const auto b = random_vector(cout, seed++);
          const auto res = random_vector(rows * cout, seed++);
          const auto ref =
              reference::conv(x, is, w, b, cout, 1, 1, {}, 1, act, residual ? res.data() : nullptr);
          const mobilenet::PointwiseConv2d layer({cin, cout, act}, w.data(), b.data());
          std::vector<float> single_thread;
          for (int threads : {1, 2, 3}) {
            mobilenet::ThreadPool pool(threads);
            mobilenet::Tensor out(ref.shape);
            layer.forward({x.data(), is}, out, pool, residual ? res.data() : nullptr);
            if (threads == 1) single_thread.assign(out.data(), out.data() + out.numel());
            for (int64_t i = 0; i < out.numel(); ++i)  // whatever the split: rows or channels
              ASSERT_EQ(out.data()[i], single_thread[static_cast<size_t>(i)])
                  << "pointwise cin " << cin << " rows " << rows << " cout " << cout << " threads "
                  << threads << " at flat index " << i;
            expect_close(ref, out.data(),
                         "pointwise cin " + std::to_string(cin) + " cout " + std::to_string(cout) +
                             " rows " + std::to_string(rows) + " act " + to_string(act) +
                             " residual " + std::to_string(residual) + " threads " +
                             std::to_string(threads));
          }
        }
}

// TensorFlow's "SAME" rule by hand: out = ceil(in / s), total = max((out - 1) * s + k - in, 0),
// the odd pixel after. Even sides at stride 2 pad only after; odd sides and stride 1 alike.
TEST(Padding, TfSameFollowsTensorFlowsRule) {
  struct Case {
    int64_t in;
    int k, s, before, after;
  };
  const Case cases[] = {{224, 3, 2, 0, 1}, {225, 3, 2, 1, 1}, {112, 3, 1, 1, 1}, {7, 5, 2, 2, 2},
                        {8, 5, 2, 1, 2},   {14, 5, 1, 2, 2},  {1, 3, 2, 1, 1},   {2, 3, 2, 0, 1},
                        {193, 5, 2, 2, 2}, {1, 5, 1, 2, 2}};
  for (const Case& c : cases) {
    const Padding p = mobilenet::resolve_padding(PaddingMode::TfSame, c.k, c.s, c.in, 10);
    EXPECT_EQ(p.top, c.before) << "in " << c.in << " k " << c.k << " s " << c.s;
    EXPECT_EQ(p.bottom, c.after) << "in " << c.in << " k " << c.k << " s " << c.s;
    EXPECT_EQ(mobilenet::conv_output_size(c.in, c.k, c.s, p.top, p.bottom), (c.in + c.s - 1) / c.s);
  }
  const Padding torch = mobilenet::resolve_padding(PaddingMode::Torch, 5, 2, 224, 225);
  EXPECT_TRUE(torch.top == 2 && torch.left == 2 && torch.bottom == 2 && torch.right == 2);
}

TEST(Depthwise, MatchesReferenceOnOddShapes) {
  uint32_t seed = 100;
  // 9x23: rows and columns with every tap inside, several 4-column steps at both strides.
  // 40 rows: more than one call's worth of rows (kernels::kRowsPerCall) per thread.
  const std::pair<int64_t, int64_t> sizes[] = {{1, 1}, {2, 3},  {7, 5}, {15, 7},
                                               {4, 4}, {9, 23}, {40, 9}};
  for (int k : {3, 5})
    for (int stride : {1, 2})
      for (int64_t c : {1, 3, 7, 16, 17, 33, 67, 256})  // 256: pixel-major rows on x86
        for (auto [h, w] : sizes)
          for (PaddingMode mode : {PaddingMode::Torch, PaddingMode::TfSame}) {
            const Activation act = kActivations[seed % 5];
            // PyTorch pads (k-1)/2 on every side; TF "same" depends on the size: at stride 2 an
            // even side gets its extra pixel at the bottom/right only.
            const Padding pad = mobilenet::resolve_padding(mode, k, stride, h, w);
            const Shape is{2, h, w, c};
            const auto x = random_vector(is.numel(), seed++, -4, 4);
            const auto wt = random_vector(c * k * k, seed++);
            const auto b = random_vector(c, seed++);
            const auto ref = reference::conv(x, is, wt, b, c, k, stride, pad, c, act);
            const mobilenet::DepthwiseConv2d layer({c, k, stride, mode, act}, wt.data(), b.data());
            ASSERT_EQ(layer.output_shape(is), ref.shape);
            if (ref.shape.h < 1 || ref.shape.w < 1) continue;
            for (int threads : {1, 2}) {
              mobilenet::ThreadPool pool(threads);
              mobilenet::Tensor out(ref.shape);
              layer.forward({x.data(), is}, out, pool);
              expect_close(ref, out.data(),
                           "depthwise k" + std::to_string(k) + " s" + std::to_string(stride) +
                               " c" + std::to_string(c) + " " + std::to_string(h) + "x" +
                               std::to_string(w) + (mode == PaddingMode::TfSame ? " tf-same" : "") +
                               " act " + to_string(act) + " threads " + std::to_string(threads));
            }
          }
}

// Rows of more floats than kernels::zero_row provides: the rows above and below the image skip
// their missing taps instead of reading zeros (both the channel-major and, with 256 channels on
// x86, the pixel-major path).
TEST(Depthwise, MatchesReferenceOnRowsWiderThanTheZeroRow) {
  uint32_t seed = 400;
#if !defined(EIGEN_VECTORIZE_NEON)
  ASSERT_TRUE(mobilenet::kernels::depthwise_detail::pixel_major(256, 1));
  ASSERT_TRUE(mobilenet::kernels::depthwise_detail::pixel_major(256, 2));
  ASSERT_FALSE(mobilenet::kernels::depthwise_detail::pixel_major(67, 1));
#endif
  for (auto [w, c] : {std::pair<int64_t, int64_t>{1000, 33}, {500, 67}, {160, 256}})
    for (int k : {3, 5})
      for (int stride : {1, 2}) {
        ASSERT_EQ(mobilenet::kernels::zero_row(w * c), nullptr);
        const Activation act = kActivations[seed % 5];
        const Shape is{1, 5, w, c};
        const auto x = random_vector(is.numel(), seed++, -4, 4);
        const auto wt = random_vector(c * k * k, seed++);
        const auto b = random_vector(c, seed++);
        const Padding pad = Padding::symmetric((k - 1) / 2);
        const auto ref = reference::conv(x, is, wt, b, c, k, stride, pad, c, act);
        const mobilenet::DepthwiseConv2d layer({c, k, stride, PaddingMode::Torch, act}, wt.data(),
                                               b.data());
        mobilenet::ThreadPool pool(2);
        mobilenet::Tensor out(ref.shape);
        layer.forward({x.data(), is}, out, pool);
        expect_close(ref, out.data(),
                     "depthwise k" + std::to_string(k) + " s" + std::to_string(stride) + " c" +
                         std::to_string(c) + " width " + std::to_string(w));
      }
}

// Copies contiguous NHWC `x` of `s` into pixels `stride` floats apart, the padding NaN: a kernel
// that read it would turn its outputs NaN.
std::vector<float> padded_copy(const std::vector<float>& x, const Shape& s, int64_t stride) {
  std::vector<float> p(static_cast<size_t>(s.pixels() * stride), std::nanf(""));
  for (int64_t i = 0; i < s.pixels(); ++i)
    std::copy_n(x.data() + i * s.c, s.c, p.data() + i * stride);
  return p;
}

// Checks `padded` (pixels `stride` apart) against contiguous `expected` bit for bit, and that
// the padding still holds `fill` (never written).
void expect_same_padded(const std::vector<float>& padded, const mobilenet::Tensor& expected,
                        int64_t stride, float fill, const std::string& what) {
  const int64_t c = expected.shape().c;
  for (int64_t p = 0; p < expected.shape().pixels(); ++p)
    for (int64_t i = 0; i < stride; ++i) {
      const float got = padded[static_cast<size_t>(p * stride + i)];
      if (i < c)
        ASSERT_EQ(got, expected.data()[p * c + i]) << what << " pixel " << p << " channel " << i;
      else
        ASSERT_EQ(got, fill) << what << ": padding written, pixel " << p << " lane " << i;
    }
}

// Padded activations (a pixel stride above the channel count, as a model keeps between V1's
// blocks): the same outputs bit for bit as contiguous tensors, the input padding never read and
// the output padding never written. Pointwise: residual laid out like the output; cout 24 would
// take pair tiles when contiguous (AVX-512); rows 100 with cin 700: balanced tiles.
TEST(Padded, PointwiseMatchesContiguous) {
  uint32_t seed = 700;
  for (int64_t cin : {7, 64, 700})
    for (int64_t cout : {17, 24, 64})
      for (int64_t rows : {5, 37, 100})
        for (bool residual : {false, true}) {
          const Activation act = kActivations[seed % 5];
          const int64_t in_stride = cin + 16 + seed % 3, out_stride = cout + 16;
          const Shape is{1, 1, rows, cin}, os{1, 1, rows, cout};
          const auto x = random_vector(is.numel(), seed++, -4, 4);
          const auto w = random_vector(cout * cin, seed++);
          const auto b = random_vector(cout, seed++);
          const auto res = random_vector(os.numel(), seed++);
          const auto x_padded = padded_copy(x, is, in_stride);
          const auto res_padded = padded_copy(res, os, out_stride);
          const mobilenet::PointwiseConv2d layer({cin, cout, act}, w.data(), b.data());
          for (int threads : {1, 2}) {
            mobilenet::ThreadPool pool(threads);
            mobilenet::Tensor expected(os);
            layer.forward({x.data(), is}, expected, pool, residual ? res.data() : nullptr);
            std::vector<float> got(static_cast<size_t>(rows * out_stride), -7.0f);
            layer.forward({x_padded.data(), is, in_stride}, {got.data(), os, out_stride}, pool,
                          residual ? res_padded.data() : nullptr);
            expect_same_padded(got, expected, out_stride, -7.0f,
                               "padded pointwise cin " + std::to_string(cin) + " cout " +
                                   std::to_string(cout) + " rows " + std::to_string(rows) +
                                   " threads " + std::to_string(threads));
          }
        }
}

// Depthwise on padded input and output (the same pixel stride, which the layer requires): 256
// channels run pixel-major when contiguous (x86) and channel-major padded, as in V1; 33: a last
// packet overlapping the one before.
TEST(Padded, DepthwiseMatchesContiguous) {
  uint32_t seed = 800;
  for (int k : {3, 5})
    for (int stride : {1, 2})
      for (int64_t c : {16, 33, 256})
        for (auto [h, w] : {std::pair<int64_t, int64_t>{9, 23}, {20, 6}}) {
          const Activation act = kActivations[seed % 5];
          const int64_t px = seed % 2 ? mobilenet::kernels::padded_pixel_stride(c) : c + 17;
          const Shape is{2, h, w, c};
          const auto x = random_vector(is.numel(), seed++, -4, 4);
          const auto wt = random_vector(c * k * k, seed++);
          const auto b = random_vector(c, seed++);
          const auto x_padded = padded_copy(x, is, px);
          const mobilenet::DepthwiseConv2d layer({c, k, stride, PaddingMode::Torch, act}, wt.data(),
                                                 b.data());
          const Shape os = layer.output_shape(is);
          for (int threads : {1, 2}) {
            mobilenet::ThreadPool pool(threads);
            mobilenet::Tensor expected(os);
            layer.forward({x.data(), is}, expected, pool);
            std::vector<float> got(static_cast<size_t>(os.pixels() * px), -7.0f);
            layer.forward({x_padded.data(), is, px}, {got.data(), os, px}, pool);
            expect_same_padded(got, expected, px, -7.0f,
                               "padded depthwise k" + std::to_string(k) + " s" +
                                   std::to_string(stride) + " c" + std::to_string(c) + " " +
                                   std::to_string(h) + "x" + std::to_string(w) + " threads " +
                                   std::to_string(threads) + " pixel stride " + std::to_string(px));
          }
        }
}

// Fewer channels than one packet on tensors whose pixel stride is a multiple of 1 KiB (C = 8 on
// AVX-512 and C = 3 everywhere, pixels 256 floats apart): the stride alone would send x86 to the
// pixel-major loop, which walks whole packets and so read and wrote before the buffers. Guard
// zones before and after input (NaN: a read turns outputs NaN) and output (never written).
TEST(Padded, DepthwiseWithFewerChannelsThanAPacketStaysInItsBuffers) {
  constexpr int64_t kGuard = 64, kStride = 256;
  uint32_t seed = 900;
  for (int k : {3, 5})
    for (int stride : {1, 2})
      for (int64_t c : {3, 8}) {
        const Activation act = kActivations[seed % 5];
        const Shape is{1, 7, 6, c};
        const auto x = random_vector(is.numel(), seed++, -4, 4);
        const auto wt = random_vector(c * k * k, seed++);
        const auto b = random_vector(c, seed++);
        std::vector<float> x_guarded(static_cast<size_t>(kGuard), std::nanf(""));
        const auto x_padded = padded_copy(x, is, kStride);
        x_guarded.insert(x_guarded.end(), x_padded.begin(), x_padded.end());
        x_guarded.resize(x_guarded.size() + kGuard, std::nanf(""));
        const mobilenet::DepthwiseConv2d layer({c, k, stride, PaddingMode::Torch, act}, wt.data(),
                                               b.data());
        const Shape os = layer.output_shape(is);
        mobilenet::ThreadPool pool(1);
        mobilenet::Tensor expected(os);
        layer.forward({x.data(), is}, expected, pool);
        std::vector<float> out(static_cast<size_t>(os.pixels() * kStride + 2 * kGuard), -7.0f);
        layer.forward({x_guarded.data() + kGuard, is, kStride}, {out.data() + kGuard, os, kStride},
                      pool);
        const std::string what = "depthwise k" + std::to_string(k) + " s" + std::to_string(stride) +
                                 " c" + std::to_string(c) + " pixel stride 256";
        for (int64_t i = 0; i < kGuard; ++i) {
          ASSERT_EQ(out[static_cast<size_t>(i)], -7.0f) << what << ": wrote before the output";
          ASSERT_EQ(out[out.size() - 1 - static_cast<size_t>(i)], -7.0f)
              << what << ": wrote after the output";
        }
        expect_same_padded(std::vector<float>(out.begin() + kGuard, out.end() - kGuard), expected,
                           kStride, -7.0f, what);
      }
}

// The layers that take contiguous tensors only say so instead of misreading a padded one, and the
// depthwise layer rejects an output padded unlike its input.
TEST(Padded, LayersRejectTensorsTheyCannotRead) {
  const std::vector<float> w(4 * 3 * 9, 0.1f), b(4, 0.0f), x(5 * 5 * 8, 1.0f);
  const mobilenet::Conv2d stem({3, 4, 3, 2, PaddingMode::Torch, Activation::ReLU}, w.data(),
                               b.data());
  mobilenet::ThreadPool pool(1);
  mobilenet::Tensor out(stem.output_shape({1, 5, 5, 3}));
  try {
    stem.forward({x.data(), {1, 5, 5, 3}, 8}, out, pool);
    FAIL() << "Conv2d accepted a padded input";
  } catch (const mobilenet::Error& e) {
    EXPECT_NE(std::string(e.what()).find("Conv2d: input [1, 5, 5, 3] (NHWC) is padded (pixel "
                                         "stride 8)"),
              std::string::npos)
        << e.what();
  }
  const mobilenet::PointwiseConv2d pw({3, 4, Activation::ReLU}, w.data(), b.data());
  mobilenet::Tensor pw_out({1, 5, 5, 4});
  try {
    pw.forward({x.data(), {1, 5, 5, 3}, 2}, pw_out, pool);
    FAIL() << "PointwiseConv2d accepted overlapping pixels";
  } catch (const mobilenet::Error& e) {
    EXPECT_NE(std::string(e.what()).find("has pixel stride 2, below its 3 channels"),
              std::string::npos)
        << e.what();
  }
  const mobilenet::DepthwiseConv2d dw({3, 3, 1, PaddingMode::Torch, Activation::ReLU}, w.data(),
                                      b.data());
  std::vector<float> y(5 * 5 * 8);
  try {
    dw.forward({x.data(), {1, 5, 5, 3}, 8}, {y.data(), {1, 5, 5, 3}}, pool);
    FAIL() << "DepthwiseConv2d accepted strides 8 and 3";
  } catch (const mobilenet::Error& e) {
    EXPECT_NE(std::string(e.what()).find("input pixel stride 8 differs from the output's 3"),
              std::string::npos)
        << e.what();
  }
}

TEST(Conv2d, StemMatchesReference) {
  uint32_t seed = 500;
  // 5x37: output rows with 2-4 whole tiles of interior pixels (read straight from the input when
  // cin is 3) and gathered pixels on both sides, at both strides; the small sizes: gathered only.
  const std::pair<int64_t, int64_t> sizes[] = {{1, 1}, {3, 2}, {15, 7}, {9, 9}, {5, 37}};
  for (int64_t cin : {1, 3, 4})
    for (int64_t cout : {1, 7, 16, 17, 33})
      for (int stride : {1, 2})
        for (auto [h, w] : sizes) {
          const Activation act = kActivations[seed % 5];
          const Shape is{2, h, w, cin};
          // PyTorch's padding, or TF "same" (at stride 2 on an even side, the extra pixel bottom
          // or right).
          const PaddingMode mode = seed % 2 ? PaddingMode::TfSame : PaddingMode::Torch;
          const Padding pad = mobilenet::resolve_padding(mode, 3, stride, h, w);
          const auto x = random_vector(is.numel(), seed++, -2, 2);
          const auto wt = random_vector(cout * cin * 9, seed++);
          const auto b = random_vector(cout, seed++);
          const auto ref = reference::conv(x, is, wt, b, cout, 3, stride, pad, 1, act);
          const mobilenet::Conv2d layer({cin, cout, 3, stride, mode, act}, wt.data(), b.data());
          for (int threads : {1, 2}) {
            mobilenet::ThreadPool pool(threads);
            mobilenet::Tensor out(ref.shape);
            layer.forward({x.data(), is}, out, pool);
            expect_close(ref, out.data(),
                         "conv cin " + std::to_string(cin) + " cout " + std::to_string(cout) +
                             " s" + std::to_string(stride) + " " + std::to_string(h) + "x" +
                             std::to_string(w));
          }
        }
}

TEST(Pool, GlobalAverageAndChannelScale) {
  // 150 = 2 groups of kPoolPackets 16-float packets + 1 packet + 6 channels on AVX-512.
  for (int64_t c : {1, 7, 16, 33, 67, 150})
    for (auto [h, w] : {std::pair<int64_t, int64_t>{1, 1}, {7, 5}, {3, 8}}) {
      const Shape s{3, h, w, c};
      auto x = random_vector(s.numel(), static_cast<uint32_t>(c * 31 + h));
      std::vector<float> pooled(static_cast<size_t>(s.n * c));
      mobilenet::kernels::global_average_pool({x.data(), s}, pooled.data(), 0, s.n);
      for (int64_t n = 0; n < s.n; ++n)
        for (int64_t ch = 0; ch < c; ++ch) {
          double sum = 0;
          for (int64_t p = 0; p < h * w; ++p)
            sum += x[static_cast<size_t>((n * h * w + p) * c + ch)];
          ASSERT_NEAR(pooled[static_cast<size_t>(n * c + ch)], sum / double(h * w), 1e-6);
        }
      // The same means from row sums (SE's threads split the rows), whatever the split.
      std::vector<float> row_sums(static_cast<size_t>(s.n * h * c)), from_rows(pooled.size());
      mobilenet::kernels::sum_rows({x.data(), s}, row_sums.data(), 0, 1);
      mobilenet::kernels::sum_rows({x.data(), s}, row_sums.data(), 1, s.n * h);
      mobilenet::kernels::mean_of_row_sums(row_sums.data(), s, from_rows.data(), 0, s.n);
      for (size_t i = 0; i < pooled.size(); ++i) ASSERT_NEAR(from_rows[i], pooled[i], 1e-6);
      const auto scale = random_vector(s.n * c, 7);
      const auto before = x;
      mobilenet::kernels::scale_channels({x.data(), s}, scale.data(), 0, s.n * h);
      for (size_t i = 0; i < x.size(); ++i) {
        const int64_t ch = static_cast<int64_t>(i) % c, n = static_cast<int64_t>(i) / (h * w * c);
        ASSERT_FLOAT_EQ(x[i], before[i] * scale[static_cast<size_t>(n * c + ch)]);
      }
    }
}

TEST(ThreadPool, CoversEveryItemOnceInGrainAlignedChunks) {
  for (int threads : {1, 2, 3})
    for (int64_t count : {0, 1, 7, 64, 1001})
      for (int64_t grain : {1, 4, 8}) {
        mobilenet::ThreadPool pool(threads);
        std::vector<std::atomic<int>> hits(static_cast<size_t>(count));
        pool.parallel_for(count, grain, [&](int64_t b, int64_t e) {
          EXPECT_EQ(b % grain, 0);
          for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
        });
        for (auto& h : hits) ASSERT_EQ(h.load(), 1);
      }
  EXPECT_THROW(mobilenet::ThreadPool(0), mobilenet::Error);
}

}  // namespace
