#pragma once
// Builds a Network from a NetworkSpec and a weight source: checks the spec, loads every tensor by
// its key name, folds BatchNorm and packs the weights of each layer.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mobilenet/core/isa.hpp"
#include "mobilenet/io/timm_names.hpp"
#include "mobilenet/io/weight_source.hpp"
#include "mobilenet/models/network.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace network_builder {

/// Checks a (possibly user-made) spec and its key names before anything is allocated.
inline void validate(const NetworkSpec& s, const NetworkKeys& keys) {
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

inline Conv2d make_stem(const NetworkSpec& spec, WeightSource& src, const NetworkKeys& keys) {
  const auto f =
      load_conv_bn(src, keys.stem.conv, keys.stem.bn, {spec.stem_out, 3, 3, 3}, spec.bn_eps);
  return Conv2d({3, spec.stem_out, 3, 2, spec.padding, spec.stem_act}, f.weight.data(),
                f.bias.data());
}

inline Block make_block(const NetworkSpec& spec, const BlockSpec& b, WeightSource& src,
                        const BlockKeys& keys) {
  const auto dw = load_conv_bn(src, keys.depthwise.conv, keys.depthwise.bn,
                               {b.expanded, 1, b.kernel, b.kernel}, spec.bn_eps);
  DepthwiseConv2d depthwise({b.expanded, b.kernel, b.stride, spec.padding, b.act}, dw.weight.data(),
                            dw.bias.data());
  const bool dw_separable = b.kind == BlockKind::DepthwiseSeparable;
  const auto pw =
      load_conv_bn(src, keys.project.conv, keys.project.bn, {b.out, b.expanded, 1, 1}, spec.bn_eps);
  PointwiseConv2d project({b.expanded, b.out, dw_separable ? b.act : Activation::Identity},
                          pw.weight.data(), pw.bias.data());
  if (dw_separable) return DepthwiseSeparable(std::move(depthwise), std::move(project));

  std::optional<PointwiseConv2d> expand;
  if (b.expanded != b.in) {
    const auto e = load_conv_bn(src, keys.expand->conv, keys.expand->bn, {b.expanded, b.in, 1, 1},
                                spec.bn_eps);
    expand.emplace(PointwiseConv2d::Options{b.in, b.expanded, b.act}, e.weight.data(),
                   e.bias.data());
  }
  std::optional<SqueezeExcite> se;
  if (b.squeeze) {
    const auto fc1 = load_with_bias(src, keys.se_reduce, {b.squeeze, b.expanded, 1, 1});
    const auto fc2 = load_with_bias(src, keys.se_expand, {b.expanded, b.squeeze, 1, 1});
    se.emplace(b.expanded, b.squeeze, fc1.weight.data(), fc1.bias.data(), fc2.weight.data(),
               fc2.bias.data());
  }
  return InvertedResidual(std::move(expand), std::move(depthwise), std::move(se),
                          std::move(project));
}

inline Classifier make_classifier(const NetworkSpec& spec, WeightSource& src,
                                  const NetworkKeys& keys) {
  const int64_t features = spec.last_conv_out ? spec.last_conv_out : spec.blocks.back().out;
  std::vector<PointwiseConv2d> linears;
  int64_t in = features;
  for (size_t i = 0; i < keys.linears.size(); ++i) {
    const bool last = i + 1 == keys.linears.size();
    const int64_t out = last ? spec.num_classes : spec.hidden;
    const auto l = load_linear(src, keys.linears[i], out, in);
    linears.emplace_back(
        PointwiseConv2d::Options{in, out, last ? Activation::Identity : spec.hidden_act,
                                 BiasSource::Bias},
        l.weight.data(), l.bias.data());
    in = out;
  }
  return Classifier(std::move(linears));
}

inline std::optional<PointwiseConv2d> make_last_conv(const NetworkSpec& spec, WeightSource& src,
                                                     const NetworkKeys& keys) {
  if (!spec.last_conv_out) return std::nullopt;
  const int channels = spec.blocks.back().out;
  const auto f = load_conv_bn(src, keys.last_conv.conv, keys.last_conv.bn,
                              {spec.last_conv_out, channels, 1, 1}, spec.bn_eps);
  return PointwiseConv2d(PointwiseConv2d::Options{channels, spec.last_conv_out, spec.last_conv_act},
                         f.weight.data(), f.bias.data());
}

}  // namespace network_builder

/// Builds `spec` with weights from `source`, named by `keys` (see network_keys()).
/// @throws Error if this CPU lacks an instruction set the code was compiled for
/// (require_compiled_isa()), the spec is invalid or its key names do not match it; a
/// SafetensorsWeights source records missing or mis-shaped tensors instead (see
/// SafetensorsWeights::check_complete).
inline Network build_network(const NetworkSpec& spec, WeightSource& source,
                             const NetworkKeys& keys) {
  using namespace network_builder;
  require_compiled_isa();  // before any packing code runs
  validate(spec, keys);
  // Read in the order the tensors were always read (stem, head, blocks, last conv), so a file's
  // problems are listed in the same order.
  Conv2d stem = make_stem(spec, source, keys);
  Classifier classifier = make_classifier(spec, source, keys);
  std::vector<Block> blocks;
  for (size_t i = 0; i < spec.blocks.size(); ++i)
    blocks.push_back(make_block(spec, spec.blocks[i], source, keys.blocks.at(i)));
  std::optional<PointwiseConv2d> last_conv = make_last_conv(spec, source, keys);
  return Network{spec, std::move(stem), std::move(blocks), std::move(last_conv),
                 std::move(classifier)};
}

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
