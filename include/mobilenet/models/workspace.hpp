#pragma once
// Per-caller state for running a model at one input shape: one arena holding every intermediate
// (two ping-pong activation buffers, the block scratch, the head's buffers), sized once when
// planned, and the caller's thread pool. A model is shared; each thread brings its Workspace.

#include <cstdint>
#include <memory>
#include <vector>

#include "mobilenet/core/aligned_buffer.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/layers/block_scratch.hpp"
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
  std::size_t arena_bytes() const { return arena_.size() * sizeof(float); }
  /// Threads each layer runs on, the caller included.
  int threads() const { return pool_->threads(); }
  /// Seconds per row of Model::layers() (WorkspaceOptions::profile) or of Model::stages()
  /// (profile_stages), summed over runs.
  const Profiler& profile() const { return profiler_; }
  /// Resets the profile's times and run count to zero.
  void clear_profile() { profiler_.clear(); }
  /// Feature map `k` of those named by WorkspaceOptions::features (NHWC), as of the last forward.
  ConstTensorView feature(size_t k) const { return feature_slots_.at(k); }
  /// How many feature maps are kept (the length of WorkspaceOptions::features).
  size_t feature_count() const { return feature_slots_.size(); }

 private:
  friend class Model;
  Workspace(uint64_t model_id, const Shape& input, int threads)
      : model_id_(model_id), input_(input), pool_(std::make_unique<ThreadPool>(threads)) {}

  uint64_t model_id_;
  Shape input_;
  std::unique_ptr<ThreadPool> pool_;
  AlignedBuffer arena_;
  Profiler profiler_;
  float* activations[2] = {nullptr, nullptr};
  BlockScratch scratch;
  float* pooled = nullptr;
  float* hidden = nullptr;
  float* logits = nullptr;
  std::vector<int> feature_stages_;        // stage index per kept feature map
  std::vector<TensorView> feature_slots_;  // where each is kept in the arena
};

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
