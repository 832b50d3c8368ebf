#pragma once
// A built int8 network: the stem, blocks and last conv in int8 (layers/int8/), the classifier in
// float on the dequantized pooled features. Made by build_int8_network()
// (int8_network_builder.hpp) from folded float weights and calibration ranges; planned by the
// same memory plan as the float Network (memory_plan.hpp), run by run_layerwise_network()
// (layerwise_executor.hpp), described by the same summary (summary.hpp).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mobilenet/core/precision.hpp"
#include "mobilenet/layers/classifier.hpp"
#include "mobilenet/layers/int8/block.hpp"
#include "mobilenet/models/spec.hpp"
#include "mobilenet/quant/int8_recipe.hpp"
#include "mobilenet/quant/quantize_options.hpp"

namespace mobilenet {

inline namespace MOBILENET_ISA {

struct Int8Network {
  using Element = int8_t;  ///< What the activations between stages hold.
  NetworkSpec spec;
  Int8Stage<StemConv2dInt8> stem;
  std::vector<BlockInt8> blocks;
  std::optional<Int8Stage<PointwiseConv2dInt8>> last_conv;
  Classifier classifier;  ///< float, on the pooled features dequantized
  /// What the network was built from, kept to be written to an int8 file.
  std::shared_ptr<const quant::Int8Recipe> recipe;

  static constexpr Precision kPrecision = Precision::int8;

  int stage_count() const { return static_cast<int>(blocks.size()) + (last_conv ? 2 : 1); }

  /// The parameters of feature stage k's output (as stage_count() counts stages).
  quant::QuantParams stage_params(int k) const {
    if (k == 0) return stem.output_params();
    if (k <= static_cast<int>(blocks.size()))
      return blocks[static_cast<std::size_t>(k - 1)].output_params();
    return last_conv->output_params();
  }

  /// The stem's quantized image and gathered input rows.
  BlockScratchSize stem_scratch_size(const Shape& in) const {
    BlockScratchSize s;
    s.reserve<int8_t>(ScratchRegion::StemColumns, stem.conv.scratch_bytes(in));
    return s;
  }

  /// Every int8 activation is contiguous.
  int64_t block_output_stride(std::size_t) const { return 0; }

  // What run_layerwise_network (layerwise_executor.hpp) asks of a network: the stem quantizes
  // the image as it reads it, a lookup table follows a conv whose activation is not a clamp, and
  // features leave int8 dequantized.
  void run_stem(ConstTensorView x, const BlockScratch& s, int8_t* out, ThreadPool& pool) const {
    stem.conv.forward(x, s.as<int8_t>(ScratchRegion::StemColumns), out, pool);
    if (stem.table) stem.table->forward(out, stem.output_shape(x.shape).numel(), pool);
  }
  void run_last_conv(const int8_t* in, const Shape& s, int8_t* out, ThreadPool& pool) const {
    last_conv->conv.forward(in, s, out, pool);
    if (last_conv->table) last_conv->table->forward(out, last_conv->output_shape(s).numel(), pool);
  }
  void to_float(int stage, const int8_t* x, int64_t n, float* out) const {
    const quant::QuantParams p = stage_params(stage);
    for (int64_t i = 0; i < n; ++i) out[i] = quant::dequantize(x[i], p);
  }
  void pool_features(const int8_t* x, const Shape& s, float* pooled) const {
    global_average_pool_int8(x, s, stage_params(stage_count() - 1), pooled);
  }
};

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
