#pragma once
// Runs a Network on a batch: stem, blocks, last conv and classifier, each stage's output in the
// activation buffer the memory plan gave it, allocation-free.

#include <algorithm>
#include <cstdint>
#include <variant>

#include "mobilenet/models/memory_plan.hpp"
#include "mobilenet/models/network.hpp"
#include "mobilenet/runtime/profiler.hpp"
#include "mobilenet/runtime/thread_pool.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace executor_detail {

/// Copies stage `stage`'s output (padded or not) into every feature slot that asked for it
/// (contiguous).
inline void keep_features(const WorkspaceBuffers& b, int stage, ConstTensorView t) {
  const int64_t c = t.shape.c, stride = t.pixel_stride();
  for (size_t k = 0; k < b.feature_stages.size(); ++k)
    if (b.feature_stages[k] == stage)
      for (int64_t p = 0; p < t.shape.pixels(); ++p)
        std::copy(t.data + p * stride, t.data + p * stride + c, b.feature_slots[k].data + p * c);
}

}  // namespace executor_detail

/// Runs `net` on the batch `x` (NHWC) in the arena `b` (planned by plan_memory for x's shape)
/// and returns the logits [batch, 1, 1, classes], a view into the arena. Stage k writes
/// activation buffer k % 2; `prof` gets a lap per layer or stage as it is enabled.
inline ConstTensorView run_network(const Network& net, ConstTensorView x, const WorkspaceBuffers& b,
                                   ThreadPool& pool, Profiler& prof) {
  using executor_detail::keep_features;
  float* const activations[2] = {b.as<float>(WorkspaceRegion::ActivationA),
                                 b.as<float>(WorkspaceRegion::ActivationB)};
  prof.start();
  int current = 0;
  TensorView a{activations[current], net.stem.output_shape(x.shape)};
  net.stem.forward(x, a, pool);
  prof.lap();
  prof.end_stage();
  int stage = 0;
  keep_features(b, stage++, a);
  for (size_t i = 0; i < net.blocks.size(); ++i) {
    std::visit(
        [&](const auto& block) {
          TensorView out{activations[1 - current], block.output_shape(a.shape),
                         net.block_output_stride(i)};
          block.forward(a, out, b.scratch, pool, prof);
          prof.end_stage();
          a = out;
        },
        net.blocks[i]);
    current = 1 - current;
    keep_features(b, stage++, a);
  }
  if (net.last_conv) {
    TensorView out{activations[1 - current], net.last_conv->output_shape(a.shape)};
    net.last_conv->forward(a, out, pool);
    prof.lap();
    prof.end_stage();
    a = out;
    keep_features(b, stage, a);
  }
  float* const logits = b.as<float>(WorkspaceRegion::Logits);
  net.classifier.forward(a, b.as<float>(WorkspaceRegion::Pooled),
                         b.as<float>(WorkspaceRegion::Hidden), logits, pool, prof);
  prof.end_stage();
  prof.finish();
  return {logits, {x.shape.n, 1, 1, net.spec.num_classes}};
}

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
