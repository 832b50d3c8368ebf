#pragma once
// A network's weights as loaded, before any packing: the spec checked, every tensor read by its
// key name and BatchNorm folded into its convolution. The float builder (network_builder.hpp) and
// the int8 one (int8_network_builder.hpp) both start from it, so both read a weight source once,
// in the same order.

#include <optional>
#include <string>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/io/timm_names.hpp"
#include "mobilenet/io/weight_source.hpp"
#include "mobilenet/models/spec.hpp"

namespace mobilenet {

/// Checks a (possibly user-made) spec and its key names before anything is allocated.
inline void validate_spec(const NetworkSpec& s, const NetworkKeys& keys) {
  constexpr int kMaxChannels = 1 << 16, kMaxClasses = 1 << 20;
  const auto require = [](bool ok, const std::string& what) {
    if (!ok) throw Error("invalid network spec: " + what);
  };
  const auto channels_ok = [&](int c) { return c >= 1 && c <= kMaxChannels; };
  require(channels_ok(s.stem_out), "stem channels " + std::to_string(s.stem_out));
  require(!s.blocks.empty(), "no blocks");
  require(s.num_classes >= 1 && s.num_classes <= kMaxClasses,
          "num_classes " + std::to_string(s.num_classes) + " outside [1, " +
              std::to_string(kMaxClasses) + "]");
  require(s.last_conv_out == 0 || channels_ok(s.last_conv_out), "last conv channels");
  require(s.hidden == 0 || channels_ok(s.hidden), "classifier hidden width");
  require(s.bn_eps >= 0, "negative BatchNorm eps");
  require(keys.blocks.size() == s.blocks.size(),
          "key names for " + std::to_string(keys.blocks.size()) + " blocks but the spec has " +
              std::to_string(s.blocks.size()));
  require(keys.linears.size() == (s.hidden ? 2u : 1u),
          "classifier key names do not match the spec");
  for (size_t i = 0; i < s.blocks.size(); ++i) {
    const BlockSpec& b = s.blocks[i];
    const std::string where = "block " + std::to_string(i) + ": ";
    require(channels_ok(b.in) && channels_ok(b.expanded) && channels_ok(b.out),
            where + "channel count outside [1, 65536]");
    require(b.kernel == 3 || b.kernel == 5, where + "kernel must be 3 or 5");
    require(b.stride == 1 || b.stride == 2, where + "stride must be 1 or 2");
    require(b.squeeze >= 0 && b.squeeze <= kMaxChannels, where + "squeeze width");
    if (b.kind == BlockKind::DepthwiseSeparable)
      require(b.expanded == b.in && b.squeeze == 0,
              where + "a depthwise-separable block has no expansion or SE");
    else
      require((b.expanded == b.in || keys.blocks[i].expand) &&
                  (!b.squeeze ||
                   (!keys.blocks[i].se_reduce.empty() && !keys.blocks[i].se_expand.empty())),
              where + "missing key names for its expansion or SE");
  }
  int channels = s.stem_out;
  for (size_t i = 0; i < s.blocks.size(); ++i) {
    if (s.blocks[i].in != channels)
      throw Error("block " + std::to_string(i) + " takes " + std::to_string(s.blocks[i].in) +
                  " channels but the previous layer gives " + std::to_string(channels));
    channels = s.blocks[i].out;
  }
}

/// One block's folded weights; the optional ones are present as the block's spec asks.
struct FoldedBlock {
  std::optional<FoldedConv> expand;
  FoldedConv depthwise;
  std::optional<FoldedConv> se_reduce, se_expand;
  FoldedConv project;
};

/// Every layer's folded weights, PyTorch layouts.
struct FoldedNetwork {
  FoldedConv stem;
  std::vector<FoldedBlock> blocks;
  std::optional<FoldedConv> last_conv;
  std::vector<FoldedConv> linears;  ///< the classifier's, in order
};

/// Checks `spec` and `keys` (validate_spec) and loads and folds every weight from `src`.
/// @throws Error as validate_spec(); a SafetensorsWeights source records missing or mis-shaped
/// tensors instead (see SafetensorsWeights::check_complete).
inline FoldedNetwork load_folded_network(const NetworkSpec& spec, WeightSource& src,
                                         const NetworkKeys& keys) {
  validate_spec(spec, keys);
  const double eps = spec.bn_eps;
  FoldedNetwork f;
  // Read in the order the tensors were always read (stem, head, blocks, last conv), so a file's
  // problems are listed in the same order.
  f.stem = load_conv_bn(src, keys.stem.conv, keys.stem.bn, {spec.stem_out, 3, 3, 3}, eps);
  int64_t in = spec.last_conv_out ? spec.last_conv_out : spec.blocks.back().out;
  for (size_t i = 0; i < keys.linears.size(); ++i) {
    const int64_t out = i + 1 == keys.linears.size() ? spec.num_classes : spec.hidden;
    f.linears.push_back(load_linear(src, keys.linears[i], out, in));
    in = out;
  }
  for (size_t i = 0; i < spec.blocks.size(); ++i) {
    const BlockSpec& b = spec.blocks[i];
    const BlockKeys& k = keys.blocks[i];
    FoldedBlock fb;
    fb.depthwise = load_conv_bn(src, k.depthwise.conv, k.depthwise.bn,
                                {b.expanded, 1, b.kernel, b.kernel}, eps);
    fb.project = load_conv_bn(src, k.project.conv, k.project.bn, {b.out, b.expanded, 1, 1}, eps);
    if (b.kind == BlockKind::InvertedResidual) {
      if (b.expanded != b.in)
        fb.expand = load_conv_bn(src, k.expand->conv, k.expand->bn, {b.expanded, b.in, 1, 1}, eps);
      if (b.squeeze) {
        fb.se_reduce = load_with_bias(src, k.se_reduce, {b.squeeze, b.expanded, 1, 1});
        fb.se_expand = load_with_bias(src, k.se_expand, {b.expanded, b.squeeze, 1, 1});
      }
    }
    f.blocks.push_back(std::move(fb));
  }
  if (spec.last_conv_out)
    f.last_conv = load_conv_bn(src, keys.last_conv.conv, keys.last_conv.bn,
                               {spec.last_conv_out, spec.blocks.back().out, 1, 1}, eps);
  return f;
}

}  // namespace mobilenet
