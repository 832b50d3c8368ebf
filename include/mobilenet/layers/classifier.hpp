#pragma once
// The head after the last feature map: global average pool, then a chain of fully connected
// layers (V1/V2: one Linear; V3: Linear -> hardswish -> [dropout] -> Linear). Dropout is the
// identity at inference. The linear layers are PointwiseConv2d in float32, LinearFp16 in the fp16
// network (layers/fp16/linear.hpp).

#include <vector>

#include "mobilenet/kernels/pool.hpp"
#include "mobilenet/layers/pointwise_conv2d.hpp"
#include "mobilenet/runtime/profiler.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {

template <class Linear>
class BasicClassifier {
 public:
  explicit BasicClassifier(std::vector<Linear> linears) : linears_(std::move(linears)) {
    if (linears_.empty()) throw Error("a classifier needs at least one linear layer");
  }

  int64_t in_features() const { return linears_.front().options().in_channels; }
  int64_t num_classes() const { return linears_.back().options().out_channels; }
  /// Largest hidden width between two linear layers (0 for a single layer).
  int64_t hidden_features() const {
    int64_t h = 0;
    for (size_t i = 0; i + 1 < linears_.size(); ++i)
      h = std::max(h, linears_[i].options().out_channels);
    return h;
  }

  void describe(const std::string& name, const Shape& in, std::vector<LayerInfo>& out) const {
    Shape s{in.n, 1, 1, in.c};
    out.push_back({name + ".pool", "global-average-pool", s, 0, 0});
    for (size_t i = 0; i < linears_.size(); ++i) {
      out.push_back(linears_[i].info(name + ".fc" + std::to_string(i), s, "linear"));
      s = linears_[i].output_shape(s);
    }
  }

  /// `pooled` holds batch x in_features floats, `hidden` two buffers of batch x
  /// hidden_features each; the logits go to `logits` (batch x classes).
  void forward(ConstTensorView in, float* pooled, float* hidden, float* logits, ThreadPool& pool,
               Profiler& prof) const {
    require_contiguous("Classifier", "input", in);
    if (in.shape.c != in_features())
      throw Error("Classifier: input has " + std::to_string(in.shape.c) + " channels, expected " +
                  std::to_string(in_features()));
    const int64_t n = in.shape.n;
    kernels::global_average_pool(in, pooled, 0, n);
    prof.lap();
    forward_pooled(pooled, n, hidden, logits, pool, prof);
  }

  /// The layers after the pool: `pooled` holds batch `n` x in_features floats (an int8 network
  /// pools its own features), `hidden` and `logits` as for forward().
  void forward_pooled(const float* pooled, int64_t n, float* hidden, float* logits,
                      ThreadPool& pool, Profiler& prof) const {
    ConstTensorView x{pooled, {n, 1, 1, in_features()}};
    const int64_t hw = hidden_features();
    for (size_t i = 0; i < linears_.size(); ++i) {
      const bool last = i + 1 == linears_.size();
      TensorView y{last ? logits : hidden + static_cast<int64_t>(i % 2) * n * hw,
                   linears_[i].output_shape(x.shape)};
      linears_[i].forward(x, y, pool);
      prof.lap();
      x = y;
    }
  }

 private:
  std::vector<Linear> linears_;
};

using Classifier = BasicClassifier<PointwiseConv2d>;

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
