#pragma once
// A built MobileNet: stem conv -> blocks -> [1x1 conv] -> classifier, immutable once built and
// safe to share between threads (each with its own Workspace).

#include <atomic>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "mobilenet/io/torchvision_names.hpp"
#include "mobilenet/io/weight_source.hpp"
#include "mobilenet/layers/classifier.hpp"
#include "mobilenet/layers/conv2d.hpp"
#include "mobilenet/layers/depthwise_separable.hpp"
#include "mobilenet/layers/inverted_residual.hpp"
#include "mobilenet/models/spec.hpp"
#include "mobilenet/models/workspace.hpp"

namespace mobilenet {

/// What a model file says about how to feed it (safetensors __metadata__), with ImageNet defaults.
struct ModelMetadata {
  std::vector<std::string> labels;  // empty: class indices are printed
  float mean[3] = {0.485f, 0.456f, 0.406f};
  float std[3] = {0.229f, 0.224f, 0.225f};
  int input_size = 224;   // centre-crop size
  int resize_size = 256;  // shorter side is resized to this before cropping
  std::map<std::string, std::string> raw;
};

inline namespace MOBILENET_ISA {

class Model {
 public:
  /// Builds `spec` with weights from `source`, named by `keys`.
  Model(const NetworkSpec& spec, WeightSource& source, const NetworkKeys& keys)
      : spec_(spec),
        id_(next_id()),
        stem_(make_stem(spec, source, keys)),
        classifier_(make_classifier(spec, source, keys)) {
    int64_t channels = spec.stem_out;
    for (size_t i = 0; i < spec.blocks.size(); ++i) {
      if (spec.blocks[i].in != channels)
        throw Error("block " + std::to_string(i) + " takes " + std::to_string(spec.blocks[i].in) +
                    " channels but the previous layer gives " + std::to_string(channels));
      blocks_.push_back(make_block(spec, spec.blocks[i], source, keys.blocks.at(i)));
      channels = spec.blocks[i].out;
    }
    if (spec.last_conv_out) {
      const auto f = load_conv_bn(source, keys.last_conv.conv, keys.last_conv.bn,
                                  {spec.last_conv_out, channels, 1, 1}, spec.bn_eps);
      last_conv_.emplace(PointwiseConv2d::Options{channels, spec.last_conv_out, spec.last_conv_act},
                         f.weight.data(), f.bias.data());
    }
  }

  const NetworkSpec& spec() const { return spec_; }
  Arch arch() const { return spec_.arch; }
  int num_classes() const { return spec_.num_classes; }
  const ModelMetadata& metadata() const { return metadata_; }
  void set_metadata(ModelMetadata m) { metadata_ = std::move(m); }

  /// Plans a workspace for NHWC inputs of options.batch x height x width x 3.
  Workspace workspace(const WorkspaceOptions& o = {}) const {
    if (o.batch < 1 || o.height < 1 || o.width < 1)
      throw Error("workspace: batch, height and width must be positive, got batch " +
                  std::to_string(o.batch) + ", " + std::to_string(o.height) + "x" + std::to_string(o.width));
    const Shape input{o.batch, o.height, o.width, 3};
    Workspace ws(id_, input, o.threads);
    int64_t act = 0, expanded = 0, depthwise = 0, se = 0;
    walk(input, [&](const Shape& in, const Shape& out, const BlockScratchSize* s) {
      act = std::max({act, out.numel()});
      if (s) {
        expanded = std::max(expanded, s->expanded);
        depthwise = std::max(depthwise, s->depthwise);
        se = std::max(se, s->se);
      }
      (void)in;
    });
    const int64_t n = o.batch, hidden = classifier_.hidden_features();
    const int64_t pooled = std::max(n * classifier_.in_features(), n);
    const int64_t max_se_channels = se;  // batch x SE channels
    const int64_t sizes[] = {act, act, expanded, depthwise, max_se_channels, max_se_channels,
                             max_se_channels, pooled, 2 * n * hidden, n * spec_.num_classes};
    constexpr int64_t kAlign = AlignedBuffer::kAlignment / sizeof(float);
    int64_t total = 0;
    for (int64_t s : sizes) total += (s + kAlign - 1) / kAlign * kAlign;
    ws.arena_ = AlignedBuffer(static_cast<std::size_t>(total));
    float* p = ws.arena_.data();
    float* regions[10];
    for (int i = 0; i < 10; ++i) {
      regions[i] = p;
      p += (sizes[i] + kAlign - 1) / kAlign * kAlign;
    }
    ws.activations[0] = regions[0];
    ws.activations[1] = regions[1];
    ws.scratch = {regions[2], regions[3], {regions[4], regions[5], regions[6]}};
    ws.pooled = regions[7];
    ws.hidden = regions[8];
    ws.logits = regions[9];
    return ws;
  }

  /// Runs the batch `x` (NHWC, the shape `ws` was planned for) and returns the logits
  /// [batch, 1, 1, classes], a view into `ws` valid until its next use. Allocation-free.
  ConstTensorView forward(ConstTensorView x, Workspace& ws) const {
    if (ws.model_id_ != id_) throw Error("forward: the workspace was planned for another model");
    if (x.shape != ws.input_)
      throw Error("forward: input shape " + x.shape.str() + " does not match the workspace's " +
                  ws.input_.str() + "; plan a workspace for this shape");
    ThreadPool& pool = *ws.pool_;
    int current = 0;
    TensorView a{ws.activations[current], stem_.output_shape(x.shape)};
    stem_.forward(x, a, pool);
    for (const Block& block : blocks_) {
      std::visit(
          [&](const auto& b) {
            TensorView out{ws.activations[1 - current], b.output_shape(a.shape)};
            b.forward(a, out, ws.scratch, pool);
            a = out;
          },
          block);
      current = 1 - current;
    }
    if (last_conv_) {
      TensorView out{ws.activations[1 - current], last_conv_->output_shape(a.shape)};
      last_conv_->forward(a, out, pool);
      a = out;
    }
    classifier_.forward(a, ws.pooled, ws.hidden, ws.logits, pool);
    return {ws.logits, {x.shape.n, 1, 1, spec_.num_classes}};
  }

  /// One row per layer at a batch-1 input of height x width.
  std::vector<LayerInfo> layers(int64_t height, int64_t width) const {
    std::vector<LayerInfo> rows;
    Shape s = stem_.output_shape({1, height, width, 3});
    rows.push_back(stem_.info("features.0", {1, height, width, 3}));
    for (size_t i = 0; i < blocks_.size(); ++i) {
      const std::string name = "features." + std::to_string(i + 1);
      std::visit(
          [&](const auto& b) {
            b.describe(name, s, rows);
            s = b.output_shape(s);
          },
          blocks_[i]);
    }
    if (last_conv_) {
      rows.push_back(last_conv_->info("features." + std::to_string(blocks_.size() + 1), s));
      s = last_conv_->output_shape(s);
    }
    classifier_.describe("classifier", s, rows);
    return rows;
  }

  /// A table of every layer's output shape, parameters and MACs, with totals.
  std::string summary(int64_t height, int64_t width) const {
    std::ostringstream os;
    char line[256];
    std::snprintf(line, sizeof line, "%-24s %-32s %-20s %12s %14s\n", "layer", "type",
                  "output (HxWxC)", "params", "MACs");
    os << "mobilenet " << to_string(spec_.arch) << " width " << spec_.width << ", "
       << spec_.num_classes << " classes, input " << height << "x" << width << "\n"
       << line;
    int64_t params = 0, macs = 0;
    for (const LayerInfo& r : layers(height, width)) {
      const std::string shape = std::to_string(r.output.h) + "x" + std::to_string(r.output.w) +
                                "x" + std::to_string(r.output.c);
      std::snprintf(line, sizeof line, "%-24s %-32s %-20s %12lld %14lld\n", r.name.c_str(),
                    r.type.c_str(), shape.c_str(), static_cast<long long>(r.params),
                    static_cast<long long>(r.macs));
      os << line;
      params += r.params;
      macs += r.macs;
    }
    std::snprintf(line, sizeof line, "%-78s %12lld %14lld\n", "total",
                  static_cast<long long>(params), static_cast<long long>(macs));
    os << line;
    return os.str();
  }

 private:
  using Block = std::variant<DepthwiseSeparable, InvertedResidual>;

  static uint64_t next_id() {
    static std::atomic<uint64_t> counter{1};
    return counter++;
  }

  /// Calls f(in, out, scratch-or-null) for every stage at `input`, checking that no stage
  /// shrinks the image to nothing.
  template <class F>
  void walk(const Shape& input, F&& f) const {
    const auto check = [&](const Shape& out, const std::string& where) {
      if (out.h < 1 || out.w < 1)
        throw Error("input " + std::to_string(input.h) + "x" + std::to_string(input.w) +
                    " is too small for mobilenet " + to_string(spec_.arch) + ": " + where +
                    " would produce an empty feature map");
    };
    Shape s = stem_.output_shape(input);
    check(s, "the stem");
    f(input, s, nullptr);
    for (size_t i = 0; i < blocks_.size(); ++i) {
      std::visit(
          [&](const auto& b) {
            const Shape out = b.output_shape(s);
            check(out, "block " + std::to_string(i + 1));
            const BlockScratchSize size = b.scratch_size(s);
            f(s, out, &size);
            s = out;
          },
          blocks_[i]);
    }
    if (last_conv_) {
      const Shape out = last_conv_->output_shape(s);
      f(s, out, nullptr);
    }
  }

  static Padding same_padding(int kernel) { return Padding::symmetric((kernel - 1) / 2); }

  static Conv2d make_stem(const NetworkSpec& spec, WeightSource& src, const NetworkKeys& keys) {
    const auto f = load_conv_bn(src, keys.stem.conv, keys.stem.bn, {spec.stem_out, 3, 3, 3}, spec.bn_eps);
    return Conv2d({3, spec.stem_out, 3, 2, same_padding(3), spec.stem_act}, f.weight.data(), f.bias.data());
  }

  static Block make_block(const NetworkSpec& spec, const BlockSpec& b, WeightSource& src,
                          const BlockKeys& keys) {
    const auto dw = load_conv_bn(src, keys.depthwise.conv, keys.depthwise.bn,
                                 {b.expanded, 1, b.kernel, b.kernel}, spec.bn_eps);
    DepthwiseConv2d depthwise({b.expanded, b.kernel, b.stride, same_padding(b.kernel), b.act},
                              dw.weight.data(), dw.bias.data());
    const bool dw_separable = b.kind == BlockKind::DepthwiseSeparable;
    const auto pw = load_conv_bn(src, keys.project.conv, keys.project.bn, {b.out, b.expanded, 1, 1},
                                 spec.bn_eps);
    PointwiseConv2d project({b.expanded, b.out, dw_separable ? b.act : Activation::Identity},
                            pw.weight.data(), pw.bias.data());
    if (dw_separable) return DepthwiseSeparable(std::move(depthwise), std::move(project));

    std::optional<PointwiseConv2d> expand;
    if (b.expanded != b.in) {
      const auto e = load_conv_bn(src, keys.expand->conv, keys.expand->bn, {b.expanded, b.in, 1, 1},
                                  spec.bn_eps);
      expand.emplace(PointwiseConv2d::Options{b.in, b.expanded, b.act}, e.weight.data(), e.bias.data());
    }
    std::optional<SqueezeExcite> se;
    if (b.squeeze) {
      const auto fc1 = load_with_bias(src, keys.se + ".fc1", {b.squeeze, b.expanded, 1, 1});
      const auto fc2 = load_with_bias(src, keys.se + ".fc2", {b.expanded, b.squeeze, 1, 1});
      se.emplace(b.expanded, b.squeeze, fc1.weight.data(), fc1.bias.data(), fc2.weight.data(),
                 fc2.bias.data());
    }
    return InvertedResidual(std::move(expand), std::move(depthwise), std::move(se), std::move(project));
  }

  static Classifier make_classifier(const NetworkSpec& spec, WeightSource& src,
                                    const NetworkKeys& keys) {
    const int64_t features = spec.last_conv_out ? spec.last_conv_out : spec.blocks.back().out;
    std::vector<PointwiseConv2d> linears;
    int64_t in = features;
    for (size_t i = 0; i < keys.linears.size(); ++i) {
      const bool last = i + 1 == keys.linears.size();
      const int64_t out = last ? spec.num_classes : spec.hidden;
      const auto l = load_with_bias(src, keys.linears[i], {out, in});
      linears.emplace_back(PointwiseConv2d::Options{in, out, last ? Activation::Identity : spec.hidden_act,
                                                    BiasSource::Bias},
                           l.weight.data(), l.bias.data());
      in = out;
    }
    return Classifier(std::move(linears));
  }

  NetworkSpec spec_;
  uint64_t id_;
  ModelMetadata metadata_;
  Conv2d stem_;
  std::vector<Block> blocks_;
  std::optional<PointwiseConv2d> last_conv_;
  Classifier classifier_;
};

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
