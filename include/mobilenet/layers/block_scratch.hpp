#pragma once
// Intermediate buffers blocks need besides their input and output, as named regions of the
// workspace arena, sized and placed when a workspace is planned, so no block allocates in forward.
// A block kind that needs another buffer adds a row to ScratchRegion; the model's memory plan
// sizes every row from the blocks' scratch_size() and places it (Model::make_plan).

#include <cstdint>

#include "mobilenet/layers/squeeze_excite.hpp"

namespace mobilenet {

/// The named scratch regions, in the order the arena holds them.
enum class ScratchRegion : int {
  Expanded,   ///< output of the 1x1 expansion (or a fused block's per-thread rings)
  Depthwise,  ///< output of the depthwise conv (or a fused block's per-thread bands)
  SeRowSums,  ///< squeeze-excite: per-row channel sums, batch x height x channels
  SePooled,   ///< squeeze-excite: pooled channels, batch x channels
  SeHidden,   ///< squeeze-excite: the reduced layer's output, batch x squeeze width
  SeGate,     ///< squeeze-excite: the gate, batch x channels
  kCount
};

/// Number of scratch regions.
inline constexpr int kScratchRegions = static_cast<int>(ScratchRegion::kCount);

inline namespace MOBILENET_ISA {

/// Where each scratch region lives in a workspace's arena.
struct BlockScratch {
  float* region[kScratchRegions] = {};
  float* operator[](ScratchRegion r) const { return region[static_cast<int>(r)]; }
  /// The squeeze-excite layer's four buffers.
  SqueezeExcite::Scratch se() const {
    return {(*this)[ScratchRegion::SeRowSums], (*this)[ScratchRegion::SePooled],
            (*this)[ScratchRegion::SeHidden], (*this)[ScratchRegion::SeGate]};
  }
};

}  // namespace MOBILENET_ISA

/// Floats each scratch region needs for one block at one input shape (0: unused).
struct BlockScratchSize {
  int64_t floats[kScratchRegions] = {};
  int64_t& operator[](ScratchRegion r) { return floats[static_cast<int>(r)]; }
  int64_t operator[](ScratchRegion r) const { return floats[static_cast<int>(r)]; }
};

}  // namespace mobilenet
