#pragma once
// Per-caller state for running a model at one input shape: one byte-addressed arena holding
// every intermediate (placed by the memory plan), and the caller's thread pool. A model is
// shared; each thread brings its Workspace.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "mobilenet/core/aligned_buffer.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/models/memory_plan.hpp"
#include "mobilenet/models/workspace_options.hpp"
#include "mobilenet/runtime/profiler.hpp"
#include "mobilenet/runtime/thread_pool.hpp"

namespace mobilenet {

inline namespace MOBILENET_ISA {

/// Per-caller state for running a Model at one input shape: the arena holding every intermediate
/// tensor and the thread pool. Made by Model::workspace(); movable, not copyable. Use one per
/// thread; it belongs to the model that planned it.
class Workspace {
 public:
  /// The NHWC input shape (channels 3) this workspace was planned for.
  const Shape& input_shape() const { return input_; }
  /// Bytes of the single arena holding every intermediate tensor.
  std::size_t arena_bytes() const { return arena_.size(); }
  /// Threads each layer runs on, the caller included.
  int threads() const { return pool_->threads(); }
  /// Seconds per row of Model::layers() (WorkspaceOptions::profile) or of Model::stages()
  /// (profile_stages), summed over runs.
  const Profiler& profile() const { return profiler_; }
  /// Resets the profile's times and run count to zero.
  void clear_profile() { profiler_.clear(); }
  /// Feature map `k` of those named by WorkspaceOptions::features (NHWC), as of the last forward.
  ConstTensorView feature(size_t k) const { return buffers_.feature_slots.at(k); }
  /// How many feature maps are kept (the length of WorkspaceOptions::features).
  size_t feature_count() const { return buffers_.feature_slots.size(); }

 private:
  friend class Model;
  /// Allocates the arena `plan` describes for inputs `o` and places its regions.
  /// @throws Error if the arena cannot be allocated.
  Workspace(uint64_t model_id, const MemoryPlan& plan, const WorkspaceOptions& o)
      : model_id_(model_id),
        input_{o.batch, o.height, o.width, 3},
        pool_(std::make_unique<ThreadPool>(o.threads)) {
    try {
      arena_ = AlignedArray<std::byte>(static_cast<std::size_t>(plan.total));
    } catch (const std::bad_alloc&) {
      throw Error("workspace: cannot allocate " + std::to_string(plan.total) + " bytes for a " +
                  std::to_string(o.batch) + "x" + std::to_string(o.height) + "x" +
                  std::to_string(o.width) + " input");
    }
    buffers_ = WorkspaceBuffers::place(plan, o.features, arena_.data());
  }

  uint64_t model_id_;
  Shape input_;
  std::unique_ptr<ThreadPool> pool_;
  AlignedArray<std::byte> arena_;
  WorkspaceBuffers buffers_;
  Profiler profiler_;
};

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
