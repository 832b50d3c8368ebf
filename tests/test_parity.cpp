// Whole models against torchvision on the same weights (fixtures written at test time by
// tools/make_fixtures.py: calibrated BatchNorm statistics, so every layer matters).
//
// Tolerance: max |ours - torch| <= 1e-4 * max(1, max |torch|). Both sides compute in float32
// but sum in different orders (our GEMM runs over input channels in order; PyTorch's blocks
// differently), fold BatchNorm into the weights (PyTorch applies it after the conv) and
// compute hardswish as x * relu6(x + 3) * (1/6) (PyTorch divides by 6). Each of these moves a
// value by a few float32 ulps (~1e-7 relative) per layer; over ~20-60 layers with gains above 1
// that grows to ~1e-6..1e-5 of the logits' scale (measured: at most 9e-6 of it). 1e-4 leaves a
// 10x margin yet is broken by a 0.1% change of the first depthwise conv (checked below for every
// case; <case>/perturbation.txt says which weight, or which channel's whole kernel).

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "mobilenet/mobilenet.hpp"
#include "parity_helpers.hpp"

namespace {

using namespace mobilenet;

using parity::Case;
using parity::kFixtures;

std::vector<Case> cases_for(const std::string& arch, const std::string& dir = kFixtures) {
  return parity::fixture_cases(dir, arch);
}

struct Comparison {
  double max_abs_diff = 0, max_abs_ref = 0;
  double tolerance() const { return 1e-4 * std::max(1.0, max_abs_ref); }
};

Comparison compare(ConstTensorView got, const std::vector<float>& expected) {
  Comparison r;
  for (size_t i = 0; i < expected.size(); ++i) {
    r.max_abs_ref = std::max(r.max_abs_ref, std::abs(double(expected[i])));
    r.max_abs_diff = std::max(r.max_abs_diff, std::abs(double(got.data[i]) - expected[i]));
  }
  return r;
}

void check_arch(const std::string& arch) {
  const auto cases = cases_for(arch);
  ASSERT_GE(cases.size(), 4u) << "expected two widths x two input shapes for " << arch;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string dir = kFixtures + "/" + c.name;
    const Model model =
        load(dir + "/weights.safetensors", {parse_arch(c.arch), c.width, c.classes});
    const Tensor x = parity::case_input(dir + "/input.npy", c);
    const NpyArray expected = read_npy(dir + "/expected.npy");
    ASSERT_EQ(expected.shape, (std::vector<int64_t>{c.batch, c.classes}));

    Workspace ws1 = model.workspace({c.batch, c.height, c.width_px, 1});
    const ConstTensorView y1 = model.forward(x, ws1);
    const Comparison cmp = compare(y1, expected.data);
    EXPECT_LE(cmp.max_abs_diff, cmp.tolerance());
    std::printf("[parity] %-24s max|ref| %9.4f  max|diff| %.3g  (tolerance %.3g)\n", c.name.c_str(),
                cmp.max_abs_ref, cmp.max_abs_diff, cmp.tolerance());

    Workspace ws2 = model.workspace({c.batch, c.height, c.width_px, 2});
    const ConstTensorView y2 = model.forward(x, ws2);
    for (int64_t i = 0; i < y1.numel(); ++i)
      ASSERT_EQ(y1.data[i], y2.data[i]) << "1 vs 2 threads at " << i;

    // The check can fail: the first depthwise conv changed by 0.1% must break the tolerance.
    const Model perturbed =
        load(dir + "/weights_perturbed.safetensors", {parse_arch(c.arch), c.width, c.classes});
    Workspace wsp = perturbed.workspace({c.batch, c.height, c.width_px, 1});
    const Comparison off = compare(perturbed.forward(x, wsp), expected.data);
    EXPECT_GT(off.max_abs_diff, off.tolerance()) << "a perturbed model passed the parity check";
  }
}

// Backbone use: the feature maps after chosen torchvision `model.features[i]` stages equal
// torchvision's (forward hooks) within the same tolerance, scaled by each map's own range.
void check_features(const std::string& arch) {
  for (const Case& c : cases_for(arch)) {
    const std::string dir = kFixtures + "/" + c.name;
    std::ifstream list(dir + "/features.txt");
    if (!list) continue;  // written for the batch-2, width-1.0 case of each architecture
    SCOPED_TRACE(c.name);
    std::vector<int> taps;
    for (int t; list >> t;) taps.push_back(t);
    ASSERT_FALSE(taps.empty());
    const Model model =
        load(dir + "/weights.safetensors", {parse_arch(c.arch), c.width, c.classes});
    WorkspaceOptions o{c.batch, c.height, c.width_px, 2};
    o.features = taps;
    Workspace ws = model.workspace(o);
    model.forward(parity::case_input(dir + "/input.npy", c), ws);
    ASSERT_EQ(ws.feature_count(), taps.size());
    for (size_t k = 0; k < taps.size(); ++k) {
      const NpyArray ref = read_npy(dir + "/features_" + std::to_string(taps[k]) + ".npy");
      const ConstTensorView got = ws.feature(k);
      ASSERT_EQ(ref.shape,
                (std::vector<int64_t>{got.shape.n, got.shape.c, got.shape.h, got.shape.w}));
      Tensor ref_nhwc(got.shape);
      nchw_to_nhwc(ref.data.data(), ref_nhwc);
      const Comparison cmp =
          compare(got, std::vector<float>(ref_nhwc.data(), ref_nhwc.data() + ref_nhwc.numel()));
      EXPECT_LE(cmp.max_abs_diff, cmp.tolerance()) << "features[" << taps[k] << "]";
      EXPECT_GT(cmp.max_abs_ref, 0.1) << "features[" << taps[k] << "] is nearly all zero";
    }
    return;
  }
  FAIL() << "no features fixture for " << arch;
}

// TensorFlow's SAME padding (tools/tf_same.py: the torchvision model with every KxK conv padded
// as TensorFlow pads), the mode read from the file's metadata: at 224x224 every stride-2 layer
// pads only bottom/right; at 230x197 some do and some pad symmetrically, at different layers for
// each axis (tools/make_fixtures.py, TF_SAME_SHAPES). Same tolerance as above, 1 and 2 threads
// bit-identical; and the same file run with PyTorch's symmetric padding must break the tolerance
// (a test that cannot pass by accident).
void check_tf_same(const std::string& arch) {
  const std::string root = kFixtures + "/tf_same";
  const auto cases = cases_for(arch, root);
  ASSERT_EQ(cases.size(), 2u) << "expected 224x224 and 230x197 for " << arch;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string dir = root + "/" + c.name;
    const Model model = load(dir + "/weights.safetensors");
    ASSERT_EQ(model.spec().padding, PaddingMode::TfSame);
    const Tensor x = parity::case_input(dir + "/input.npy", c);
    const NpyArray expected = read_npy(dir + "/expected.npy");
    Workspace ws1 = model.workspace({c.batch, c.height, c.width_px, 1});
    const ConstTensorView y1 = model.forward(x, ws1);
    const Comparison cmp = compare(y1, expected.data);
    EXPECT_LE(cmp.max_abs_diff, cmp.tolerance());
    std::printf("[parity] tf_same/%-16s max|ref| %9.4f  max|diff| %.3g  (tolerance %.3g)\n",
                c.name.c_str(), cmp.max_abs_ref, cmp.max_abs_diff, cmp.tolerance());
    Workspace ws2 = model.workspace({c.batch, c.height, c.width_px, 2});
    const ConstTensorView y2 = model.forward(x, ws2);
    for (int64_t i = 0; i < y1.numel(); ++i)
      ASSERT_EQ(y1.data[i], y2.data[i]) << "1 vs 2 threads at " << i;

    LoadOptions torch_padding;
    torch_padding.padding = PaddingMode::Torch;
    const Model symmetric = load(dir + "/weights.safetensors", torch_padding);
    Workspace wss = symmetric.workspace({c.batch, c.height, c.width_px, 1});
    const Comparison off = compare(symmetric.forward(x, wss), expected.data);
    EXPECT_GT(off.max_abs_diff, off.tolerance()) << "symmetric padding passed the tf_same check";
  }
}

TEST(Parity, V1) {
  check_arch("v1");
}
TEST(Parity, V2) {
  check_arch("v2");
}
TEST(Parity, V3Large) {
  check_arch("v3_large");
}
TEST(Parity, V3Small) {
  check_arch("v3_small");
}
TEST(Parity, TfSameV1) {
  check_tf_same("v1");
}
TEST(Parity, TfSameV2) {
  check_tf_same("v2");
}
TEST(Parity, TfSameV3Large) {
  check_tf_same("v3_large");
}
TEST(Parity, TfSameV3Small) {
  check_tf_same("v3_small");
}
TEST(Parity, FeaturesV1) {
  check_features("v1");
}
TEST(Parity, FeaturesV2) {
  check_features("v2");
}
TEST(Parity, FeaturesV3Large) {
  check_features("v3_large");
}
TEST(Parity, FeaturesV3Small) {
  check_features("v3_small");
}

}  // namespace

namespace {

// The trained digits models (examples/data: V3-Small, V2, V1) on the whole held-out split: the
// same prediction as PyTorch for every image, logits within the parity tolerance, and the
// accuracy printed.
TEST(Digits, TrainedModelsMatchPyTorchOnHeldOutSplit) {
  const std::string dir = kFixtures + "/digits";
  const NpyArray input = read_npy(dir + "/input.npy");
  const NpyArray labels = read_npy(dir + "/labels_f32.npy");
  ASSERT_EQ(input.shape.size(), 4u);
  const int64_t n = input.shape[0], size = input.shape[2];
  Tensor x({n, size, input.shape[3], 3});
  nchw_to_nhwc(input.data.data(), x);
  for (const std::string& arch : parity::kDigitsArchs) {
    SCOPED_TRACE(arch);
    const Model model = load(parity::digits_weights(arch));
    const NpyArray expected = read_npy(dir + "/expected_" + arch + ".npy");
    ASSERT_EQ(size, model.metadata().input_size);
    ASSERT_EQ(expected.shape, (std::vector<int64_t>{n, 10}));
    Workspace ws = model.workspace({n, size, input.shape[3], 2});
    const ConstTensorView y = model.forward(x, ws);
    const Comparison cmp = compare(y, expected.data);
    EXPECT_LE(cmp.max_abs_diff, cmp.tolerance());
    int64_t agree = 0, correct = 0;
    for (int64_t i = 0; i < n; ++i) {
      const auto argmax = [&](const float* v) { return std::max_element(v, v + 10) - v; };
      const int64_t ours = argmax(y.data + i * 10), theirs = argmax(expected.data.data() + i * 10);
      agree += ours == theirs;
      correct += ours == static_cast<int64_t>(labels.data[static_cast<size_t>(i)]);
    }
    EXPECT_EQ(agree, n) << "predictions that differ from PyTorch";
    const double accuracy = static_cast<double>(correct) / static_cast<double>(n);
    std::printf(
        "[digits %s] %lld held-out images: same prediction as PyTorch on %lld, accuracy %.2f%%, "
        "max|diff| %.3g\n",
        arch.c_str(), static_cast<long long>(n), static_cast<long long>(agree), 100.0 * accuracy,
        cmp.max_abs_diff);
    EXPECT_GT(accuracy, 0.95);
  }
}

}  // namespace
