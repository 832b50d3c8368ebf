#pragma once
// What the CPU we run on can execute, read at run time, and what a translation unit was compiled
// to need, read from the compiler's macros. Both are sets of CpuFeature bits, so "can this CPU
// run this code?" is one mask test. ISA-independent: plain scalar code (CPUID, XGETBV,
// getauxval), no vector instruction, safe to call from a unit compiled for any path.
//
// x86: a feature counts only when the CPU has it AND the OS saves its register state: AVX needs
// CPUID.1:ECX.OSXSAVE and XCR0 bits 1-2 (SSE, AVX), AVX-512 also XCR0 bits 5-7 (opmask, the
// upper halves of zmm0-15, zmm16-31) (Intel SDM vol. 1, 13.3 and 15.2). ARM: the kernel's
// AT_HWCAP bits (Linux arch/arm64/include/uapi/asm/hwcap.h, arch/arm/include/uapi/asm/hwcap.h).

#include <cstdint>
#include <string>

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
#include <cpuid.h>
#elif (defined(__aarch64__) || defined(__arm__)) && defined(__linux__)
#include <sys/auxv.h>
#endif

namespace mobilenet {

/// One instruction-set extension the library's code may be compiled to use.
enum class CpuFeature : int {
  // x86-64
  SSE2,
  SSE3,
  SSSE3,
  SSE4_1,
  SSE4_2,
  POPCNT,
  AVX,
  F16C,
  FMA,
  AVX2,
  BMI1,
  BMI2,
  LZCNT,
  MOVBE,
  AVX512F,
  AVX512DQ,
  AVX512IFMA,
  AVX512CD,
  AVX512BW,
  AVX512VL,
  AVX512VBMI,
  AVX512VBMI2,
  AVX512VNNI,
  AVX512BITALG,
  AVX512VPOPCNTDQ,
  AVX512BF16,
  AVX512VP2INTERSECT,
  AVXVNNI,
  // ARM (AArch64 and ARMv7)
  NEON,      ///< Advanced SIMD (AArch64 asimd, ARMv7 neon)
  VFPV4,     ///< ARMv7 fused multiply-add (vfpv4)
  FP16,      ///< AArch64 half-precision scalar arithmetic (fphp)
  ASIMDHP,   ///< AArch64 half-precision vector arithmetic (ARMv8.2 FEAT_FP16)
  DOTPROD,   ///< AArch64 SDOT/UDOT (ARMv8.2 FEAT_DotProd, asimddp)
  ATOMICS,   ///< AArch64 LSE atomics (ARMv8.1), which -march=armv8.2-a lets the compiler use
  ASIMDRDM,  ///< AArch64 SQRDMLAH (ARMv8.1)
  CRC32,     ///< CRC32 instructions (mandatory from ARMv8.1)
  kCount
};

/// A set of CpuFeature values, one bit each.
using CpuFeatureSet = uint64_t;

/// The bit of `f` in a CpuFeatureSet.
constexpr CpuFeatureSet bit(CpuFeature f) {
  return CpuFeatureSet{1} << static_cast<int>(f);
}

/// The feature's name as Linux's /proc/cpuinfo spells it, upper-cased ("AVX512BW", "ASIMDHP").
inline const char* to_string(CpuFeature f) {
  static const char* const names[] = {"SSE2",
                                      "SSE3",
                                      "SSSE3",
                                      "SSE4_1",
                                      "SSE4_2",
                                      "POPCNT",
                                      "AVX",
                                      "F16C",
                                      "FMA",
                                      "AVX2",
                                      "BMI1",
                                      "BMI2",
                                      "LZCNT",
                                      "MOVBE",
                                      "AVX512F",
                                      "AVX512DQ",
                                      "AVX512IFMA",
                                      "AVX512CD",
                                      "AVX512BW",
                                      "AVX512VL",
                                      "AVX512VBMI",
                                      "AVX512VBMI2",
                                      "AVX512VNNI",
                                      "AVX512BITALG",
                                      "AVX512VPOPCNTDQ",
                                      "AVX512BF16",
                                      "AVX512VP2INTERSECT",
                                      "AVXVNNI",
                                      "NEON",
                                      "VFPV4",
                                      "FP16",
                                      "ASIMDHP",
                                      "DOTPROD",
                                      "ATOMICS",
                                      "ASIMDRDM",
                                      "CRC32"};
  static_assert(sizeof names / sizeof names[0] == static_cast<int>(CpuFeature::kCount),
                "one name per CpuFeature");
  return names[static_cast<int>(f)];
}

/// The features of `set`, space-separated in CpuFeature order ("SSE2 AVX AVX2 FMA"); "none" if
/// empty.
inline std::string to_string(CpuFeatureSet set) {
  std::string s;
  for (int i = 0; i < static_cast<int>(CpuFeature::kCount); ++i)
    if (set & bit(static_cast<CpuFeature>(i)))
      s += (s.empty() ? "" : " ") + std::string(to_string(static_cast<CpuFeature>(i)));
  return s.empty() ? "none" : s;
}

namespace detail {

#if defined(__x86_64__) || defined(__i386__)
inline CpuFeatureSet detect_x86() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return 0;
  const unsigned max_leaf = eax;
  CpuFeatureSet set = 0;
  const auto add = [&](bool has, CpuFeature f) {
    if (has) set |= bit(f);
  };
  __cpuid_count(1, 0, eax, ebx, ecx, edx);
  const unsigned ecx1 = ecx;
  add(edx & (1u << 26), CpuFeature::SSE2);
  add(ecx1 & (1u << 0), CpuFeature::SSE3);
  add(ecx1 & (1u << 9), CpuFeature::SSSE3);
  add(ecx1 & (1u << 19), CpuFeature::SSE4_1);
  add(ecx1 & (1u << 20), CpuFeature::SSE4_2);
  add(ecx1 & (1u << 22), CpuFeature::MOVBE);
  add(ecx1 & (1u << 23), CpuFeature::POPCNT);
  // XGETBV may only run when the OS has set CR4.OSXSAVE (CPUID.1:ECX bit 27).
  uint64_t xcr0 = 0;
  if (ecx1 & (1u << 27)) {
    unsigned lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = (uint64_t{hi} << 32) | lo;
  }
  const bool avx_state = (xcr0 & 0x6) == 0x6;                    // XMM and YMM state
  const bool avx512_state = avx_state && (xcr0 & 0xe0) == 0xe0;  // opmask, ZMM_Hi256, Hi16_ZMM
  add(avx_state && (ecx1 & (1u << 28)), CpuFeature::AVX);
  add(avx_state && (ecx1 & (1u << 29)), CpuFeature::F16C);
  add(avx_state && (ecx1 & (1u << 12)), CpuFeature::FMA);
  if (max_leaf >= 7) {
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    const unsigned max_subleaf = eax, ebx7 = ebx, ecx7 = ecx, edx7 = edx;
    add(avx_state && (ebx7 & (1u << 5)), CpuFeature::AVX2);
    add(ebx7 & (1u << 3), CpuFeature::BMI1);
    add(ebx7 & (1u << 8), CpuFeature::BMI2);
    if (avx512_state) {
      add(ebx7 & (1u << 16), CpuFeature::AVX512F);
      add(ebx7 & (1u << 17), CpuFeature::AVX512DQ);
      add(ebx7 & (1u << 21), CpuFeature::AVX512IFMA);
      add(ebx7 & (1u << 28), CpuFeature::AVX512CD);
      add(ebx7 & (1u << 30), CpuFeature::AVX512BW);
      add(ebx7 & (1u << 31), CpuFeature::AVX512VL);
      add(ecx7 & (1u << 1), CpuFeature::AVX512VBMI);
      add(ecx7 & (1u << 6), CpuFeature::AVX512VBMI2);
      add(ecx7 & (1u << 11), CpuFeature::AVX512VNNI);
      add(ecx7 & (1u << 12), CpuFeature::AVX512BITALG);
      add(ecx7 & (1u << 14), CpuFeature::AVX512VPOPCNTDQ);
      add(edx7 & (1u << 8), CpuFeature::AVX512VP2INTERSECT);
    }
    if (max_subleaf >= 1) {
      __cpuid_count(7, 1, eax, ebx, ecx, edx);
      add(avx512_state && (eax & (1u << 5)), CpuFeature::AVX512BF16);
      add(avx_state && (eax & (1u << 4)), CpuFeature::AVXVNNI);
    }
  }
  __cpuid(0x80000000u, eax, ebx, ecx, edx);
  if (eax >= 0x80000001u) {
    __cpuid(0x80000001u, eax, ebx, ecx, edx);
    add(ecx & (1u << 5), CpuFeature::LZCNT);
  }
  return set;
}
#endif

#if defined(__aarch64__)
inline CpuFeatureSet detect_aarch64() {
#if defined(__linux__)
  const unsigned long hwcap = getauxval(AT_HWCAP);
  CpuFeatureSet set = 0;
  const auto add = [&](int hwcap_bit, CpuFeature f) {
    if (hwcap & (1ul << hwcap_bit)) set |= bit(f);
  };
  add(1, CpuFeature::NEON);  // HWCAP_ASIMD
  add(7, CpuFeature::CRC32);
  add(8, CpuFeature::ATOMICS);
  add(9, CpuFeature::FP16);  // HWCAP_FPHP
  add(10, CpuFeature::ASIMDHP);
  add(12, CpuFeature::ASIMDRDM);
  add(20, CpuFeature::DOTPROD);  // HWCAP_ASIMDDP
  return set;
#else
  return bit(CpuFeature::NEON);  // Advanced SIMD is part of every AArch64 CPU
#endif
}
#endif

#if defined(__arm__)
inline CpuFeatureSet detect_arm32() {
#if defined(__linux__)
  const unsigned long hwcap = getauxval(AT_HWCAP);
  CpuFeatureSet set = 0;
  if (hwcap & (1ul << 12)) set |= bit(CpuFeature::NEON);   // HWCAP_NEON
  if (hwcap & (1ul << 16)) set |= bit(CpuFeature::VFPV4);  // HWCAP_VFPv4
  return set;
#else
  return 0;
#endif
}
#endif

}  // namespace detail

/// Whether cpu_features() can read this platform's CPU: x86 (CPUID) except on macOS, which enables
/// AVX-512 state lazily, and ARM Linux/Android (AT_HWCAP). Elsewhere it reports only what every
/// CPU of the architecture has, and require_compiled_isa() does not check.
constexpr bool kCpuFeaturesKnown =
#if (defined(__x86_64__) || defined(__i386__)) && !defined(__APPLE__)
    true;
#elif (defined(__aarch64__) || defined(__arm__)) && defined(__linux__)
    true;
#else
    false;
#endif

/// The features this CPU (and its OS) can execute. Read once, then cached.
inline CpuFeatureSet cpu_features() {
  static const CpuFeatureSet features = [] {
#if defined(__x86_64__) || defined(__i386__)
    return detail::detect_x86();
#elif defined(__aarch64__)
    return detail::detect_aarch64();
#elif defined(__arm__)
    return detail::detect_arm32();
#else
    return CpuFeatureSet{0};
#endif
  }();
  return features;
}

}  // namespace mobilenet
