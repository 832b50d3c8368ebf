#pragma once
// The int8 residual add: two int8 tensors with their own parameters summed into a third's,
//   f = float(a - za) * ma + float(b - zb) * mb     (ma = sa / so, mb = sb / so)
//   q = round_even(clamp(f, kMin - zo, kMax - zo)) + zo
// in float32 so that an emulation repeats it (tests/int8_emulation.py). The plain loop is the
// reference and x86's form (GCC vectorizes it well there); AArch64 takes the NEON form in
// arm/residual_add_int8_aarch64_neon.hpp, where GCC's vectorization of the loop clamps in float
// and rounds with FRINTI then FCVTZS, a third more instructions per value.

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "mobilenet/core/isa.hpp"
#include "mobilenet/quant/quantize.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// The add's zero points and multipliers.
struct ResidualAddInt8Params {
  int32_t za, zb, zo;
  float ma, mb;
};

/// out[i] = a[i] + b[i] for i < n, requantized as above. `out` may be `a` or `b`: element i is
/// read before it is written. Where the CPU fuses multiply-adds (__FP_FAST_FMAF: the x86 AVX2
/// and AVX-512 paths, AArch64) a's product is fused onto b's, written out so that the result
/// does not depend on whether the compiler contracts (-std=gnu++17 does, -std=c++17 does not);
/// the NEON form does the same and the tests hold it to this loop.
inline void residual_add_int8_generic(const ResidualAddInt8Params& p, const int8_t* a,
                                      const int8_t* b, int8_t* out, int64_t n) {
  // The parameters in locals: an int8 store may alias anything, so GCC would reload members
  // after every store and not vectorize.
  const int32_t za = p.za, zb = p.zb, zo = p.zo;
  const float ma = p.ma, mb = p.mb;
  const float lo = static_cast<float>(quant::kMin - zo), hi = static_cast<float>(quant::kMax - zo);
  for (int64_t i = 0; i < n; ++i) {
    const float fa = static_cast<float>(a[i] - za), fb = static_cast<float>(b[i] - zb);
#if defined(__FP_FAST_FMAF)
    float f = std::fma(fa, ma, fb * mb);
#else
    float f = fa * ma + fb * mb;
#endif
    f = std::min(std::max(f, lo), hi);
    out[i] = static_cast<int8_t>(quant::round_even(f) + zo);
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet

#if defined(__aarch64__)
#include "mobilenet/kernels/arm/residual_add_int8_aarch64_neon.hpp"
#endif

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// The residual add in the best form this unit holds (NEON is in every AArch64 CPU).
inline void residual_add_int8(const ResidualAddInt8Params& p, const int8_t* a, const int8_t* b,
                              int8_t* out, int64_t n) {
#if defined(__aarch64__)
  residual_add_int8_neon(p, a, b, out, n);
#else
  residual_add_int8_generic(p, a, b, out, n);
#endif
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
