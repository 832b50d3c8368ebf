// The dispatching library (mobilenet/dispatch.hpp) inside this binary, next to the header-only
// build of the same headers (-march=native here): which paths it has and picks, how it refuses
// a path it cannot run, that every path this CPU runs gives the header-only logits, and that it
// keeps the header-only guarantees (errors as mobilenet::Error, no allocation in forward).
// The portable command-line tools run under qemu as older CPUs in tests/CMakeLists.txt
// (dispatch.*).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "mobilenet/dispatch.hpp"
#include "mobilenet/mobilenet.hpp"

#include "allocation_counter.hpp"

namespace {

using mobilenet::Arch;

void fill(mobilenet::Tensor& x) {
  for (int64_t i = 0; i < x.numel(); ++i)
    x.data()[i] = static_cast<float>((i * 37) % 255) / 127.0f - 1.0f;
}

// Restores MOBILENET_ISA when a test that sets it ends.
class IsaEnvironment {
 public:
  IsaEnvironment() {
    if (const char* v = std::getenv("MOBILENET_ISA")) saved_ = v, had_ = true;
  }
  ~IsaEnvironment() {
    if (had_)
      setenv("MOBILENET_ISA", saved_.c_str(), 1);
    else
      unsetenv("MOBILENET_ISA");
  }

 private:
  std::string saved_;
  bool had_ = false;
};

TEST(Dispatch, PicksTheBestBuiltPathThisCpuRuns) {
  IsaEnvironment env;
  unsetenv("MOBILENET_ISA");
  const std::vector<std::string> built = mobilenet::dispatch::built_paths();
  const std::vector<std::string> supported = mobilenet::dispatch::supported_paths();
  ASSERT_FALSE(built.empty());
  ASSERT_FALSE(supported.empty()) << "no built path runs on this CPU";
  for (const std::string& p : supported)
    EXPECT_NE(std::find(built.begin(), built.end(), p), built.end()) << p;
  EXPECT_EQ(mobilenet::dispatch::select_path(), supported.front());
  const auto model = mobilenet::dispatch::random_model(Arch::V3Small, {0.5, 10});
  EXPECT_EQ(model.isa(), supported.front());
  std::printf("[dispatch] built: %zu paths, this CPU runs %s first; CPU: %s\n", built.size(),
              supported.front().c_str(), mobilenet::dispatch::cpu_feature_names().c_str());
#ifdef MOBILENET_EXPECT_ISA
  // On the machine whose native path the suite expects, the dispatcher must pick the same one.
  if (std::find(built.begin(), built.end(), MOBILENET_EXPECT_ISA) != built.end()) {
    EXPECT_EQ(supported.front(), MOBILENET_EXPECT_ISA);
  }
#endif
}

TEST(Dispatch, EnvironmentAndOptionChooseThePath) {
  IsaEnvironment env;
  const std::vector<std::string> supported = mobilenet::dispatch::supported_paths();
  const std::string lowest = supported.back();
  setenv("MOBILENET_ISA", lowest.c_str(), 1);
  EXPECT_EQ(mobilenet::dispatch::random_model(Arch::V3Small, {0.5, 10}).isa(), lowest);
  // The option overrides the environment.
  EXPECT_EQ(
      mobilenet::dispatch::random_model(Arch::V3Small, {0.5, 10}, 0, {supported.front()}).isa(),
      supported.front());
  setenv("MOBILENET_ISA", "avx3000", 1);
  try {
    mobilenet::dispatch::random_model(Arch::V3Small, {0.5, 10});
    FAIL() << "an unknown path in MOBILENET_ISA must throw";
  } catch (const mobilenet::Error& e) {
    EXPECT_NE(std::string(e.what()).find("MOBILENET_ISA=avx3000: unknown instruction-set path"),
              std::string::npos)
        << e.what();
  }
}

TEST(Dispatch, RefusesPathsItLacksOrThisCpuCannotRun) {
  IsaEnvironment env;
  unsetenv("MOBILENET_ISA");
  const std::vector<std::string> built = mobilenet::dispatch::built_paths();
  const std::string other_arch = built.front().rfind("neon", 0) == 0 ? "avx2_fma" : "neon";
  try {
    mobilenet::dispatch::random_model(Arch::V3Small, {0.5, 10}, 0, {other_arch});
    FAIL() << other_arch << " must not be built here";
  } catch (const mobilenet::Error& e) {
    EXPECT_NE(std::string(e.what()).find("this build has no " + other_arch + " path"),
              std::string::npos)
        << e.what();
  }
  const std::vector<std::string> supported = mobilenet::dispatch::supported_paths();
  for (const std::string& p : built) {
    if (std::find(supported.begin(), supported.end(), p) != supported.end()) continue;
    try {
      mobilenet::dispatch::random_model(Arch::V3Small, {0.5, 10}, 0, {p});
      FAIL() << p << " is not supported by this CPU and must throw";
    } catch (const mobilenet::Error& e) {
      EXPECT_NE(std::string(e.what()).find("this CPU lacks"), std::string::npos) << e.what();
    }
  }
}

// Every path this CPU runs gives the header-only build's logits within the parity tolerance (1e-4
// of the logits' scale, tests/test_parity.cpp). Not bit for bit even on the same path: this
// binary is built with MOBILENET_ARCH_FLAGS (-march=native), whose tuning may contract or split
// multiply-adds differently from the path's generic tuning (docs/design.md, "Run-time dispatch");
// the test prints how many logits differ.
TEST(Dispatch, EveryPathMatchesTheHeaderOnlyBuild) {
  IsaEnvironment env;
  unsetenv("MOBILENET_ISA");
  for (const Arch arch : {Arch::V1, Arch::V2, Arch::V3Large, Arch::V3Small}) {
    const mobilenet::Model reference = mobilenet::random_model(arch, {1.0, 100}, 7);
    mobilenet::Tensor x({2, 97, 81, 3});
    fill(x);
    mobilenet::Workspace rws = reference.workspace({2, 97, 81, 2});
    const mobilenet::ConstTensorView expected = reference.forward(x, rws);
    float scale = 1.0f;
    for (int64_t i = 0; i < expected.numel(); ++i)
      scale = std::max(scale, std::fabs(expected.data[i]));
    for (const std::string& path : mobilenet::dispatch::supported_paths()) {
      const auto model = mobilenet::dispatch::random_model(arch, {1.0, 100}, 7, {path});
      auto ws = model.workspace({2, 97, 81, 2});
      const mobilenet::ConstTensorView got = model.forward(x, ws);
      ASSERT_EQ(got.shape, expected.shape);
      int64_t differing = 0;
      for (int64_t i = 0; i < got.numel(); ++i) {
        differing += got.data[i] != expected.data[i];
        ASSERT_NEAR(got.data[i], expected.data[i], 1e-4f * scale)
            << to_string(arch) << " on " << path << " [" << i << "]";
      }
      std::printf("[dispatch] %s on %s: %lld of %lld logits differ from the header-only %s build\n",
                  to_string(arch), path.c_str(), static_cast<long long>(differing),
                  static_cast<long long>(got.numel()), mobilenet::isa_name());
    }
  }
}

TEST(Dispatch, ErrorsInsideAPathAreMobilenetErrors) {
  IsaEnvironment env;
  unsetenv("MOBILENET_ISA");
  for (const std::string& path : mobilenet::dispatch::supported_paths()) {
    const auto model = mobilenet::dispatch::random_model(Arch::V3Small, {0.5, 10}, 0, {path});
    auto ws = model.workspace({1, 64, 64, 1});
    mobilenet::Tensor wrong({1, 32, 32, 3});
    try {
      model.forward(wrong, ws);
      FAIL() << "a shape the workspace was not planned for must throw";
    } catch (const mobilenet::Error& e) {
      EXPECT_NE(std::string(e.what()).find("does not match the workspace's"), std::string::npos)
          << e.what();
    }
    EXPECT_THROW(model.workspace({0, 64, 64, 1}), mobilenet::Error) << path;
    EXPECT_THROW(mobilenet::dispatch::load("/nonexistent.safetensors", {}, {path}),
                 mobilenet::Error)
        << path;
    const auto other = mobilenet::dispatch::random_model(Arch::V3Small, {0.5, 10}, 0, {path});
    mobilenet::Tensor x({1, 64, 64, 3});
    try {
      other.forward(x, ws);
      FAIL() << "a workspace of another model must be refused";
    } catch (const mobilenet::Error& e) {
      EXPECT_NE(std::string(e.what()).find("planned for another model"), std::string::npos)
          << e.what();
    }
  }
}

TEST(Dispatch, ForwardAllocatesNothingAndCopiesShareTheModel) {
  IsaEnvironment env;
  unsetenv("MOBILENET_ISA");
  const auto model = mobilenet::dispatch::random_model(Arch::V2, {0.35, 10});
  const auto copy = model;  // shares the weights: the workspace fits both
  auto ws = model.workspace({1, 96, 96, 2});
  mobilenet::Tensor x({1, 96, 96, 3});
  fill(x);
  model.forward(x, ws);
  const long before = g_allocations.load();
  const mobilenet::ConstTensorView y = copy.forward(x, ws);
  EXPECT_EQ(g_allocations.load() - before, 0);
  EXPECT_EQ(y.shape, (mobilenet::Shape{1, 1, 1, 10}));
}

}  // namespace
