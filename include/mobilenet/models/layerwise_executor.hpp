#pragma once
// Runs a network whose stages hand on tensors of another element type than float (the int8 and
// fp16 networks) on a float batch: the stem reads the float image, each block writes one of the
// two activation buffers in turn (stage k writes buffer k % 2), the last conv, then the features
// pooled to float for the classifier. Allocation-free in the arena the memory plan placed.
// What differs per network it asks of the network:
//   void run_stem(ConstTensorView x, const BlockScratch&, Element* out, ThreadPool&) const;
//   void run_last_conv(const Element* in, const Shape&, Element* out, ThreadPool&) const;
//   void to_float(int stage, const Element* x, int64_t n, float* out) const;  // stage's output
//   void pool_features(const Element* x, const Shape&, float* pooled) const;

#include <cstdint>

#include "mobilenet/models/memory_plan.hpp"
#include "mobilenet/runtime/profiler.hpp"
#include "mobilenet/runtime/thread_pool.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {

/// Runs `net` on the float batch `x` (NHWC) in the arena `b` (planned by plan_memory for x's
/// shape) and returns the float logits [batch, 1, 1, classes], a view into the arena; `prof`
/// gets a lap per layer or stage as it is enabled.
template <class Net>
ConstTensorView run_layerwise_network(const Net& net, ConstTensorView x, const WorkspaceBuffers& b,
                                      ThreadPool& pool, Profiler& prof) {
  using Element = typename Net::Element;
  Element* const activations[2] = {b.as<Element>(WorkspaceRegion::ActivationA),
                                   b.as<Element>(WorkspaceRegion::ActivationB)};
  // Stage `stage`'s output, as float, into every feature slot that asked for it.
  const auto keep_features = [&](int stage, const Element* a, const Shape& s) {
    for (size_t k = 0; k < b.feature_stages.size(); ++k)
      if (b.feature_stages[k] == stage) net.to_float(stage, a, s.numel(), b.feature_slots[k].data);
  };
  prof.start();
  int current = 0, stage = 0;
  Shape s = net.stem.output_shape(x.shape);
  net.run_stem(x, b.scratch, activations[0], pool);
  prof.lap();
  prof.end_stage();
  keep_features(stage++, activations[current], s);
  for (const auto& block : net.blocks) {
    const Shape out = block.output_shape(s);
    block.forward({activations[current], s}, {activations[1 - current], out}, b.scratch, pool,
                  prof);
    prof.end_stage();
    current = 1 - current;
    s = out;
    keep_features(stage++, activations[current], s);
  }
  if (net.last_conv) {
    const Shape out = net.last_conv->output_shape(s);
    net.run_last_conv(activations[current], s, activations[1 - current], pool);
    prof.lap();
    prof.end_stage();
    current = 1 - current;
    s = out;
    keep_features(stage, activations[current], s);
  }
  float* const pooled = b.as<float>(WorkspaceRegion::Pooled);
  float* const logits = b.as<float>(WorkspaceRegion::Logits);
  net.pool_features(activations[current], s, pooled);
  prof.lap();
  net.classifier.forward_pooled(pooled, s.n, b.as<float>(WorkspaceRegion::Hidden), logits, pool,
                                prof);
  prof.end_stage();
  prof.finish();
  return {logits, {x.shape.n, 1, 1, net.spec.num_classes}};
}

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
