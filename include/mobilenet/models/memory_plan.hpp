#pragma once
// The memory plan of a workspace: every intermediate tensor of a forward pass placed in one
// byte-addressed arena, sized once for an input shape and thread count, so forward allocates
// nothing. Regions hold elements of whatever type their layers reserve them for (bytes here).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mobilenet/core/aligned_buffer.hpp"
#include "mobilenet/models/network.hpp"
#include "mobilenet/models/workspace_options.hpp"

namespace mobilenet {

/// The arena's regions, in order: two activation buffers (stage k writes buffer k % 2), the
/// blocks' named scratch regions (ScratchRegion, from ScratchBegin), the classifier's buffers.
enum class WorkspaceRegion : int {
  ActivationA,
  ActivationB,
  ScratchBegin,
  Pooled = ScratchBegin + kScratchRegions,  ///< pooled features, batch x in_features floats
  Hidden,  ///< two classifier hidden buffers, batch x hidden floats each
  Logits,  ///< batch x classes floats
  kCount
};

/// Number of workspace regions.
inline constexpr int kWorkspaceRegions = static_cast<int>(WorkspaceRegion::kCount);

/// Where every region lies in the arena: byte offsets, each 64-byte aligned, then the kept
/// feature maps (WorkspaceOptions::features, contiguous float copies).
struct MemoryPlan {
  int64_t offset[kWorkspaceRegions] = {};
  std::vector<int64_t> feature_offset;
  std::vector<Shape> feature_shape;
  int64_t total = 0;  ///< bytes of the arena
};

inline namespace MOBILENET_ISA {

/// The regions of one arena as pointers: what the executor reads and writes.
struct WorkspaceBuffers {
  std::byte* region[kWorkspaceRegions] = {};
  BlockScratch scratch;                   ///< the blocks' regions
  std::vector<int> feature_stages;        ///< stage index per kept feature map
  std::vector<TensorView> feature_slots;  ///< where each is kept

  /// Region `r` as an array of T.
  template <class T>
  T* as(WorkspaceRegion r) const {
    return reinterpret_cast<T*>(region[static_cast<int>(r)]);
  }

  /// The plan's regions in the arena starting at `base` (64-byte aligned, plan.total bytes).
  static WorkspaceBuffers place(const MemoryPlan& plan, const std::vector<int>& features,
                                std::byte* base) {
    WorkspaceBuffers b;
    for (int r = 0; r < kWorkspaceRegions; ++r) b.region[r] = base + plan.offset[r];
    for (int r = 0; r < kScratchRegions; ++r)
      b.scratch.region[r] = b.region[static_cast<int>(WorkspaceRegion::ScratchBegin) + r];
    for (size_t k = 0; k < features.size(); ++k) {
      b.feature_stages.push_back(features[k]);
      b.feature_slots.push_back(
          {reinterpret_cast<float*>(base + plan.feature_offset[k]), plan.feature_shape[k]});
    }
    return b;
  }
};

namespace memory_plan_detail {

/// Calls f(output shape, its pixel stride (0: contiguous), scratch size or null) for every stage
/// of `net` at `input`, the scratch planned for `threads` threads and fused blocks or not; checks
/// that no stage shrinks the image to nothing.
template <class Net, class F>
void walk(const Net& net, const Shape& input, int threads, bool fused, F&& f) {
  const auto check = [&](const Shape& out, const std::string& where) {
    if (out.h < 1 || out.w < 1)
      throw Error("input " + std::to_string(input.h) + "x" + std::to_string(input.w) +
                  " is too small for mobilenet " + to_string(net.spec.arch) + ": " + where +
                  " would produce an empty feature map");
  };
  Shape s = net.stem.output_shape(input);
  check(s, "the stem");
  const BlockScratchSize stem = net.stem_scratch_size(input);
  f(s, 0, &stem);
  for (size_t i = 0; i < net.blocks.size(); ++i) {
    visit_block(net.blocks[i], [&](const auto& b) {
      const Shape out = b.output_shape(s);
      check(out, "block " + std::to_string(i + 1));
      const BlockScratchSize size = b.scratch_size(s, threads, fused);
      f(out, net.block_output_stride(i), &size);
      s = out;
    });
  }
  if (net.last_conv) f(net.last_conv->output_shape(s), 0, nullptr);
}

}  // namespace memory_plan_detail

/// Plans the arena of `net` (a Network or an Int8Network: activations of Net::Element, the
/// classifier's buffers float) for the input and options `o`.
/// @throws Error if the size is out of range or too small for the network, a feature index does
/// not exist, or both profiling modes are asked for.
template <class Net>
MemoryPlan plan_memory(const Net& net, const WorkspaceOptions& o) {
  // Bounds keep every size product below 2^63; larger inputs are not images.
  constexpr int64_t kMaxSide = 1 << 15, kMaxBatch = 1 << 16;
  if (o.batch < 1 || o.height < 1 || o.width < 1 || o.batch > kMaxBatch || o.height > kMaxSide ||
      o.width > kMaxSide)
    throw Error("workspace: batch must be in [1, " + std::to_string(kMaxBatch) +
                "] and height and width in [1, " + std::to_string(kMaxSide) + "], got batch " +
                std::to_string(o.batch) + ", " + std::to_string(o.height) + "x" +
                std::to_string(o.width));
  if (o.profile && o.profile_stages)
    throw Error("workspace: profile (per layer) and profile_stages exclude each other");
  for (int f : o.features)
    if (f < 0 || f >= net.stage_count())
      throw Error("workspace: feature index " + std::to_string(f) + " outside [0, " +
                  std::to_string(net.stage_count() - 1) +
                  "] (torchvision's model.features indices)");
  using R = WorkspaceRegion;
  const auto at = [](R r) { return static_cast<int>(r); };
  constexpr int64_t kFloat = sizeof(float), kElement = sizeof(typename Net::Element);
  int64_t bytes[kWorkspaceRegions] = {};
  std::vector<Shape> stage_shapes;
  // Blocks run fused (banded, per-thread scratch) unless the profiler times each layer.
  memory_plan_detail::walk(
      net, {o.batch, o.height, o.width, 3}, o.threads, !o.profile,
      [&](const Shape& out, int64_t stride, const BlockScratchSize* s) {
        // Stage k writes activation buffer k % 2 (the executor's ping-pong): each buffer is as
        // large as the largest output written to it (padded if it is), so the two together hold
        // the two largest simultaneously live activations, not twice the largest.
        const R buffer = stage_shapes.size() % 2 == 0 ? R::ActivationA : R::ActivationB;
        stage_shapes.push_back(out);
        bytes[at(buffer)] =
            std::max(bytes[at(buffer)], out.pixels() * (stride ? stride : out.c) * kElement);
        if (!s) return;
        for (int r = 0; r < kScratchRegions; ++r) {
          int64_t& region = bytes[at(R::ScratchBegin) + r];
          region = std::max(region, s->bytes[r]);
        }
      });
  bytes[at(R::Pooled)] = o.batch * net.classifier.in_features() * kFloat;
  bytes[at(R::Hidden)] = 2 * o.batch * net.classifier.hidden_features() * kFloat;
  bytes[at(R::Logits)] = o.batch * net.spec.num_classes * kFloat;
  constexpr int64_t kAlign = AlignedBuffer::kAlignment;
  const auto aligned = [&](int64_t n) { return (n + kAlign - 1) / kAlign * kAlign; };
  MemoryPlan plan;
  for (int r = 0; r < kWorkspaceRegions; ++r) {
    plan.offset[r] = plan.total;
    plan.total += aligned(bytes[r]);
  }
  for (int f : o.features) {
    const Shape& shape = stage_shapes[static_cast<size_t>(f)];
    plan.feature_offset.push_back(plan.total);
    plan.feature_shape.push_back(shape);
    plan.total += aligned(shape.numel() * kFloat);
  }
  return plan;
}

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
