#pragma once
// The cache sizes the kernels and the memory plan are tuned to, in one place. They describe the
// x86 and ARM cores this library was measured on (docs/design.md gives each measurement); a port
// to a core with another cache hierarchy starts here. ISA-independent: the numbers do not depend
// on the compiler's flags, only the code that reads them does.

#include <cstdint>

namespace mobilenet {
namespace cache {

/// Bytes and floats per cache line (x86 and the Cortex-A cores alike).
inline constexpr int64_t kLineBytes = 64;
inline constexpr int64_t kLineFloats = kLineBytes / sizeof(float);

/// Sets of an x86 L1 data cache (32 KiB 8-way and 48 KiB 12-way alike): addresses a multiple of
/// kL1Sets lines apart fall in one set (kernels::depthwise_detail::pixel_major,
/// kernels::padded_pixel_stride).
inline constexpr int64_t kL1Sets = 64;

/// A working set that stays in a core's L2 with room to spare: the input rows of a pointwise
/// block (kernels::pointwise) and a fused block's ring of expanded rows (FusedBands).
inline constexpr int64_t kL2WorkingSetBytes = 256 << 10;

/// Half an L2: a block whose depthwise input (one image) is larger runs fused by bands.
inline constexpr int64_t kFuseAboveBytes = 512 << 10;

/// Pointwise weights from this size on come from L3 or memory on every inference, so the kernel
/// prefetches the next weight panel (kernels::pointwise_detail::large_weights).
inline constexpr int64_t kStreamedWeightBytes = 96 << 10;

/// Pointwise weights from this size on, on few rows, are split by output channel between threads
/// so that each core streams half of them (PointwiseConv2d::forward).
inline constexpr int64_t kSplitWeightBytes = 1 << 20;

}  // namespace cache
}  // namespace mobilenet
