#pragma once
// The int8 pointwise tile on AArch64 with the ARMv8.2 dot product (SDOT; layout and arithmetic:
// ../pointwise_int8.hpp). A 16-byte weight load holds four outputs' four weights of a group;
// a 16-byte input load holds four groups of a row, and SDOT's by-element form multiplies the
// weights by one of those groups, broadcast, adding four products into each int32 lane. Signed
// by signed bytes, so no activation offset. A tile is Rows rows by half a panel (16 outputs,
// four accumulator registers per row); the two halves run one after the other.
// The epilogue is requantize_int8_neon (arm/requantize_int8_aarch64_neon.hpp).

#include <arm_neon.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "mobilenet/core/isa.hpp"
#include "mobilenet/kernels/arm/requantize_int8_aarch64_neon.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

struct NeonDotInt8Tile {
  static constexpr const char* kName = "neondot";
  /// 4 rows x 4 accumulators, 4 weight and 4 input registers: 24 of the 32.
  static constexpr int kRows = 4;
  static constexpr int32_t kActivationOffset = 0;

  template <int Rows>
  static void run(const int8_t* in, int64_t in_stride, int64_t cin, const int8_t* panel,
                  const Requantize& e, int8_t* out, int64_t out_stride, int64_t valid) {
    using namespace pointwise_int8_detail;
    static_assert(kPanel == 32 && kGroup == 4, "two halves of 16 outputs per panel");
    half<Rows>(in, in_stride, cin, panel, e, out, out_stride, std::min<int64_t>(valid, 16), 0);
    if (valid > 16) half<Rows>(in, in_stride, cin, panel, e, out, out_stride, valid - 16, 16);
  }

 private:
  /// Outputs [first, first + 16) of the panel, of which `valid` are stored.
  template <int Rows>
  static void half(const int8_t* in, int64_t in_stride, int64_t cin, const int8_t* panel,
                   const Requantize& e, int8_t* out, int64_t out_stride, int64_t valid, int first) {
    using namespace pointwise_int8_detail;
    int32x4_t acc[Rows][4];
    for (int j = 0; j < 4; ++j) {
      const int32x4_t b = vld1q_s32(e.bias + first + 4 * j);
      for (int r = 0; r < Rows; ++r) acc[r][j] = b;
    }
    const int8_t* w = panel + first * kGroup;  // group g's 16 outputs at w + g * kPanel * kGroup
    // Four groups of `count` (1-4) from group g, input words in x.
    const auto groups4 = [&](int64_t g, const int8x16_t(&x)[Rows], int count) {
#pragma GCC unroll 4
      for (int l = 0; l < 4; ++l) {
        if (l >= count) break;
        int8x16_t wv[4];
        for (int j = 0; j < 4; ++j) wv[j] = vld1q_s8(w + ((g + l) * kPanel + 4 * j) * kGroup);
        for (int r = 0; r < Rows; ++r)
          for (int j = 0; j < 4; ++j) {
            switch (l) {  // the lane of SDOT's by-element form is an immediate
              case 0:
                acc[r][j] = vdotq_laneq_s32(acc[r][j], wv[j], x[r], 0);
                break;
              case 1:
                acc[r][j] = vdotq_laneq_s32(acc[r][j], wv[j], x[r], 1);
                break;
              case 2:
                acc[r][j] = vdotq_laneq_s32(acc[r][j], wv[j], x[r], 2);
                break;
              default:
                acc[r][j] = vdotq_laneq_s32(acc[r][j], wv[j], x[r], 3);
                break;
            }
          }
      }
    };
    const int64_t n_groups = groups(cin), whole = cin / 16;
    int64_t g = 0;
    for (int64_t s = 0; s < whole; ++s, g += 4) {
      int8x16_t x[Rows];
      for (int r = 0; r < Rows; ++r) x[r] = vld1q_s8(in + r * in_stride + g * kGroup);
      groups4(g, x, 4);
    }
    if (g < n_groups) {  // the last 1-15 input channels, zero-filled to 16 bytes
      int8x16_t x[Rows];
      for (int r = 0; r < Rows; ++r) {
        int8_t bytes[16] = {};
        std::memcpy(bytes, in + r * in_stride + g * kGroup,
                    static_cast<std::size_t>(cin - g * kGroup));
        x[r] = vld1q_s8(bytes);
      }
      groups4(g, x, static_cast<int>(n_groups - g));
    }

    const NeonOutputClamp clamp = neon_output_clamp(e.clamp);
    float32x4_t m[4];
    for (int j = 0; j < 4; ++j) m[j] = vld1q_f32(e.multiplier + first + 4 * j);
    for (int r = 0; r < Rows; ++r) {
      requantize_store_int8_neon(acc[r], m, clamp, out + r * out_stride + first, valid);
    }
  }
};

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
