#pragma once
// Names the instruction-set path this translation unit is compiled for, opens an inline
// namespace named after it, and checks at run time that the CPU can execute it.
//
// Everything whose code depends on the compiler's ISA flags lives in that namespace, so two
// translation units built with different flags define different symbols instead of silently
// violating the one-definition rule (the ruy/path.h idea). The path is derived from Eigen's own
// EIGEN_VECTORIZE_* macros (the packet Eigen really uses) and, on AArch64, from the ARMv8.2
// features the fp16 and int8 kernels will need:
//
//   avx512    AVX-512 F (Eigen's 16-float packet)      neon_v82  AArch64 with fp16 arithmetic
//   avx2_fma  AVX2 + FMA                                         and dotprod (ARMv8.2)
//   avx       AVX without FMA (header-only builds)     neon      AArch64 ARMv8.0, or ARMv7 NEON
//   sse2      x86-64 baseline                          generic   no SIMD Eigen knows
//
// The dispatching library (mobilenet/dispatch.hpp) compiles these headers once per path; a
// header-only build has the one path its flags give. Either way, building a model checks with
// require_compiled_isa() that this CPU has every feature the unit was compiled to use, and
// throws an Error naming the missing ones instead of dying on SIGILL later.

#include "mobilenet/core/cpu_features.hpp"
#include "mobilenet/core/eigen.hpp"
#include "mobilenet/core/error.hpp"

#if defined(EIGEN_VECTORIZE_AVX512)
#define MOBILENET_ISA avx512
#elif defined(EIGEN_VECTORIZE_AVX2) && defined(EIGEN_VECTORIZE_FMA)
#define MOBILENET_ISA avx2_fma
#elif defined(EIGEN_VECTORIZE_AVX)
#define MOBILENET_ISA avx
#elif defined(EIGEN_VECTORIZE_SSE2)
#define MOBILENET_ISA sse2
#elif defined(EIGEN_VECTORIZE_NEON) && defined(__aarch64__) && \
    defined(__ARM_FEATURE_FP16_VECTOR_ARITHMETIC) && defined(__ARM_FEATURE_DOTPROD)
#define MOBILENET_ISA neon_v82
#elif defined(EIGEN_VECTORIZE_NEON)
#define MOBILENET_ISA neon
#else
#define MOBILENET_ISA generic
#endif

#define MOBILENET_STRINGIFY_IMPL(x) #x
#define MOBILENET_STRINGIFY(x) MOBILENET_STRINGIFY_IMPL(x)

namespace mobilenet {
/// Everything whose code depends on the compiler's ISA flags (Model, Workspace, load(), ...). An
/// inline namespace named after the path (avx512, avx2_fma, avx, sse2, neon_v82, neon or
/// generic; isa_name()), so users write mobilenet::Model whatever it is.
inline namespace MOBILENET_ISA {

/// The instruction-set path the kernels of this translation unit were compiled for.
inline const char* isa_name() {
  return MOBILENET_STRINGIFY(MOBILENET_ISA);
}

/// Every CPU feature the compiler was allowed to use in this translation unit (its -m/-march
/// flags, as the compiler's predefined macros report them): what the CPU must have to run it.
constexpr CpuFeatureSet kCompiledFeatures = 0
#ifdef __SSE2__
                                            | bit(CpuFeature::SSE2)
#endif
#ifdef __SSE3__
                                            | bit(CpuFeature::SSE3)
#endif
#ifdef __SSSE3__
                                            | bit(CpuFeature::SSSE3)
#endif
#ifdef __SSE4_1__
                                            | bit(CpuFeature::SSE4_1)
#endif
#ifdef __SSE4_2__
                                            | bit(CpuFeature::SSE4_2)
#endif
#ifdef __POPCNT__
                                            | bit(CpuFeature::POPCNT)
#endif
#ifdef __AVX__
                                            | bit(CpuFeature::AVX)
#endif
#ifdef __F16C__
                                            | bit(CpuFeature::F16C)
#endif
#ifdef __FMA__
                                            | bit(CpuFeature::FMA)
#endif
#ifdef __AVX2__
                                            | bit(CpuFeature::AVX2)
#endif
#ifdef __BMI__
                                            | bit(CpuFeature::BMI1)
#endif
#ifdef __BMI2__
                                            | bit(CpuFeature::BMI2)
#endif
#ifdef __LZCNT__
                                            | bit(CpuFeature::LZCNT)
#endif
#ifdef __MOVBE__
                                            | bit(CpuFeature::MOVBE)
#endif
#ifdef __AVX512F__
                                            | bit(CpuFeature::AVX512F)
#endif
#ifdef __AVX512DQ__
                                            | bit(CpuFeature::AVX512DQ)
#endif
#ifdef __AVX512IFMA__
                                            | bit(CpuFeature::AVX512IFMA)
#endif
#ifdef __AVX512CD__
                                            | bit(CpuFeature::AVX512CD)
#endif
#ifdef __AVX512BW__
                                            | bit(CpuFeature::AVX512BW)
#endif
#ifdef __AVX512VL__
                                            | bit(CpuFeature::AVX512VL)
#endif
#ifdef __AVX512VBMI__
                                            | bit(CpuFeature::AVX512VBMI)
#endif
#ifdef __AVX512VBMI2__
                                            | bit(CpuFeature::AVX512VBMI2)
#endif
#ifdef __AVX512VNNI__
                                            | bit(CpuFeature::AVX512VNNI)
#endif
#ifdef __AVX512BITALG__
                                            | bit(CpuFeature::AVX512BITALG)
#endif
#ifdef __AVX512VPOPCNTDQ__
                                            | bit(CpuFeature::AVX512VPOPCNTDQ)
#endif
#ifdef __AVX512BF16__
                                            | bit(CpuFeature::AVX512BF16)
#endif
#ifdef __AVX512VP2INTERSECT__
                                            | bit(CpuFeature::AVX512VP2INTERSECT)
#endif
#ifdef __AVXVNNI__
                                            | bit(CpuFeature::AVXVNNI)
#endif
#if defined(__ARM_NEON) || defined(__ARM_NEON__)
                                            | bit(CpuFeature::NEON)
#endif
#if defined(__arm__) && defined(__ARM_FEATURE_FMA)
                                            | bit(CpuFeature::VFPV4)
#endif
#if defined(__aarch64__) && defined(__ARM_FEATURE_FP16_SCALAR_ARITHMETIC)
                                            | bit(CpuFeature::FP16)
#endif
#if defined(__aarch64__) && defined(__ARM_FEATURE_FP16_VECTOR_ARITHMETIC)
                                            | bit(CpuFeature::ASIMDHP)
#endif
#ifdef __ARM_FEATURE_DOTPROD
                                            | bit(CpuFeature::DOTPROD)
#endif
#if defined(__aarch64__) && defined(__ARM_FEATURE_ATOMICS)
                                            | bit(CpuFeature::ATOMICS)
#endif
#ifdef __ARM_FEATURE_QRDMX
                                            | bit(CpuFeature::ASIMDRDM)
#endif
#if defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
                                            | bit(CpuFeature::CRC32)
#endif
    ;

/// Throws an Error when this CPU lacks a feature this translation unit was compiled to use:
/// "built for avx512 (SSE2 ... AVX512VL); this CPU lacks AVX512F AVX512BW ...". Every way of
/// building a Model calls it first, before the library runs any kernel, packing or weight
/// conversion. Best effort in header-only programs: it is compiled with the same flags, and so is
/// the program's own code before it, which the compiler may already have encoded for the newer
/// ISA (with -mavx2, even plain SSE code is VEX-encoded). It turns the usual case, a build for a
/// newer x86 or ARM core run on an older one of the same family, into an Error; only the
/// dispatching library, whose API is compiled for the baseline, guarantees it. No check where
/// the CPU cannot be read (kCpuFeaturesKnown).
inline void require_compiled_isa() {
  if (!kCpuFeaturesKnown) return;
  const CpuFeatureSet missing = kCompiledFeatures & ~cpu_features();
  if (missing)
    throw Error(std::string("mobilenet: built for ") + isa_name() + " (" +
                to_string(kCompiledFeatures) + "); this CPU lacks " + to_string(missing));
}

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
