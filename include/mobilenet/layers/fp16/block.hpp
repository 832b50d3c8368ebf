#pragma once
// The fp16 block: [1x1 expand] -> kxk depthwise -> [squeeze-excite] -> 1x1 project [+ input],
// layer by layer over fp16 tensors. MobileNetV1's depthwise-separable block is the case without
// expansion, SE or residual (its projection carries the activation). It has the members of the
// block concept (layers/block.hpp) over fp16 views. Also the global average pool that hands the
// classifier float features.

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mobilenet/kernels/arm/convert_fp16_neonfp16arith.hpp"
#include "mobilenet/layers/block_scratch.hpp"
#include "mobilenet/layers/fp16/convs.hpp"
#include "mobilenet/layers/layer_info.hpp"
#include "mobilenet/layers/squeeze_excite.hpp"
#include "mobilenet/runtime/profiler.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {

using Fp16TensorView = BasicTensorView<half>;
using ConstFp16TensorView = BasicTensorView<const half>;

/// pooled[n][c] = the mean of image n's channel c, summed in float32 over the pixels in order:
/// an fp16 sum of 3136 values (56 x 56) would keep barely three significant digits.
inline void global_average_pool_fp16(const half* x, const Shape& s, float* pooled) {
  const int64_t pixels = s.h * s.w;
  const float scale = 1.0f / static_cast<float>(pixels);
  for (int64_t n = 0; n < s.n; ++n) {
    float* out = pooled + n * s.c;
    kernels::channel_sums(x + n * pixels * s.c, pixels, s.c, out);
    for (int64_t c = 0; c < s.c; ++c) out[c] *= scale;
  }
}

/// Squeeze-and-excitation on an fp16 tensor (Hu et al. 2018; MobileNetV3's form: ReLU, then a
/// hard-sigmoid gate): the channel means pooled in float, the two small FC layers in float (a
/// few thousand MACs per image), and each value scaled in place by its channel's gate rounded to
/// fp16.
class SqueezeExciteFp16 {
 public:
  SqueezeExciteFp16(int64_t channels, int64_t squeeze, const float* fc1_w, const float* fc1_b,
                    const float* fc2_w, const float* fc2_b)
      : gate_(channels, squeeze, fc1_w, fc1_b, fc2_w, fc2_b) {}

  int64_t channels() const { return gate_.channels(); }
  int64_t squeeze() const { return gate_.squeeze(); }

  LayerInfo info(const std::string& name, const Shape& in) const {
    return gate_.info(name, in, " (fc float)");
  }

  /// Reserves its buffers in `size` for batch `n`.
  void reserve(BlockScratchSize& size, int64_t n) const {
    size.reserve<float>(ScratchRegion::SePooled, n * channels());
    size.reserve<float>(ScratchRegion::SeHidden, n * squeeze());
    size.reserve<float>(ScratchRegion::SeGate, n * channels());
    size.reserve<half>(ScratchRegion::SeGateFp16, n * channels());
  }

  /// Scales the contiguous fp16 tensor x (shape `s`) in place.
  void forward(half* x, const Shape& s, const BlockScratch& scratch, ThreadPool& pool) const {
    const int64_t n = s.n, c = s.c, pixels = s.h * s.w;
    float* pooled = scratch.as<float>(ScratchRegion::SePooled);
    float* hidden = scratch.as<float>(ScratchRegion::SeHidden);
    float* gate = scratch.as<float>(ScratchRegion::SeGate);
    half* gate16 = scratch.as<half>(ScratchRegion::SeGateFp16);
    global_average_pool_fp16(x, s, pooled);
    gate_.forward(pooled, n, hidden, gate, pool);
    for (int64_t i = 0; i < n * c; ++i) gate16[i] = static_cast<half>(gate[i]);
    // The sizes in locals of the loop's own: GCC 12 treats a NEON store as one that may write
    // anywhere, so it reloads anything in memory after every vst1q, captures (in the closure,
    // whose address parallel_for takes) included.
    pool.parallel_for(n * pixels, 16, [&](int64_t p0, int64_t p1) {
      const int64_t channels = c, hw = pixels;
      half* const values = x;
      const half* const gates = gate16;
      for (int64_t p = p0; p < p1;) {
        const int64_t image = p / hw, end = std::min(p1, (image + 1) * hw);
        const half* g = gates + image * channels;
        for (; p < end; ++p) {
          half* v = values + p * channels;
          int64_t k = 0;
          for (; k + 16 <= channels; k += 16) {  // two registers per step: LDP, STP
            const float16x8_t a = vmulq_f16(vld1q_f16(v + k), vld1q_f16(g + k));
            const float16x8_t b = vmulq_f16(vld1q_f16(v + k + 8), vld1q_f16(g + k + 8));
            vst1q_f16(v + k, a);
            vst1q_f16(v + k + 8, b);
          }
          if (k + 8 <= channels) {
            vst1q_f16(v + k, vmulq_f16(vld1q_f16(v + k), vld1q_f16(g + k)));
            k += 8;
          }
          for (; k < channels; ++k) v[k] = vmulh_f16(v[k], g[k]);
        }
      }
    });
  }

 private:
  SqueezeExciteGate gate_;
};

class BlockFp16 {
 public:
  BlockFp16(std::optional<PointwiseConv2dFp16> expand, DepthwiseConv2dFp16 depthwise,
            std::optional<SqueezeExciteFp16> se, PointwiseConv2dFp16 project, bool residual)
      : expand_(std::move(expand)),
        depthwise_(std::move(depthwise)),
        se_(std::move(se)),
        project_(std::move(project)),
        residual_(residual) {}

  Shape output_shape(const Shape& in) const {
    return project_.output_shape(depthwise_.output_shape(expanded_shape(in)));
  }

  BlockScratchSize scratch_size(const Shape& in, int /*threads*/, bool /*fused*/) const {
    const Shape e = expanded_shape(in), d = depthwise_.output_shape(e);
    BlockScratchSize size;
    size.reserve<half>(ScratchRegion::Expanded, expand_ ? e.numel() : 0);
    size.reserve<half>(ScratchRegion::Depthwise, d.numel());
    size.reserve<half>(ScratchRegion::DepthwisePadded, depthwise_.scratch_values(e));
    if (se_) se_->reserve(size, in.n);
    return size;
  }

  void describe(const std::string& name, const Shape& in, std::vector<LayerInfo>& out) const {
    const Shape e = expanded_shape(in);
    describe_inverted_residual(name, in, e, depthwise_.output_shape(e), expand_, depthwise_, se_,
                               project_, residual_, out);
  }

  /// The contiguous fp16 tensor `in` to `out`, allocation-free, in `s`'s regions.
  void forward(ConstFp16TensorView in, Fp16TensorView out, const BlockScratch& s, ThreadPool& pool,
               Profiler& prof) const {
    const Shape e = expanded_shape(in.shape), d = depthwise_.output_shape(e);
    const half* x = in.data;
    if (expand_) {
      half* expanded = s.as<half>(ScratchRegion::Expanded);
      expand_->forward(x, in.shape, expanded, nullptr, pool);
      prof.lap();
      x = expanded;
    }
    half* dw = s.as<half>(ScratchRegion::Depthwise);
    depthwise_.forward(x, e, s.as<half>(ScratchRegion::DepthwisePadded), dw, pool);
    prof.lap();
    if (se_) {
      se_->forward(dw, d, s, pool);
      prof.lap();
    }
    project_.forward(dw, d, out.data, residual_ ? in.data : nullptr, pool);
    prof.lap();
  }

 private:
  Shape expanded_shape(const Shape& in) const { return expand_ ? expand_->output_shape(in) : in; }

  std::optional<PointwiseConv2dFp16> expand_;
  DepthwiseConv2dFp16 depthwise_;
  std::optional<SqueezeExciteFp16> se_;
  PointwiseConv2dFp16 project_;
  bool residual_;
};

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
