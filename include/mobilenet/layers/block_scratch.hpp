#pragma once
// Intermediate buffers a block needs besides its input and output, carved from the workspace
// arena when it is planned, so no block allocates in forward.

#include <cstdint>

#include "mobilenet/layers/squeeze_excite.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {

struct BlockScratch {
  float* expanded = nullptr;   // output of the 1x1 expansion
  float* depthwise = nullptr;  // output of the depthwise conv
  SqueezeExcite::Scratch se{};
};

/// Floats each scratch buffer needs for one block at one input shape.
struct BlockScratchSize {
  int64_t expanded = 0, depthwise = 0;
  int64_t se_row_sums = 0;  // batch x height x SE channels (the depthwise output's)
  int64_t se_channels = 0;  // batch x SE channels: the pooled and gate buffers
  int64_t se_squeeze = 0;   // batch x SE squeeze width: the hidden buffer
};

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
