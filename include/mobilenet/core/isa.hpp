#pragma once
// Names the SIMD instruction set Eigen vectorises for in this translation unit, and opens an
// inline namespace named after it. Everything whose code depends on the packet width lives in
// that namespace, so two translation units built with different -m flags define different
// symbols instead of silently violating the one-definition rule (the ruy/path.h idea).

#include <Eigen/Core>

#if defined(EIGEN_VECTORIZE_AVX512)
#define MOBILENET_ISA avx512
#elif defined(EIGEN_VECTORIZE_AVX2) && defined(EIGEN_VECTORIZE_FMA)
#define MOBILENET_ISA avx2_fma
#elif defined(EIGEN_VECTORIZE_AVX)
#define MOBILENET_ISA avx
#elif defined(EIGEN_VECTORIZE_SSE2)
#define MOBILENET_ISA sse2
#elif defined(EIGEN_VECTORIZE_NEON) && defined(__aarch64__)
#define MOBILENET_ISA neon64
#elif defined(EIGEN_VECTORIZE_NEON)
#define MOBILENET_ISA neon
#else
#define MOBILENET_ISA generic
#endif

#define MOBILENET_STRINGIFY_IMPL(x) #x
#define MOBILENET_STRINGIFY(x) MOBILENET_STRINGIFY_IMPL(x)

namespace mobilenet {
/// Everything whose code depends on the SIMD width (Model, Workspace, load(), ...). An inline
/// namespace named after the instruction set at compile time (avx512, avx2_fma, avx, sse2,
/// neon64, neon or generic; isa_name()), so users write mobilenet::Model whatever it is.
inline namespace MOBILENET_ISA {

/// The instruction set the kernels of this translation unit were compiled for.
inline const char* isa_name() { return MOBILENET_STRINGIFY(MOBILENET_ISA); }

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
