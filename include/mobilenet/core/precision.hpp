#pragma once
// The arithmetic a model's layers run in (ISA-independent).

#include <string>

#include "mobilenet/core/error.hpp"

namespace mobilenet {

/// fp32: float32 everywhere (the reference). int8: weights and activations int8 with int32
/// accumulation, input and logits float (quant/quantize.hpp).
enum class Precision { fp32, int8 };

inline const char* to_string(Precision p) {
  return p == Precision::int8 ? "int8" : "fp32";
}

/// "fp32" or "int8".
/// @throws Error naming the accepted values otherwise.
inline Precision parse_precision(const std::string& s) {
  if (s == "fp32") return Precision::fp32;
  if (s == "int8") return Precision::int8;
  throw Error("unknown precision '" + s + "' (expected fp32 or int8)");
}

}  // namespace mobilenet
