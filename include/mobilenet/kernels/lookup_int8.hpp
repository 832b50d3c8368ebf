#pragma once
// A 256-entry byte table applied to int8 values in place, x[i] = table[uint8(x[i])]: how the int8
// networks apply an activation that is not a clamp (hard-swish; layers/int8/elementwise.hpp).
// The table is indexed by the code's two's-complement byte, so code -1 is entry 255.
//
// One load per byte in plain C++; the vector forms look up whole registers: AArch64 NEON with
// TBL/TBX over four 64-byte quarters of the table (arm/lookup_int8_aarch64_neon.hpp, every
// AArch64 CPU), x86 with AVX-512 VBMI's two-table byte permutes (x86/lookup_int8_avx512vbmi.hpp,
// chosen at run time on the avx512 path: Skylake-X and Cascade Lake have AVX-512 without VBMI).
// Every form gives the same bytes; tests/test_int8.cpp checks each this build holds.

#include <cstdint>

#include "mobilenet/core/isa.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// The plain C++ lookup.
inline void lookup_int8_generic(const int8_t* table, int8_t* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = table[static_cast<uint8_t>(x[i])];
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet

#if defined(__AVX512BW__) && defined(__AVX512VL__)
#include "mobilenet/core/cpu_features.hpp"
#include "mobilenet/kernels/x86/lookup_int8_avx512vbmi.hpp"
#elif defined(__aarch64__)
#include "mobilenet/kernels/arm/lookup_int8_aarch64_neon.hpp"
#endif

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// The table lookup forms this unit holds.
enum class LookupInt8 { Generic, Avx512Vbmi, Neon };

/// The best lookup this unit holds and this CPU runs.
inline LookupInt8 best_lookup_int8() {
#if defined(__AVX512VBMI__) && defined(__AVX512BW__) && defined(__AVX512VL__)
  return LookupInt8::Avx512Vbmi;
#elif defined(__AVX512BW__) && defined(__AVX512VL__)
  return cpu_features() & bit(CpuFeature::AVX512VBMI) ? LookupInt8::Avx512Vbmi
                                                      : LookupInt8::Generic;
#elif defined(__aarch64__)
  return LookupInt8::Neon;
#else
  return LookupInt8::Generic;
#endif
}

/// x[i] = table[uint8(x[i])] for i < n with the lookup `how` (one this unit holds).
inline void lookup_int8(LookupInt8 how, const int8_t* table, int8_t* x, int64_t n) {
  switch (how) {
#if defined(__AVX512BW__) && defined(__AVX512VL__)
    case LookupInt8::Avx512Vbmi:
      return lookup_int8_avx512vbmi(table, x, n);
#elif defined(__aarch64__)
    case LookupInt8::Neon:
      return lookup_int8_neon(table, x, n);
#endif
    default:
      return lookup_int8_generic(table, x, n);
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
