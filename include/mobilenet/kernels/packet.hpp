#pragma once
// A thin shim over the few Eigen packet-math functions the kernels use. Eigen's packet API is
// `Eigen::internal`; keeping our uses behind these names means one place to adapt if it moves,
// and one place the tests check against scalar code.

#include "mobilenet/core/eigen.hpp"
#include <cstdint>
#include <type_traits>

#include "mobilenet/core/isa.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace simd {

/// The widest float packet Eigen enables for the compiler flags of this translation unit.
using Packet = Eigen::internal::packet_traits<float>::type;
/// Floats per packet: 16 (AVX-512), 8 (AVX/AVX2), 4 (SSE, NEON), 1 (no vectorisation).
constexpr int kWidth = Eigen::internal::packet_traits<float>::size;

inline Packet load(const float* p) { return Eigen::internal::ploadu<Packet>(p); }
inline Packet load_aligned(const float* p) { return Eigen::internal::pload<Packet>(p); }
inline void store(float* p, const Packet& v) { Eigen::internal::pstoreu(p, v); }
inline Packet broadcast(float v) { return Eigen::internal::pset1<Packet>(v); }
inline Packet zero() { return Eigen::internal::pset1<Packet>(0.0f); }
/// a * b + c, fused where the ISA has FMA.
inline Packet fmadd(const Packet& a, const Packet& b, const Packet& c) {
  return Eigen::internal::pmadd(a, b, c);
}
inline Packet add(const Packet& a, const Packet& b) { return Eigen::internal::padd(a, b); }
inline Packet mul(const Packet& a, const Packet& b) { return Eigen::internal::pmul(a, b); }
inline Packet max(const Packet& a, const Packet& b) { return Eigen::internal::pmax(a, b); }
inline Packet min(const Packet& a, const Packet& b) { return Eigen::internal::pmin(a, b); }

/// The first `n` lanes (0 < n < kWidth) of `v` stored at `p`; nothing is written past p + n.
/// Masked stores where Eigen has them (AVX-512, AVX), else through a buffer.
inline void store_first(float* p, const Packet& v, int n) {
#if defined(EIGEN_VECTORIZE_AVX512) || defined(EIGEN_VECTORIZE_AVX)
  using Mask = std::conditional_t<kWidth == 16, std::uint16_t, std::uint8_t>;  // a bit per lane
  Eigen::internal::pstoreu(p, v, static_cast<Mask>((1u << n) - 1));
#else
  alignas(64) float lanes[kWidth];
  store(lanes, v);
  for (int k = 0; k < n; ++k) p[k] = lanes[k];
#endif
}
/// The first `n` lanes (0 < n < kWidth) loaded from `p`, the others zero; nothing is read past
/// p + n.
inline Packet load_first(const float* p, int n) {
#if defined(EIGEN_VECTORIZE_AVX512) || defined(EIGEN_VECTORIZE_AVX)
  using Mask = std::conditional_t<kWidth == 16, std::uint16_t, std::uint8_t>;  // a bit per lane
  return Eigen::internal::ploadu<Packet>(p, static_cast<Mask>((1u << n) - 1));
#else
  alignas(64) float lanes[kWidth] = {};
  for (int k = 0; k < n; ++k) lanes[k] = p[k];
  return load_aligned(lanes);
#endif
}

/// `v` unchanged, hidden from the optimiser: an add that follows an activation ending in a
/// multiply (hard-sigmoid, hard-swish) must not be contracted into an FMA in some inlined copies
/// of a kernel and not in others, or results would depend on which tile computed them (hence on
/// the thread count). Emits no instruction.
inline Packet opaque(Packet v) {
#if defined(EIGEN_VECTORIZE_SSE) && defined(__GNUC__)
  asm("" : "+v"(v));
#elif defined(EIGEN_VECTORIZE_NEON) && defined(__GNUC__)
  asm("" : "+w"(v));
#elif defined(__GNUC__)
  asm("" : "+g"(v));
#endif
  return v;
}

}  // namespace simd
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
