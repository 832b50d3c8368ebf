#pragma once
// A float tensor quantized to int8 (quant::quantize: round(x / scale) ties to even, plus the
// zero point, saturated; NaN to the lowest code), the int8 stem's first step on the image. The
// plain loop (quant::quantize) is the reference and x86's form; AArch64 takes the NEON form in
// arm/quantize_int8_aarch64_neon.hpp, where GCC's vectorization of the loop rounds with FRINTI
// and clamps in float with a compare and select per bound.

#include <cstdint>

#include "mobilenet/core/isa.hpp"
#include "mobilenet/quant/quantize.hpp"

#if defined(__aarch64__)
#include "mobilenet/kernels/arm/quantize_int8_aarch64_neon.hpp"
#endif

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// out[i] = quant::quantize(x[i], p) for i < n, in the best form this unit holds (NEON is in
/// every AArch64 CPU).
inline void quantize_int8(const float* x, int64_t n, quant::QuantParams p, int8_t* out) {
#if defined(__aarch64__)
  quantize_int8_neon(x, n, p, out);
#else
  quant::quantize(x, n, p, out);
#endif
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
