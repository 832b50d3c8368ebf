// Per-kernel throughput on every distinct pointwise and depthwise layer shape of the four
// networks at 224x224, generated from the config tables (so the shapes are the real ones).
//   build/bench/mobilenet_bench --benchmark_filter='FmaPeak|Pointwise|Depthwise'
// (PointwiseInt8, DepthwiseInt8: the int8 kernels on the same shapes.)
// Each reports GFLOP/s and "%peak" (Google Benchmark prints it as a rate, "97.5/s"): the share of
// the single-core FMA peak, which FmaPeak measures in the same process.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <tuple>

#include "mobilenet/kernels/depthwise_int8.hpp"
#include "mobilenet/kernels/pointwise_int8.hpp"
#include "mobilenet/mobilenet.hpp"

namespace {

using namespace mobilenet;

struct Shapes {
  std::set<std::tuple<int64_t, int64_t, int64_t>> pointwise;  // pixels, cin, cout
  // size, channels, k, stride, padded (V1's: the model keeps its pixels
  // kernels::padded_pixel_stride apart, see Model::block_output_stride)
  std::set<std::tuple<int64_t, int64_t, int, int, bool>> depthwise;
};

Shapes collect() {
  Shapes s;
  for (Arch arch : {Arch::V1, Arch::V2, Arch::V3Large, Arch::V3Small}) {
    const NetworkSpec spec = make_spec(arch, {});
    int64_t size = (224 + 1) / 2;  // after the stride-2 stem
    for (const BlockSpec& b : spec.blocks) {
      if (b.kind == BlockKind::InvertedResidual && b.expanded != b.in)
        s.pointwise.insert({size * size, b.in, b.expanded});
      s.depthwise.insert({size, b.expanded, b.kernel, b.stride,
                          b.kind == BlockKind::DepthwiseSeparable &&
                              kernels::padded_pixel_stride(b.expanded) != b.expanded});
      size = (size - 1) / b.stride + 1;
      s.pointwise.insert({size * size, b.expanded, b.out});
    }
  }
  return s;
}

// Single-core FMA peak: 16 independent chains of packet FMAs (two FMA pipes of 4-cycle latency
// need 8 in flight), each value passed through simd::opaque so the compiler cannot merge the
// identical chains. The kernels' "% peak" counters divide by this, measured in the same process.
double fma_peak_gflops() {
  static const double peak = [] {
    using mobilenet::simd::Packet;
    constexpr int kChains = 16;
    constexpr long kIterations = 2000000;
    Packet acc[kChains];
    const Packet a = mobilenet::simd::broadcast(1.0000001f), b = mobilenet::simd::broadcast(1e-7f);
    double best = 0;
    for (int rep = 0; rep < 5; ++rep) {
      for (Packet& x : acc) x = mobilenet::simd::zero();
      const auto t0 = std::chrono::steady_clock::now();
      for (long i = 0; i < kIterations; ++i) {
#pragma GCC unroll 16
        for (int k = 0; k < kChains; ++k)
          acc[k] = mobilenet::simd::opaque(mobilenet::simd::fmadd(acc[k], a, b));
      }
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      benchmark::DoNotOptimize(acc);
      best = std::max(best, 2.0 * kChains * mobilenet::simd::kWidth * kIterations / seconds / 1e9);
    }
    return best;
  }();
  return peak;
}

void BM_FmaPeak(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(fma_peak_gflops());
  state.counters["GFLOP/s"] = fma_peak_gflops();
}

// GFLOP/s and % of the FMA peak for `flop` floating-point operations per iteration.
void report_rate(benchmark::State& state, double flop) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(flop, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["%peak"] = benchmark::Counter(flop * 100.0 / (fma_peak_gflops() * 1e9),
                                               benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Pointwise(benchmark::State& state) {
  const int64_t pixels = state.range(0), cin = state.range(1), cout = state.range(2);
  std::vector<float> w(static_cast<size_t>(cin * cout), 0.01f), b(static_cast<size_t>(cout), 0.0f);
  const PointwiseConv2d layer({cin, cout, Activation::ReLU6}, w.data(), b.data());
  Tensor in({1, 1, pixels, cin}), out({1, 1, pixels, cout});
  ThreadPool pool(1);
  for (auto _ : state) {
    layer.forward(in, out, pool);
    benchmark::DoNotOptimize(out.data());
  }
  report_rate(state, 2.0 * double(pixels * cin * cout));
}

// The int8 pointwise kernel on the same shapes (the tile this build selects, named in the
// label); "GFLOP/s" counts its multiply-adds as two operations, as for float.
void BM_PointwiseInt8(benchmark::State& state) {
  using Tile = kernels::DefaultInt8Tile;
  const int64_t pixels = state.range(0), cin = state.range(1), cout = state.range(2);
  std::vector<int8_t> w(static_cast<size_t>(cin * cout));
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<int8_t>(i * 37 % 255 - 127);
  const std::vector<int32_t> b(static_cast<size_t>(cout), 0);
  const std::vector<float> m(static_cast<size_t>(cout), 1e-3f);
  const auto packed =
      kernels::pack_pointwise_int8<Tile>(w.data(), b.data(), m.data(), cin, cout, 3,
                                         quant::output_clamp({0.05f, -100}, Activation::ReLU6));
  AlignedArray<int8_t> in(static_cast<size_t>(pixels * cin)),
      out(static_cast<size_t>(pixels * cout));
  for (auto _ : state) {
    kernels::pointwise_int8<Tile>(in.data(), pixels, {cin, cout}, packed, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(std::string("int8 ") + Tile::kName + " tile");
  report_rate(state, 2.0 * double(pixels * cin * cout));
}

void BM_Depthwise(benchmark::State& state) {
  const int64_t size = state.range(0), c = state.range(1);
  const int k = static_cast<int>(state.range(2)), stride = static_cast<int>(state.range(3));
  const int64_t px = state.range(4) ? kernels::padded_pixel_stride(c) : c;
  std::vector<float> w(static_cast<size_t>(c * k * k), 0.01f), b(static_cast<size_t>(c), 0.0f);
  const DepthwiseConv2d layer({c, k, stride, PaddingMode::Torch, Activation::ReLU6}, w.data(),
                              b.data());
  const Shape is{1, size, size, c}, os = layer.output_shape(is);
  AlignedBuffer in(static_cast<size_t>(is.pixels() * px)),
      out(static_cast<size_t>(os.pixels() * px));
  ThreadPool pool(1);
  for (auto _ : state) {
    layer.forward({in.data(), is, px}, {out.data(), os, px}, pool);
    benchmark::DoNotOptimize(out.data());
  }
  report_rate(state, 2.0 * double(os.pixels() * c * k * k));
}

// The int8 depthwise kernel on the same shapes (contiguous tensors; the compiler's vectorization
// for this build's ISA).
void BM_DepthwiseInt8(benchmark::State& state) {
  const int64_t size = state.range(0), c = state.range(1);
  const int k = static_cast<int>(state.range(2)), stride = static_cast<int>(state.range(3));
  std::vector<int8_t> w(static_cast<size_t>(c * k * k));
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<int8_t>(i * 37 % 255 - 127);
  const std::vector<float> m(static_cast<size_t>(c), 1e-3f);
  const auto packed = kernels::pack_depthwise_int8(
      w.data(), nullptr, m.data(), c, k, 3, quant::output_clamp({0.05f, -100}, Activation::ReLU6));
  const Shape is{1, size, size, c};
  const Padding pad = Padding::symmetric((k - 1) / 2);
  const Shape os = kernels::depthwise_int8_output_shape(is, packed, stride, pad);
  AlignedArray<int8_t> in(static_cast<size_t>(is.numel())), out(static_cast<size_t>(os.numel()));
  for (auto _ : state) {
    kernels::depthwise_int8(in.data(), is, packed, stride, pad, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(std::string("int8 ") + isa_name());
  report_rate(state, 2.0 * double(os.pixels() * c * k * k));
}

const bool registered = [] {
  const Shapes s = collect();
  benchmark::RegisterBenchmark("FmaPeak", BM_FmaPeak)->Iterations(1);
  for (const auto& [pixels, cin, cout] : s.pointwise)
    benchmark::RegisterBenchmark("Pointwise", BM_Pointwise)
        ->Args({pixels, cin, cout})
        ->ArgNames({"pixels", "cin", "cout"});
  for (const auto& [pixels, cin, cout] : s.pointwise)
    benchmark::RegisterBenchmark("PointwiseInt8", BM_PointwiseInt8)
        ->Args({pixels, cin, cout})
        ->ArgNames({"pixels", "cin", "cout"});
  for (const auto& [size, c, k, stride, padded] : s.depthwise)
    benchmark::RegisterBenchmark("Depthwise", BM_Depthwise)
        ->Args({size, c, k, stride, padded})
        ->ArgNames({"size", "c", "k", "s", "padded"});
  for (const auto& [size, c, k, stride, padded] : s.depthwise)
    if (!padded)
      benchmark::RegisterBenchmark("DepthwiseInt8", BM_DepthwiseInt8)
          ->Args({size, c, k, stride})
          ->ArgNames({"size", "c", "k", "s"});
  return true;
}();

}  // namespace
