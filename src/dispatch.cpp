// The dispatching API (mobilenet/dispatch.hpp): chooses a compiled path from the CPU's features
// and forwards to it. Compiled with the baseline flags of the target architecture, like
// everything outside the path units (src/path.cpp), so it runs on every CPU of that
// architecture. MOBILENET_BUILT_<PATH> names the paths CMake compiled into this library.

#include "mobilenet/dispatch.hpp"

#include <cstdlib>

namespace mobilenet {
namespace dispatch {
namespace detail {

#ifdef MOBILENET_BUILT_AVX512
extern const PathEntry path_avx512;
#endif
#ifdef MOBILENET_BUILT_AVX2_FMA
extern const PathEntry path_avx2_fma;
#endif
#ifdef MOBILENET_BUILT_SSE2
extern const PathEntry path_sse2;
#endif
#ifdef MOBILENET_BUILT_NEON_V82
extern const PathEntry path_neon_v82;
#endif
#ifdef MOBILENET_BUILT_NEON
extern const PathEntry path_neon;
#endif

void raise_error(const std::string& message) {
  throw Error(message);
}

namespace {

// Best first: the first built path whose features this CPU has is the default.
const PathEntry* const kBuiltPaths[] = {
#ifdef MOBILENET_BUILT_AVX512
    &path_avx512,
#endif
#ifdef MOBILENET_BUILT_AVX2_FMA
    &path_avx2_fma,
#endif
#ifdef MOBILENET_BUILT_SSE2
    &path_sse2,
#endif
#ifdef MOBILENET_BUILT_NEON_V82
    &path_neon_v82,
#endif
#ifdef MOBILENET_BUILT_NEON
    &path_neon,
#endif
};

// Every path name any build may have, for telling "unknown" from "not in this build".
const char* const kKnownPaths[] = {"avx512", "avx2_fma", "sse2", "neon_v82", "neon"};

std::string built_list() {
  std::string s;
  for (const PathEntry* p : kBuiltPaths) s += (s.empty() ? "" : ", ") + std::string(p->name);
  return s;
}

bool runs_here(const PathEntry& p) {
  return (p.required & ~cpu_features()) == 0;
}

const PathEntry& select(const Options& options) {
  std::string wanted = options.isa, source = "isa '" + options.isa + "'";
  if (wanted.empty()) {
    if (const char* env = std::getenv("MOBILENET_ISA"); env && *env) {
      wanted = env;
      source = "MOBILENET_ISA=" + wanted;
    }
  }
  if (wanted.empty()) {
    for (const PathEntry* p : kBuiltPaths)
      if (runs_here(*p)) return *p;
    std::string why;
    for (const PathEntry* p : kBuiltPaths)
      why += std::string(why.empty() ? "" : "; ") + p->name + " needs " +
             to_string(p->required & ~cpu_features());
    throw Error("mobilenet: no path of this build runs on this CPU (" + why + ")");
  }
  for (const PathEntry* p : kBuiltPaths) {
    if (wanted != p->name) continue;
    const CpuFeatureSet missing = p->required & ~cpu_features();
    if (missing)
      throw Error("mobilenet: " + source + ": this CPU lacks " + to_string(missing) +
                  " (paths it runs: " +
                  [] {
                    std::string s;
                    for (const std::string& n : supported_paths()) s += (s.empty() ? "" : ", ") + n;
                    return s.empty() ? std::string("none") : s;
                  }() +
                  ")");
    return *p;
  }
  for (const char* known : kKnownPaths)
    if (wanted == known)
      throw Error("mobilenet: " + source + ": this build has no " + wanted + " path (it has " +
                  built_list() + ")");
  throw Error("mobilenet: " + source + ": unknown instruction-set path (this build has " +
              built_list() + ")");
}

}  // namespace
}  // namespace detail

std::vector<std::string> built_paths() {
  std::vector<std::string> names;
  for (const detail::PathEntry* p : detail::kBuiltPaths) names.emplace_back(p->name);
  return names;
}

std::vector<std::string> supported_paths() {
  std::vector<std::string> names;
  for (const detail::PathEntry* p : detail::kBuiltPaths)
    if (detail::runs_here(*p)) names.emplace_back(p->name);
  return names;
}

std::string select_path(const Options& options, Precision precision) {
  const detail::PathEntry& p = detail::select(options);
  if (precision == Precision::fp16 && !p.fp16_arithmetic) throw fp16_unavailable(p.name);
  return p.name;
}

std::string cpu_feature_names() {
  return to_string(cpu_features());
}

ConstTensorView Workspace::feature(std::size_t k) const {
  if (k >= impl_->feature_count())
    throw Error("workspace: feature " + std::to_string(k) + " requested, " +
                std::to_string(impl_->feature_count()) + " kept");
  return impl_->feature(k);
}

Workspace Model::workspace(const WorkspaceOptions& o) const {
  return Workspace(impl_->workspace(o), impl_);
}

std::size_t Model::workspace_bytes(const WorkspaceOptions& o) const {
  return impl_->workspace_bytes(o);
}

ConstTensorView Model::forward(ConstTensorView x, Workspace& ws) const {
  if (ws.owner_ != impl_) throw Error("forward: the workspace was planned for another model");
  return impl_->forward(x, *ws.impl_);
}

std::vector<LayerInfo> Model::layers(int64_t height, int64_t width) const {
  return impl_->layers(height, width);
}

std::vector<LayerInfo> Model::stages(int64_t height, int64_t width) const {
  return impl_->stages(height, width);
}

std::string Model::summary(int64_t height, int64_t width) const {
  return impl_->summary(height, width);
}

Model load(const std::string& path, const LoadOptions& options, const Options& dispatch) {
  const detail::PathEntry& p = detail::select(dispatch);
  return Model(p.load(path, options), p.name);
}

Model random_model(Arch arch, const ModelOptions& options, uint32_t seed, const Options& dispatch) {
  const detail::PathEntry& p = detail::select(dispatch);
  return Model(p.random_model(arch, options, seed), p.name);
}

Model quantize(const std::string& path, ConstTensorView calibration,
               const QuantizeOptions& quantize_options, const LoadOptions& options,
               const Options& dispatch) {
  const detail::PathEntry& p = detail::select(dispatch);
  return Model(p.quantize(path, calibration, quantize_options, options), p.name);
}

Model random_int8_model(Arch arch, ConstTensorView calibration, const ModelOptions& options,
                        uint32_t seed, const Options& dispatch) {
  const detail::PathEntry& p = detail::select(dispatch);
  return Model(p.quantize_random(arch, options, seed, calibration), p.name);
}

}  // namespace dispatch
}  // namespace mobilenet
