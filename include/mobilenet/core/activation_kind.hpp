#pragma once
// The run-time name of an activation, as config tables store it; ISA-independent (the packet
// forms that kernels inline are in core/activation.hpp).

namespace mobilenet {

/// Run-time name of an activation, as config tables store it.
enum class Activation { Identity, ReLU, ReLU6, HardSwish, HardSigmoid };

/// The activation's lower-case name ("relu6", "hardswish", ...), as summaries print it.
inline const char* to_string(Activation a) {
  switch (a) {
    case Activation::Identity:
      return "identity";
    case Activation::ReLU:
      return "relu";
    case Activation::ReLU6:
      return "relu6";
    case Activation::HardSwish:
      return "hardswish";
    case Activation::HardSigmoid:
      return "hardsigmoid";
  }
  return "?";
}

}  // namespace mobilenet
