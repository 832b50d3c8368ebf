#pragma once
// Intra-layer parallelism for batch 1: `parallel_for` splits a range of independent work items
// (output rows, pixel tiles) into one contiguous chunk per thread. Every output element is
// computed by the same code in the same order whichever chunk it falls in, so results are
// bit-identical for any thread count. Workers come from Eigen's ThreadPool; the calling thread
// takes the first chunk itself.

#include <unsupported/Eigen/CXX11/ThreadPool>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "mobilenet/core/error.hpp"

namespace mobilenet {

class ThreadPool {
 public:
  /// `threads` counts the calling thread: 1 means everything runs on the caller.
  explicit ThreadPool(int threads = 1) : threads_(threads) {
    if (threads < 1 || threads > 256)
      throw Error("thread count must be in [1, 256], got " + std::to_string(threads));
    if (threads > 1) pool_ = std::make_unique<Eigen::ThreadPool>(threads - 1);
  }

  int threads() const { return threads_; }

  /// Calls `body(begin, end)` over [0, count) split into at most `threads()` chunks whose
  /// boundaries are multiples of `grain` (except the last). Blocks until all chunks are done.
  /// Allocation-free: each task's closure (a pointer and a chunk index) fits std::function's
  /// inline storage. `body` must not throw.
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
    struct Job {
      const Body* body;
      int64_t count, grain, grains, chunks;
      Eigen::Barrier* done;
      void run(int64_t chunk) const {
        const int64_t begin = std::min(count, grains * chunk / chunks * grain);
        const int64_t end = std::min(count, grains * (chunk + 1) / chunks * grain);
        if (begin < end) (*body)(begin, end);
      }
    };
    Eigen::Barrier done(static_cast<unsigned>(chunks - 1));
    const Job job{&body, count, grain, grains, chunks, &done};
    // Waits for the workers even if the caller's chunk throws, so none outlives `job`.
    struct WaitAtExit {
      Eigen::Barrier& barrier;
      ~WaitAtExit() { barrier.Wait(); }
    };
    const WaitAtExit wait{done};
    for (int64_t chunk = 1; chunk < chunks; ++chunk) {
      const Job* j = &job;
      auto task = [j, chunk] {
        j->run(chunk);
        j->done->Notify();
      };
      // libstdc++ and libc++ store trivially copyable closures of two words inline.
      static_assert(sizeof(task) <= 2 * sizeof(void*) && std::is_trivially_copyable_v<decltype(task)>,
                    "the task closure must fit std::function's inline storage");
      pool_->Schedule(task);
    }
    job.run(0);
  }

 private:
  int threads_;
  std::unique_ptr<Eigen::ThreadPool> pool_;
};

}  // namespace mobilenet
