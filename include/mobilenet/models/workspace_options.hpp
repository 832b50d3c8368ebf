#pragma once
// The input shape a workspace is planned for, and how it runs.

#include <cstdint>
#include <vector>

namespace mobilenet {

/// The input shape a Workspace is planned for, and how it runs.
struct WorkspaceOptions {
  int64_t batch = 1;     ///< Images per forward call.
  int64_t height = 224;  ///< Input height in pixels.
  int64_t width = 224;   ///< Input width in pixels.
  int threads = 1;       ///< Threads per layer, the calling thread included.
  bool profile = false;  ///< Time every layer, blocks run unfused (see Workspace::profile()).
  /// Feature maps to keep, by torchvision's `model.features[i]` index: 0 is the stem, 1..N the
  /// blocks, N+1 the last 1x1 conv (V2/V3). Read them with Workspace::feature(k) after forward.
  std::vector<int> features = {};
  /// Time every stage (stem, block, last conv, head) as it runs unprofiled, fused blocks
  /// included (see Workspace::profile()). Exclusive with `profile`.
  bool profile_stages = false;
};

}  // namespace mobilenet
