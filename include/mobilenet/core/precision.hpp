#pragma once
// The arithmetic a model's layers run in (ISA-independent).

#include <string>

#include "mobilenet/core/error.hpp"

namespace mobilenet {

/// fp32: float32 everywhere (the reference). fp16: weights and activations in IEEE half
/// precision with fp16 arithmetic, where the CPU has it (AArch64 ARMv8.2 FP16; models/
/// fp16_network.hpp). int8: weights and activations int8 with int32 accumulation
/// (quant/quantize.hpp). Input and logits are float32 in every case.
enum class Precision { fp32, fp16, int8 };

inline const char* to_string(Precision p) {
  switch (p) {
    case Precision::fp16:
      return "fp16";
    case Precision::int8:
      return "int8";
    case Precision::fp32:
      break;
  }
  return "fp32";
}

/// "fp32", "fp16" or "int8".
/// @throws Error naming the accepted values otherwise.
inline Precision parse_precision(const std::string& s) {
  if (s == "fp32") return Precision::fp32;
  if (s == "fp16") return Precision::fp16;
  if (s == "int8") return Precision::int8;
  throw Error("unknown precision '" + s + "' (expected fp32, fp16 or int8)");
}

/// The Error a request for fp16 gets where the instruction-set path `path` (isa_name()) has no
/// fp16 arithmetic.
inline Error fp16_unavailable(const std::string& path) {
  return Error("precision fp16 needs fp16 vector arithmetic (AArch64 ARMv8.2 FP16, Linux HWCAP "
               "asimdhp: Cortex-A55, A75 and later) and the neon_v82 path; this model would run "
               "on the " +
               path +
               " path. Use fp32, or on such a CPU the dispatching library's best path or a build "
               "for -march=armv8.2-a+fp16+dotprod");
}

}  // namespace mobilenet
