// cpu_features.hpp on an ARM OS whose CPU features it cannot read (not Linux or Android: macOS,
// Windows, bare metal), exercised here on Linux: tests/CMakeLists.txt compiles this file with
// __linux__ undefined, so the header takes its other branches. There it must report only what
// every CPU of the architecture has (AArch64: Advanced SIMD; ARMv7: nothing), say that it cannot
// read the CPU (kCpuFeaturesKnown), and let a model be built without the check rather than
// refuse every CPU. Prints what it found; exits 1 on the first expectation that fails.

#if defined(__linux__)
#error "compile with __linux__ undefined (tests/CMakeLists.txt)"
#endif

#include <cstdio>

#include "mobilenet/core/isa.hpp"

namespace {
int fail(const char* what) {
  std::fprintf(stderr, "FAILED: %s\n", what);
  return 1;
}
}  // namespace

int main() {
  const mobilenet::CpuFeatureSet found = mobilenet::cpu_features();
  std::printf("features read outside Linux: '%s', compiled path %s\n",
              mobilenet::to_string(found).c_str(), mobilenet::isa_name());
  if (mobilenet::kCpuFeaturesKnown) return fail("kCpuFeaturesKnown should be false");
#if defined(__aarch64__)
  if (found != mobilenet::bit(mobilenet::CpuFeature::NEON))
    return fail("AArch64 should report Advanced SIMD alone");
#else
  if (found != 0) return fail("ARMv7 should report no feature");
#endif
  try {
    mobilenet::require_compiled_isa();
  } catch (const mobilenet::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return fail("require_compiled_isa should not refuse a CPU it cannot read");
  }
  return 0;
}
