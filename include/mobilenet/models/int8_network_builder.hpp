#pragma once
// Quantizes a network: loads and folds its float weights (folded_network.hpp), runs the float
// layers over calibration images recording the range of every tensor the int8 network will
// quantize, and builds the int8 layers from the weights and those ranges (the scheme:
// quant/quantize.hpp).
//
// Where a tensor is quantized: the input image; each conv's output after its activation when
// that is a clamp (ReLU, ReLU6, none), else before it and again after its lookup table
// (hard-swish); the projection's output and, with a residual, the sum. Squeeze-excite keeps its
// tensor's parameters (its gate only shrinks values). Ranges are those of the float network's
// own tensors, each layer fed the float output of the one before.

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mobilenet/core/isa.hpp"
#include "mobilenet/layers/conv2d.hpp"
#include "mobilenet/layers/depthwise_conv2d.hpp"
#include "mobilenet/layers/pointwise_conv2d.hpp"
#include "mobilenet/layers/squeeze_excite.hpp"
#include "mobilenet/models/folded_network.hpp"
#include "mobilenet/models/int8_network.hpp"
#include "mobilenet/models/network_builder.hpp"
#include "mobilenet/quant/calibration.hpp"
#include "mobilenet/quant/int8_recipe.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace int8_builder {

/// The ranges of one conv's output: before its activation and after it.
struct ConvRanges {
  quant::RangeObserver before, after;
};

struct BlockRanges {
  ConvRanges expand, depthwise, project;
  quant::RangeObserver sum;  ///< project + input, with a residual
};

/// Whether block `b` adds its input to its output (torchvision's rule).
inline bool has_residual(const BlockSpec& b) {
  return b.kind == BlockKind::InvertedResidual && b.stride == 1 && b.in == b.out;
}

struct NetworkRanges {
  quant::RangeObserver input;
  ConvRanges stem, last_conv;
  std::vector<BlockRanges> blocks;
};

/// A float tensor owned for the calibration pass (allocation is fine here: it is not forward).
struct FloatTensor {
  std::vector<float> data;
  Shape shape;
  explicit FloatTensor(const Shape& s) : data(static_cast<std::size_t>(s.numel())), shape(s) {}
  TensorView view() { return {data.data(), shape}; }
};

/// Records `r.before`, applies `act` in place and records `r.after`.
inline void activate_and_observe(FloatTensor& t, Activation act, ConvRanges& r,
                                 const std::string& where) {
  r.before.observe(t.data.data(), static_cast<int64_t>(t.data.size()), where);
  for (float& v : t.data) v = quant::activation_value(act, v);
  r.after.observe(t.data.data(), static_cast<int64_t>(t.data.size()), where);
}

/// Runs the float layers (activations applied separately, so both sides are seen) over each
/// image of `calibration` and returns every range.
inline NetworkRanges calibrate(const NetworkSpec& spec, const FoldedNetwork& f,
                               ConstTensorView calibration, ThreadPool& pool) {
  NetworkRanges r;
  r.blocks.resize(spec.blocks.size());
  const Conv2d stem({3, spec.stem_out, 3, 2, spec.padding, Activation::Identity},
                    f.stem.weight.data(), f.stem.bias.data());
  struct FloatBlock {
    std::optional<PointwiseConv2d> expand;
    DepthwiseConv2d depthwise;
    std::optional<SqueezeExcite> se;
    PointwiseConv2d project;
  };
  std::vector<FloatBlock> blocks;
  for (size_t i = 0; i < spec.blocks.size(); ++i) {
    const BlockSpec& b = spec.blocks[i];
    const FoldedBlock& fb = f.blocks[i];
    FloatBlock block{
        std::nullopt,
        DepthwiseConv2d({b.expanded, b.kernel, b.stride, spec.padding, Activation::Identity},
                        fb.depthwise.weight.data(), fb.depthwise.bias.data()),
        std::nullopt,
        PointwiseConv2d({b.expanded, b.out, Activation::Identity}, fb.project.weight.data(),
                        fb.project.bias.data())};
    if (fb.expand)
      block.expand.emplace(PointwiseConv2d::Options{b.in, b.expanded, Activation::Identity},
                           fb.expand->weight.data(), fb.expand->bias.data());
    if (fb.se_reduce)
      block.se.emplace(b.expanded, b.squeeze, fb.se_reduce->weight.data(),
                       fb.se_reduce->bias.data(), fb.se_expand->weight.data(),
                       fb.se_expand->bias.data());
    blocks.push_back(std::move(block));
  }
  std::optional<PointwiseConv2d> last_conv;
  if (f.last_conv)
    last_conv.emplace(
        PointwiseConv2d::Options{spec.blocks.back().out, spec.last_conv_out, Activation::Identity},
        f.last_conv->weight.data(), f.last_conv->bias.data());

  const Shape image{1, calibration.shape.h, calibration.shape.w, calibration.shape.c};
  for (int64_t n = 0; n < calibration.shape.n; ++n) {
    const ConstTensorView x{calibration.data + n * image.numel(), image};
    r.input.observe(x.data, image.numel(), "the input");
    FloatTensor a(stem.output_shape(image));
    stem.forward(x, a.view(), pool);
    activate_and_observe(a, spec.stem_act, r.stem, "the stem");
    for (size_t i = 0; i < blocks.size(); ++i) {
      const BlockSpec& b = spec.blocks[i];
      const FloatBlock& block = blocks[i];
      BlockRanges& br = r.blocks[i];
      const std::string where = "block " + std::to_string(i + 1);
      std::optional<FloatTensor> e;
      if (block.expand) {
        e.emplace(block.expand->output_shape(a.shape));
        block.expand->forward(a.view(), e->view(), pool);
        activate_and_observe(*e, b.act, br.expand, where + " expand");
      }
      FloatTensor& dw_in = e ? *e : a;
      FloatTensor d(block.depthwise.output_shape(dw_in.shape));
      block.depthwise.forward(dw_in.view(), d.view(), pool);
      activate_and_observe(d, b.act, br.depthwise, where + " depthwise");
      if (block.se) {
        std::vector<float> pooled(static_cast<std::size_t>(d.shape.c)),
            row_sums(static_cast<std::size_t>(d.shape.h * d.shape.c)),
            hidden(static_cast<std::size_t>(block.se->squeeze())),
            gate(static_cast<std::size_t>(d.shape.c));
        block.se->forward(d.view(), {row_sums.data(), pooled.data(), hidden.data(), gate.data()},
                          pool);
      }
      FloatTensor y(block.project.output_shape(d.shape));
      block.project.forward(d.view(), y.view(), pool);
      const bool separable = b.kind == BlockKind::DepthwiseSeparable;
      activate_and_observe(y, separable ? b.act : Activation::Identity, br.project,
                           where + " project");
      if (has_residual(b)) {
        for (size_t k = 0; k < y.data.size(); ++k) y.data[k] += a.data[k];
        br.sum.observe(y.data.data(), y.shape.numel(), where + " residual sum");
      }
      a = std::move(y);
    }
    if (last_conv) {
      FloatTensor h(last_conv->output_shape(a.shape));
      last_conv->forward(a.view(), h.view(), pool);
      activate_and_observe(h, spec.last_conv_act, r.last_conv, "the last conv");
    }
  }
  return r;
}

/// A conv quantized: weights from `f` (per channel or per tensor, as `o` says), output
/// parameters from `ranges` by o.method (after the activation when it is a clamp, else before
/// it, with the activated ones for its table).
inline quant::QuantizedConv quantize_conv(const FoldedConv& f, int64_t out_channels,
                                          const ConvRanges& ranges, Activation act,
                                          const QuantizeOptions& o, const std::string& where) {
  const auto k = static_cast<int64_t>(f.weight.size()) / out_channels;
  quant::QuantizedConv q{quant::quantize_weights(f.weight.data(), out_channels, k, o.per_channel),
                         f.bias,
                         {},
                         std::nullopt};
  if (quant::is_clamp(act)) {
    q.output = ranges.after.params(o, where);
  } else {
    q.output = ranges.before.params(o, where + " (before " + to_string(act) + ")");
    q.activated = ranges.after.params(o, where);
  }
  return q;
}

/// The recipe of `spec` from its folded weights and calibrated ranges.
inline quant::Int8Recipe make_recipe(const NetworkSpec& spec, const FoldedNetwork& f,
                                     const NetworkRanges& r, const QuantizeOptions& o,
                                     int64_t calibration_images) {
  quant::Int8Recipe recipe;
  recipe.provenance = {method_name(o), o.per_channel, calibration_images};
  recipe.input = r.input.params(o, "the input");
  recipe.stem = quantize_conv(f.stem, spec.stem_out, r.stem, spec.stem_act, o, "the stem");
  for (size_t i = 0; i < spec.blocks.size(); ++i) {
    const BlockSpec& b = spec.blocks[i];
    const FoldedBlock& fb = f.blocks[i];
    const BlockRanges& br = r.blocks[i];
    const std::string where = "block " + std::to_string(i + 1);
    const bool separable = b.kind == BlockKind::DepthwiseSeparable;
    quant::QuantizedBlock qb{
        std::nullopt,
        quantize_conv(fb.depthwise, b.expanded, br.depthwise, b.act, o, where + " depthwise"),
        fb.se_reduce,
        fb.se_expand,
        quantize_conv(fb.project, b.out, br.project, separable ? b.act : Activation::Identity, o,
                      where + " project"),
        std::nullopt};
    if (fb.expand)
      qb.expand = quantize_conv(*fb.expand, b.expanded, br.expand, b.act, o, where + " expand");
    if (has_residual(b)) qb.sum = br.sum.params(o, where + " residual sum");
    recipe.blocks.push_back(std::move(qb));
  }
  if (f.last_conv)
    recipe.last_conv = quantize_conv(*f.last_conv, spec.last_conv_out, r.last_conv,
                                     spec.last_conv_act, o, "the last conv");
  recipe.linears = f.linears;
  return recipe;
}

/// A conv's stage: the layer made by `make(params)` and, when `act` is not a clamp, its table.
template <class Conv, class Make>
Int8Stage<Conv> make_stage(const quant::QuantizedConv& q, Activation act, quant::QuantParams input,
                           Make&& make) {
  const bool clamp = quant::is_clamp(act);
  if (clamp == q.activated.has_value())
    throw Error(std::string("int8 network: a layer with activation ") + to_string(act) +
                (clamp ? " has" : " lacks") + " the parameters of a lookup table");
  Int8Stage<Conv> stage{make(Int8LayerParams{input, q.output, clamp ? act : Activation::Identity}),
                        std::nullopt};
  if (!clamp) stage.table.emplace(q.output, *q.activated, act);
  return stage;
}

}  // namespace int8_builder

/// Builds the int8 network of `spec` from `recipe` (the layer shapes are checked against the
/// spec's).
/// @throws Error if a layer's weights or parameters do not fit the spec.
inline Int8Network build_int8_network(const NetworkSpec& spec, quant::Int8Recipe recipe) {
  using namespace int8_builder;
  require_compiled_isa();
  if (recipe.blocks.size() != spec.blocks.size())
    throw Error("int8 network: " + std::to_string(recipe.blocks.size()) +
                " quantized blocks, the " + "spec has " + std::to_string(spec.blocks.size()));
  const quant::QuantizedConv& qs = recipe.stem;
  auto stem = make_stage<StemConv2dInt8>(qs, spec.stem_act, recipe.input, [&](const auto& p) {
    return StemConv2dInt8(3, spec.stem_out, 3, 2, spec.padding, qs.weight, qs.bias.data(), p);
  });
  quant::QuantParams x = stem.output_params();
  std::vector<BlockInt8> blocks;
  for (size_t i = 0; i < spec.blocks.size(); ++i) {
    const BlockSpec& b = spec.blocks[i];
    const quant::QuantizedBlock& qb = recipe.blocks[i];
    if (qb.expand.has_value() != (b.kind == BlockKind::InvertedResidual && b.expanded != b.in) ||
        qb.se_reduce.has_value() != (b.squeeze > 0) || qb.sum.has_value() != has_residual(b))
      throw Error("int8 network: block " + std::to_string(i + 1) +
                  "'s quantized layers do not match its spec");
    std::optional<Int8Stage<PointwiseConv2dInt8>> expand;
    quant::QuantParams e = x;
    if (qb.expand) {
      expand = make_stage<PointwiseConv2dInt8>(*qb.expand, b.act, x, [&](const auto& p) {
        return PointwiseConv2dInt8(b.in, b.expanded, qb.expand->weight, qb.expand->bias.data(), p);
      });
      e = expand->output_params();
    }
    auto depthwise = make_stage<DepthwiseConv2dInt8>(qb.depthwise, b.act, e, [&](const auto& p) {
      return DepthwiseConv2dInt8(b.expanded, b.kernel, b.stride, spec.padding, qb.depthwise.weight,
                                 qb.depthwise.bias.data(), p);
    });
    const quant::QuantParams d = depthwise.output_params();
    std::optional<SqueezeExciteInt8> se;
    if (qb.se_reduce)
      se.emplace(b.expanded, b.squeeze, qb.se_reduce->weight.data(), qb.se_reduce->bias.data(),
                 qb.se_expand->weight.data(), qb.se_expand->bias.data(), d);
    const bool separable = b.kind == BlockKind::DepthwiseSeparable;
    auto project = make_stage<PointwiseConv2dInt8>(
        qb.project, separable ? b.act : Activation::Identity, d, [&](const auto& p) {
          return PointwiseConv2dInt8(b.expanded, b.out, qb.project.weight, qb.project.bias.data(),
                                     p);
        });
    std::optional<ResidualAddInt8> residual;
    if (qb.sum) residual.emplace(project.output_params(), x, *qb.sum);
    blocks.emplace_back(std::move(expand), std::move(depthwise), std::move(se), std::move(project),
                        std::move(residual));
    x = blocks.back().output_params();
  }
  if (recipe.last_conv.has_value() != (spec.last_conv_out > 0))
    throw Error("int8 network: the last conv does not match the spec");
  std::optional<Int8Stage<PointwiseConv2dInt8>> last_conv;
  if (recipe.last_conv) {
    const quant::QuantizedConv& ql = *recipe.last_conv;
    last_conv = make_stage<PointwiseConv2dInt8>(ql, spec.last_conv_act, x, [&](const auto& p) {
      return PointwiseConv2dInt8(spec.blocks.back().out, spec.last_conv_out, ql.weight,
                                 ql.bias.data(), p);
    });
  }
  Classifier classifier = network_builder::make_classifier(spec, recipe.linears);
  return Int8Network{spec,
                     std::move(stem),
                     std::move(blocks),
                     std::move(last_conv),
                     std::move(classifier),
                     std::make_shared<const quant::Int8Recipe>(std::move(recipe))};
}

/// Quantizes `spec` with weights from `source` (named by `keys`), calibrated on the float NHWC
/// images `calibration` (preprocessed as the model expects; one is enough to build, more give
/// ranges that hold for other images): the recipe, from which build_int8_network() builds.
/// @throws Error if this CPU lacks an instruction set the code was compiled for, the spec or
/// keys are invalid, the calibration batch is empty or not 3-channel, options.percentile is
/// outside (50, 100], or a calibrated tensor holds a non-finite value; a SafetensorsWeights source
/// records missing or mis-shaped tensors instead (see SafetensorsWeights::check_complete).
inline quant::Int8Recipe quantize_recipe(const NetworkSpec& spec, WeightSource& source,
                                         const NetworkKeys& keys, ConstTensorView calibration,
                                         const QuantizeOptions& options = {}) {
  using namespace int8_builder;
  require_compiled_isa();
  require_contiguous("quantize", "calibration batch", calibration);
  if (calibration.shape.n < 1 || calibration.shape.c != 3 || calibration.shape.h < 1 ||
      calibration.shape.w < 1)
    throw Error("quantize: the calibration batch must hold at least one 3-channel image, got " +
                calibration.shape.str());
  if (options.method == RangeMethod::percentile &&
      !(options.percentile > 50 && options.percentile <= 100))
    throw Error("quantize: percentile " + std::to_string(options.percentile) +
                " is outside (50, 100]");
  const FoldedNetwork f = load_folded_network(spec, source, keys);
  ThreadPool pool(1);
  return make_recipe(spec, f, calibrate(spec, f, calibration, pool), options, calibration.shape.n);
}

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
