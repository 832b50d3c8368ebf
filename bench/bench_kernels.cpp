// Per-kernel throughput on every distinct pointwise and depthwise layer shape of the four
// networks at 224x224, generated from the config tables (so the shapes are the real ones).
//   build/bench/mobilenet_bench --benchmark_filter='Pointwise|Depthwise'

#include <benchmark/benchmark.h>

#include <set>
#include <tuple>

#include "mobilenet/mobilenet.hpp"

namespace {

using namespace mobilenet;

struct Shapes {
  std::set<std::tuple<int64_t, int64_t, int64_t>> pointwise;        // pixels, cin, cout
  std::set<std::tuple<int64_t, int64_t, int, int>> depthwise;       // size, channels, k, stride
};

Shapes collect() {
  Shapes s;
  for (Arch arch : {Arch::V1, Arch::V2, Arch::V3Large, Arch::V3Small}) {
    const NetworkSpec spec = make_spec(arch, {});
    int64_t size = (224 + 1) / 2;  // after the stride-2 stem
    for (const BlockSpec& b : spec.blocks) {
      if (b.kind == BlockKind::InvertedResidual && b.expanded != b.in)
        s.pointwise.insert({size * size, b.in, b.expanded});
      s.depthwise.insert({size, b.expanded, b.kernel, b.stride});
      size = (size - 1) / b.stride + 1;
      s.pointwise.insert({size * size, b.expanded, b.out});
    }
  }
  return s;
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
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(pixels * cin * cout), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Depthwise(benchmark::State& state) {
  const int64_t size = state.range(0), c = state.range(1);
  const int k = static_cast<int>(state.range(2)), stride = static_cast<int>(state.range(3));
  std::vector<float> w(static_cast<size_t>(c * k * k), 0.01f), b(static_cast<size_t>(c), 0.0f);
  const DepthwiseConv2d layer({c, k, stride, Padding::symmetric((k - 1) / 2), Activation::ReLU6}, w.data(), b.data());
  Tensor in({1, size, size, c}), out(layer.output_shape({1, size, size, c}));
  ThreadPool pool(1);
  for (auto _ : state) {
    layer.forward(in, out, pool);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(out.shape().pixels() * c * k * k), benchmark::Counter::kIsIterationInvariantRate);
}

const bool registered = [] {
  const Shapes s = collect();
  for (const auto& [pixels, cin, cout] : s.pointwise)
    benchmark::RegisterBenchmark("Pointwise", BM_Pointwise)->Args({pixels, cin, cout})->ArgNames({"pixels", "cin", "cout"});
  for (const auto& [size, c, k, stride] : s.depthwise)
    benchmark::RegisterBenchmark("Depthwise", BM_Depthwise)->Args({size, c, k, stride})->ArgNames({"size", "c", "k", "s"});
  return true;
}();

}  // namespace
