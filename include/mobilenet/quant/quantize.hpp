#pragma once
// The int8 arithmetic every quantized kernel, the quantizer and the tests share (ISA-independent):
//   real = scale * (q - zero_point)
// Weights: int8, symmetric (zero point 0, range [-127, 127]), one scale per output channel, taken
// after BatchNorm folding. Folding multiplies each output channel by its own gamma / sigma, which
// spreads the channels' ranges by orders of magnitude; one scale per tensor then rounds the small
// channels to a few levels (Krishnamoorthi 2018, "Quantizing deep convolutional networks for
// efficient inference", section 3.1: per-channel weights keep MobileNetV2 near float).
// Activations: int8 per tensor, asymmetric (a zero point), the range widened to include 0 so that
// zero padding and ReLU's zero are exact.
// Accumulation: int32, sum over (q_in - zp_in) * q_w plus an int32 bias at scale s_in * s_w.
// Requantization per output channel with a float multiplier m = s_in * s_w / s_out:
//   q_out = clamp(round(float(acc) * m), lo, hi) + zp_out
// in float32 with one rounding per operation, rounding to nearest with ties to even (what
// CVTPS2DQ and FCVTNS do under the default rounding mode; XNNPACK's "fp32" requantization makes
// the same choice). ReLU and ReLU6 are folded into the clamp [lo, hi].

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "mobilenet/core/activation_kind.hpp"
#include "mobilenet/core/error.hpp"

namespace mobilenet {
namespace quant {

inline constexpr int32_t kMin = -128, kMax = 127;
/// Symmetric weights use [-127, 127]: the negation of every value is representable.
inline constexpr int32_t kWeightMax = 127;

/// real = scale * (q - zero_point).
struct QuantParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
};

/// Rounds to the nearest integer, ties to even (the default floating-point rounding mode, as the
/// vector conversions the kernels use).
inline int32_t round_even(float x) {
  return static_cast<int32_t>(std::nearbyint(x));
}

/// Per-tensor int8 parameters for values in [lo, hi] (e.g. a calibration run's range), widened to
/// include 0; a range of one point gets scale 1.
/// @throws Error if lo or hi is not finite or lo > hi.
inline QuantParams activation_params(float lo, float hi) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi)
    throw Error("activation range [" + std::to_string(lo) + ", " + std::to_string(hi) +
                "] is not a finite interval");
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  if (hi == lo) return {};
  const float scale = (hi - lo) / static_cast<float>(kMax - kMin);
  const int32_t zp = round_even(static_cast<float>(kMin) - lo / scale);
  return {scale, std::clamp(zp, kMin, kMax)};
}

/// The quantized value of `x` (rounded ties to even, saturated to int8).
/// NaN maps to the lowest value (a NaN cannot be held in int8; the comparison sends it there).
inline int8_t quantize(float x, QuantParams p) {
  const float q = std::nearbyint(x / p.scale) + static_cast<float>(p.zero_point);
  return static_cast<int8_t>(q > static_cast<float>(kMax)    ? kMax
                             : q >= static_cast<float>(kMin) ? static_cast<int32_t>(q)
                                                             : kMin);
}

/// out[i] = quantize(x[i], p) for n values (the same arithmetic, written so that it vectorizes).
inline void quantize(const float* x, int64_t n, QuantParams p, int8_t* out) {
  const float zp = static_cast<float>(p.zero_point), lo = static_cast<float>(kMin),
              hi = static_cast<float>(kMax);
  for (int64_t i = 0; i < n; ++i) {
    const float q = std::nearbyint(x[i] / p.scale) + zp;
    out[i] = static_cast<int8_t>(static_cast<int32_t>(q > hi ? hi : q >= lo ? q : lo));
  }
}

inline float dequantize(int8_t q, QuantParams p) {
  return p.scale * static_cast<float>(static_cast<int32_t>(q) - p.zero_point);
}

/// A weight matrix [rows][cols] (a conv's [cout][cin * k * k]) quantized symmetrically, one scale
/// per row (output channel), or one for all rows when per_channel is false (for comparison: the
/// loss per-channel avoids).
struct QuantizedWeights {
  std::vector<int8_t> values;  // [rows][cols]
  std::vector<float> scales;   // [rows] (all equal when per tensor)
};

/// @throws Error if a weight is not finite.
inline QuantizedWeights quantize_weights(const float* w, int64_t rows, int64_t cols,
                                         bool per_channel = true) {
  const auto n = static_cast<std::size_t>(rows * cols);
  QuantizedWeights q{std::vector<int8_t>(n), std::vector<float>(static_cast<std::size_t>(rows))};
  std::vector<float> absmax(static_cast<std::size_t>(rows), 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const float v = w[r * cols + c];
      if (!std::isfinite(v))
        throw Error("weight [" + std::to_string(r) + "][" + std::to_string(c) +
                    "] is not finite; cannot quantize");
      absmax[static_cast<std::size_t>(r)] =
          std::max(absmax[static_cast<std::size_t>(r)], std::abs(v));
    }
  if (!per_channel && rows > 0)
    std::fill(absmax.begin(), absmax.end(), *std::max_element(absmax.begin(), absmax.end()));
  for (int64_t r = 0; r < rows; ++r) {
    const float m = absmax[static_cast<std::size_t>(r)];
    // An all-zero channel quantizes to zeros at any scale; 1 keeps the multiplier finite.
    const float scale = m > 0.0f ? m / static_cast<float>(kWeightMax) : 1.0f;
    q.scales[static_cast<std::size_t>(r)] = scale;
    for (int64_t c = 0; c < cols; ++c)
      q.values[static_cast<std::size_t>(r * cols + c)] = static_cast<int8_t>(
          std::clamp(round_even(w[r * cols + c] / scale), -kWeightMax, kWeightMax));
  }
  return q;
}

/// The int32 bias at scale input_scale * weight_scale.
/// @throws Error if it does not fit in int32 (a bias far beyond what the activations can hold).
inline int32_t quantize_bias(float bias, float input_scale, float weight_scale) {
  const double q =
      std::nearbyint(static_cast<double>(bias) / (static_cast<double>(input_scale) * weight_scale));
  if (!(std::abs(q) < 2147483520.0))  // also rejects NaN
    throw Error("bias " + std::to_string(bias) + " does not fit int32 at scale " +
                std::to_string(static_cast<double>(input_scale) * weight_scale));
  return static_cast<int32_t>(q);
}

/// The output side of a requantization: zero point and the clamp, in units of the output scale
/// relative to the zero point (lo = q_min - zp, hi = q_max - zp), with ReLU or ReLU6 folded in.
struct OutputClamp {
  int32_t zero_point = 0;
  float lo = static_cast<float>(kMin), hi = static_cast<float>(kMax);
};

/// The clamp of an output quantized with `p` and activated by `act`, which must be Identity, ReLU
/// or ReLU6 (the activations that are a clamp).
/// @throws Error for another activation.
inline OutputClamp output_clamp(QuantParams p, Activation act) {
  int32_t qmin = kMin, qmax = kMax;
  switch (act) {
    case Activation::Identity:
      break;
    case Activation::ReLU6:
      qmax = std::min(kMax, p.zero_point + round_even(6.0f / p.scale));
      [[fallthrough]];
    case Activation::ReLU:
      qmin = std::max(kMin, p.zero_point);
      break;
    default:
      throw Error(std::string("activation ") + to_string(act) +
                  " is not a clamp; it cannot be folded into int8 requantization");
  }
  return {p.zero_point, static_cast<float>(qmin - p.zero_point),
          static_cast<float>(qmax - p.zero_point)};
}

/// One output: q = clamp(round(float(acc) * multiplier), lo, hi) + zp, in the float operations
/// and order every kernel uses (convert, multiply, max, min, round to even, add the zero point).
inline int8_t requantize(int32_t acc, float multiplier, const OutputClamp& c) {
  float f = static_cast<float>(acc) * multiplier;
  f = std::min(std::max(f, c.lo), c.hi);
  return static_cast<int8_t>(round_even(f) + c.zero_point);
}

/// The float value of an activation, in the float32 operations every int8 lookup table is made
/// with (core/activation.hpp's scalar forms: hard-sigmoid relu6(x + 3) * (1/6), timm and
/// torchvision's definition).
inline float activation_value(Activation act, float x) {
  const auto relu6 = [](float v) { return std::min(std::max(v, 0.0f), 6.0f); };
  switch (act) {
    case Activation::Identity:
      return x;
    case Activation::ReLU:
      return std::max(x, 0.0f);
    case Activation::ReLU6:
      return relu6(x);
    case Activation::HardSigmoid:
      return relu6(x + 3.0f) * (1.0f / 6.0f);
    case Activation::HardSwish:
      return x * (relu6(x + 3.0f) * (1.0f / 6.0f));
  }
  return x;
}

/// Whether `act` folds into requantization's clamp (else a lookup table follows the layer).
inline bool is_clamp(Activation act) {
  return act == Activation::Identity || act == Activation::ReLU || act == Activation::ReLU6;
}

/// The requantization of a conv layer: int32 biases at s_in * s_w[co], multipliers
/// s_in * s_w[co] / s_out (in that float order) and the output clamp.
struct Requantization {
  std::vector<int32_t> bias;
  std::vector<float> multiplier;
  OutputClamp clamp;
};

/// The requantization of a conv whose weights have the per-output-channel `weight_scales`, with
/// folded float `bias` (one per channel), inputs quantized with `in`, outputs with `out`, and `act`
/// (a clamp: Identity, ReLU, ReLU6) folded in.
/// @throws Error if a bias overflows int32, a multiplier is not a finite number > 0 (scales from
/// a file can be finite and still overflow it) or `act` is not a clamp.
inline Requantization requantization(const std::vector<float>& weight_scales, const float* bias,
                                     QuantParams in, QuantParams out, Activation act) {
  const std::size_t n = weight_scales.size();
  Requantization r{std::vector<int32_t>(n), std::vector<float>(n), output_clamp(out, act)};
  for (std::size_t o = 0; o < n; ++o) {
    r.bias[o] = quantize_bias(bias[o], in.scale, weight_scales[o]);
    r.multiplier[o] = in.scale * weight_scales[o] / out.scale;
    if (!(std::isfinite(r.multiplier[o]) && r.multiplier[o] > 0))
      throw Error("output channel " + std::to_string(o) + ": requantization multiplier " +
                  std::to_string(r.multiplier[o]) + " (input scale " + std::to_string(in.scale) +
                  " x weight scale " + std::to_string(weight_scales[o]) + " / output scale " +
                  std::to_string(out.scale) + ") is not a finite number > 0");
  }
  return r;
}

}  // namespace quant
}  // namespace mobilenet
