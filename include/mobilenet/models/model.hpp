#pragma once
// A built MobileNet: stem conv -> blocks -> [1x1 conv] -> classifier, immutable once built and
// safe to share between threads (each with its own Workspace).

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "mobilenet/io/preprocess.hpp"
#include "mobilenet/io/timm_names.hpp"
#include "mobilenet/io/weight_source.hpp"
#include "mobilenet/layers/block.hpp"
#include "mobilenet/layers/classifier.hpp"
#include "mobilenet/layers/conv2d.hpp"
#include "mobilenet/layers/depthwise_separable.hpp"
#include "mobilenet/layers/inverted_residual.hpp"
#include "mobilenet/models/metadata.hpp"
#include "mobilenet/models/spec.hpp"
#include "mobilenet/models/workspace.hpp"

namespace mobilenet {

inline namespace MOBILENET_ISA {

/// A built MobileNet: stem conv, blocks, optional last 1x1 conv and classifier, with BatchNorm
/// folded into the convolutions. Get one from load() or random_model(). A Model is immutable once
/// built: share it between threads and give each thread its own Workspace.
class Model {
 public:
  /// Builds `spec` with weights from `source`, named by `keys` (see network_keys()).
  /// @throws Error if this CPU lacks an instruction set the code was compiled for
  /// (require_compiled_isa()), the spec is invalid or its key names do not match it; a
  /// SafetensorsWeights source records missing or mis-shaped tensors instead (see
  /// SafetensorsWeights::check_complete).
  Model(const NetworkSpec& spec, WeightSource& source, const NetworkKeys& keys)
      : spec_(validated(spec, keys)),
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

  /// The network's concrete layer widths, strides and activations.
  const NetworkSpec& spec() const { return spec_; }
  /// The architecture: V1, V2, V3-Large or V3-Small.
  Arch arch() const { return spec_.arch; }
  /// Whose model definitions the network follows (torchvision's or timm's).
  Scheme scheme() const { return spec_.scheme; }
  /// The number of classes, i.e. of logits per image.
  int num_classes() const { return spec_.num_classes; }
  /// The square input side the model was trained at: the file's `input_size` metadata, else 224.
  /// Any input size works; this is the one preprocessing should crop to.
  int input_size() const { return metadata_.input_size; }
  /// Class names from the file's metadata, one per class; empty if it has none.
  const std::vector<std::string>& labels() const { return metadata_.labels; }
  /// What the weight file said about preprocessing and labels (defaults for random_model()).
  const ModelMetadata& metadata() const { return metadata_; }
  /// Replaces the metadata (load() sets it from the file).
  void set_metadata(ModelMetadata m) { metadata_ = std::move(m); }

  /// Plans a workspace for NHWC inputs of `o.batch` x `o.height` x `o.width` x 3 and allocates
  /// its arena and thread pool (`o.threads`, the caller included).
  /// @throws Error if the size is out of range, too small for the network, or a feature index
  /// does not exist.
  Workspace workspace(const WorkspaceOptions& o = {}) const {
    const Plan plan = make_plan(o);
    Workspace ws(id_, {o.batch, o.height, o.width, 3}, o.threads);
    try {
      ws.arena_ = AlignedBuffer(static_cast<std::size_t>(plan.total));
    } catch (const std::bad_alloc&) {
      throw Error("workspace: cannot allocate " + std::to_string(plan.total * 4) + " bytes for a " +
                  std::to_string(o.batch) + "x" + std::to_string(o.height) + "x" +
                  std::to_string(o.width) + " input");
    }
    float* base = ws.arena_.data();
    const auto region = [&](Region r) { return base + plan.offset[r]; };
    ws.activations[0] = region(kActivationA);
    ws.activations[1] = region(kActivationB);
    for (int r = 0; r < kScratchRegions; ++r)
      ws.scratch.region[r] = region(static_cast<Region>(kScratchBegin + r));
    ws.pooled = region(kPooled);
    ws.hidden = region(kHidden);
    ws.logits = region(kLogits);
    if (o.profile) ws.profiler_.enable(layers(o.height, o.width).size(), Profiler::Level::Layers);
    if (o.profile_stages)
      ws.profiler_.enable(stages(o.height, o.width).size(), Profiler::Level::Stages);
    for (size_t k = 0; k < o.features.size(); ++k) {
      ws.feature_stages_.push_back(o.features[k]);
      ws.feature_slots_.push_back({base + plan.feature_offset[k], plan.feature_shape[k]});
    }
    return ws;
  }

  /// Bytes of the arena a workspace for these options would hold, without allocating it.
  std::size_t workspace_bytes(const WorkspaceOptions& o = {}) const {
    return static_cast<std::size_t>(make_plan(o).total) * sizeof(float);
  }

  /// Runs the batch `x` (NHWC, the shape `ws` was planned for) and returns the logits
  /// [batch, 1, 1, classes], a view into `ws` valid until its next use. Allocation-free.
  /// @throws Error if `ws` was planned for another model or `x` has another shape.
  ConstTensorView forward(ConstTensorView x, Workspace& ws) const {
    if (ws.model_id_ != id_) throw Error("forward: the workspace was planned for another model");
    if (x.shape != ws.input_)
      throw Error("forward: input shape " + x.shape.str() + " does not match the workspace's " +
                  ws.input_.str() + "; plan a workspace for this shape");
    ThreadPool& pool = *ws.pool_;
    Profiler& prof = ws.profiler_;
    prof.start();
    int current = 0;
    TensorView a{ws.activations[current], stem_.output_shape(x.shape)};
    stem_.forward(x, a, pool);
    prof.lap();
    prof.end_stage();
    int stage = 0;
    keep_features(ws, stage++, a);
    for (size_t i = 0; i < blocks_.size(); ++i) {
      std::visit(
          [&](const auto& b) {
            TensorView out{ws.activations[1 - current], b.output_shape(a.shape),
                           block_output_stride(i)};
            b.forward(a, out, ws.scratch, pool, prof);
            prof.end_stage();
            a = out;
          },
          blocks_[i]);
      current = 1 - current;
      keep_features(ws, stage++, a);
    }
    if (last_conv_) {
      TensorView out{ws.activations[1 - current], last_conv_->output_shape(a.shape)};
      last_conv_->forward(a, out, pool);
      prof.lap();
      prof.end_stage();
      a = out;
      keep_features(ws, stage, a);
    }
    classifier_.forward(a, ws.pooled, ws.hidden, ws.logits, pool, prof);
    prof.end_stage();
    prof.finish();
    return {ws.logits, {x.shape.n, 1, 1, spec_.num_classes}};
  }

  /// One row per layer (name, type, output shape, parameters, MACs) at a batch-1 input of
  /// `height` x `width`, in execution order.
  std::vector<LayerInfo> layers(int64_t height, int64_t width) const {
    std::vector<LayerInfo> rows;
    describe_stages(height, width, [&](const std::string&, const std::vector<LayerInfo>& layers) {
      rows.insert(rows.end(), layers.begin(), layers.end());
    });
    return rows;
  }

  /// One row per stage (the stem, each block, the last 1x1 conv, the classifier head) at a
  /// batch-1 input of `height` x `width`: its layers' rows merged, the type listing what the
  /// layers are ("expand+depthwise+se+project"), the output the stage's last.
  std::vector<LayerInfo> stages(int64_t height, int64_t width) const {
    std::vector<LayerInfo> rows;
    describe_stages(
        height, width, [&](const std::string& name, const std::vector<LayerInfo>& layers) {
          if (layers.size() == 1) {
            rows.push_back(layers.front());
            return;
          }
          LayerInfo stage{name, "", layers.back().output, 0, 0};
          for (const LayerInfo& l : layers) {
            stage.type += (stage.type.empty() ? "" : "+") + l.name.substr(name.size() + 1);
            stage.params += l.params;
            stage.macs += l.macs;
          }
          rows.push_back(stage);
        });
    return rows;
  }

  /// A printable table of every layer's output shape, parameters and MACs at a batch-1 input of
  /// `height` x `width`, with totals (what mobilenet-summary prints).
  std::string summary(int64_t height, int64_t width) const {
    std::ostringstream os;
    char line[256];
    std::snprintf(line, sizeof line, "%-24s %-32s %-20s %12s %14s\n", "layer", "type",
                  "output (HxWxC)", "params", "MACs");
    os << "mobilenet " << to_string(spec_.arch) << (spec_.scheme == Scheme::Timm ? " (timm)" : "")
       << " width " << spec_.width << ", " << spec_.num_classes << " classes, input " << height
       << "x" << width << "\n"
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
  static_assert(is_block_v<DepthwiseSeparable> && is_block_v<InvertedResidual>,
                "every block kind has the members of the block concept (layers/block.hpp)");

  static uint64_t next_id() {
    static std::atomic<uint64_t> counter{1};
    return counter++;
  }

  /// The arena's regions, in order: two activation buffers, the blocks' named scratch regions
  /// (ScratchRegion, from kScratchBegin), the classifier's buffers.
  enum Region {
    kActivationA,
    kActivationB,
    kScratchBegin,
    kPooled = kScratchBegin + kScratchRegions,
    kHidden,
    kLogits,
    kRegions
  };
  /// Offsets (in floats, 64-byte aligned) of every arena region, and the arena size.
  struct Plan {
    int64_t offset[kRegions] = {};
    std::vector<int64_t> feature_offset;
    std::vector<Shape> feature_shape;
    int64_t total = 0;
  };

  /// Copies stage `stage`'s output (padded or not) into every feature slot that asked for it
  /// (contiguous).
  static void keep_features(Workspace& ws, int stage, ConstTensorView t) {
    const int64_t c = t.shape.c, stride = t.pixel_stride();
    for (size_t k = 0; k < ws.feature_stages_.size(); ++k)
      if (ws.feature_stages_[k] == stage)
        for (int64_t p = 0; p < t.shape.pixels(); ++p)
          std::copy(t.data + p * stride, t.data + p * stride + c,
                    ws.feature_slots_[k].data + p * c);
  }

  /// Floats between the pixels of block i's output: padded (kernels::padded_pixel_stride) when
  /// the next block is depthwise-separable too, as both read and write padded tensors (V1's
  /// depthwise layers run up to 2x as fast on them); else 0, contiguous, which every other layer
  /// takes.
  int64_t block_output_stride(size_t i) const {
    const auto separable = [&](size_t k) {
      return k < blocks_.size() && std::holds_alternative<DepthwiseSeparable>(blocks_[k]);
    };
    return separable(i) && separable(i + 1) ? kernels::padded_pixel_stride(spec_.blocks[i].out) : 0;
  }

  /// Calls f(stage name, its layers' rows) for the stem, each block, the last 1x1 conv and the
  /// classifier, at a batch-1 input of `height` x `width`.
  template <class F>
  void describe_stages(int64_t height, int64_t width, F&& f) const {
    std::vector<LayerInfo> rows;
    const auto emit = [&](const std::string& name) {
      f(name, rows);
      rows.clear();
    };
    Shape s = stem_.output_shape({1, height, width, 3});
    rows.push_back(stem_.info("features.0", {1, height, width, 3}));
    emit("features.0");
    for (size_t i = 0; i < blocks_.size(); ++i) {
      const std::string name = "features." + std::to_string(i + 1);
      std::visit(
          [&](const auto& b) {
            b.describe(name, s, rows);
            s = b.output_shape(s);
          },
          blocks_[i]);
      emit(name);
    }
    if (last_conv_) {
      const std::string name = "features." + std::to_string(blocks_.size() + 1);
      rows.push_back(last_conv_->info(name, s));
      s = last_conv_->output_shape(s);
      emit(name);
    }
    classifier_.describe("classifier", s, rows);
    emit("classifier");
  }

  /// Feature stages: 0 the stem, 1..N the blocks, N+1 the last 1x1 conv if there is one.
  int stage_count() const { return static_cast<int>(blocks_.size()) + (last_conv_ ? 2 : 1); }

  Plan make_plan(const WorkspaceOptions& o) const {
    // Bounds keep every size product below 2^63; larger inputs are not images.
    constexpr int64_t kMaxSide = 1 << 15, kMaxBatch = 1 << 16;
    if (o.batch < 1 || o.height < 1 || o.width < 1 || o.batch > kMaxBatch || o.height > kMaxSide ||
        o.width > kMaxSide)
      throw Error("workspace: batch must be in [1, " + std::to_string(kMaxBatch) +
                  "] and height and width in [1, " + std::to_string(kMaxSide) + "], got batch " +
                  std::to_string(o.batch) + ", " + std::to_string(o.height) + "x" +
                  std::to_string(o.width));
    if (o.profile && o.profile_stages)
      throw Error("workspace: profile (per layer) and profile_stages exclude each other");
    for (int f : o.features)
      if (f < 0 || f >= stage_count())
        throw Error("workspace: feature index " + std::to_string(f) + " outside [0, " +
                    std::to_string(stage_count() - 1) + "] (torchvision's model.features indices)");
    int64_t size[kRegions] = {};
    std::vector<Shape> stage_shapes;
    // Blocks run fused (banded, per-thread scratch) unless the profiler times each layer.
    walk({o.batch, o.height, o.width, 3}, o.threads, !o.profile,
         [&](const Shape& out, int64_t stride, const BlockScratchSize* s) {
           // Stage k writes activation buffer k % 2 (forward's ping-pong): each buffer is as large
           // as the largest output written to it (padded if it is), so the two together hold the
           // two largest simultaneously live activations, not twice the largest.
           const Region buffer = stage_shapes.size() % 2 == 0 ? kActivationA : kActivationB;
           stage_shapes.push_back(out);
           size[buffer] = std::max(size[buffer], out.pixels() * (stride ? stride : out.c));
           if (!s) return;
           for (int r = 0; r < kScratchRegions; ++r)
             size[kScratchBegin + r] = std::max(size[kScratchBegin + r], s->floats[r]);
         });
    size[kPooled] = o.batch * classifier_.in_features();
    size[kHidden] = 2 * o.batch * classifier_.hidden_features();
    size[kLogits] = o.batch * spec_.num_classes;
    constexpr int64_t kAlign = AlignedBuffer::kAlignment / sizeof(float);
    Plan plan;
    for (int r = 0; r < kRegions; ++r) {
      plan.offset[r] = plan.total;
      plan.total += (size[r] + kAlign - 1) / kAlign * kAlign;
    }
    for (int f : o.features) {
      const Shape& shape = stage_shapes[static_cast<size_t>(f)];
      plan.feature_offset.push_back(plan.total);
      plan.feature_shape.push_back(shape);
      plan.total += (shape.numel() + kAlign - 1) / kAlign * kAlign;
    }
    return plan;
  }

  /// Calls f(output shape, its pixel stride (0: contiguous), scratch size or null) for every
  /// stage at `input`, the scratch planned for `threads` threads and fused blocks or not; checks
  /// that no stage shrinks the image to nothing.
  template <class F>
  void walk(const Shape& input, int threads, bool fused, F&& f) const {
    const auto check = [&](const Shape& out, const std::string& where) {
      if (out.h < 1 || out.w < 1)
        throw Error("input " + std::to_string(input.h) + "x" + std::to_string(input.w) +
                    " is too small for mobilenet " + to_string(spec_.arch) + ": " + where +
                    " would produce an empty feature map");
    };
    Shape s = stem_.output_shape(input);
    check(s, "the stem");
    f(s, 0, nullptr);
    for (size_t i = 0; i < blocks_.size(); ++i) {
      std::visit(
          [&](const auto& b) {
            const Shape out = b.output_shape(s);
            check(out, "block " + std::to_string(i + 1));
            const BlockScratchSize size = b.scratch_size(s, threads, fused);
            f(out, block_output_stride(i), &size);
            s = out;
          },
          blocks_[i]);
    }
    if (last_conv_) {
      const Shape out = last_conv_->output_shape(s);
      f(out, 0, nullptr);
    }
  }

  /// Checks a (possibly user-made) spec and its key names before anything is allocated.
  static const NetworkSpec& validated(const NetworkSpec& s, const NetworkKeys& keys) {
    require_compiled_isa();  // first: spec_ is the first member built
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
    return s;
  }

  static Padding same_padding(int kernel) { return Padding::symmetric((kernel - 1) / 2); }

  static Conv2d make_stem(const NetworkSpec& spec, WeightSource& src, const NetworkKeys& keys) {
    const auto f =
        load_conv_bn(src, keys.stem.conv, keys.stem.bn, {spec.stem_out, 3, 3, 3}, spec.bn_eps);
    return Conv2d({3, spec.stem_out, 3, 2, same_padding(3), spec.stem_act}, f.weight.data(),
                  f.bias.data());
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

  static Classifier make_classifier(const NetworkSpec& spec, WeightSource& src,
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
