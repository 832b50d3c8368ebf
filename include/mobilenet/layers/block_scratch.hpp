#pragma once
// Intermediate buffers blocks need besides their input and output, as named regions of the
// workspace arena, sized and placed when a workspace is planned, so no block allocates in forward.
// Regions are bytes: a block says how many elements of which type each holds (a float block and
// an int8 one use the same rows differently). A block kind that needs another buffer adds a row
// to ScratchRegion; the memory plan sizes every row from the blocks' scratch_size() and places it
// (models/memory_plan.hpp).

#include <cstddef>
#include <cstdint>

#include "mobilenet/layers/squeeze_excite.hpp"

namespace mobilenet {

/// The named scratch regions, in the order the arena holds them.
enum class ScratchRegion : int {
  Expanded,         ///< output of the 1x1 expansion (or a fused block's per-thread rings)
  Depthwise,        ///< output of the depthwise conv (or a fused block's per-thread bands)
  DepthwisePadded,  ///< the fp16 depthwise's input zero-padded (layers/fp16/convs.hpp)
  SeRowSums,        ///< squeeze-excite: per-row channel sums, batch x height x channels
  SePooled,         ///< squeeze-excite: pooled channels, batch x channels
  SeHidden,         ///< squeeze-excite: the reduced layer's output, batch x squeeze width
  SeGate,           ///< squeeze-excite: the gate, batch x channels
  SeGateFp16,       ///< squeeze-excite: the gate rounded to fp16 (layers/fp16/block.hpp)
  StemColumns,      ///< the int8 stem's quantized image and gathered rows (layers/int8/convs.hpp)
  kCount
};

/// Number of scratch regions.
inline constexpr int kScratchRegions = static_cast<int>(ScratchRegion::kCount);

inline namespace MOBILENET_ISA {

/// Where each scratch region starts in a workspace's arena (64-byte aligned).
struct BlockScratch {
  std::byte* region[kScratchRegions] = {};
  /// Region `r` as an array of T (what the block's scratch_size reserved it for).
  template <class T>
  T* as(ScratchRegion r) const {
    return reinterpret_cast<T*>(region[static_cast<int>(r)]);
  }
  /// The squeeze-excite layer's four buffers.
  SqueezeExcite::Scratch se() const {
    return {as<float>(ScratchRegion::SeRowSums), as<float>(ScratchRegion::SePooled),
            as<float>(ScratchRegion::SeHidden), as<float>(ScratchRegion::SeGate)};
  }
};

}  // namespace MOBILENET_ISA

/// Bytes each scratch region needs for one block at one input shape (0: unused).
struct BlockScratchSize {
  int64_t bytes[kScratchRegions] = {};
  /// Reserves region `r` for `count` elements of T.
  template <class T>
  void reserve(ScratchRegion r, int64_t count) {
    bytes[static_cast<int>(r)] = count * static_cast<int64_t>(sizeof(T));
  }
  /// Bytes reserved for region `r`.
  int64_t operator[](ScratchRegion r) const { return bytes[static_cast<int>(r)]; }
};

}  // namespace mobilenet
