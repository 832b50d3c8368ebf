// fp16 models (Precision::fp16). Where fp16 arithmetic is compiled (the neon_v82 path, run under
// qemu as a Cortex-A76): the torchvision parity fixtures of all four architectures in fp16
// against PyTorch's float32 logits (each case prints its deviation), the trained digits model's
// predictions, bit-identical logits at 1 and 3 threads without allocating, the summary naming
// fp16, a kept feature
// map against float32's, and a folded weight beyond fp16's range refused naming its layer.
// Elsewhere: asking for fp16 is an Error that says what fp16 needs, from random_model() and load()
// alike.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "allocation_counter.hpp"
#include "error_expectations.hpp"
#include "mobilenet/mobilenet.hpp"
#include "parity_helpers.hpp"

namespace {

using mobilenet::Arch;
using mobilenet::Precision;
using testing_io::expect_error_containing;

mobilenet::ModelOptions fp16_options() {
  mobilenet::ModelOptions o;
  o.precision = Precision::fp16;
  return o;
}

#ifdef MOBILENET_HAS_FP16_ARITHMETIC

/// The parity fixtures in fp16 against PyTorch's float32 logits, each case's deviation printed.
/// The fixtures' networks are random (tools/make_fixtures.py) and amplify perturbations: rounding
/// only the input image to fp16 (a relative 2^-12) moves their float32 logits by up to 6e-3 of
/// the scale, and fp16 storage alone, every activation and weight rounded to fp16 with float32
/// sums (PyTorch, forward hooks), by up to 1.8e-2 (docs/design.md, "fp16"). Sums in fp16 as
/// the kernels do them (as XNNPACK's and ncnn's fp16 GEMMs do: that is what halves the work) give
/// up to 6.9e-2 of the scale on V1 and V2, 2.1e-2 on V3. The bound, 1e-1 of the scale, holds
/// those with room and still fails on any wrong weight, layer or tap (deviations of the order of
/// the logits themselves); the kernels are checked bit for bit (test_fp16.cpp), and the issue's
/// 2e-2 is asserted on the trained digits model below, which does not amplify (5e-3).
TEST(Fp16Model, MatchesTorchvisionWithinATenthOfTheLogitsScale) {
  for (const parity::Case& c : parity::fixture_cases()) {
    const std::string dir = parity::kFixtures + "/" + c.name;
    mobilenet::LoadOptions o;
    o.precision = Precision::fp16;
    const mobilenet::Model m = mobilenet::load(dir + "/weights.safetensors", o);
    ASSERT_EQ(m.precision(), Precision::fp16);
    const std::vector<float> got = parity::run(m, parity::case_input(dir + "/input.npy", c));
    const mobilenet::NpyArray want = mobilenet::read_npy(dir + "/expected.npy");
    const parity::Deviation d = parity::deviation(got, want);
    const double bound = 1e-1 * std::max(1.0, d.max_ref);
    std::printf("fp16 %-28s max |logit| %8.3f  max |fp16 - torch| %.5f (%.2e of the scale)\n",
                c.name.c_str(), d.max_ref, d.max_diff, d.max_diff / std::max(1.0, d.max_ref));
    EXPECT_LE(d.max_diff, bound) << c.name;
  }
}

// The trained digits models (V3-Small, V2, V1) on the whole held-out split: fp16 gives
// float32's prediction on at least 99.5% of the images and logits within 2e-2 of their scale
// (the bars), accuracies printed.
TEST(Fp16Model, DigitsGiveFloatPredictions) {
  const std::string dir = parity::kFixtures + "/digits";
  const mobilenet::NpyArray input = mobilenet::read_npy(dir + "/input.npy");
  const mobilenet::NpyArray labels = mobilenet::read_npy(dir + "/labels_f32.npy");
  const int64_t n = input.shape[0];
  mobilenet::Tensor x({n, input.shape[2], input.shape[3], 3});
  mobilenet::nchw_to_nhwc(input.data.data(), x);
  mobilenet::LoadOptions o;
  o.precision = Precision::fp16;
  for (const std::string& arch : parity::kDigitsArchs) {
    SCOPED_TRACE(arch);
    const std::string path = parity::digits_weights(arch);
    const std::vector<float> y32 = parity::run(mobilenet::load(path), x),
                             y16 = parity::run(mobilenet::load(path, o), x);
    const parity::Predictions p = parity::compare_predictions(y32, y16, labels);
    double scale = 0, deviation = 0;
    for (size_t i = 0; i < y32.size(); ++i) {
      scale = std::max(scale, std::abs(double(y32[i])));
      deviation = std::max(deviation, std::abs(double(y16[i]) - y32[i]));
    }
    std::printf(
        "[fp16 digits %s] %lld held-out images: float32 %.2f%%, fp16 %.2f%%, same prediction "
        "%.2f%%; max |fp16 - fp32| %.4f of max |logit| %.2f (%.2e)\n",
        arch.c_str(), static_cast<long long>(n), p.percent(p.right_a), p.percent(p.right_b),
        p.percent(p.same), deviation, scale, deviation / scale);
    EXPECT_GE(p.percent(p.same), 99.5);
    EXPECT_LE(deviation, 2e-2 * scale);
  }
}

TEST(Fp16Model, SameLogitsAtAnyThreadCountNoAllocationAndSummaryNamesFp16) {
  for (Arch arch : {Arch::V1, Arch::V2, Arch::V3Large, Arch::V3Small}) {
    const mobilenet::Model m = mobilenet::random_model(arch, fp16_options(), 3);
    mobilenet::Tensor x({2, 67, 61, 3});
    for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = std::sin(0.37f * static_cast<float>(i));
    std::vector<float> logits[2];
    for (int t : {1, 3}) {
      mobilenet::Workspace ws = m.workspace({2, 67, 61, t});
      m.forward(x, ws);
      const long before = g_allocations.load();
      const mobilenet::ConstTensorView y = m.forward(x, ws);
      EXPECT_EQ(g_allocations.load() - before, 0) << "forward allocated";
      logits[t == 3].assign(y.data, y.data + y.numel());
    }
    EXPECT_EQ(logits[0], logits[1]) << to_string(arch);
    EXPECT_NE(m.summary(224, 224).find(", fp16, input 224x224"), std::string::npos);
  }
}

// A kept feature map leaves the fp16 network as float: the stem's output against float32's.
TEST(Fp16Model, KeptFeatureMapMatchesFloat) {
  mobilenet::WorkspaceOptions o{1, 64, 64, 1};
  o.features = {0};
  mobilenet::Tensor x({1, 64, 64, 3});
  for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = std::cos(0.11f * static_cast<float>(i));
  std::vector<float> maps[2];
  for (Precision p : {Precision::fp32, Precision::fp16}) {
    mobilenet::ModelOptions m;
    m.precision = p;
    const mobilenet::Model model = mobilenet::random_model(Arch::V2, m, 5);
    mobilenet::Workspace ws = model.workspace(o);
    model.forward(x, ws);
    const mobilenet::ConstTensorView f = ws.feature(0);
    EXPECT_EQ(f.shape, (mobilenet::Shape{1, 32, 32, 32}));
    maps[p == Precision::fp16].assign(f.data, f.data + f.numel());
  }
  double scale = 0, deviation = 0;
  for (size_t i = 0; i < maps[0].size(); ++i) {
    scale = std::max(scale, std::abs(double(maps[0][i])));
    deviation = std::max(deviation, std::abs(double(maps[1][i]) - maps[0][i]));
  }
  EXPECT_GT(scale, 0.1);
  EXPECT_LE(deviation, 1e-2 * scale);  // one layer: a few fp16 roundings
}

/// A source whose one named tensor is scaled, the rest random.
class ScaledWeights : public mobilenet::WeightSource {
 public:
  ScaledWeights(std::string name, float factor) : name_(std::move(name)), factor_(factor) {}
  std::vector<float> tensor(const std::string& name, const std::vector<int64_t>& shape) override {
    std::vector<float> v = random_.tensor(name, shape);
    if (name == name_)
      for (float& x : v) x *= factor_;
    return v;
  }

 private:
  mobilenet::RandomWeights random_;
  std::string name_;
  float factor_;
};

TEST(Fp16Model, FoldedWeightBeyondFp16RangeIsRefusedNamingTheLayer) {
  const mobilenet::NetworkSpec spec = mobilenet::make_spec(Arch::V2, {});
  // BatchNorm's gamma x 1e6 folds into weights far beyond 65504.
  ScaledWeights w("features.3.conv.1.1.weight", 1e6f);
  expect_error_containing(
      [&] { mobilenet::Model(spec, w, mobilenet::network_keys(spec), Precision::fp16); },
      {"block 2: fp16 depthwise: folded weight", "outside fp16's range"});
  ScaledWeights same("features.3.conv.1.1.weight", 1e6f);  // in fp32 it builds
  mobilenet::Model(spec, same, mobilenet::network_keys(spec), Precision::fp32);
}

#else

TEST(Fp16Model, IsRefusedWhereThereIsNoFp16Arithmetic) {
  expect_error_containing([] { mobilenet::random_model(Arch::V2, fp16_options()); },
                          {"precision fp16 needs fp16 vector arithmetic",
                           std::string("would run on the ") + mobilenet::isa_name() + " path"});
  mobilenet::LoadOptions o;
  o.precision = Precision::fp16;
  expect_error_containing(
      [&] {
        mobilenet::load(
            std::string(MOBILENET_SOURCE_DIR) + "/examples/data/digits_v3_small.safetensors", o);
      },
      {"precision fp16 needs fp16 vector arithmetic"});
}

#endif

TEST(Fp16Model, Int8IsNotAPrecisionToBuildAFloatModelIn) {
  mobilenet::ModelOptions o;
  o.precision = Precision::int8;
  expect_error_containing([&] { mobilenet::random_model(Arch::V3Small, o); },
                          {"precision int8 needs calibration"});
}

}  // namespace
