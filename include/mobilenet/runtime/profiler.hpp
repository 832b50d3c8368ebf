#pragma once
// Wall-clock timing for `mobilenet-benchmark --profile` and `--profile-blocks`. Per layer: layers
// call `lap()` after each sub-layer, in the order Model::layers() lists them, and blocks run layer
// by layer so that each sub-layer can be timed. Per stage: the model calls `end_stage()` after
// the stem, each block, the last conv and the head (Model::stages()), and blocks run as they do
// unprofiled (fused). A disabled profiler does nothing, and an enabled one has its storage sized
// when the workspace is planned, so forward never allocates.

#include <chrono>
#include <cstddef>
#include <vector>

namespace mobilenet {

/// Wall-clock seconds per layer or per stage, summed over forward calls: Workspace::profile() with
/// WorkspaceOptions::profile or profile_stages set.
class Profiler {
 public:
  enum class Level { Layers, Stages };

  /// Enables timing of `rows` layers or stages (allocates; call when planning, not in forward).
  void enable(std::size_t rows, Level level) {
    seconds_.assign(rows, 0.0);
    level_ = level;
  }
  /// True once enable() was called with at least one row.
  bool enabled() const { return !seconds_.empty(); }
  /// True when timing each layer: blocks then run layer by layer instead of fused.
  bool per_layer() const { return enabled() && level_ == Level::Layers; }

  /// Starts timing a forward call (the next lap() goes to the first layer).
  void start() {
    if (!enabled()) return;
    next_ = 0;
    last_ = Clock::now();
  }
  /// Ends a layer: attributes the time since the previous lap (or start) to the next layer.
  void lap() {
    if (per_layer()) record();
  }
  /// Ends a stage: attributes the time since the previous stage (or start) to the next stage.
  void end_stage() {
    if (enabled() && level_ == Level::Stages) record();
  }
  /// Ends a forward call, counting it in runs().
  void finish() {
    if (enabled()) ++runs_;
  }

  /// Seconds spent in each row, summed over `runs()` forward calls.
  const std::vector<double>& seconds() const { return seconds_; }
  /// Forward calls timed since enable() or clear().
  std::size_t runs() const { return runs_; }
  /// Resets every row's time and the run count to zero.
  void clear() {
    std::fill(seconds_.begin(), seconds_.end(), 0.0);
    runs_ = 0;
  }

 private:
  using Clock = std::chrono::steady_clock;

  void record() {
    const Clock::time_point now = Clock::now();
    if (next_ < seconds_.size())
      seconds_[next_] += std::chrono::duration<double>(now - last_).count();
    ++next_;
    last_ = now;
  }

  std::vector<double> seconds_;
  Level level_ = Level::Layers;
  std::size_t next_ = 0, runs_ = 0;
  Clock::time_point last_;
};

}  // namespace mobilenet
