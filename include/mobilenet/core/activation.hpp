#pragma once
// Activations as types, each with a scalar and a packet form, so kernels templated on them inline
// the activation into their epilogue. Definitions follow PyTorch's:
//   relu6(x)        = min(max(x, 0), 6)
//   hardsigmoid(x)  = relu6(x + 3) / 6
//   hardswish(x)    = x * relu6(x + 3) / 6
// (torch.nn.functional docs; the MobileNetV3 paper, section 5.2). We multiply by 1/6 where
// PyTorch divides by 6, so results may differ in the last bit.

#include <algorithm>

#include "mobilenet/core/activation_kind.hpp"
#include "mobilenet/core/error.hpp"
#include "mobilenet/kernels/packet.hpp"

namespace mobilenet {

inline namespace MOBILENET_ISA {
namespace act {

struct Identity {
  static float apply(float x) { return x; }
  static simd::Packet apply(const simd::Packet& x) { return x; }
};

struct ReLU {
  static float apply(float x) { return std::max(x, 0.0f); }
  static simd::Packet apply(const simd::Packet& x) { return simd::max(x, simd::zero()); }
};

struct ReLU6 {
  static float apply(float x) { return std::min(std::max(x, 0.0f), 6.0f); }
  static simd::Packet apply(const simd::Packet& x) {
    return simd::min(simd::max(x, simd::zero()), simd::broadcast(6.0f));
  }
};

struct HardSigmoid {
  static float apply(float x) { return ReLU6::apply(x + 3.0f) * (1.0f / 6.0f); }
  static simd::Packet apply(const simd::Packet& x) {
    return simd::mul(ReLU6::apply(simd::add(x, simd::broadcast(3.0f))),
                     simd::broadcast(1.0f / 6.0f));
  }
};

struct HardSwish {
  static float apply(float x) { return x * HardSigmoid::apply(x); }
  static simd::Packet apply(const simd::Packet& x) { return simd::mul(x, HardSigmoid::apply(x)); }
};

}  // namespace act

/// Calls `f(act::X{})` with the activation type named by `a`, turning a run-time choice from a
/// config table into a compile-time kernel parameter.
template <class F>
decltype(auto) dispatch_activation(Activation a, F&& f) {
  switch (a) {
    case Activation::Identity: return f(act::Identity{});
    case Activation::ReLU: return f(act::ReLU{});
    case Activation::ReLU6: return f(act::ReLU6{});
    case Activation::HardSwish: return f(act::HardSwish{});
    case Activation::HardSigmoid: return f(act::HardSigmoid{});
  }
  throw Error("unknown activation");
}

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
