#pragma once
// Activation ranges recorded while the float model runs over calibration data (ISA-independent).
// Each point where the int8 network quantizes a tensor has one observer; its range becomes the
// tensor's QuantParams (activation_params widens it to include 0).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "mobilenet/core/error.hpp"
#include "mobilenet/quant/quantize.hpp"

namespace mobilenet {
namespace quant {

/// The minimum and maximum of every value observed (the "min/max" calibration method).
class RangeObserver {
 public:
  /// Records the n values at x.
  /// @throws Error naming `what` if one is not finite (a calibration input or weight that
  /// overflows float: its range cannot be quantized).
  void observe(const float* x, int64_t n, const std::string& what) {
    float lo = lo_, hi = hi_;
    bool finite = true;
    for (int64_t i = 0; i < n; ++i) {
      finite = finite && std::isfinite(x[i]);
      lo = std::min(lo, x[i]);
      hi = std::max(hi, x[i]);
    }
    if (!finite) throw Error("calibration: " + what + " holds a value that is not finite");
    lo_ = lo;
    hi_ = hi;
  }

  float lo() const { return lo_; }
  float hi() const { return hi_; }

  /// The int8 parameters of the observed range.
  /// @throws Error naming `what` if nothing was observed.
  QuantParams params(const std::string& what) const {
    if (lo_ > hi_) throw Error("calibration: no values observed for " + what);
    return activation_params(lo_, hi_);
  }

 private:
  float lo_ = std::numeric_limits<float>::infinity();
  float hi_ = -std::numeric_limits<float>::infinity();
};

}  // namespace quant
}  // namespace mobilenet
