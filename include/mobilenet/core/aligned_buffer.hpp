#pragma once
// A fixed-size, 64-byte aligned, zero-initialised float array: one cache line and one AVX-512
// register per 16 floats. Movable, not copyable, so a copy never happens by accident.

#include <cstddef>
#include <cstring>
#include <memory>
#include <new>

namespace mobilenet {

class AlignedBuffer {
 public:
  static constexpr std::size_t kAlignment = 64;

  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t count)
      : data_(count ? static_cast<float*>(::operator new[](count * sizeof(float),
                                                            std::align_val_t(kAlignment)))
                    : nullptr),
        size_(count) {
    if (count) std::memset(data_.get(), 0, count * sizeof(float));
  }

  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  std::size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(float* p) const { ::operator delete[](p, std::align_val_t(kAlignment)); }
  };
  std::unique_ptr<float[], Free> data_;
  std::size_t size_ = 0;
};

}  // namespace mobilenet
