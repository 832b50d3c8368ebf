#pragma once
// The contract between the dispatching API (mobilenet/dispatch.hpp, compiled for the baseline
// ISA) and each compiled path (the same headers built with that path's flags, src/path.cpp).
// ISA-independent: only types whose layout no ISA flag changes cross it.
//
// A path exports one constant object, PathEntry, whose data the dispatcher reads before it calls
// anything of the path: its name and the CPU features it was compiled for. Only when this CPU has
// them all does the dispatcher call the path's functions. Errors cross as messages (raise_error,
// defined by the dispatcher), so that no exception object made with a path's copy of the type
// information has to be caught outside the path (docs/design.md, "Run-time dispatch").

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "mobilenet/core/cpu_features.hpp"
#include "mobilenet/core/precision.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/layers/layer_info.hpp"
#include "mobilenet/models/load_options.hpp"
#include "mobilenet/models/metadata.hpp"
#include "mobilenet/models/spec.hpp"
#include "mobilenet/models/workspace_options.hpp"
#include "mobilenet/quant/quantize_options.hpp"
#include "mobilenet/runtime/profiler.hpp"

namespace mobilenet {
namespace dispatch {
namespace detail {

/// A path's Workspace behind a virtual interface.
class WorkspaceImpl {
 public:
  virtual ~WorkspaceImpl() = default;
  virtual const Shape& input_shape() const = 0;
  virtual std::size_t arena_bytes() const = 0;
  virtual int threads() const = 0;
  virtual const Profiler& profile() const = 0;
  virtual void clear_profile() = 0;
  virtual ConstTensorView feature(std::size_t k) const = 0;
  virtual std::size_t feature_count() const = 0;
};

/// A path's Model behind a virtual interface. Immutable once made, like Model.
class ModelImpl {
 public:
  virtual ~ModelImpl() = default;
  virtual const NetworkSpec& spec() const = 0;
  virtual const ModelMetadata& metadata() const = 0;
  virtual std::unique_ptr<WorkspaceImpl> workspace(const WorkspaceOptions& o) const = 0;
  virtual std::size_t workspace_bytes(const WorkspaceOptions& o) const = 0;
  /// `ws` was made by this model's workspace() (the dispatcher checks it).
  virtual ConstTensorView forward(ConstTensorView x, WorkspaceImpl& ws) const = 0;
  virtual std::vector<LayerInfo> layers(int64_t height, int64_t width) const = 0;
  virtual std::vector<LayerInfo> stages(int64_t height, int64_t width) const = 0;
  virtual std::string summary(int64_t height, int64_t width) const = 0;
  virtual Precision precision() const = 0;
  virtual void save_int8(const std::string& path) const = 0;
};

/// What a compiled path exports: constant data, readable before any of its code runs.
struct PathEntry {
  const char* name;        ///< "avx512", "avx2_fma", "sse2", "neon_v82", "neon"
  CpuFeatureSet required;  ///< every feature the path's unit was compiled to use
  std::unique_ptr<ModelImpl> (*load)(const std::string& path, const LoadOptions& options);
  std::unique_ptr<ModelImpl> (*random_model)(Arch arch, const ModelOptions& options, uint32_t seed);
  std::unique_ptr<ModelImpl> (*quantize)(const std::string& path, ConstTensorView calibration,
                                         const QuantizeOptions& quantize_options,
                                         const LoadOptions& options);
  std::unique_ptr<ModelImpl> (*quantize_random)(Arch arch, const ModelOptions& options,
                                                uint32_t seed, ConstTensorView calibration);
  bool fp16_arithmetic;  ///< whether the path computes Precision::fp16 (core/half.hpp)
};

/// Throws mobilenet::Error(message). Defined by the dispatcher, called by the paths.
[[noreturn]] void raise_error(const std::string& message);

}  // namespace detail
}  // namespace dispatch
}  // namespace mobilenet
