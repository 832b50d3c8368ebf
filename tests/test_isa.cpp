// Which SIMD path this build really takes. Compiler flags that do not enable what the build
// meant (armv7 without -mfpu=neon..., a toolchain dropping -march) still compile: Eigen then
// falls back to scalar code and every other test passes, only slower. With the CMake cache
// variable MOBILENET_EXPECT_ISA set (tools/ci_arm.sh sets neon_v82 / neon), this test fails instead.

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>

// Only the header that names the path (and Eigen/Core): the whole library would add ~10 s of
// compile time per build for nothing.
#include "mobilenet/core/isa.hpp"

namespace {

// Floats per packet that each path must have: catches an isa_name() that disagrees with the
// packet Eigen actually uses.
int expected_packet_floats(const char* isa) {
  if (std::strcmp(isa, "avx512") == 0) return 16;
  if (std::strcmp(isa, "avx2_fma") == 0 || std::strcmp(isa, "avx") == 0) return 8;
  if (std::strcmp(isa, "generic") == 0) return 1;
  return 4;  // sse2, neon_v82, neon
}

TEST(Isa, MatchesExpected) {
  const char* isa = mobilenet::isa_name();
  const int packet = Eigen::internal::packet_traits<float>::size;
  std::printf("[isa] %s, %d floats per packet, Eigen: %s\n", isa, packet, Eigen::SimdInstructionSetsInUse());
  EXPECT_EQ(packet, expected_packet_floats(isa)) << "isa_name() disagrees with Eigen's packet";
#ifdef MOBILENET_EXPECT_ISA
  EXPECT_STREQ(isa, MOBILENET_EXPECT_ISA) << "this build does not take the SIMD path it was configured for";
#else
  GTEST_SKIP() << "MOBILENET_EXPECT_ISA is not set: this build uses " << isa;
#endif
}

}  // namespace
