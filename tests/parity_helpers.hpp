#pragma once
// What the parity suites against PyTorch share: running a model on a batch, reading an NCHW .npy
// batch as NHWC, and the deviation from the reference with its tolerance (1e-4 of the logits'
// scale, as tools/make_fixtures.py states).

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "mobilenet/mobilenet.hpp"

namespace parity {

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
