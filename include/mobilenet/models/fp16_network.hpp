#pragma once
// A built fp16 network (Precision::fp16): the stem, blocks and last conv compute in fp16
// (layers/fp16/), activations flow between them in fp16, the features are pooled in float, and
// the classifier's multiply-adds run in fp16 with float32 sums of 32-input fp16 partial sums (its
// 1024- to 1280-wide sums are where fp16 would lose most; layers/fp16/linear.hpp). Input and logits
// are float, as for every model. Built by build_fp16_network() from the same folded float weights
// as the float network, each rounded to fp16 once; planned by the same memory plan
// (memory_plan.hpp), described by the same summary (summary.hpp), run by run_layerwise_network()
// (layerwise_executor.hpp). Exists where fp16 arithmetic is compiled (core/half.hpp); elsewhere
// fp16_unavailable() (core/precision.hpp) says why it cannot be built.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mobilenet/core/half.hpp"
#include "mobilenet/core/isa.hpp"
#include "mobilenet/models/folded_network.hpp"
#include "mobilenet/models/network_builder.hpp"

#ifdef MOBILENET_HAS_FP16_ARITHMETIC
#include "mobilenet/layers/fp16/block.hpp"
#include "mobilenet/layers/fp16/linear.hpp"
#endif

namespace mobilenet {
inline namespace MOBILENET_ISA {

#ifdef MOBILENET_HAS_FP16_ARITHMETIC

struct Fp16Network {
  using Element = half;  ///< What the activations between stages hold.
  NetworkSpec spec;
  StemConv2dFp16 stem;
  std::vector<BlockFp16> blocks;
  std::optional<PointwiseConv2dFp16> last_conv;
  BasicClassifier<LinearFp16> classifier;  ///< on the features pooled in float

  static constexpr Precision kPrecision = Precision::fp16;

  int stage_count() const { return static_cast<int>(blocks.size()) + (last_conv ? 2 : 1); }

  /// The stem's gathered rows.
  BlockScratchSize stem_scratch_size(const Shape& in) const {
    BlockScratchSize s;
    s.reserve<half>(ScratchRegion::StemColumns, stem.scratch_values(in));
    return s;
  }

  /// Every fp16 activation is contiguous.
  int64_t block_output_stride(std::size_t) const { return 0; }

  // What run_layerwise_network (layerwise_executor.hpp) asks of a network.
  void run_stem(ConstTensorView x, const BlockScratch& s, half* out, ThreadPool& pool) const {
    stem.forward(x, s.as<half>(ScratchRegion::StemColumns), out, pool);
  }
  void run_last_conv(const half* in, const Shape& s, half* out, ThreadPool& pool) const {
    last_conv->forward(in, s, out, nullptr, pool);
  }
  void to_float(int /*stage*/, const half* x, int64_t n, float* out) const {
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(x[i]);
  }
  void pool_features(const half* x, const Shape& s, float* pooled) const {
    global_average_pool_fp16(x, s, pooled);
  }
};

namespace fp16_builder {

inline BlockFp16 make_block(const NetworkSpec& spec, const BlockSpec& b, const FoldedBlock& f) {
  const bool separable = b.kind == BlockKind::DepthwiseSeparable;
  std::optional<PointwiseConv2dFp16> expand;
  if (f.expand)
    expand.emplace(b.in, b.expanded, b.act, f.expand->weight.data(), f.expand->bias.data(),
                   "fp16 expand");
  std::optional<SqueezeExciteFp16> se;
  if (f.se_reduce)
    se.emplace(b.expanded, b.squeeze, f.se_reduce->weight.data(), f.se_reduce->bias.data(),
               f.se_expand->weight.data(), f.se_expand->bias.data());
  return BlockFp16(
      std::move(expand),
      DepthwiseConv2dFp16(b.expanded, b.kernel, b.stride, spec.padding, b.act,
                          f.depthwise.weight.data(), f.depthwise.bias.data()),
      std::move(se),
      PointwiseConv2dFp16(b.expanded, b.out, separable ? b.act : Activation::Identity,
                          f.project.weight.data(), f.project.bias.data(), "fp16 project"),
      // torchvision's rule (models/mobilenetv2.py, mobilenetv3.py)
      !separable && b.stride == 1 && b.in == b.out);
}

}  // namespace fp16_builder

/// Builds `spec` in fp16 with weights from `source`, named by `keys`.
/// @throws Error as build_network(), or if a folded weight is beyond fp16's range (naming the
/// layer).
inline Fp16Network build_fp16_network(const NetworkSpec& spec, WeightSource& source,
                                      const NetworkKeys& keys) {
  require_compiled_isa();  // before any packing code runs
  const FoldedNetwork f = load_folded_network(spec, source, keys);
  std::vector<BlockFp16> blocks;
  for (size_t i = 0; i < spec.blocks.size(); ++i) {
    try {
      blocks.push_back(fp16_builder::make_block(spec, spec.blocks[i], f.blocks[i]));
    } catch (const Error& e) {
      throw Error("block " + std::to_string(i) + ": " + e.what());
    }
  }
  std::optional<PointwiseConv2dFp16> last_conv;
  if (f.last_conv)
    last_conv.emplace(spec.blocks.back().out, spec.last_conv_out, spec.last_conv_act,
                      f.last_conv->weight.data(), f.last_conv->bias.data(), "fp16 last conv");
  return Fp16Network{spec,
                     StemConv2dFp16(3, spec.stem_out, 3, 2, spec.padding, spec.stem_act,
                                    f.stem.weight.data(), f.stem.bias.data()),
                     std::move(blocks), std::move(last_conv),
                     network_builder::make_classifier<LinearFp16>(spec, f.linears)};
}

#endif  // MOBILENET_HAS_FP16_ARITHMETIC

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
