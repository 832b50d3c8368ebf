// The int8 network (Precision::int8) against the float model it was quantized from.
//
// Each parity fixture (tools/make_fixtures.py: torchvision's four architectures with calibrated
// BatchNorm statistics) is quantized with its own input as the calibration batch, and its int8
// logits compared with the float logits as a signal-to-quantization-noise ratio,
// SQNR = 10 log10(sum f^2 / sum (q - f)^2). These networks are hard to quantize: weights drawn at
// random, noise images, one or two of them to calibrate on, and only the noise of 20-60 int8
// layers between input and logits (measured 6.7-22.8 dB per channel; a wrong zero point, scale or
// table gives 0 dB or less). The bound, 5 dB, catches broken arithmetic, not small losses: those
// the trained digits model measures below. Per-channel weight scales must beat per-tensor ones
// over the fixtures.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>

#include "mobilenet/mobilenet.hpp"
#include "parity_helpers.hpp"

namespace {

using namespace mobilenet;

using parity::Case;
using parity::kFixtures;

std::vector<Case> all_cases() {
  return parity::fixture_cases();
}

Tensor read_input(const Case& c) {
  return parity::case_input(kFixtures + "/" + c.name + "/input.npy", c);
}

std::vector<float> run(const Model& m, const Tensor& x, int threads) {
  Workspace ws = m.workspace({x.shape().n, x.shape().h, x.shape().w, threads});
  const ConstTensorView y = m.forward(x, ws);
  return {y.data, y.data + y.numel()};
}

double sqnr_db(const std::vector<float>& ref, const std::vector<float>& q) {
  double signal = 0, noise = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    signal += double(ref[i]) * ref[i];
    noise += (double(q[i]) - ref[i]) * (double(q[i]) - ref[i]);
  }
  return 10 * std::log10(signal / std::max(noise, 1e-30));
}

TEST(Int8Model, ParityFixturesStayCloseToFloat) {
  double sum_channel = 0, sum_tensor = 0;
  for (const Case& c : all_cases()) {
    SCOPED_TRACE(c.name);
    const std::string path = kFixtures + "/" + c.name + "/weights.safetensors";
    const LoadOptions lo{parse_arch(c.arch), c.width, c.classes};
    const Tensor x = read_input(c);
    const Model f = load(path, lo);
    const Model q = quantize(path, x, {}, lo);
    QuantizeOptions per_tensor;
    per_tensor.per_channel = false;
    const Model t = quantize(path, x, per_tensor, lo);
    ASSERT_EQ(q.precision(), Precision::int8);
    const std::vector<float> yf = run(f, x, 1), yq = run(q, x, 1), yt = run(t, x, 1);
    const double db = sqnr_db(yf, yq), db_tensor = sqnr_db(yf, yt);
    std::printf("[int8] %-24s logits SQNR %5.1f dB per channel, %5.1f dB per tensor\n",
                c.name.c_str(), db, db_tensor);
    EXPECT_GT(db, 5.0);
    sum_channel += db;
    sum_tensor += db_tensor;
  }
  EXPECT_GT(sum_channel, sum_tensor) << "per-channel weight scales lost to per-tensor ones";
}

TEST(Int8Model, ResultsDoNotDependOnThreadCount) {
  for (const Case& c : all_cases()) {
    if (c.batch < 2 || c.width != 1.0) continue;
    SCOPED_TRACE(c.name);
    const std::string path = kFixtures + "/" + c.name + "/weights.safetensors";
    const Tensor x = read_input(c);
    const Model q = quantize(path, x, {}, {parse_arch(c.arch), c.width, c.classes});
    const std::vector<float> y1 = run(q, x, 1), y2 = run(q, x, 2), y3 = run(q, x, 3);
    EXPECT_EQ(y1, y2);
    EXPECT_EQ(y1, y3);
  }
}

}  // namespace

namespace {

// The trained digits models (V3-Small, V2, V1) quantized with 100 training images, on the whole
// held-out split: int8 top-1 within 0.5 points of float32 and at least 99% of predictions equal
// (issue 20's bar) with per-channel weights and min/max ranges, the default; per-tensor weights
// and percentile ranges printed for comparison.
namespace {

// The held-out digits split and the calibration batch, NHWC, as the digits int8 tests use them.
struct DigitsData {
  Tensor input, calibration;
  NpyArray labels;
  int64_t images = 0;
};

DigitsData read_digits() {
  const std::string dir = kFixtures + "/digits";
  const NpyArray input = read_npy(dir + "/input.npy"), cal = read_npy(dir + "/calibration.npy");
  const int64_t n = input.shape[0], h = input.shape[2], w = input.shape[3];
  DigitsData d{Tensor({n, h, w, 3}), Tensor({cal.shape[0], h, w, 3}),
               read_npy(dir + "/labels_f32.npy"), n};
  nchw_to_nhwc(input.data.data(), d.input);
  nchw_to_nhwc(cal.data.data(), d.calibration);
  return d;
}

struct DigitsResult {
  parity::Predictions predictions;
  double sqnr_db = 0;
};

// Quantizes one digits model with the options and prints its accuracy against float32.
DigitsResult quantize_digits(const std::string& arch, const DigitsData& d,
                             const QuantizeOptions& o) {
  const std::string path = parity::digits_weights(arch);
  const std::vector<float> yf = run(load(path), d.input, 2),
                           yq = run(quantize(path, d.calibration, o), d.input, 2);
  const DigitsResult r{parity::compare_predictions(yf, yq, d.labels), sqnr_db(yf, yq)};
  const parity::Predictions& p = r.predictions;
  std::printf(
      "[int8 digits %s] %s weights, %s ranges: %lld held-out images, float32 %.2f%%, int8 "
      "%.2f%%, same prediction %.2f%%, logits SQNR %.1f dB\n",
      arch.c_str(), o.per_channel ? "per-channel" : "per-tensor", method_name(o).c_str(),
      static_cast<long long>(d.images), p.percent(p.right_a), p.percent(p.right_b),
      p.percent(p.same), r.sqnr_db);
  return r;
}

}  // namespace

// The default scheme (per-channel weights, min/max ranges) on three trained networks: int8 top-1
// within half a point of float32 and at least 99% of the predictions the same (issue 20's bars).
TEST(Int8Model, DigitsKeepFloatAccuracy) {
  const DigitsData d = read_digits();
  for (const std::string& arch : parity::kDigitsArchs) {
    SCOPED_TRACE(arch);
    const parity::Predictions p = quantize_digits(arch, d, QuantizeOptions{}).predictions;
    EXPECT_GE(p.percent(p.right_b), p.percent(p.right_a) - 0.5);
    EXPECT_GE(p.percent(p.same), 99.0);
  }
}

// The alternatives the design note compares against: per-tensor weights lose signal against
// per-channel on every network (BatchNorm folding spreads the channels' ranges: Krishnamoorthi
// 2018, "Quantizing deep convolutional networks for efficient inference"); percentile ranges are
// printed for the note. Integer arithmetic is the same on
// every path, so the qemu suites leave this comparison to the native one.
TEST(Int8Model, DigitsPerTensorWeightsLoseSignal) {
  const DigitsData d = read_digits();
  QuantizeOptions per_tensor, percentile;
  per_tensor.per_channel = false;
  percentile.method = RangeMethod::percentile;
  for (const std::string& arch : parity::kDigitsArchs) {
    SCOPED_TRACE(arch);
    const double per_channel_db = quantize_digits(arch, d, QuantizeOptions{}).sqnr_db;
    EXPECT_LT(quantize_digits(arch, d, per_tensor).sqnr_db, per_channel_db);
    quantize_digits(arch, d, percentile);
  }
}

TEST(Int8Model, RefusesBadCalibration) {
  const std::string path =
      std::string(MOBILENET_SOURCE_DIR) + "/examples/data/digits_v3_small.safetensors";
  const Tensor four_channels({1, 32, 32, 4});
  EXPECT_THROW(
      try { quantize(path, four_channels); } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("3-channel"), std::string::npos) << e.what();
        throw;
      },
      Error);
  Tensor nan({1, 32, 32, 3});
  nan.data()[5] = std::nanf("");
  EXPECT_THROW(
      try { quantize(path, nan); } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("not finite"), std::string::npos) << e.what();
        throw;
      },
      Error);
}

// The percentile method clips what min/max keeps: 10000 values in [-1, 1) with one outlier on
// each side. Its ends lie within a histogram bin (1/32 of the value) of the exact percentile,
// outward; 100 keeps every value, like min/max. A quantized file records the method.
TEST(Int8Model, PercentileRangesClipOutliersAndAreRecorded) {
  quant::RangeObserver r;
  std::vector<float> v;
  for (int i = 0; i < 10000; ++i) v.push_back(static_cast<float>(i - 5000) / 5000.0f);
  v.push_back(-80.0f);
  v.push_back(300.0f);
  r.observe(v.data(), static_cast<int64_t>(v.size()), "values");
  QuantizeOptions o;
  EXPECT_EQ(r.range(o, "values").lo, -80.0f);
  EXPECT_EQ(r.range(o, "values").hi, 300.0f);
  o.method = RangeMethod::percentile;
  o.percentile = 99.9;  // 10 of the 10002 values beyond each end: the outlier and 9 others
  const auto [lo, hi] = r.range(o, "values");
  EXPECT_LE(lo, -0.9982f);
  EXPECT_GE(lo, -0.9982f * (1 + 1.0f / 32));
  EXPECT_GE(hi, 0.998f);
  EXPECT_LE(hi, 0.998f * (1 + 1.0f / 32));
  o.percentile = 100;
  EXPECT_EQ(r.range(o, "values").lo, -80.0f);
  EXPECT_EQ(r.range(o, "values").hi, 300.0f);

  const std::string path = parity::digits_weights("v2");
  const NpyArray cal = read_npy(kFixtures + "/digits/calibration.npy");
  Tensor c({cal.shape[0], cal.shape[2], cal.shape[3], 3});
  nchw_to_nhwc(cal.data.data(), c);
  o.percentile = 99.9;
  const std::string saved = testing::TempDir() + "/digits_v2_percentile.int8.safetensors";
  save_int8(quantize(path, c, o), saved);
  EXPECT_EQ(SafetensorsFile::open(saved).metadata().at("quant_method"), "percentile 99.9");
  o.percentile = 50;
  EXPECT_THROW(quantize(path, c, o), Error);
}

}  // namespace

namespace {

// An int8 model written with save_int8 loads back (mobilenet::load, by its metadata) into the
// same network: bit-identical logits, the same summary; the file is refused as a float model to
// quantize again, and a damaged one is refused naming the tensor.
TEST(Int8Model, SavedFileLoadsBackBitIdentical) {
  for (const Case& c : all_cases()) {
    if (c.batch < 2 || c.width != 1.0) continue;
    SCOPED_TRACE(c.name);
    const std::string path = kFixtures + "/" + c.name + "/weights.safetensors";
    const Tensor x = read_input(c);
    const Model q = quantize(path, x, {}, {parse_arch(c.arch), c.width, c.classes});
    const std::string saved = testing::TempDir() + "/" + c.name + ".int8.safetensors";
    save_int8(q, saved);
    const Model back = load(saved);
    EXPECT_EQ(back.precision(), Precision::int8);
    EXPECT_EQ(run(q, x, 1), run(back, x, 2));
    EXPECT_EQ(q.summary(c.height, c.width_px), back.summary(c.height, c.width_px));
    EXPECT_THROW(quantize(saved, x), Error);
  }
}

TEST(Int8Model, DamagedFileIsRefusedNamingTheTensor) {
  const std::string dir = kFixtures + "/digits";
  const std::string path =
      std::string(MOBILENET_SOURCE_DIR) + "/examples/data/digits_v3_small.safetensors";
  const NpyArray cal = read_npy(dir + "/calibration.npy");
  Tensor c({cal.shape[0], cal.shape[2], cal.shape[3], 3});
  nchw_to_nhwc(cal.data.data(), c);
  const std::string saved = testing::TempDir() + "/digits.int8.safetensors";
  save_int8(quantize(path, c), saved);
  const SafetensorsFile file = SafetensorsFile::open(saved);
  // The saved file rewritten without tensor `drop` and with the first value of each tensor
  // named in `edits` replaced; load() must refuse it with `message`.
  using Edits = std::map<std::string, float>;
  const auto expect_refused = [&](const std::string& drop, const Edits& edits,
                                  const std::string& message) {
    SafetensorsWriter w;
    for (const auto& [name, e] : file.tensors()) {
      if (name == drop) continue;
      const auto edit = edits.find(name);
      if (e.dtype == "I8") {
        std::vector<int8_t> v = file.read_int8(name);
        if (edit != edits.end()) v[0] = static_cast<int8_t>(edit->second);
        w.add(name, e.shape, v);
      } else {
        std::vector<float> v = file.read_float(name);
        if (edit != edits.end()) v[0] = edit->second;
        w.add(name, e.shape, v);
      }
    }
    const std::string damaged = testing::TempDir() + "/damaged.int8.safetensors";
    w.write(damaged, file.metadata());
    try {
      load(damaged);
      ADD_FAILURE() << "loaded a damaged file, expected: " << message;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  };
  expect_refused("features.0.0.weight_scale", {}, "lacks tensor 'features.0.0.weight_scale'");
  expect_refused("", {{"input_qparams", 0.0f}}, "'input_qparams' is not a scale > 0");
  // Symmetric weights never hold -128 (the depthwise kernels' 16-bit pair sums rely on it).
  expect_refused("", {{"features.1.block.0.0.weight", -128.0f}},
                 "'features.1.block.0.0.weight' holds -128; symmetric int8 weights lie in "
                 "[-127, 127]");
  // Finite scales whose requantization multiplier overflows float.
  expect_refused("",
                 {{"features.1.block.0.0.weight_scale", 3e38f},
                  {"features.1.block.0.0.output_qparams", 1e-30f}},
                 "requantization multiplier inf");
}

}  // namespace
