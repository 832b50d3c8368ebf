#pragma once
// Half precision (IEEE binary16) arithmetic: whether this translation unit has it, and its type.
// Only AArch64 with the ARMv8.2 FP16 vector extension (HWCAP asimdhp: Cortex-A55, A75 and later)
// computes in fp16; elsewhere Precision::fp16 is refused with an Error (models/fp16_network.hpp),
// as converting to fp16 and computing in float would be slower than fp32 and not fp16's results.
// The fp16 network, layers and kernels are compiled only where MOBILENET_HAS_FP16_ARITHMETIC is
// defined: the neon_v82 path of the dispatching library, or a header-only build for it.

#include "mobilenet/core/isa.hpp"

#if defined(__aarch64__) && defined(__ARM_FEATURE_FP16_VECTOR_ARITHMETIC)
#define MOBILENET_HAS_FP16_ARITHMETIC 1
#include <arm_neon.h>
#endif

namespace mobilenet {
inline namespace MOBILENET_ISA {

#ifdef MOBILENET_HAS_FP16_ARITHMETIC
/// Whether this translation unit computes in fp16.
inline constexpr bool kFp16Arithmetic = true;
/// A half-precision value (ACLE's float16_t, i.e. __fp16).
using half = float16_t;
#else
inline constexpr bool kFp16Arithmetic = false;
#endif

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
