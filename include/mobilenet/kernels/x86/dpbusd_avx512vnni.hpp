#pragma once
// VPDPBUSD for the int8 kernels on AVX-512 VNNI (the pointwise tile, the depthwise quads).

#include <immintrin.h>

#include "mobilenet/core/isa.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// acc + VPDPBUSD(x unsigned, w signed), in inline assembly: VPDPBUSD has one form, which
/// overwrites its accumulator, and with the intrinsic GCC 12 put the result in another register
/// and copied it back (or to the stack) every step, which halved the pointwise tile's speed. The
/// asm ties the accumulator's input and output to one register, as the instruction does; `w` may
/// stay in memory.
[[gnu::always_inline]] inline __m512i dpbusd_avx512(__m512i acc, __m512i x, __m512i w) {
  asm("vpdpbusd {%2, %1, %0|%0, %1, %2}" : "+v"(acc) : "v"(x), "vm"(w));
  return acc;
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
