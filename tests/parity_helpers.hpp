#pragma once
// What the parity suites against PyTorch share: the fixture cases tools/make_fixtures.py lists,
// running a model on a batch, reading an NCHW .npy batch as NHWC, and the deviation from the
// reference with its tolerance (1e-4 of the logits' scale, as tools/make_fixtures.py states).

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "mobilenet/mobilenet.hpp"

namespace parity {

/// Where ctest's make_fixtures test writes the fixtures.
inline const std::string kFixtures = MOBILENET_FIXTURES_DIR;

/// The trained digits models (tools/train_digits.py --arch A, one data split), whose PyTorch
/// logits on the held-out split tools/make_fixtures.py writes to digits/expected_<arch>.npy.
inline const std::vector<std::string> kDigitsArchs = {"v3_small", "v2", "v1"};
inline std::string digits_weights(const std::string& arch) {
  return std::string(MOBILENET_SOURCE_DIR) + "/examples/data/digits_" + arch + ".safetensors";
}

/// Two models' top-1 on a labelled batch (`a` and `b`: logits, `classes` per image; `labels`:
/// float32 class indices): how often each is right and how often they agree.
struct Predictions {
  int64_t images = 0, right_a = 0, right_b = 0, same = 0;
  double percent(int64_t k) const { return 100.0 * double(k) / double(images); }
};
inline Predictions compare_predictions(const std::vector<float>& a, const std::vector<float>& b,
                                       const mobilenet::NpyArray& labels, int64_t classes = 10) {
  Predictions p;
  p.images = static_cast<int64_t>(labels.data.size());
  EXPECT_EQ(a.size(), static_cast<size_t>(p.images * classes));
  EXPECT_EQ(b.size(), a.size());
  for (int64_t i = 0; i < p.images && static_cast<size_t>((i + 1) * classes) <= a.size(); ++i) {
    const auto top1 = [&](const std::vector<float>& y) {
      const float* row = y.data() + i * classes;
      return std::max_element(row, row + classes) - row;
    };
    const auto label = static_cast<int64_t>(labels.data[static_cast<size_t>(i)]);
    p.right_a += top1(a) == label;
    p.right_b += top1(b) == label;
    p.same += top1(a) == top1(b);
  }
  return p;
}

/// One fixture: a directory with weights.safetensors, input.npy (NCHW) and expected.npy.
struct Case {
  std::string name, arch;
  double width;
  int classes;
  int64_t batch, height, width_px;
};

/// The cases `dir`/cases.txt lists, all of them or those of one architecture.
inline std::vector<Case> fixture_cases(const std::string& dir = kFixtures,
                                       const std::string& arch = "") {
  std::ifstream f(dir + "/cases.txt");
  if (!f)
    throw mobilenet::Error(dir + "/cases.txt missing: run tools/make_fixtures.py (ctest runs it)");
  std::vector<Case> out;
  Case c;
  while (f >> c.name >> c.arch >> c.width >> c.classes >> c.batch >> c.height >> c.width_px)
    if (arch.empty() || c.arch == arch) out.push_back(c);
  return out;
}

/// The case's NCHW input batch as an NHWC tensor, checked against the shape cases.txt gives.
inline mobilenet::Tensor case_input(const std::string& path, const Case& c) {
  const mobilenet::NpyArray a = mobilenet::read_npy(path);
  const std::vector<int64_t> want = {c.batch, 3, c.height, c.width_px};
  if (a.shape != want)
    throw mobilenet::Error(path + ": shape " + mobilenet::shape_string(a.shape) + ", expected " +
                           mobilenet::shape_string(want));
  mobilenet::Tensor t({c.batch, c.height, c.width_px, 3});
  mobilenet::nchw_to_nhwc(a.data.data(), t);
  return t;
}

/// The logits of `m` on `x`, one thread.
inline std::vector<float> run(const mobilenet::Model& m, const mobilenet::Tensor& x) {
  mobilenet::Workspace ws = m.workspace({x.shape().n, x.shape().h, x.shape().w, 1});
  const mobilenet::ConstTensorView y = m.forward(x, ws);
  return std::vector<float>(y.data, y.data + y.numel());
}

/// The NCHW float32 batch at `path` as an NHWC tensor.
inline mobilenet::Tensor nhwc_from_npy(const std::string& path) {
  const mobilenet::NpyArray a = mobilenet::read_npy(path);
  EXPECT_EQ(a.shape.size(), 4u) << path;
  mobilenet::Tensor t({a.shape[0], a.shape[2], a.shape[3], a.shape[1]});
  mobilenet::nchw_to_nhwc(a.data.data(), t);
  return t;
}

struct Deviation {
  double max_ref = 0, max_diff = 0;
  double tolerance() const { return 1e-4 * std::max(1.0, max_ref); }
};

inline Deviation deviation(const std::vector<float>& got, const mobilenet::NpyArray& expected) {
  Deviation d;
  EXPECT_EQ(got.size(), expected.data.size());
  for (size_t i = 0; i < got.size() && i < expected.data.size(); ++i) {
    d.max_ref = std::max(d.max_ref, std::abs(double(expected.data[i])));
    d.max_diff = std::max(d.max_diff, std::abs(double(got[i]) - expected.data[i]));
  }
  return d;
}

}  // namespace parity
