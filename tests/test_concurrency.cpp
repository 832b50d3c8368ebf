// Thread safety (issue 5): one loaded Model shared by 8 threads, each with its own Workspace,
// gives bit-for-bit the results of serial runs. Also run under ThreadSanitizer by
// tools/ci_sanitizers.sh, where any data race in the shared model is a report.

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "mobilenet/mobilenet.hpp"

namespace {

using namespace mobilenet;

// Sanitizers slow inference 3-15x: fewer iterations keep the test within seconds there.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kSlowdown = 10;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
constexpr int kSlowdown = 10;
#else
constexpr int kSlowdown = 1;
#endif
#else
constexpr int kSlowdown = 1;
#endif

/// Deterministic pseudo-random values in [-1, 1).
Tensor input(const Shape& shape, uint32_t seed) {
  Tensor t(shape);
  uint32_t s = seed;
  for (int64_t i = 0; i < t.numel(); ++i) {
    s = s * 1664525u + 1013904223u;
    t.data()[i] = static_cast<float>(s >> 8) / 16777216.0f * 2.0f - 1.0f;
  }
  return t;
}

/// Runs `model` on `inputs` serially, then from 8 threads sharing it (each with its own
/// workspace, half of them with a 2-thread pool, each starting at a different input) and
/// checks every output against the serial one bit for bit, `iterations` times over the inputs.
void expect_threads_match_serial(const Model& model, const std::vector<Tensor>& inputs, int iterations) {
  constexpr int kThreads = 8;
  const Shape shape = inputs.front().shape();
  std::vector<std::vector<float>> serial;
  {
    Workspace ws = model.workspace({shape.n, shape.h, shape.w, 1});
    for (const Tensor& x : inputs) {
      const ConstTensorView y = model.forward(x, ws);
      serial.emplace_back(y.data, y.data + y.numel());
    }
  }
  std::atomic<int> ready{0}, runs{0}, mismatches{0};
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        Workspace ws = model.workspace({shape.n, shape.h, shape.w, 1 + t % 2});
        // Start together, so that the forwards overlap as much as they can.
        ++ready;
        while (ready.load() < kThreads) std::this_thread::yield();
        for (int it = 0; it < iterations; ++it) {
          for (size_t k = 0; k < inputs.size(); ++k) {
            const size_t i = (k + static_cast<size_t>(t)) % inputs.size();
            const ConstTensorView y = model.forward(inputs[i], ws);
            if (std::memcmp(y.data, serial[i].data(), serial[i].size() * sizeof(float)) != 0) ++mismatches;
            ++runs;
          }
        }
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(t)] = e.what();
        ready = kThreads;  // release the others if this thread failed before the start line
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(errors[static_cast<size_t>(t)], "") << "thread " << t;
  EXPECT_EQ(runs.load(), kThreads * iterations * static_cast<int>(inputs.size()));
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(Concurrency, ShippedModelSharedByEightThreadsMatchesSerialBitForBit) {
  const Model model = load(std::string(MOBILENET_SOURCE_DIR) + "/examples/data/digits_v3_small.safetensors");
  std::vector<Tensor> inputs;
  for (uint32_t seed = 1; seed <= 4; ++seed) inputs.push_back(input({1, 32, 32, 3}, seed));
  expect_threads_match_serial(model, inputs, 60 / kSlowdown);
}

TEST(Concurrency, RandomV2SharedByEightThreadsMatchesSerialBitForBit) {
  // Another block type (no SE, ReLU6, width 0.35), batch 2 and a non-square input.
  const Model model = random_model(Arch::V2, {0.35, 10});
  std::vector<Tensor> inputs;
  for (uint32_t seed = 11; seed <= 13; ++seed) inputs.push_back(input({2, 24, 40, 3}, seed));
  expect_threads_match_serial(model, inputs, 20 / kSlowdown);
}

}  // namespace
