#pragma once
// Per-caller state for running a model at one input shape: one arena holding every intermediate
// (two ping-pong activation buffers, the block scratch, the head's buffers), sized once when
// planned, and the caller's thread pool. A model is shared; each thread brings its Workspace.

#include <cstdint>
#include <memory>

#include "mobilenet/core/aligned_buffer.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/layers/block_scratch.hpp"
#include "mobilenet/runtime/profiler.hpp"
#include "mobilenet/runtime/thread_pool.hpp"

namespace mobilenet {

struct WorkspaceOptions {
  int64_t batch = 1, height = 224, width = 224;
  int threads = 1;
  bool profile = false;  // time every layer (see layer_seconds())
};

inline namespace MOBILENET_ISA {

class Workspace {
 public:
  /// The NHWC input shape (channels 3) this workspace was planned for.
  const Shape& input_shape() const { return input_; }
  /// Bytes of the single arena holding every intermediate tensor.
  std::size_t arena_bytes() const { return arena_.size() * sizeof(float); }
  int threads() const { return pool_->threads(); }
  /// With WorkspaceOptions::profile: seconds per row of Model::layers(), summed over runs.
  const Profiler& profile() const { return profiler_; }
  void clear_profile() { profiler_.clear(); }

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
};

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
