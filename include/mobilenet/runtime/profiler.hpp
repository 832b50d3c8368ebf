#pragma once
// Per-layer wall-clock timing for `mobilenet-benchmark --profile`. Layers call `lap()` after each
// sub-layer, in the order Model::layers() lists them; a disabled profiler does nothing, and an
// enabled one has its storage sized when the workspace is planned, so forward never allocates.

#include <chrono>
#include <cstddef>
#include <vector>

namespace mobilenet {

/// Wall-clock seconds per layer, summed over forward calls: Workspace::profile() with
/// WorkspaceOptions::profile set.
class Profiler {
 public:
  /// Enables timing of `rows` layers (allocates; call when planning, not in forward).
  void enable(std::size_t rows) { seconds_.assign(rows, 0.0); }
  /// True once enable() was called with at least one row.
  bool enabled() const { return !seconds_.empty(); }

  /// Starts timing a forward call (the next lap() goes to the first layer).
  void start() {
    if (!enabled()) return;
    next_ = 0;
    last_ = Clock::now();
  }
  /// Attributes the time since the previous lap (or start) to the next layer.
  void lap() {
    if (!enabled()) return;
    const Clock::time_point now = Clock::now();
    if (next_ < seconds_.size()) seconds_[next_] += std::chrono::duration<double>(now - last_).count();
    ++next_;
    last_ = now;
  }
  /// Ends a forward call, counting it in runs().
  void finish() {
    if (enabled()) ++runs_;
  }

  /// Seconds spent in each layer, summed over `runs()` forward calls.
  const std::vector<double>& seconds() const { return seconds_; }
  /// Forward calls timed since enable() or clear().
  std::size_t runs() const { return runs_; }
  /// Resets every layer's time and the run count to zero.
  void clear() {
    std::fill(seconds_.begin(), seconds_.end(), 0.0);
    runs_ = 0;
  }

 private:
  using Clock = std::chrono::steady_clock;
  std::vector<double> seconds_;
  std::size_t next_ = 0, runs_ = 0;
  Clock::time_point last_;
};

}  // namespace mobilenet
