#pragma once
// A built network: the layers a Model runs, in order, with BatchNorm folded and weights packed.
// The builder (network_builder.hpp) makes one from a NetworkSpec; the memory plan
// (memory_plan.hpp), the executor (executor.hpp) and the summary (summary.hpp) read it.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "mobilenet/core/precision.hpp"
#include "mobilenet/layers/block.hpp"
#include "mobilenet/layers/classifier.hpp"
#include "mobilenet/layers/conv2d.hpp"
#include "mobilenet/layers/depthwise_separable.hpp"
#include "mobilenet/layers/inverted_residual.hpp"
#include "mobilenet/models/spec.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {

/// The block kinds a network holds. A new kind is its class (the concept in layers/block.hpp),
/// an alternative here, a BlockKind and a case in the builder; the plan, executor and summary
/// visit whatever kinds this lists.
using Block = std::variant<DepthwiseSeparable, InvertedResidual>;
static_assert(is_block_v<DepthwiseSeparable> && is_block_v<InvertedResidual>,
              "every block kind has the members of the block concept (layers/block.hpp)");

/// Stem conv, blocks, optional last 1x1 conv and classifier. Immutable once built.
struct Network {
  using Element = float;  ///< What the activations between stages hold.
  NetworkSpec spec;       ///< What it was built from.
  Conv2d stem;
  std::vector<Block> blocks;
  std::optional<PointwiseConv2d> last_conv;
  Classifier classifier;

  /// Feature stages (torchvision's model.features indices): 0 the stem, 1..N the blocks, N+1 the
  /// last 1x1 conv if there is one.
  int stage_count() const { return static_cast<int>(blocks.size()) + (last_conv ? 2 : 1); }

  /// The arithmetic of the layers.
  static constexpr Precision kPrecision = Precision::fp32;

  /// The stem needs no scratch (it reads the input image directly).
  BlockScratchSize stem_scratch_size(const Shape&) const { return {}; }

  /// Elements between the pixels of block i's output: padded (kernels::padded_pixel_stride) when
  /// the next block is depthwise-separable too, as both read and write padded tensors (V1's
  /// depthwise layers run up to 2x as fast on them); else 0, contiguous, which every other layer
  /// takes.
  int64_t block_output_stride(std::size_t i) const {
    const auto separable = [&](std::size_t k) {
      return k < blocks.size() && std::holds_alternative<DepthwiseSeparable>(blocks[k]);
    };
    return separable(i) && separable(i + 1) ? kernels::padded_pixel_stride(spec.blocks[i].out) : 0;
  }
};

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
