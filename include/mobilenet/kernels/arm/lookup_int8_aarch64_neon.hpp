#pragma once
// The int8 table lookup (../lookup_int8.hpp) on AArch64 NEON: 16 bytes at a time, TBL looks each
// byte up in the table's first 64 entries (four registers) and TBX in the next three quarters
// with the index lowered by 64 each time; TBX leaves a lane unchanged where its index is out of
// its quarter's range, so each byte ends with its own quarter's entry (XNNPACK's x8 LUT does the
// same). ARMv8.0: every AArch64 CPU runs it.

#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "mobilenet/core/isa.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

inline void lookup_int8_neon(const int8_t* table, int8_t* x, int64_t n) {
  const auto* t = reinterpret_cast<const uint8_t*>(table);
  const uint8x16x4_t q0 = vld1q_u8_x4(t), q1 = vld1q_u8_x4(t + 64), q2 = vld1q_u8_x4(t + 128),
                     q3 = vld1q_u8_x4(t + 192);
  const uint8x16_t quarter = vdupq_n_u8(64);
  const auto look_up = [&](uint8x16_t v) {
    uint8x16_t r = vqtbl4q_u8(q0, v);
    v = vsubq_u8(v, quarter);
    r = vqtbx4q_u8(r, q1, v);
    v = vsubq_u8(v, quarter);
    r = vqtbx4q_u8(r, q2, v);
    v = vsubq_u8(v, quarter);
    return vqtbx4q_u8(r, q3, v);
  };
  auto* bytes = reinterpret_cast<uint8_t*>(x);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) vst1q_u8(bytes + i, look_up(vld1q_u8(bytes + i)));
  if (i < n) {  // the last n - i < 16 bytes through a register-sized copy
    uint8_t last[16] = {};
    std::memcpy(last, bytes + i, static_cast<std::size_t>(n - i));
    vst1q_u8(last, look_up(vld1q_u8(last)));
    std::memcpy(bytes + i, last, static_cast<std::size_t>(n - i));
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
