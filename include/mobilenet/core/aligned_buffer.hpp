#pragma once
// Fixed-size, 64-byte aligned, zero-initialised arrays of a trivially copyable element type: one
// cache line and one AVX-512 register per 64 bytes. AlignedBuffer holds floats (packed float
// weights, tensors); a workspace arena is an AlignedArray<std::byte> whose regions hold any
// element type. Movable, not copyable, so a copy never happens by accident.

#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

namespace mobilenet {

template <class T>
class AlignedArray {
  static_assert(std::is_trivially_copyable_v<T>, "an aligned array holds plain element types");

 public:
  static constexpr std::size_t kAlignment = 64;

  AlignedArray() = default;
  /// `count` zeroed elements (no storage for 0).
  explicit AlignedArray(std::size_t count)
      : data_(count ? static_cast<T*>(
                          ::operator new[](count * sizeof(T), std::align_val_t(kAlignment)))
                    : nullptr),
        size_(count) {
    if (count) std::memset(static_cast<void*>(data_.get()), 0, count * sizeof(T));
  }

  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  /// Number of elements.
  std::size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(T* p) const {
      ::operator delete[](static_cast<void*>(p), std::align_val_t(kAlignment));
    }
  };
  std::unique_ptr<T[], Free> data_;
  std::size_t size_ = 0;
};

/// Aligned floats.
using AlignedBuffer = AlignedArray<float>;

}  // namespace mobilenet
