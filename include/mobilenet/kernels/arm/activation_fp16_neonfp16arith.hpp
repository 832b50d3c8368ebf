#pragma once
// The activations (core/activation.hpp's types, PyTorch's definitions) on eight fp16 lanes, for
// the epilogues of the fp16 kernels, with the scalar form the kernel tests' reference repeats:
// each step one fp16 operation, rounded as the vector instruction rounds it.

#include <arm_neon.h>

#include <type_traits>

#include "mobilenet/core/activation.hpp"
#include "mobilenet/core/half.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {
namespace fp16 {

/// `v` unchanged, hidden from the optimiser: as simd::opaque, an add after hard-swish's multiply
/// must stay an add (never contracted into an FMA in some inlined copies and not others).
[[gnu::always_inline]] inline float16x8_t opaque(float16x8_t v) {
  asm("" : "+w"(v));
  return v;
}

/// Act on eight lanes: ReLU max(x, 0); ReLU6 min(max(x, 0), 6); hard-sigmoid
/// relu6(x + 3) * (1/6); hard-swish x * hard-sigmoid(x) (1/6 rounded to fp16, as the float
/// path multiplies by 1/6 rounded to float).
template <class Act>
[[gnu::always_inline]] inline float16x8_t activate(float16x8_t x) {
  const float16x8_t zero = vdupq_n_f16(0), six = vdupq_n_f16(6);
  if constexpr (std::is_same_v<Act, act::Identity>) {
    return x;
  } else if constexpr (std::is_same_v<Act, act::ReLU>) {
    return vmaxq_f16(x, zero);
  } else if constexpr (std::is_same_v<Act, act::ReLU6>) {
    return vminq_f16(vmaxq_f16(x, zero), six);
  } else {
    const float16x8_t gate =
        vmulq_f16(vminq_f16(vmaxq_f16(vaddq_f16(x, vdupq_n_f16(3)), zero), six),
                  vdupq_n_f16(static_cast<half>(1.0f / 6.0f)));
    if constexpr (std::is_same_v<Act, act::HardSigmoid>)
      return gate;
    else
      return vmulq_f16(x, gate);
  }
}

/// The same on one value (the reference of the kernel tests).
template <class Act>
inline half activate_scalar(half x) {
  const half zero = 0, six = 6;
  if constexpr (std::is_same_v<Act, act::Identity>) {
    return x;
  } else if constexpr (std::is_same_v<Act, act::ReLU>) {
    return vmaxh_f16(x, zero);
  } else if constexpr (std::is_same_v<Act, act::ReLU6>) {
    return vminh_f16(vmaxh_f16(x, zero), six);
  } else {
    const half gate = vmulh_f16(vminh_f16(vmaxh_f16(vaddh_f16(x, half(3)), zero), six),
                                static_cast<half>(1.0f / 6.0f));
    if constexpr (std::is_same_v<Act, act::HardSigmoid>)
      return gate;
    else
      return vmulh_f16(x, gate);
  }
}

}  // namespace fp16
}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
