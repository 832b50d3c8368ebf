#pragma once
// [1x1 expand ->] depthwise [-> 1x1 project] fused by bands of output rows, so the expanded
// tensor (the largest of a MobileNet, up to 6x the block's input) never leaves the cache.
//
// Each thread takes an equal contiguous share of the output rows, in bands. It expands the input
// rows its bands read into a ring buffer of its own (a band's rows overlap the next band's by K - S
// rows, which the ring keeps instead of recomputing), runs the depthwise conv on the band, and
// projects the band straight into the block's output. A block with squeeze-excite needs the whole
// depthwise output before it can project: it fuses expand -> depthwise only, and projects
// afterwards.
//
// Every output element is computed by the same operations as in the layer-by-layer path (the
// kernels' results do not depend on how rows are split), so fused and unfused results are
// bit-identical, whatever the band size and thread count.

#include <algorithm>
#include <cstdint>

#include "mobilenet/core/tensor.hpp"
#include "mobilenet/kernels/cache_geometry.hpp"
#include "mobilenet/layers/depthwise_conv2d.hpp"
#include "mobilenet/layers/pointwise_conv2d.hpp"
#include "mobilenet/runtime/thread_pool.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {

/// Band geometry of one block at one depthwise input shape.
struct BandPlan {
  int64_t band_rows = 0;  // depthwise output rows per band
  int64_t ring_rows = 0;  // input rows a band reads: (band_rows - 1) * stride + kernel
  // Per thread: expanded ring, depthwise band. The band holds pixels as far apart as the
  // depthwise input's, contiguous or padded (kernels::padded_pixel_stride), whichever is larger.
  int64_t ring_floats = 0, band_floats = 0;

  /// About 256 KiB of expanded rows per thread: in L2 on current x86 and ARM cores, with room
  /// for the band's depthwise output and the projection weights. With several threads, at least
  /// 4 bands per thread and image (from when threads took whole bands; with equal row shares,
  /// whole-ring bands at 2 threads measured within noise and were not adopted).
  static BandPlan make(const Shape& dw_in, const DepthwiseConv2d& dw, int threads) {
    constexpr int64_t kRingBytes = cache::kL2WorkingSetBytes;
    const int64_t K = dw.options().kernel, S = dw.options().stride;
    const Shape d = dw.output_shape(dw_in);
    const int64_t row_floats = dw_in.w * dw_in.c;
    BandPlan p;
    p.band_rows =
        std::max<int64_t>(1, (kRingBytes / 4 / std::max<int64_t>(row_floats, 1) - K) / S + 1);
    if (threads > 1) p.band_rows = std::min(p.band_rows, std::max<int64_t>(1, d.h / (4 * threads)));
    p.ring_rows = (p.band_rows - 1) * S + K;
    p.ring_floats = p.ring_rows * row_floats;
    p.band_floats = p.band_rows * d.w * kernels::padded_pixel_stride(d.c);
    return p;
  }

  /// Whether fusing pays: when one image's depthwise input exceeds about half an L2 (512 KiB).
  /// Smaller tensors stay in cache between layers anyway, and the layer-by-layer path splits
  /// their few rows more evenly between threads.
  static bool worth_fusing(const Shape& dw_in) {
    return dw_in.h * dw_in.w * dw_in.c * int64_t{sizeof(float)} > cache::kFuseAboveBytes;
  }
};

/// Runs `expand` (may be null) -> `dw` on `in`, then, if `project` is given, projects each band
/// into `out`, pixels `out_stride` floats apart (adding `residual`, laid out like `out`, if not
/// null); otherwise writes the whole depthwise output to `dw_out` (contiguous). `in` may be padded
/// (at most to kernels::padded_pixel_stride) when there is no `expand` and a `project`; the band
/// is then padded alike. `ring` and `band` hold plan.ring_floats / plan.band_floats per thread of
/// `pool` (`ring` is unused without `expand`, `band` without `project`).
inline void run_fused_bands(ConstTensorView in, const PointwiseConv2d* expand,
                            const DepthwiseConv2d& dw, const PointwiseConv2d* project,
                            const float* residual, float* out, int64_t out_stride, float* dw_out,
                            float* ring, float* band, ThreadPool& pool) {
  const Shape e = expand ? expand->output_shape(in.shape) : in.shape;
  const Shape d = dw.output_shape(e);
  const BandPlan plan = BandPlan::make(e, dw, pool.threads());
  const int64_t total_rows = d.n * d.h;  // output rows over the batch
  const int64_t slots = std::min<int64_t>(pool.threads(), total_rows);
  const int64_t S = dw.options().stride, K = dw.options().kernel, top = dw.padding_for(e).top;
  const int64_t in_px = in.pixel_stride(), in_row = in.shape.w * in_px, e_row = e.w * e.c;
  // The depthwise conv reads and writes pixels dw_px apart: the ring's (contiguous) or the input's.
  const int64_t dw_px = expand ? e.c : in_px;
  // One chunk per slot: chunk t owns ring t and band t, and an equal share of the output rows
  // (V2's 56x56 blocks ran 30 and 26 rows in whole bands of 6), in bands of at most
  // plan.band_rows within one image.
  pool.parallel_for(slots, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      float* my_ring = expand ? ring + t * plan.ring_floats : nullptr;  // null when unused
      float* my_band = project ? band + t * plan.band_floats : nullptr;
      int64_t image = -1, have_lo = 0, have_hi = 0;  // input rows [have_lo, have_hi) in the ring
      const int64_t row_end = (t + 1) * total_rows / slots;
      for (int64_t row = t * total_rows / slots; row < row_end;) {
        const int64_t n = row / d.h, oy0 = row % d.h;
        const int64_t oy1 = std::min({d.h, oy0 + plan.band_rows, oy0 + (row_end - row)});
        row += oy1 - oy0;
        const float* x = in.data + n * in.shape.h * in_row;
        if (expand) {
          const int64_t need_lo = std::clamp<int64_t>(oy0 * S - top, 0, e.h);
          const int64_t need_hi = std::clamp<int64_t>((oy1 - 1) * S - top + K, 0, e.h);
          if (n != image || need_lo < have_lo || need_lo > have_hi) have_lo = have_hi = need_lo;
          image = n;
          // New rows go to ring slot (row % ring_rows), in runs that do not wrap.
          for (int64_t r = have_hi; r < need_hi;) {
            const int64_t slot = r % plan.ring_rows;
            const int64_t count = std::min(need_hi - r, plan.ring_rows - slot);
            expand->run_rows(x + r * in_row, my_ring + slot * e_row, nullptr, count * e.w,
                             {in_px, e.c});
            r += count;
          }
          have_hi = need_hi;
          have_lo = std::max(have_lo, need_hi - plan.ring_rows);
        }
        const auto input_row = [&](int64_t iy) {
          return expand ? my_ring + (iy % plan.ring_rows) * e_row : x + iy * in_row;
        };
        const int64_t first = (n * d.h + oy0) * d.w;  // output pixel of the band's first row
        float* dst = project ? my_band : dw_out + first * d.c;
        dw.run_rows(oy0, oy1, e.h, e.w, input_row, dst, dw_px);
        if (project)
          project->run_rows(my_band, out + first * out_stride,
                            residual ? residual + first * out_stride : nullptr, (oy1 - oy0) * d.w,
                            {dw_px, out_stride});
      }
    }
  });
}

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
