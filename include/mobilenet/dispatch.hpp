#pragma once
// The dispatching API: one binary for every CPU of an architecture. The library target
// mobilenet::dispatch compiles the header-only library once per instruction-set path
// (x86-64: avx512, avx2_fma, sse2; AArch64: neon_v82, neon; ARMv7: neon) and picks, when a model
// is built, the best path this CPU runs, or the one MOBILENET_ISA (or Options::isa) names.
//
//   const mobilenet::dispatch::Model model = mobilenet::dispatch::load("v3_large.safetensors");
//   mobilenet::dispatch::Workspace ws = model.workspace({1, 224, 224});
//   mobilenet::ConstTensorView logits = model.forward(x, ws);
//   std::cout << model.isa();  // "avx512"
//
// The classes mirror the header-only Model and Workspace (mobilenet/mobilenet.hpp), whose
// documentation applies; this header includes none of the per-ISA code, so it compiles with any
// flags. Link mobilenet::dispatch (CMake) or `pkg-config --libs mobilenet-dispatch`.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mobilenet/core/cpu_features.hpp"
#include "mobilenet/core/error.hpp"
#include "mobilenet/core/precision.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/dispatch/path_interface.hpp"
#include "mobilenet/layers/layer_info.hpp"
#include "mobilenet/models/load_options.hpp"
#include "mobilenet/models/metadata.hpp"
#include "mobilenet/models/spec.hpp"
#include "mobilenet/models/workspace_options.hpp"
#include "mobilenet/quant/quantize_options.hpp"
#include "mobilenet/runtime/profiler.hpp"

namespace mobilenet {
/// The dispatching API: Model and Workspace whose kernels are chosen at run time from the
/// CPU's features (link mobilenet::dispatch).
namespace dispatch {

/// How to choose the instruction-set path.
struct Options {
  /// A path to use instead of the best one ("sse2", "avx2_fma", "avx512", "neon", "neon_v82").
  /// Empty: the MOBILENET_ISA environment variable if set, else the best path this CPU runs.
  /// Naming a path this build lacks or this CPU cannot run throws an Error.
  std::string isa;
};

/// The paths compiled into this library, best first (e.g. avx512, avx2_fma, sse2).
std::vector<std::string> built_paths();
/// The built paths this CPU can run, best first.
std::vector<std::string> supported_paths();
/// The path a model built with `options` in `precision` would use (after MOBILENET_ISA).
/// @throws Error if the path asked for is unknown, not built or not supported by this CPU, or
/// cannot compute `precision` (fp16: only neon_v82 can).
std::string select_path(const Options& options = {}, Precision precision = Precision::fp32);
/// The CPU features detected on this machine, e.g. "SSE2 ... AVX2 FMA AVX512F AVX512BW".
std::string cpu_feature_names();

class Model;

/// Per-caller state for running a Model at one input shape (see mobilenet::Workspace). Made by
/// Model::workspace(); movable, not copyable; one per thread.
class Workspace {
 public:
  /// The NHWC input shape (channels 3) this workspace was planned for.
  const Shape& input_shape() const { return impl_->input_shape(); }
  /// Bytes of the single arena holding every intermediate tensor.
  std::size_t arena_bytes() const { return impl_->arena_bytes(); }
  /// Threads each layer runs on, the caller included.
  int threads() const { return impl_->threads(); }
  /// Seconds per row of Model::layers() or Model::stages(), summed over runs.
  const Profiler& profile() const { return impl_->profile(); }
  /// Resets the profile's times and run count to zero.
  void clear_profile() { impl_->clear_profile(); }
  /// Feature map `k` of those named by WorkspaceOptions::features (NHWC), as of the last forward.
  ConstTensorView feature(std::size_t k) const;
  /// How many feature maps are kept.
  std::size_t feature_count() const { return impl_->feature_count(); }

 private:
  friend class Model;
  Workspace(std::unique_ptr<detail::WorkspaceImpl> impl,
            std::shared_ptr<const detail::ModelImpl> owner)
      : impl_(std::move(impl)), owner_(std::move(owner)) {}
  std::unique_ptr<detail::WorkspaceImpl> impl_;
  // The model that planned it, kept alive so that no other model can take its address.
  std::shared_ptr<const detail::ModelImpl> owner_;
};

/// A built MobileNet running on the path chosen when it was built (see mobilenet::Model).
/// Immutable; copies share the same weights. Share it between threads, each with its own
/// Workspace.
class Model {
 public:
  /// The instruction-set path this model's kernels run on ("avx512", "neon", ...).
  const std::string& isa() const { return isa_; }
  /// The network's concrete layer widths, strides and activations.
  const NetworkSpec& spec() const { return impl_->spec(); }
  /// The architecture.
  Arch arch() const { return spec().arch; }
  /// Whose model definitions the network follows.
  Scheme scheme() const { return spec().scheme; }
  /// The number of classes, i.e. of logits per image.
  int num_classes() const { return spec().num_classes; }
  /// The square input side the model was trained at (metadata `input_size`, else 224).
  int input_size() const { return metadata().input_size; }
  /// Class names from the file's metadata; empty if it has none.
  const std::vector<std::string>& labels() const { return metadata().labels; }
  /// What the weight file said about preprocessing and labels.
  const ModelMetadata& metadata() const { return impl_->metadata(); }

  /// Plans a workspace (see mobilenet::Model::workspace).
  /// @throws Error if the size is out of range or a feature index does not exist.
  Workspace workspace(const WorkspaceOptions& o = {}) const;
  /// Bytes of the arena a workspace for these options would hold, without allocating it.
  std::size_t workspace_bytes(const WorkspaceOptions& o = {}) const;
  /// Runs the batch `x` (NHWC, the shape `ws` was planned for); returns the logits
  /// [batch, 1, 1, classes], a view into `ws`. Allocation-free.
  /// @throws Error if `ws` was planned for another model or `x` has another shape.
  ConstTensorView forward(ConstTensorView x, Workspace& ws) const;
  /// One row per layer at a batch-1 input of `height` x `width`.
  std::vector<LayerInfo> layers(int64_t height, int64_t width) const;
  /// One row per stage (stem, each block, last 1x1 conv, head).
  std::vector<LayerInfo> stages(int64_t height, int64_t width) const;
  /// The printable per-layer table mobilenet-summary prints.
  std::string summary(int64_t height, int64_t width) const;
  /// The arithmetic the layers run in (fp32, or int8 for a quantized model).
  Precision precision() const { return impl_->precision(); }
  /// Writes an int8 model as an int8 file (see mobilenet::save_int8).
  /// @throws Error if the model is fp32 or the file cannot be written.
  void save_int8(const std::string& path) const { impl_->save_int8(path); }

 private:
  friend Model load(const std::string&, const LoadOptions&, const Options&);
  friend Model random_model(Arch, const ModelOptions&, uint32_t, const Options&);
  friend Model quantize(const std::string&, ConstTensorView, const QuantizeOptions&,
                        const LoadOptions&, const Options&);
  friend Model random_int8_model(Arch, ConstTensorView, const ModelOptions&, uint32_t,
                                 const Options&);
  Model(std::shared_ptr<const detail::ModelImpl> impl, std::string isa)
      : impl_(std::move(impl)), isa_(std::move(isa)) {}
  std::shared_ptr<const detail::ModelImpl> impl_;
  std::string isa_;
};

/// Loads a model from a safetensors file (see mobilenet::load) on the path `dispatch` selects.
/// @throws Error as mobilenet::load does, or if the path asked for cannot run here.
Model load(const std::string& path, const LoadOptions& options = {}, const Options& dispatch = {});
/// A model with seeded random weights (see mobilenet::random_model) on the selected path.
Model random_model(Arch arch, const ModelOptions& options = {}, uint32_t seed = 0,
                   const Options& dispatch = {});
/// The float model at `path` quantized to int8 (see mobilenet::quantize) on the selected path.
/// @throws Error as mobilenet::quantize does, or if the path asked for cannot run here.
Model quantize(const std::string& path, ConstTensorView calibration,
               const QuantizeOptions& quantize_options = {}, const LoadOptions& options = {},
               const Options& dispatch = {});
/// A random model quantized to int8 (see mobilenet::random_int8_model) on the selected path.
Model random_int8_model(Arch arch, ConstTensorView calibration, const ModelOptions& options = {},
                        uint32_t seed = 0, const Options& dispatch = {});

}  // namespace dispatch
}  // namespace mobilenet
