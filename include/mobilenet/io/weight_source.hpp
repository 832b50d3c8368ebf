#pragma once
// Where a model builder gets its tensors: a safetensors file (checked key by key, all problems
// reported at once) or seeded random values (benchmarks and summaries need no file). Also
// BatchNorm folding: conv + BN become one conv with bias, done once at load.

#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/io/safetensors.hpp"

namespace mobilenet {

/// Where a Model's constructor gets its tensors, by state-dict key name.
class WeightSource {
 public:
  virtual ~WeightSource() = default;
  /// The tensor `name` as float32 with exactly `shape` (PyTorch's layout). A source may record a
  /// problem and return zeros instead of throwing, so that all problems are reported together.
  virtual std::vector<float> tensor(const std::string& name, const std::vector<int64_t>& shape) = 0;
  /// The shape `name` is stored with, if the source holds it (a file does; random weights have
  /// no stored shapes). Lets a builder accept either of two layouts of the same numbers.
  virtual std::optional<std::vector<int64_t>> stored_shape(const std::string& name) const {
    (void)name;
    return std::nullopt;
  }
};

/// Tensors from a safetensors file whose keys are a known name scheme (e.g. torchvision's).
class SafetensorsWeights : public WeightSource {
 public:
  /// Reads from `file`, which must outlive this object.
  explicit SafetensorsWeights(const SafetensorsFile& file) : file_(file) {}

  std::vector<float> tensor(const std::string& name, const std::vector<int64_t>& shape) override {
    used_.insert(name);
    int64_t count = 1;
    for (int64_t d : shape) count *= d;
    const auto it = file_.tensors().find(name);
    if (it == file_.tensors().end()) {
      problems_.push_back("missing tensor '" + name + "' (expected shape " + shape_string(shape) + ")");
    } else if (it->second.shape != shape) {
      problems_.push_back("tensor '" + name + "' has shape " + shape_string(it->second.shape) +
                          ", expected " + shape_string(shape));
    } else if (it->second.dtype != "F32" && it->second.dtype != "F16" && it->second.dtype != "BF16") {
      problems_.push_back("tensor '" + name + "' has dtype " + it->second.dtype +
                          ", expected F32, F16 or BF16");
    } else {
      return file_.read_float(name);
    }
    return std::vector<float>(static_cast<size_t>(count), 0.0f);
  }

  std::optional<std::vector<int64_t>> stored_shape(const std::string& name) const override {
    const auto it = file_.tensors().find(name);
    if (it == file_.tensors().end()) return std::nullopt;
    return it->second.shape;
  }

  /// Throws one Error listing every missing, mis-shaped and unexpected tensor, if any.
  /// BatchNorm's `num_batches_tracked` counters carry no inference data and are ignored.
  void check_complete(const std::string& model_description) const {
    std::vector<std::string> problems = problems_;
    for (const auto& [name, entry] : file_.tensors()) {
      const std::string ignored = "num_batches_tracked";
      const bool is_counter = name.size() >= ignored.size() &&
                              name.compare(name.size() - ignored.size(), ignored.size(), ignored) == 0;
      if (!used_.count(name) && !is_counter)
        problems.push_back("unexpected tensor '" + name + "' with shape " + shape_string(entry.shape));
    }
    if (problems.empty()) return;
    std::string msg = file_.name() + ": weights do not match " + model_description + " (" +
                      std::to_string(problems.size()) + " problem" + (problems.size() > 1 ? "s" : "") + "):";
    for (const auto& p : problems) msg += "\n  " + p;
    throw Error(msg);
  }

 private:
  const SafetensorsFile& file_;
  std::set<std::string> used_;
  std::vector<std::string> problems_;
};

/// Seeded random weights with healthy statistics: He-uniform conv and linear weights, BatchNorm
/// scale and variance near 1. For benchmarks and shape checks only.
class RandomWeights : public WeightSource {
 public:
  /// Weights drawn from a generator seeded with `seed`: the same seed gives the same model.
  explicit RandomWeights(uint32_t seed = 0) : rng_(seed) {}

  std::vector<float> tensor(const std::string& name, const std::vector<int64_t>& shape) override {
    int64_t count = 1, fan_in = 1;
    for (size_t i = 0; i < shape.size(); ++i) {
      count *= shape[i];
      if (i > 0) fan_in *= shape[i];
    }
    const auto ends_with = [&](const char* s) {
      const std::string suffix(s);
      return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    float lo = -0.1f, hi = 0.1f;
    if (shape.size() > 1) {
      hi = std::sqrt(6.0f / static_cast<float>(fan_in));
      lo = -hi;
    } else if (ends_with("running_var") || ends_with("weight")) {
      lo = 0.5f, hi = 1.5f;
    }
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(static_cast<size_t>(count));
    for (float& x : v) x = dist(rng_);
    return v;
  }

 private:
  std::mt19937 rng_;
};

/// A conv weight (PyTorch layout) and bias after folding BatchNorm into it.
struct FoldedConv {
  std::vector<float> weight;  ///< PyTorch layout, [out][in/groups][k][k] (Linear: [out][in]).
  std::vector<float> bias;    ///< One per output channel.
};

/// Loads conv `conv_key`.weight with `shape` ([out][in/groups][k][k]) and BatchNorm
/// `bn_key`.{weight,bias,running_mean,running_var}, and folds them:
///   w' = w * gamma / sqrt(var + eps),  b' = beta - mean * gamma / sqrt(var + eps).
inline FoldedConv load_conv_bn(WeightSource& src, const std::string& conv_key,
                               const std::string& bn_key, const std::vector<int64_t>& shape,
                               double eps) {
  const int64_t out = shape.at(0);
  FoldedConv f{src.tensor(conv_key + ".weight", shape), {}};
  const auto gamma = src.tensor(bn_key + ".weight", {out});
  const auto beta = src.tensor(bn_key + ".bias", {out});
  const auto mean = src.tensor(bn_key + ".running_mean", {out});
  const auto var = src.tensor(bn_key + ".running_var", {out});
  const size_t per_out = f.weight.size() / static_cast<size_t>(out);
  f.bias.resize(static_cast<size_t>(out));
  for (size_t o = 0; o < static_cast<size_t>(out); ++o) {
    const double scale = gamma[o] / std::sqrt(static_cast<double>(var[o]) + eps);
    for (size_t i = 0; i < per_out; ++i)
      f.weight[o * per_out + i] = static_cast<float>(f.weight[o * per_out + i] * scale);
    f.bias[o] = static_cast<float>(beta[o] - mean[o] * scale);
  }
  return f;
}

/// Loads `key`.weight with `shape` and `key`.bias ([shape[0]]): a Linear or a conv with bias.
inline FoldedConv load_with_bias(WeightSource& src, const std::string& key,
                                 const std::vector<int64_t>& shape) {
  return {src.tensor(key + ".weight", shape), src.tensor(key + ".bias", {shape.at(0)})};
}

/// Loads a Linear layer `key` ([out, in] weight and [out] bias). A weight stored as a 1x1 conv,
/// [out, in, 1, 1] (timm's MobileNetV3 conv_head), holds the same numbers and is accepted too.
inline FoldedConv load_linear(WeightSource& src, const std::string& key, int64_t out, int64_t in) {
  const std::vector<int64_t> conv_shape = {out, in, 1, 1};
  if (src.stored_shape(key + ".weight") == conv_shape) return load_with_bias(src, key, conv_shape);
  return load_with_bias(src, key, {out, in});
}

}  // namespace mobilenet
