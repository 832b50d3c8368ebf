#pragma once
// Runs an Int8Network on a float batch: the stem quantizes the image as it reads it, the stages
// hand int8 tensors through the two activation buffers, and the pooled features leave int8 as
// floats for the classifier. Allocation-free in the arena the memory plan placed.

#include <cstdint>

#include "mobilenet/models/int8_network.hpp"
#include "mobilenet/models/memory_plan.hpp"
#include "mobilenet/runtime/profiler.hpp"
#include "mobilenet/runtime/thread_pool.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace int8_executor_detail {

/// Dequantizes stage `stage`'s output into every feature slot that asked for it.
inline void keep_features(const WorkspaceBuffers& b, int stage, const int8_t* x, const Shape& s,
                          quant::QuantParams p) {
  for (size_t k = 0; k < b.feature_stages.size(); ++k)
    if (b.feature_stages[k] == stage)
      for (int64_t i = 0; i < s.numel(); ++i)
        b.feature_slots[k].data[i] = quant::dequantize(x[i], p);
}

}  // namespace int8_executor_detail

/// Runs `net` on the float batch `x` (NHWC) in the arena `b` (planned by plan_memory for x's
/// shape) and returns the float logits [batch, 1, 1, classes], a view into the arena. Stage k
/// writes activation buffer k % 2; `prof` gets a lap per layer or stage as it is enabled.
inline ConstTensorView run_int8_network(const Int8Network& net, ConstTensorView x,
                                        const WorkspaceBuffers& b, ThreadPool& pool,
                                        Profiler& prof) {
  using int8_executor_detail::keep_features;
  int8_t* const activations[2] = {b.as<int8_t>(WorkspaceRegion::ActivationA),
                                  b.as<int8_t>(WorkspaceRegion::ActivationB)};
  prof.start();
  int current = 0, stage = 0;
  Shape s = net.stem.output_shape(x.shape);
  net.stem.conv.forward(x, b.scratch.as<int8_t>(ScratchRegion::StemColumns), activations[0], pool);
  if (net.stem.table) net.stem.table->forward(activations[0], s.numel(), pool);
  prof.lap();
  prof.end_stage();
  keep_features(b, stage, activations[current], s, net.stage_params(stage));
  ++stage;
  for (const BlockInt8& block : net.blocks) {
    const Shape out = block.output_shape(s);
    block.forward({activations[current], s}, {activations[1 - current], out}, b.scratch, pool,
                  prof);
    prof.end_stage();
    current = 1 - current;
    s = out;
    keep_features(b, stage, activations[current], s, net.stage_params(stage));
    ++stage;
  }
  if (net.last_conv) {
    const Shape out = net.last_conv->output_shape(s);
    net.last_conv->conv.forward(activations[current], s, activations[1 - current], pool);
    if (net.last_conv->table)
      net.last_conv->table->forward(activations[1 - current], out.numel(), pool);
    prof.lap();
    prof.end_stage();
    current = 1 - current;
    s = out;
    keep_features(b, stage, activations[current], s, net.stage_params(stage));
  }
  float* const pooled = b.as<float>(WorkspaceRegion::Pooled);
  float* const logits = b.as<float>(WorkspaceRegion::Logits);
  global_average_pool_int8(activations[current], s, net.stage_params(net.stage_count() - 1),
                           pooled);
  prof.lap();
  net.classifier.forward_pooled(pooled, s.n, b.as<float>(WorkspaceRegion::Hidden), logits, pool,
                                prof);
  prof.end_stage();
  prof.finish();
  return {logits, {x.shape.n, 1, 1, net.spec.num_classes}};
}

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
