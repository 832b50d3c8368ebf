// Whole-model properties that need no reference framework: the built architectures' parameter
// counts and MACs against torchvision and the papers, width-multiplier rounding, workspace
// planning and input validation, thread-count determinism, and no allocation in forward.

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "mobilenet/mobilenet.hpp"

#include "allocation_counter.hpp"

namespace {

using namespace mobilenet;

struct Totals {
  int64_t params = 0, macs = 0;
};

Totals totals(const Model& m, int64_t size = 224) {
  Totals t;
  for (const LayerInfo& l : m.layers(size, size)) {
    t.params += l.params;
    t.macs += l.macs;
  }
  return t;
}

TEST(Architectures, ParameterCountsEqualTorchvision) {
  // sum(p.numel() for p in model.parameters()) of torchvision 0.14's models, 1000 classes; V1 is
  // tools/mobilenet_v1.py's reference definition.
  EXPECT_EQ(totals(random_model(Arch::V2)).params, 3504872);
  EXPECT_EQ(totals(random_model(Arch::V3Large)).params, 5483032);
  EXPECT_EQ(totals(random_model(Arch::V3Small)).params, 2542856);
  EXPECT_EQ(totals(random_model(Arch::V1)).params, 4231976);
}

TEST(Architectures, MacsWithinTwoPercentOfThePapers) {
  // V1 paper Table 6, V2 paper Table 4, V3 paper Table 9 (224x224).
  const std::pair<Arch, double> papers[] = {
      {Arch::V1, 569e6}, {Arch::V2, 300e6}, {Arch::V3Large, 217e6}, {Arch::V3Small, 56e6}};
  for (auto [arch, macs] : papers)
    EXPECT_NEAR(static_cast<double>(totals(random_model(arch)).macs), macs, 0.02 * macs)
        << to_string(arch);
}

TEST(Architectures, WidthMultiplierRoundsLikeTorchvision) {
  EXPECT_EQ(make_divisible(32 * 0.35), 16);  // 11.2 -> 8 would lose more than 10%
  EXPECT_EQ(make_divisible(16 * 0.35), 8);
  EXPECT_EQ(make_divisible(24 * 0.75), 24);  // 18 rounds to 16, which is < 0.9 * 18
  const NetworkSpec v2 = make_spec(Arch::V2, {0.35, 10});
  EXPECT_EQ(v2.stem_out, 16);
  EXPECT_EQ(v2.last_conv_out, 1280);  // never narrower than 1280
  EXPECT_EQ(make_spec(Arch::V2, {1.4, 10}).last_conv_out, 1792);
  const NetworkSpec v3 = make_spec(Arch::V3Small, {0.5, 10});
  EXPECT_EQ(v3.blocks.front().squeeze, 8);
  EXPECT_EQ(v3.hidden, 512);
  EXPECT_EQ(make_spec(Arch::V3Large, {}).blocks.size(), 15u);
  EXPECT_EQ(make_spec(Arch::V3Small, {}).blocks.size(), 11u);
  EXPECT_EQ(make_spec(Arch::V2, {}).blocks.size(), 17u);
  EXPECT_EQ(make_spec(Arch::V1, {0.25, 10}).blocks.back().out, 256);
  EXPECT_THROW(make_spec(Arch::V2, {0.0, 10}), Error);
  EXPECT_THROW(make_spec(Arch::V2, {1.0, 0}), Error);
  EXPECT_THROW(parse_arch("v4"), Error);
}

TEST(Workspace, RejectsInputsItWasNotPlannedFor) {
  const Model m = random_model(Arch::V3Small, {0.5, 10});
  Workspace ws = m.workspace({1, 64, 48, 1});
  Tensor wrong({1, 64, 64, 3});
  try {
    m.forward(wrong, ws);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[1, 64, 64, 3]"), std::string::npos) << e.what();
  }
  const Model other = random_model(Arch::V3Small, {0.5, 10});
  Tensor right({1, 64, 48, 3});
  EXPECT_THROW(other.forward(right, ws), Error);
  EXPECT_THROW(m.workspace({0, 224, 224, 1}), Error);
  EXPECT_THROW(m.workspace({1, 224, 224, 0}), Error);
}

TEST(Workspace, AnyPositiveResolutionRuns) {
  // PyTorch's (k-1)/2 padding keeps every feature map at least 1x1, even for a 1x1 input.
  const Model m = random_model(Arch::V2, {0.35, 10});
  Workspace ws = m.workspace({1, 1, 1, 1});
  Tensor x({1, 1, 1, 3});
  EXPECT_EQ(m.forward(x, ws).shape, (Shape{1, 1, 1, 10}));
  try {
    m.workspace({1, 0, 5, 1});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("height and width in [1, 32768], got batch 1, 0x5"),
              std::string::npos)
        << e.what();
  }
}

void fill(Tensor& t, uint32_t seed) {
  uint32_t s = seed;
  for (int64_t i = 0; i < t.numel(); ++i) {
    s = s * 1664525u + 1013904223u;
    t.data()[i] = static_cast<float>(s >> 8) / 16777216.0f * 2.0f - 1.0f;
  }
}

// The logits of `x` run in `ws`, copied out of the workspace (the next forward overwrites them).
std::vector<float> logits_of(const Model& m, const Tensor& x, Workspace& ws) {
  const ConstTensorView y = m.forward(x, ws);
  return {y.data, y.data + y.numel()};
}

TEST(Forward, BitIdenticalAcrossThreadCountsAndRuns) {
  for (Arch arch : {Arch::V1, Arch::V2, Arch::V3Large, Arch::V3Small}) {
    const Model m = random_model(arch, {0.5, 21});
    Tensor x({2, 67, 45, 3});
    fill(x, 3);
    Workspace one = m.workspace({2, 67, 45, 1});
    const std::vector<float> first = logits_of(m, x, one);
    for (int threads : {1, 2, 3}) {
      Workspace ws = m.workspace({2, 67, 45, threads});
      const ConstTensorView b = m.forward(x, ws);
      ASSERT_EQ(b.shape, (Shape{2, 1, 1, 21}));
      for (int64_t i = 0; i < b.numel(); ++i)
        ASSERT_EQ(b.data[i], first[static_cast<size_t>(i)])
            << to_string(arch) << " threads " << threads;
    }
  }
}

// At this size every architecture has blocks whose depthwise input exceeds 512 KiB, which run
// fused by bands (layers/fused_bands.hpp); a profiling workspace runs them layer by layer. Odd
// sizes and batch 2 put band and thread boundaries everywhere.
TEST(Forward, FusedBlocksMatchLayerByLayerBitForBit) {
  for (Arch arch : {Arch::V1, Arch::V2, Arch::V3Large, Arch::V3Small}) {
    const Model m = random_model(arch, {1.0, 17});
    Tensor x({2, 193, 161, 3});
    fill(x, 7);
    WorkspaceOptions layer_by_layer{2, 193, 161, 1};
    layer_by_layer.profile = true;
    Workspace ref_ws = m.workspace(layer_by_layer);
    const std::vector<float> expected = logits_of(m, x, ref_ws);
    for (int threads : {1, 2, 3}) {
      Workspace ws = m.workspace({2, 193, 161, threads});
      const ConstTensorView got = m.forward(x, ws);
      for (int64_t i = 0; i < got.numel(); ++i)
        ASSERT_EQ(got.data[i], expected[static_cast<size_t>(i)])
            << to_string(arch) << " threads " << threads;
    }
  }
}

// The per-stage profile times the real path: results bit-identical to an unprofiled workspace
// (blocks still fused), one row per stage whose MACs add up to the per-layer rows', a time for
// every stage, and no allocation in forward.
TEST(Profile, StagesTimeTheFusedPathWithoutChangingIt) {
  for (Arch arch : {Arch::V1, Arch::V3Small}) {
    const Model m = random_model(arch, {1.0, 17});
    Tensor x({1, 160, 160, 3});
    fill(x, 3);
    Workspace plain = m.workspace({1, 160, 160, 2});
    const std::vector<float> expected = logits_of(m, x, plain);
    WorkspaceOptions o{1, 160, 160, 2};
    o.profile_stages = true;
    Workspace ws = m.workspace(o);
    EXPECT_EQ(ws.arena_bytes(), plain.arena_bytes()) << "a fused plan, not the layer-by-layer one";
    m.forward(x, ws);
    const long before = g_allocations.load();
    const ConstTensorView got = m.forward(x, ws);
    EXPECT_EQ(g_allocations.load() - before, 0) << to_string(arch);
    for (int64_t i = 0; i < got.numel(); ++i)
      ASSERT_EQ(got.data[i], expected[static_cast<size_t>(i)]) << to_string(arch);

    const std::vector<LayerInfo> stages = m.stages(160, 160);
    ASSERT_EQ(stages.size(), m.spec().blocks.size() + (m.spec().last_conv_out ? 3u : 2u));
    EXPECT_EQ(stages.front().name, "features.0");
    EXPECT_EQ(stages[3].name, "features.3");
    EXPECT_EQ(stages.back().name, "classifier");
    int64_t stage_macs = 0, layer_macs = 0;
    for (const LayerInfo& s : stages) stage_macs += s.macs;
    for (const LayerInfo& l : m.layers(160, 160)) layer_macs += l.macs;
    EXPECT_EQ(stage_macs, layer_macs);
    ASSERT_EQ(ws.profile().seconds().size(), stages.size());
    EXPECT_EQ(ws.profile().runs(), 2u);
    for (size_t k = 0; k < stages.size(); ++k)
      EXPECT_GT(ws.profile().seconds()[k], 0.0) << stages[k].name;
  }
  WorkspaceOptions both;
  both.profile = both.profile_stages = true;
  try {
    random_model(Arch::V3Small).workspace(both);
    FAIL() << "profile and profile_stages together were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("profile_stages"), std::string::npos) << e.what();
  }
}

TEST(Forward, BatchItemsAreIndependent) {
  const Model m = random_model(Arch::V3Large, {0.75, 13});
  Tensor batch({3, 40, 56, 3});
  fill(batch, 11);
  Workspace ws3 = m.workspace({3, 40, 56, 2});
  const ConstTensorView all = m.forward(batch, ws3);
  Workspace ws1 = m.workspace({1, 40, 56, 1});
  for (int64_t n = 0; n < 3; ++n) {
    const ConstTensorView one = m.forward({batch.data() + n * 40 * 56 * 3, {1, 40, 56, 3}}, ws1);
    for (int64_t c = 0; c < 13; ++c) ASSERT_EQ(one.data[c], all.data[n * 13 + c]);
  }
}

TEST(Forward, MakesNoHeapAllocation) {
  for (Arch arch : {Arch::V1, Arch::V2, Arch::V3Large, Arch::V3Small}) {
    const Model m = random_model(arch, {1.0, 1000});
    for (int threads : {1, 2}) {
      Workspace ws = m.workspace({1, 96, 96, threads});
      Tensor x({1, 96, 96, 3});
      fill(x, 5);
      m.forward(x, ws);  // warm-up: thread start-up happens here
      const long before = g_allocations.load();
      m.forward(x, ws);
      EXPECT_EQ(g_allocations.load() - before, 0) << to_string(arch) << " threads " << threads;
    }
  }
}

TEST(Summary, ListsEveryLayerAndTotals) {
  const Model m = random_model(Arch::V3Small);
  const std::string s = m.summary(224, 224);
  EXPECT_NE(s.find("features.1.se"), std::string::npos);
  EXPECT_NE(s.find("2542856"), std::string::npos) << s;
  EXPECT_NE(s.find("classifier.fc1"), std::string::npos);
}

}  // namespace

namespace {

TEST(CustomSpec, InvalidSpecsAreRejectedBeforeAnythingIsBuilt) {
  NetworkSpec good = make_spec(Arch::V3Small, {0.5, 10});
  const auto fails_with = [&](NetworkSpec s, const std::string& part) {
    RandomWeights w;
    try {
      Model m(s, w, torchvision_keys(s));
      FAIL() << "expected an error mentioning " << part;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  NetworkSpec s = good;
  s.blocks[2].kernel = 7;
  fails_with(s, "kernel must be 3 or 5");
  s = good;
  s.blocks[1].stride = 3;
  fails_with(s, "stride must be 1 or 2");
  s = good;
  s.blocks[0].out = 0;
  fails_with(s, "channel count");
  s = good;
  s.blocks.clear();
  fails_with(s, "no blocks");
  s = good;
  s.num_classes = 1 << 30;
  fails_with(s, "num_classes");
  s = good;
  s.blocks[3].in += 8;
  fails_with(s, "channels but the previous layer gives");
}

TEST(CustomSpec, SqueezeWiderThanTheBlockRuns) {
  // A user table may give SE a squeeze width above the expanded width; the arena must fit it.
  NetworkSpec s = make_spec(Arch::V3Small, {0.5, 10});
  s.blocks[0].squeeze = 64;  // expanded is 8
  RandomWeights w;
  const Model m(s, w, torchvision_keys(s));
  Workspace ws = m.workspace({2, 32, 32, 2});
  Tensor x({2, 32, 32, 3});
  fill(x, 9);
  const ConstTensorView y = m.forward(x, ws);
  for (int64_t i = 0; i < y.numel(); ++i) ASSERT_TRUE(std::isfinite(y.data[i]));
}

TEST(Layers, RejectViewsOfTheWrongShape) {
  const std::vector<float> w(16 * 8, 0.5f), b(16, 0.0f);
  const PointwiseConv2d pw({8, 16, Activation::ReLU}, w.data(), b.data());
  ThreadPool pool(1);
  Tensor in({1, 2, 2, 8}), wrong_in({1, 2, 2, 9}), out({1, 2, 2, 16}), wrong_out({1, 2, 3, 16});
  EXPECT_NO_THROW(pw.forward(in, out, pool));
  EXPECT_THROW(pw.forward(wrong_in, out, pool), Error);
  EXPECT_THROW(pw.forward(in, wrong_out, pool), Error);
}

}  // namespace

namespace {

TEST(Features, RejectsUnknownStagesAndAllocatesNothingInForward) {
  const Model m = random_model(Arch::V2, {0.5, 10});
  WorkspaceOptions o{1, 64, 64, 1};
  o.features = {19};  // V2 has stages 0..18
  EXPECT_THROW(m.workspace(o), Error);
  o.features = {0, 4, 18};
  Workspace ws = m.workspace(o);
  Tensor x({1, 64, 64, 3});
  fill(x, 4);
  m.forward(x, ws);
  const long before = g_allocations.load();
  m.forward(x, ws);
  EXPECT_EQ(g_allocations.load() - before, 0);
  EXPECT_EQ(ws.feature(0).shape, (Shape{1, 32, 32, 16}));
  EXPECT_EQ(ws.feature(2).shape, (Shape{1, 2, 2, 1280}));
  EXPECT_THROW(ws.feature(3), std::out_of_range);
}

}  // namespace

namespace {

TEST(ModelInfo, ReportsArchitectureInputSizeAndLabelsOfTheShippedDigitsModel) {
  const Model m =
      load(std::string(MOBILENET_SOURCE_DIR) + "/examples/data/digits_v3_small.safetensors");
  EXPECT_EQ(m.arch(), Arch::V3Small);
  EXPECT_EQ(m.scheme(), Scheme::Torchvision);
  EXPECT_EQ(m.num_classes(), 10);
  EXPECT_EQ(m.input_size(), 32);
  EXPECT_EQ(m.labels(),
            (std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}));
  const PreprocessOptions pre = m.metadata().preprocess_options();
  EXPECT_EQ(pre.resize_size, 32);
  EXPECT_EQ(pre.crop_size, 32);
  for (int c = 0; c < 3; ++c) {
    EXPECT_EQ(pre.mean[c], 0.5f);
    EXPECT_EQ(pre.std[c], 0.5f);
  }
}

TEST(ModelInfo, RandomModelsReportTheirOptionsAndImageNetDefaults) {
  const Model m = random_model(Arch::V2, {0.5, 7, Scheme::Timm});
  EXPECT_EQ(m.arch(), Arch::V2);
  EXPECT_EQ(m.scheme(), Scheme::Timm);
  EXPECT_EQ(m.num_classes(), 7);
  EXPECT_EQ(m.input_size(), 224);
  EXPECT_TRUE(m.labels().empty());
  const PreprocessOptions pre = m.metadata().preprocess_options();
  EXPECT_EQ(pre.resize_size, 256);
  EXPECT_EQ(pre.crop_size, 224);
  EXPECT_EQ(pre.mean[0], 0.485f);
  EXPECT_EQ(pre.std[2], 0.225f);
  EXPECT_EQ(random_model(Arch::V1).arch(), Arch::V1);
  EXPECT_EQ(random_model(Arch::V3Large).scheme(), Scheme::Torchvision);
}

}  // namespace
