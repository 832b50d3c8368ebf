// Whole-model latency: the table-built models users run (random weights; dense float32 kernels do
// not depend on the values), batch 1, 224x224, 1 and 2 threads.
//   build/bench/mobilenet_bench --benchmark_filter=Model

#include <benchmark/benchmark.h>

#include "mobilenet/mobilenet.hpp"

namespace {

void BM_Model(benchmark::State& state, mobilenet::Arch arch) {
  const int threads = static_cast<int>(state.range(0));
  const mobilenet::Model model = mobilenet::random_model(arch);
  mobilenet::Workspace ws = model.workspace({1, 224, 224, threads});
  mobilenet::Tensor x({1, 224, 224, 3});
  for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = static_cast<float>(i % 255) / 255.0f;
  int64_t macs = 0;
  for (const auto& l : model.layers(224, 224)) macs += l.macs;
  for (auto _ : state) benchmark::DoNotOptimize(model.forward(x, ws).data);
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(macs),
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.counters["arena_MiB"] = static_cast<double>(ws.arena_bytes()) / (1 << 20);
}

BENCHMARK_CAPTURE(BM_Model, v1, mobilenet::Arch::V1)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Model, v2, mobilenet::Arch::V2)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Model, v3_large, mobilenet::Arch::V3Large)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Model, v3_small, mobilenet::Arch::V3Small)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
