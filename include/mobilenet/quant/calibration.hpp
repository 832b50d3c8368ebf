#pragma once
// Activation ranges recorded while the float model runs over calibration data (ISA-independent).
// Each point where the int8 network quantizes a tensor has one observer; its range, by the
// method QuantizeOptions names, becomes the tensor's QuantParams (activation_params widens it to
// include 0).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/quant/quantize.hpp"
#include "mobilenet/quant/quantize_options.hpp"

namespace mobilenet {
namespace quant {

/// An activation range: the smallest and the largest value it keeps.
struct ActivationRange {
  float lo, hi;
};

/// Every value observed at one point: its minimum and maximum, and a histogram for percentiles.
/// The histogram's bins are the top 14 bits of a float (sign, exponent, 5 mantissa bits): every
/// finite value has a bin whatever the range, the bins' width is 1/32 of their value (so a
/// percentile comes out within 3.2%, on the side that keeps it), and an observer takes a fixed
/// 128 KiB. The calibration tensors are allocated in the same pass, so this is not forward's
/// memory.
class RangeObserver {
 public:
  RangeObserver() : histogram_(kBins, 0) {}

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
      ++histogram_[bin(x[i])];
    }
    if (!finite) throw Error("calibration: " + what + " holds a value that is not finite");
    lo_ = lo;
    hi_ = hi;
    count_ += static_cast<uint64_t>(n);
  }

  float lo() const { return lo_; }
  float hi() const { return hi_; }

  /// The range `o.method` takes from the values observed: min/max, or the values below which
  /// (100 - p)% and p% of them lie, p = o.percentile.
  /// @throws Error naming `what` if nothing was observed.
  ActivationRange range(const QuantizeOptions& o, const std::string& what) const {
    if (lo_ > hi_) throw Error("calibration: no values observed for " + what);
    if (o.method == RangeMethod::minmax) return {lo_, hi_};
    // Values beyond the percentile on each side: round down, so p = 100 keeps every value.
    const auto tail =
        static_cast<uint64_t>(static_cast<double>(count_) * (100.0 - o.percentile) / 100.0);
    return {std::max(lo_, -tail_edge(kNegative, tail)), std::min(hi_, tail_edge(kPositive, tail))};
  }

  /// The int8 parameters of range(o, what).
  QuantParams params(const QuantizeOptions& o, const std::string& what) const {
    const auto [lo, hi] = range(o, what);
    return activation_params(lo, hi);
  }

 private:
  static constexpr int kBinShift = 18;  // 32 - 14 bits
  static constexpr std::size_t kBins = std::size_t{1} << (32 - kBinShift);
  static constexpr uint32_t kNegative = 1, kPositive = 0;

  static std::size_t bin(float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    return bits >> kBinShift;
  }

  /// The magnitude beyond which at most `tail` of the values of one sign lie (0 when none): the
  /// outer edge of the first bin, walking inwards from the largest magnitudes, at which more than
  /// `tail` values have been passed. Values of the other sign do not count: they lie inside.
  float tail_edge(uint32_t sign, uint64_t tail) const {
    const std::size_t first = std::size_t{sign} << (31 - kBinShift);
    const std::size_t half = kBins / 2;
    uint64_t passed = 0;
    for (std::size_t i = half; i-- > 0;) {
      passed += histogram_[first + i];
      if (passed > tail) {
        const uint32_t edge_bits = static_cast<uint32_t>(i + 1) << kBinShift;
        float edge;
        std::memcpy(&edge, &edge_bits, sizeof edge);
        return edge;
      }
    }
    return 0.0f;
  }

  float lo_ = std::numeric_limits<float>::infinity();
  float hi_ = -std::numeric_limits<float>::infinity();
  uint64_t count_ = 0;
  std::vector<uint64_t> histogram_;
};

}  // namespace quant
}  // namespace mobilenet
