#pragma once
// A built MobileNet (models/network.hpp) with its metadata, behind the API users call: plan a
// workspace, run forward, describe the layers. Immutable once built and safe to share between
// threads (each with its own Workspace). The jobs live in their own headers: building
// (network_builder.hpp), the memory plan (memory_plan.hpp), running (executor.hpp) and describing
// (summary.hpp).

#include <atomic>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "mobilenet/core/precision.hpp"
#include "mobilenet/io/preprocess.hpp"
#include "mobilenet/models/executor.hpp"
#include "mobilenet/models/fp16_network.hpp"
#include "mobilenet/models/int8_network_builder.hpp"
#include "mobilenet/models/layerwise_executor.hpp"
#include "mobilenet/models/memory_plan.hpp"
#include "mobilenet/models/metadata.hpp"
#include "mobilenet/models/network_builder.hpp"
#include "mobilenet/models/summary.hpp"
#include "mobilenet/models/workspace.hpp"

namespace mobilenet {

inline namespace MOBILENET_ISA {

/// The networks a Model can hold: float, int8, and fp16 where fp16 arithmetic is compiled.
#ifdef MOBILENET_HAS_FP16_ARITHMETIC
using AnyNetwork = std::variant<Network, Int8Network, Fp16Network>;
#else
using AnyNetwork = std::variant<Network, Int8Network>;
#endif

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
      : net_(build_network(spec, source, keys)), id_(next_id()) {}

  /// Builds `spec` as above to compute in `precision`: fp32, or fp16 (the weights rounded to fp16
  /// once, here).
  /// @throws Error as above; for fp16 also where this code has no fp16 arithmetic
  /// (fp16_unavailable()) or a folded weight is beyond fp16's range; for int8, which needs
  /// calibration (the constructor below).
  Model(const NetworkSpec& spec, WeightSource& source, const NetworkKeys& keys, Precision precision)
      : net_(build_any(spec, source, keys, precision)), id_(next_id()) {}

  /// Builds `spec` in int8 (Precision::int8): weights from `source` as above, quantized after
  /// folding, activation ranges calibrated on the float NHWC images `calibration`, preprocessed
  /// as the model expects (see quantize_recipe()). Same API: float input, float logits.
  /// @throws Error as the float constructor, or if the calibration batch is empty or not
  /// 3-channel, or calibration meets a non-finite value.
  Model(const NetworkSpec& spec, WeightSource& source, const NetworkKeys& keys,
        ConstTensorView calibration, const QuantizeOptions& options = {})
      : Model(spec, quantize_recipe(spec, source, keys, calibration, options)) {}

  /// Builds the int8 network of `spec` from a quantization recipe (what quantize_recipe() or an
  /// int8 file gives).
  /// @throws Error if the recipe does not fit the spec.
  Model(const NetworkSpec& spec, quant::Int8Recipe recipe)
      : net_(build_int8_network(spec, std::move(recipe))), id_(next_id()) {}

  /// An int8 model's recipe (its int8 weights and quantization parameters), null for fp32.
  const quant::Int8Recipe* int8_recipe() const {
    const auto* int8 = std::get_if<Int8Network>(&net_);
    return int8 ? int8->recipe.get() : nullptr;
  }

  /// The network's concrete layer widths, strides and activations.
  const NetworkSpec& spec() const {
    return std::visit([](const auto& net) -> const NetworkSpec& { return net.spec; }, net_);
  }
  /// The arithmetic the layers run in (fp32, fp16, or int8 for a quantized model).
  Precision precision() const {
    return std::visit([](const auto& net) { return std::decay_t<decltype(net)>::kPrecision; },
                      net_);
  }
  /// The architecture: V1, V2, V3-Large or V3-Small.
  Arch arch() const { return spec().arch; }
  /// Whose model definitions the network follows (torchvision's or timm's).
  Scheme scheme() const { return spec().scheme; }
  /// The number of classes, i.e. of logits per image.
  int num_classes() const { return spec().num_classes; }
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
    Workspace ws(id_, std::visit([&](const auto& net) { return plan_memory(net, o); }, net_), o);
    if (o.profile) ws.profiler_.enable(layers(o.height, o.width).size(), Profiler::Level::Layers);
    if (o.profile_stages)
      ws.profiler_.enable(stages(o.height, o.width).size(), Profiler::Level::Stages);
    return ws;
  }

  /// Bytes of the arena a workspace for these options would hold, without allocating it.
  std::size_t workspace_bytes(const WorkspaceOptions& o = {}) const {
    return static_cast<std::size_t>(
        std::visit([&](const auto& net) { return plan_memory(net, o).total; }, net_));
  }

  /// Runs the batch `x` (NHWC, the shape `ws` was planned for) and returns the logits
  /// [batch, 1, 1, classes], a view into `ws` valid until its next use. Allocation-free.
  /// @throws Error if `ws` was planned for another model or `x` has another shape.
  ConstTensorView forward(ConstTensorView x, Workspace& ws) const {
    if (ws.model_id_ != id_) throw Error("forward: the workspace was planned for another model");
    if (x.shape != ws.input_)
      throw Error("forward: input shape " + x.shape.str() + " does not match the workspace's " +
                  ws.input_.str() + "; plan a workspace for this shape");
    return std::visit([&](const auto& net) { return run(net, x, ws); }, net_);
  }

  /// One row per layer (name, type, output shape, parameters, MACs) at a batch-1 input of
  /// `height` x `width`, in execution order.
  std::vector<LayerInfo> layers(int64_t height, int64_t width) const {
    return std::visit([&](const auto& net) { return layer_rows(net, height, width); }, net_);
  }

  /// One row per stage (the stem, each block, the last 1x1 conv, the classifier head) at a
  /// batch-1 input of `height` x `width`: its layers' rows merged, the type listing what the
  /// layers are ("expand+depthwise+se+project"), the output the stage's last.
  std::vector<LayerInfo> stages(int64_t height, int64_t width) const {
    return std::visit([&](const auto& net) { return stage_rows(net, height, width); }, net_);
  }

  /// A printable table of every layer's output shape, parameters and MACs at a batch-1 input of
  /// `height` x `width`, with totals (what mobilenet-summary prints).
  std::string summary(int64_t height, int64_t width) const {
    return std::visit([&](const auto& net) { return summary_table(net, height, width); }, net_);
  }

 private:
  static AnyNetwork build_any(const NetworkSpec& spec, WeightSource& source,
                              const NetworkKeys& keys, Precision precision) {
    switch (precision) {
      case Precision::fp32:
        return build_network(spec, source, keys);
      case Precision::fp16:
#ifdef MOBILENET_HAS_FP16_ARITHMETIC
        return build_fp16_network(spec, source, keys);
#else
        throw fp16_unavailable(isa_name());
#endif
      case Precision::int8:
        break;
    }
    throw Error("precision int8 needs calibration: quantize() a float model, or load an int8 file");
  }

  static ConstTensorView run(const Network& net, ConstTensorView x, Workspace& ws) {
    return run_network(net, x, ws.buffers_, *ws.pool_, ws.profiler_);
  }
  /// The int8 and fp16 networks.
  template <class Net>
  static ConstTensorView run(const Net& net, ConstTensorView x, Workspace& ws) {
    return run_layerwise_network(net, x, ws.buffers_, *ws.pool_, ws.profiler_);
  }

  static uint64_t next_id() {
    static std::atomic<uint64_t> counter{1};
    return counter++;
  }

  AnyNetwork net_;
  uint64_t id_;
  ModelMetadata metadata_;
};

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
