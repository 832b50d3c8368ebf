#pragma once
// Intra-layer parallelism for batch 1: `parallel_for` splits a range of independent work items
// (output rows, pixel tiles) into one contiguous chunk per thread. Every output element is
// computed by the same code in the same order whichever chunk it falls in, so results are
// bit-identical for any thread count.
//
// A MobileNet runs 30-70 layers of 10-200 us each, so a fork/join must cost about a
// microsecond, not the tens of microseconds of waking a sleeping thread. Workers therefore spin
// on a generation counter for a while after each job (about 100 us) before they block on a
// condition variable; the caller runs the first chunk itself and spins until the others are done.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "mobilenet/core/error.hpp"

namespace mobilenet {

/// A fixed set of worker threads for splitting one layer's work (see parallel_for()); the
/// calling thread takes part. Every Workspace owns one; results do not depend on the thread count.
class ThreadPool {
 public:
  /// `threads` counts the calling thread: 1 means everything runs on the caller.
  explicit ThreadPool(int threads = 1) : threads_(threads) {
    if (threads < 1 || threads > 256)
      throw Error("thread count must be in [1, 256], got " + std::to_string(threads));
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { work(i); });
  }

  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// The thread count, the caller included.
  int threads() const { return threads_; }

  /// Calls `body(begin, end)` over [0, count) split into at most `threads()` chunks whose
  /// boundaries are multiples of `grain` (except the last). Blocks until all chunks are done.
  /// Allocation-free. `body` must not throw.
  template <class Body>
  void parallel_for(int64_t count, int64_t grain, const Body& body) {
    if (count <= 0) return;
    grain = std::max<int64_t>(grain, 1);
    const int64_t grains = (count + grain - 1) / grain;
    const int64_t chunks = std::min<int64_t>(threads_, grains);
    if (chunks <= 1) {
      body(int64_t{0}, count);
      return;
    }
    job_ = {[](const void* b, int64_t begin, int64_t end) { (*static_cast<const Body*>(b))(begin, end); },
            &body, count, grain, grains, chunks};
    pending_.store(static_cast<int>(workers_.size()));
    generation_.fetch_add(1);  // publishes job_ to the workers
    if (sleeping_.load() > 0) {
      std::lock_guard<std::mutex> lock(mutex_);  // a worker about to sleep re-checks under it
      wake_.notify_all();
    }
    job_.run(0);
    for (int spins = 0; pending_.load() != 0; ++spins) relax(spins);
  }

 private:
  struct Job {
    void (*call)(const void* body, int64_t begin, int64_t end) = nullptr;
    const void* body = nullptr;
    int64_t count = 0, grain = 1, grains = 0, chunks = 0;
    void run(int64_t chunk) const {
      if (chunk >= chunks) return;
      const int64_t begin = std::min(count, grains * chunk / chunks * grain);
      const int64_t end = std::min(count, grains * (chunk + 1) / chunks * grain);
      if (begin < end) call(body, begin, end);
    }
  };

  static void relax(int spins) {
    if (spins < 1 << 14) {
#if defined(__x86_64__) || defined(__i386__)
      _mm_pause();
#elif defined(__aarch64__) || defined(__arm__)
      asm volatile("yield");
#endif
    } else {
      std::this_thread::yield();
    }
  }

  void work(int index) {
    // Spin this many rounds (~100 us) for the next job before blocking.
    constexpr int kSpinRounds = 1 << 12;
    uint64_t seen = 0;
    for (;;) {
      for (int spin = 0; spin < kSpinRounds && generation_.load() == seen; ++spin) relax(spin);
      if (generation_.load() == seen) {
        std::unique_lock<std::mutex> lock(mutex_);
        sleeping_.fetch_add(1);
        wake_.wait(lock, [&] { return generation_.load() != seen; });
        sleeping_.fetch_sub(1);
      }
      seen = generation_.load();
      if (stop_) return;
      job_.run(index);
      pending_.fetch_sub(1);
    }
  }

  int threads_;
  std::vector<std::thread> workers_;
  Job job_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<int> sleeping_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;  // written under mutex_, read after a generation change
};

}  // namespace mobilenet
