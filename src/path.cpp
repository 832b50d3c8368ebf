// One compiled path of the dispatching library: the header-only library, built with this path's
// ISA flags (CMakeLists.txt, mobilenet_add_path), behind the ISA-independent interface of
// mobilenet/dispatch/path_interface.hpp. It exports one constant object, path_<isa>; after
// compiling, cmake/isolate_path_object.cmake renames every other symbol this unit shares with
// other units (inline functions, template instantiations, vtables), so the linker never merges
// this path's copy of an inline function with another unit's (docs/design.md).

#include "mobilenet/dispatch/path_interface.hpp"
#include "mobilenet/mobilenet.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace {

// Runs f, turning an Error thrown inside this path into one thrown by the dispatcher: the
// exception object then carries the dispatcher's type information, not this path's copy.
template <class F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error& e) {
    dispatch::detail::raise_error(e.what());
  }
}

class PathWorkspace final : public dispatch::detail::WorkspaceImpl {
 public:
  explicit PathWorkspace(Workspace ws) : ws_(std::move(ws)) {}
  const Shape& input_shape() const override { return ws_.input_shape(); }
  std::size_t arena_bytes() const override { return ws_.arena_bytes(); }
  int threads() const override { return ws_.threads(); }
  const Profiler& profile() const override { return ws_.profile(); }
  void clear_profile() override { ws_.clear_profile(); }
  ConstTensorView feature(std::size_t k) const override { return ws_.feature(k); }
  std::size_t feature_count() const override { return ws_.feature_count(); }
  Workspace& get() { return ws_; }

 private:
  Workspace ws_;
};

class PathModel final : public dispatch::detail::ModelImpl {
 public:
  explicit PathModel(Model model) : model_(std::move(model)) {}
  const NetworkSpec& spec() const override { return model_.spec(); }
  const ModelMetadata& metadata() const override { return model_.metadata(); }
  std::unique_ptr<dispatch::detail::WorkspaceImpl> workspace(
      const WorkspaceOptions& o) const override {
    return guarded([&] { return std::make_unique<PathWorkspace>(model_.workspace(o)); });
  }
  std::size_t workspace_bytes(const WorkspaceOptions& o) const override {
    return guarded([&] { return model_.workspace_bytes(o); });
  }
  ConstTensorView forward(ConstTensorView x, dispatch::detail::WorkspaceImpl& ws) const override {
    // The dispatcher only passes workspaces this model planned, hence of this path.
    return guarded([&] { return model_.forward(x, static_cast<PathWorkspace&>(ws).get()); });
  }
  std::vector<LayerInfo> layers(int64_t height, int64_t width) const override {
    return guarded([&] { return model_.layers(height, width); });
  }
  std::vector<LayerInfo> stages(int64_t height, int64_t width) const override {
    return guarded([&] { return model_.stages(height, width); });
  }
  std::string summary(int64_t height, int64_t width) const override {
    return guarded([&] { return model_.summary(height, width); });
  }
  Precision precision() const override { return model_.precision(); }
  void save_int8(const std::string& path) const override {
    guarded([&] { mobilenet::save_int8(model_, path); });
  }

 private:
  Model model_;
};

std::unique_ptr<dispatch::detail::ModelImpl> load_model(const std::string& path,
                                                        const LoadOptions& options) {
  return guarded([&] { return std::make_unique<PathModel>(load(path, options)); });
}

std::unique_ptr<dispatch::detail::ModelImpl> make_random_model(Arch arch,
                                                               const ModelOptions& options,
                                                               uint32_t seed) {
  return guarded([&] { return std::make_unique<PathModel>(random_model(arch, options, seed)); });
}

std::unique_ptr<dispatch::detail::ModelImpl> quantize_model(const std::string& path,
                                                            ConstTensorView calibration,
                                                            const QuantizeOptions& quantize_options,
                                                            const LoadOptions& options) {
  return guarded([&] {
    return std::make_unique<PathModel>(quantize(path, calibration, quantize_options, options));
  });
}

std::unique_ptr<dispatch::detail::ModelImpl> quantize_random_model(Arch arch,
                                                                   const ModelOptions& options,
                                                                   uint32_t seed,
                                                                   ConstTensorView calibration) {
  return guarded([&] {
    return std::make_unique<PathModel>(random_int8_model(arch, calibration, options, seed));
  });
}

}  // namespace
}  // namespace MOBILENET_ISA

namespace dispatch {
namespace detail {

#define MOBILENET_PATH_ENTRY_NAME(isa) MOBILENET_PATH_ENTRY_NAME_IMPL(isa)
#define MOBILENET_PATH_ENTRY_NAME_IMPL(isa) path_##isa

// Constant-initialized (addresses and constants only): the dispatcher reads it on any CPU
// before deciding whether to call this path's code.
extern const PathEntry MOBILENET_PATH_ENTRY_NAME(MOBILENET_ISA);
const PathEntry MOBILENET_PATH_ENTRY_NAME(MOBILENET_ISA) = {MOBILENET_STRINGIFY(MOBILENET_ISA),
                                                            kCompiledFeatures,
                                                            &load_model,
                                                            &make_random_model,
                                                            &quantize_model,
                                                            &quantize_random_model,
                                                            kFp16Arithmetic};

}  // namespace detail
}  // namespace dispatch
}  // namespace mobilenet
