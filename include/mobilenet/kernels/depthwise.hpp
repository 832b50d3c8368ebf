#pragma once
// Depthwise KxK convolution, NHWC, vectorised across channels:
//   out[n, oy, ox, c] = act(bias[c] + sum_{ky,kx} in[n, oy*S-top+ky, ox*S-left+kx, c] * w[ky,kx,c])
// Taps that fall in the padding are skipped (zero padding). Kernel size, stride and activation
// are template parameters so the tap loops unroll; channels and resolution are run-time.

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <type_traits>

#include "mobilenet/core/aligned_buffer.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/kernels/cache_geometry.hpp"
#include "mobilenet/kernels/packet.hpp"
#include "mobilenet/kernels/padding.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {
namespace kernels {

/// Depthwise weights as [K*K][channels rounded up to the packet width], bias likewise.
struct PackedDepthwise {
  int kernel = 0;
  int64_t channels = 0, stride = 0;  // stride: floats between two taps (>= channels)
  AlignedBuffer weights;
  AlignedBuffer bias;
};

/// Packs PyTorch's depthwise weight [C][1][K][K] and bias [C].
inline PackedDepthwise pack_depthwise(const float* w, const float* bias, int64_t channels,
                                      int kernel) {
  const int64_t stride = (channels + simd::kWidth - 1) / simd::kWidth * simd::kWidth;
  PackedDepthwise p{kernel, channels, stride,
                    AlignedBuffer(static_cast<std::size_t>(kernel * kernel * stride)),
                    AlignedBuffer(static_cast<std::size_t>(stride))};
  for (int64_t c = 0; c < channels; ++c) {
    for (int t = 0; t < kernel * kernel; ++t)
      p.weights.data()[t * stride + c] = w[c * kernel * kernel + t];
    p.bias.data()[c] = bias ? bias[c] : 0.0f;
  }
  return p;
}

/// The input rows one output row reads: row[ky] is input row oy*S - top + ky (column 0,
/// channel 0) for the tap rows [ky0, ky1) inside the image; the others are never read. Rows are
/// pointers, not offsets into one tensor, so a fused block can feed rows from a ring buffer.
template <int K>
struct TapRows {
  const float* row[K] = {};
  int ky0 = 0, ky1 = 0;
};

/// The columns of an output row: width, input width, left padding, and the interior columns
/// [ox_lo, ox_hi) whose taps all fall inside the image.
struct RowColumns {
  int64_t out_width, in_width;
  int left;
  int64_t ox_lo, ox_hi;
};

/// Interior columns of a K x K, stride-S depthwise conv: ox*S - left >= 0 and
/// ox*S - left + K - 1 <= in_width - 1.
template <int K, int S>
inline RowColumns row_columns(int64_t in_width, int64_t out_width, int left) {
  const int64_t lo = std::min<int64_t>(out_width, (left + S - 1) / S);
  const int64_t hi = std::max<int64_t>(
      lo,
      std::min<int64_t>(out_width, in_width - K + left >= 0 ? (in_width - K + left) / S + 1 : 0));
  return {out_width, in_width, left, lo, hi};
}

/// A row of zeros that stands in for the tap rows above and below the image, so that border rows
/// run the same unrolled code as the interior (adding 0 * w changes no sum). Null when a row of
/// `floats` does not fit; those rows then skip their missing taps instead.
inline const float* zero_row(int64_t floats) {
  constexpr int64_t kZeroFloats = 32768;  // 128 KiB of .bss: rows up to e.g. 256 x 128 channels
  alignas(64) static const float zeros[kZeroFloats] = {};
  return floats <= kZeroFloats ? zeros : nullptr;
}

/// The rows of output row `oy` of an image of `height` rows, `row(iy)` giving input row iy.
/// Tap rows outside the image point at `zeros` (a zero_row of the input row's size) if given.
template <int K, int S, class RowFn>
inline TapRows<K> tap_rows(int64_t oy, int top, int64_t height, RowFn&& row,
                           const float* zeros = nullptr) {
  TapRows<K> t;
  const int64_t iy0 = oy * S - top;
  t.ky0 = static_cast<int>(std::max<int64_t>(0, -iy0));
  t.ky1 = static_cast<int>(std::min<int64_t>(K, height - iy0));
  for (int ky = t.ky0; ky < t.ky1; ++ky) t.row[ky] = row(iy0 + ky);
  if (zeros && t.ky0 < t.ky1) {
    for (int ky = 0; ky < t.ky0; ++ky) t.row[ky] = zeros;
    for (int ky = t.ky1; ky < K; ++ky) t.row[ky] = zeros;
    t.ky0 = 0;
    t.ky1 = K;
  }
  return t;
}

/// Channels [begin, end) of a C-channel tensor: begin a multiple of the packet width, end too or
/// C. Threads that split a layer by channels each take one.
struct ChannelRange {
  int64_t begin, end;
};

/// f(c) for every channel packet of `range`: full packets from range.begin, then, if range.end is
/// C and C is not a multiple of the packet width, the packet ending at C (it overlaps the one
/// before and recomputes its channels with the same operations, hence the same values).
template <class F>
inline void for_each_packet(int64_t C, ChannelRange range, F&& f) {
  constexpr int W = simd::kWidth;
  for (int64_t c = range.begin; c + W <= range.end; c += W) f(c);
  if (range.end == C && C % W) f(C - W);
}

/// Output rows per depthwise_rows call: their tap rows fit on the stack, and the weights are
/// loaded once per channel packet for all of them.
inline constexpr int64_t kRowsPerCall = 16;

namespace depthwise_detail {

/// Output columns computed together in the interior: independent accumulators, and at stride 1
/// each input load serves up to K of them. 8 measured slower for 3x3 kernels on both AVX-512
/// (Zen 5, V2's depthwise layers) and AArch64 (V2 executes 0.7% more instructions,
/// bench/arm_insnmix.sh).
inline constexpr int kPixels = 4;

/// Interior output columns per block: packet_rows runs all its rows over one block of columns,
/// then the next, so that the input lines a block reads stay in L1 from one output row to the
/// next (K tap rows of 16 * S + K - S lines). Over whole rows, 56x56x128 (pixels 512 bytes apart,
/// so a row's lines of one packet fall in 8 of the L1's 64 sets) evicted its rows before the next
/// output row: 103 -> 140 GFLOP/s with blocks of 16 (32: 135), 112x112x64/2 72 -> 87, most other
/// shapes 0-10% faster, 112x112x16 and 56x56x144 5-6% slower (mobilenet_bench, hot caches).
inline constexpr int64_t kBlockColumns = 16;

/// One output column of one channel packet with its taps limited to the image (any border).
template <int K, int S, class Act>
inline void column(const TapRows<K>& taps, int64_t px, const simd::Packet (&wk)[K * K],
                   simd::Packet bias, RowColumns cols, int64_t ox, float* out) {
  const int64_t ix0 = ox * S - cols.left;
  const int kx0 = static_cast<int>(std::max<int64_t>(0, -ix0));
  const int kx1 = static_cast<int>(std::min<int64_t>(K, cols.in_width - ix0));
  simd::Packet acc = bias;
  for (int ky = taps.ky0; ky < taps.ky1; ++ky)
    for (int kx = kx0; kx < kx1; ++kx)
      acc = simd::fmadd(simd::load(taps.row[ky] + (ix0 + kx) * px), wk[ky * K + kx], acc);
  simd::store(out + ox * px, Act::apply(acc));
}

/// Whether all K tap rows of a row can be read (inside the image, or a zero row).
template <int K>
inline bool all_tap_rows(const TapRows<K>& t) {
  return t.ky0 == 0 && t.ky1 == K;
}

/// One border column of `rows` rows whose tap columns are [KX0, KX1), reading input column ix0 at
/// `offset` floats into each tap row and writing to out + i * out_row: constant loop bounds, so the
/// weights stay in registers (same sums in the same order as `column`). Rows without all tap rows
/// are skipped.
template <int K, int KX0, int KX1, class Act>
[[gnu::always_inline]] inline void edge_columns(const TapRows<K>* taps, int64_t rows,
                                                int64_t offset, int64_t px,
                                                const simd::Packet (&wk)[K * K], simd::Packet bias,
                                                float* out, int64_t out_row) {
  for (int64_t i = 0; i < rows; ++i, out += out_row) {
    const TapRows<K>& t = taps[i];
    if (!all_tap_rows(t)) continue;
    simd::Packet acc = bias;
    for (int ky = 0; ky < K; ++ky)
      for (int kx = KX0; kx < KX1; ++kx)
        acc = simd::fmadd(simd::load(t.row[ky] + offset + kx * px), wk[ky * K + kx], acc);
    simd::store(out, Act::apply(acc));
  }
}

/// Border column `ox` of one channel packet for `rows` rows (those with all tap rows): through
/// edge_columns when its tap columns reach one side of the kernel (every border column but
/// those of images narrower than the kernel), else through `column`.
template <int K, int S, class Act>
[[gnu::always_inline]] inline void border_columns(const TapRows<K>* taps, int64_t rows,
                                                  RowColumns cols, int64_t px,
                                                  const simd::Packet (&wk)[K * K],
                                                  simd::Packet bias, int64_t ox, float* out,
                                                  int64_t out_row) {
  const int64_t ix0 = ox * S - cols.left, offset = ix0 * px;
  const int kx0 = static_cast<int>(std::max<int64_t>(0, -ix0));
  const int kx1 = static_cast<int>(std::min<int64_t>(K, cols.in_width - ix0));
  float* o = out + ox * px;
  static_assert(K == 3 || K == 5, "border cases below cover 3x3 and 5x5 kernels");
  const auto left = [&](auto kx) {  // tap columns [kx, K)
    edge_columns<K, decltype(kx)::value, K, Act>(taps, rows, offset, px, wk, bias, o, out_row);
  };
  const auto right = [&](auto kx) {  // tap columns [0, kx)
    edge_columns<K, 0, decltype(kx)::value, Act>(taps, rows, offset, px, wk, bias, o, out_row);
  };
  using One = std::integral_constant<int, 1>;
  using Two = std::integral_constant<int, 2>;
  using Three = std::integral_constant<int, 3>;
  using Four = std::integral_constant<int, 4>;
  if (kx1 == K && kx0 == 1) return left(One{});
  if (kx1 == K && kx0 == 2) return left(Two{});
  if (kx0 == 0 && kx1 == K - 1) return right(std::integral_constant<int, K - 1>{});
  if (kx0 == 0 && kx1 == K - 2) return right(std::integral_constant<int, K - 2>{});
  if constexpr (K == 5) {
    if (kx1 == K && kx0 == 3) return left(Three{});
    if (kx1 == K && kx0 == 4) return left(Four{});
    if (kx0 == 0 && kx1 == 2) return right(Two{});
    if (kx0 == 0 && kx1 == 1) return right(One{});
  }
  for (int64_t i = 0; i < rows; ++i)
    if (all_tap_rows(taps[i]))
      column<K, S, Act>(taps[i], px, wk, bias, cols, ox, out + i * out_row);
}

/// P interior output columns of one channel packet whose K tap rows are all inside the image,
/// rows[ky] pointing at tap row ky's first input column: every loop has constant bounds and
/// unrolls, so the weights stay in registers and identical input addresses are loaded once.
template <int K, int S, int P, class Act>
inline void interior_columns(const float* const (&rows)[K], int64_t px,
                             const simd::Packet (&wk)[K * K], simd::Packet bias, float* out) {
  simd::Packet acc[P];
  for (int p = 0; p < P; ++p) acc[p] = bias;
  for (int ky = 0; ky < K; ++ky) {
    const float* row = rows[ky];
    for (int kx = 0; kx < K; ++kx)
      for (int p = 0; p < P; ++p)
        acc[p] = simd::fmadd(simd::load(row + (p * S + kx) * px), wk[ky * K + kx], acc[p]);
  }
  for (int p = 0; p < P; ++p) simd::store(out + p * px, Act::apply(acc[p]));
}

/// The interior columns of one output row of one channel packet, `taps` pointing at the packet's
/// channels and all K of them inside the image (or a zero row).
template <int K, int S, class Act>
inline void interior_row(const TapRows<K>& taps, RowColumns cols, int64_t px,
                         const simd::Packet (&wk)[K * K], simd::Packet bias, float* out) {
  constexpr int P = kPixels;
  // The tap row pointers move along the row, P * S input columns a step. Recomputed from the
  // column for every group, they did not fit in the general registers with the column offsets
  // and were reloaded from the stack each group: stride-1 layers 10-30% slower with hot caches
  // (mobilenet_bench, e.g. 56x56x72 93 -> 115 GFLOP/s, 14x14x480 136 -> 160).
  const float* rows[K];
  for (int ky = 0; ky < K; ++ky) rows[ky] = taps.row[ky] + (cols.ox_lo * S - cols.left) * px;
  int64_t ox = cols.ox_lo;
  out += ox * px;
  const auto step = [&](int n) {
    for (int ky = 0; ky < K; ++ky) rows[ky] += n * S * px;
    out += n * px;
    ox += n;
  };
  for (; ox + P <= cols.ox_hi; step(P)) interior_columns<K, S, P, Act>(rows, px, wk, bias, out);
  if (ox + 2 <= cols.ox_hi) {
    interior_columns<K, S, 2, Act>(rows, px, wk, bias, out);
    step(2);
  }
  if (ox < cols.ox_hi) interior_columns<K, S, 1, Act>(rows, px, wk, bias, out);
}

/// `rows` output rows (taps[i] -> out + i * out_row) of the channel packet at `c`, `taps` and
/// `out` already pointing at the packet's channels (moved on by the caller, which measured up to
/// 1.35x faster on 5x5 kernels than moving them here): its K*K weight packets are loaded once
/// and stay in registers for all the rows. The border columns run one column at a time for all
/// the rows, as their tap columns are the same in every row; then the interior of every row, a
/// block of kBlockColumns columns at a time. Rows with missing tap rows (no zero row) check every
/// tap. Not inlined: a function of its own keeps the weights in registers, where inlined into the
/// caller's loops they were reloaded from the stack for every tap.
template <int K, int S, class Act>
[[gnu::noinline]] void packet_rows(const TapRows<K>* taps, int64_t rows, RowColumns cols,
                                   int64_t px, const PackedDepthwise& w, int64_t c, float* out,
                                   int64_t out_row) {
  simd::Packet wk[K * K];
  for (int t = 0; t < K * K; ++t) wk[t] = simd::load(w.weights.data() + t * w.stride + c);
  const simd::Packet bias = simd::load(w.bias.data() + c);
  for (int64_t ox = 0; ox < cols.ox_lo; ++ox)
    border_columns<K, S, Act>(taps, rows, cols, px, wk, bias, ox, out, out_row);
  for (int64_t ox = cols.ox_hi; ox < cols.out_width; ++ox)
    border_columns<K, S, Act>(taps, rows, cols, px, wk, bias, ox, out, out_row);
  for (int64_t b0 = cols.ox_lo; b0 < cols.ox_hi; b0 += kBlockColumns) {
    RowColumns block = cols;
    block.ox_lo = b0;
    block.ox_hi = std::min(cols.ox_hi, b0 + kBlockColumns);
    for (int64_t i = 0; i < rows; ++i)
      if (all_tap_rows(taps[i]))
        interior_row<K, S, Act>(taps[i], block, px, wk, bias, out + i * out_row);
  }
  for (int64_t i = 0; i < rows; ++i)
    if (!all_tap_rows(taps[i]))
      for (int64_t ox = 0; ox < cols.out_width; ++ox)
        column<K, S, Act>(taps[i], px, wk, bias, cols, ox, out + i * out_row);
}

/// Whether rows run pixel-major (row_pixels) instead of channel-major (packet_rows), which keeps
/// a packet's K*K weights in registers for whole rows and is the faster order, 1.3-4x on Zen 5
/// (`mobilenet_bench --benchmark_filter=Depthwise`; the 7x7 5x5 layers 4x), except when one
/// packet's input columns are a multiple of 1 KiB apart (S * in_stride floats, in_stride the
/// input's pixel stride): its loads then map to at most 4 of the 64 sets of an x86 L1 (64-byte
/// lines, 32-48 KiB, 8-12 ways) and evict each other. Contiguous, V1's are such layers: pixel-major
/// ran its stride-2 ones (C = 128, 256) 1.2-1.35x as fast with hot caches, and the whole of V1
/// 2-7% faster with its stride-1 ones (C = 256, 512) pixel-major too (alternated runs), though
/// those were faster channel-major in isolation. A model pads them instead (padded_pixel_stride).
/// On ARM, where we can count instructions but not time them, rows stay channel-major: V3-Large
/// executes 7% fewer instructions than pixel-major (bench/arm_insnmix.sh).
inline bool pixel_major(int64_t in_stride, int S) {
#if defined(EIGEN_VECTORIZE_NEON)
  (void)in_stride, (void)S;
  return false;
#else
  constexpr int64_t kLine = cache::kLineFloats, kSets = cache::kL1Sets;
  if (in_stride % kLine) return false;  // the packets straddle lines, whose sets then differ
  const int64_t sets = kSets / std::gcd(S * in_stride / kLine, kSets);
  return sets <= 4;
#endif
}

/// One output row with the channels innermost: per group of kPixels output columns, every
/// channel packet in turn, its K*K weight packets loaded from L1 each time.
template <int K, int S, class Act>
[[gnu::noinline]] void row_pixels(const TapRows<K>& taps, RowColumns cols, int64_t C, int64_t px,
                                  const PackedDepthwise& w, float* out, ChannelRange range) {
  constexpr int P = kPixels;
  const auto each_packet = [&](auto&& f) { for_each_packet(C, range, f); };
  // f(taps, weights, bias) of channel packet c.
  const auto with_packet = [&](int64_t c, auto&& f) {
    TapRows<K> shifted = taps;
    for (int ky = taps.ky0; ky < taps.ky1; ++ky) shifted.row[ky] += c;
    simd::Packet wk[K * K];
    for (int t = 0; t < K * K; ++t) wk[t] = simd::load(w.weights.data() + t * w.stride + c);
    f(shifted, wk, simd::load(w.bias.data() + c));
  };
  const auto border = [&](int64_t ox) {
    each_packet([&](int64_t c) {
      simd::Packet wk[K * K];
      for (int t = 0; t < K * K; ++t) wk[t] = simd::load(w.weights.data() + t * w.stride + c);
      const simd::Packet b = simd::load(w.bias.data() + c);
      TapRows<K> t = taps;
      for (int ky = t.ky0; ky < t.ky1; ++ky) t.row[ky] += c;
      if (all_tap_rows(t))
        border_columns<K, S, Act>(&t, 1, cols, px, wk, b, ox, out + c, 0);
      else
        column<K, S, Act>(t, px, wk, b, cols, ox, out + c);
    });
  };
  const auto interior = [&](int64_t ox, auto pixels) {
    constexpr int N = decltype(pixels)::value;
    each_packet([&](int64_t c) {
      with_packet(c, [&](const TapRows<K>& t, const simd::Packet(&wk)[K * K], simd::Packet b) {
        const float* rows[K];
        for (int ky = 0; ky < K; ++ky) rows[ky] = t.row[ky] + (ox * S - cols.left) * px;
        interior_columns<K, S, N, Act>(rows, px, wk, b, out + ox * px + c);
      });
    });
  };
  if (!all_tap_rows(taps)) {  // missing tap rows and no zero row: all columns check
    for (int64_t ox = 0; ox < cols.out_width; ++ox) border(ox);
    return;
  }
  int64_t ox = 0;
  for (; ox < cols.ox_lo; ++ox) border(ox);
  for (; ox + P <= cols.ox_hi; ox += P) interior(ox, std::integral_constant<int, P>{});
  for (; ox < cols.ox_hi; ++ox) interior(ox, std::integral_constant<int, 1>{});
  for (; ox < cols.out_width; ++ox) border(ox);
}

}  // namespace depthwise_detail

/// The pixel stride a model gives a tensor of C channels that depthwise layers read or write:
/// C + 16 (one cache line of padding) when pixels C floats apart would put one channel packet's
/// columns in at most 8 of the 64 sets of an x86 L1 (C a multiple of 128: V1's 56x56x128 to
/// 7x7x1024 layers), so that a packet's columns spread over the sets and it runs channel-major
/// like other layers; else C. Padded, V1's depthwise layers ran 1.2-2.2x as fast (14x14x512
/// 25.5 -> 14.0 us, 28x28x256 43 -> 26.5, 56x56x128 80 -> 48-57, 7x7x1024 21 -> 9.5; medians,
/// hot caches, input and output padded); its pointwise layers, which read whole pixels, ran
/// -1.7..+0.7% padded. Not on ARM, whose depthwise layers are always channel-major and where we
/// cannot time (their L1 sets differ too).
inline int64_t padded_pixel_stride(int64_t C) {
#if defined(EIGEN_VECTORIZE_NEON)
  return C;
#else
  constexpr int64_t kLine = cache::kLineFloats, kSets = cache::kL1Sets;
  if (C % kLine || kSets / std::gcd(C / kLine, kSets) > 8) return C;
  return C + kLine;
#endif
}

/// Output rows taps[0..rows) into `out` (row i at out + i * out_width * px), all C channels,
/// pixels px floats apart in the input rows and in the output (C, or more when padded: one
/// stride for both, as a second one cost the interior loop a register, spilled). Per
/// channel packet, the K*K weight packets stay in registers for all the rows while the loop
/// runs along each row, kPixels output columns at a time. Columns whose taps all fall inside the
/// image (the interior) run fully unrolled code without bounds checks; the border columns run
/// code unrolled for their tap range. Rows above and below the image read a zero row (tap_rows),
/// so they run the same code. When C is not a multiple of the packet width, the last packet is
/// the one ending at channel C: it overlaps the previous one and recomputes those channels with
/// the same operations, hence the same values.
template <int K, int S, class Act>
void depthwise_rows(const TapRows<K>* taps, int64_t rows, RowColumns cols, int64_t C, int64_t px,
                    const PackedDepthwise& w, float* out, ChannelRange range) {
  const int64_t out_row = cols.out_width * px;
  // Both packet loops walk whole packets, the last one ending at channel C: below one packet of
  // channels it would start before the pixel, so those layers take the scalar loop at the end,
  // whatever their pixel stride.
  if (C >= simd::kWidth && depthwise_detail::pixel_major(px, S)) {
    for (int64_t i = 0; i < rows; ++i)
      depthwise_detail::row_pixels<K, S, Act>(taps[i], cols, C, px, w, out + i * out_row, range);
    return;
  }
  if (C >= simd::kWidth) {
    for_each_packet(C, range, [&](int64_t c) {
      TapRows<K> packet_taps[kRowsPerCall];
      for (int64_t i = 0; i < rows; ++i) {
        packet_taps[i] = taps[i];
        for (int ky = taps[i].ky0; ky < taps[i].ky1; ++ky) packet_taps[i].row[ky] += c;
      }
      depthwise_detail::packet_rows<K, S, Act>(packet_taps, rows, cols, px, w, c, out + c, out_row);
    });
    return;
  }
  for (int64_t i = 0; i < rows; ++i)  // fewer channels than one packet
    for (int64_t c = range.begin; c < range.end; ++c)
      for (int64_t ox = 0; ox < cols.out_width; ++ox) {
        const TapRows<K>& t = taps[i];
        const int64_t ix0 = ox * S - cols.left;
        const int kx0 = static_cast<int>(std::max<int64_t>(0, -ix0));
        const int kx1 = static_cast<int>(std::min<int64_t>(K, cols.in_width - ix0));
        float acc = w.bias.data()[c];
        for (int ky = t.ky0; ky < t.ky1; ++ky)
          for (int kx = kx0; kx < kx1; ++kx)
            acc += t.row[ky][(ix0 + kx) * px + c] * w.weights.data()[(ky * K + kx) * w.stride + c];
        out[i * out_row + ox * px + c] = Act::apply(acc);
      }
}

/// Output rows [oy_begin, oy_end) of one image of `in_height` x `in_width` x C into `out`
/// (row oy_begin first), reading input row iy at `input_row(iy)`; pixels px floats apart.
template <int K, int S, class Act, class RowFn>
void depthwise_image_rows(int64_t oy_begin, int64_t oy_end, int64_t in_height, RowColumns cols,
                          int top, int64_t C, int64_t px, const PackedDepthwise& w,
                          RowFn&& input_row, float* out, ChannelRange range) {
  const float* zeros = zero_row(cols.in_width * px);
  TapRows<K> taps[kRowsPerCall];
  for (int64_t oy = oy_begin; oy < oy_end; oy += kRowsPerCall) {
    const int64_t rows = std::min(kRowsPerCall, oy_end - oy);
    for (int64_t i = 0; i < rows; ++i)
      taps[i] = tap_rows<K, S>(oy + i, top, in_height, input_row, zeros);
    depthwise_rows<K, S, Act>(taps, rows, cols, C, px, w,
                              out + (oy - oy_begin) * cols.out_width * px, range);
  }
}

/// Computes output rows [row_begin, row_end) of `out` from the tensor `in`, counting rows over
/// batch x height, for the channels of `range`. Both have the same pixel stride (padded or not).
template <int K, int S, class Act>
void depthwise(ConstTensorView in, const PackedDepthwise& w, const Padding& pad, TensorView out,
               int64_t row_begin, int64_t row_end, ChannelRange range) {
  const int64_t H = in.shape.h, Wd = in.shape.w, C = in.shape.c, OH = out.shape.h;
  const int64_t px = in.pixel_stride();
  const RowColumns cols = row_columns<K, S>(Wd, out.shape.w, pad.left);
  for (int64_t row = row_begin; row < row_end;) {
    const int64_t n = row / OH, oy = row % OH, oy_end = std::min(OH, oy + (row_end - row));
    const float* image = in.data + n * H * Wd * px;
    depthwise_image_rows<K, S, Act>(
        oy, oy_end, H, cols, pad.top, C, px, w, [&](int64_t iy) { return image + iy * Wd * px; },
        out.data + row * out.shape.w * px, range);
    row += oy_end - oy;
  }
}

}  // namespace kernels
}  // namespace MOBILENET_ISA
}  // namespace mobilenet
