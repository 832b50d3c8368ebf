#pragma once
// Plain scalar reference implementations that every fast kernel is tested against: a direct
// grouped NHWC convolution with PyTorch-layout weights, and the activations written out.

#include <algorithm>
#include <cmath>
#include <vector>

#include "mobilenet/core/activation.hpp"
#include "mobilenet/core/tensor.hpp"
#include "mobilenet/kernels/padding.hpp"

namespace reference {

inline float activate(mobilenet::Activation a, float x) {
  const auto relu6 = [](float v) { return std::min(std::max(v, 0.0f), 6.0f); };
  switch (a) {
    case mobilenet::Activation::Identity: return x;
    case mobilenet::Activation::ReLU: return std::max(x, 0.0f);
    case mobilenet::Activation::ReLU6: return relu6(x);
    case mobilenet::Activation::HardSwish: return x * relu6(x + 3.0f) / 6.0f;
    case mobilenet::Activation::HardSigmoid: return relu6(x + 3.0f) / 6.0f;
  }
  return x;
}

/// out = act(conv(in, w, groups) + bias) (+ residual): NHWC input, weight [cout][cin/groups][k][k].
/// Accumulates in double. Also returns, per output, sum |terms| (for relative tolerances).
struct ConvResult {
  std::vector<float> out;
  std::vector<double> magnitude;
  mobilenet::Shape shape;
};

inline ConvResult conv(const std::vector<float>& in, const mobilenet::Shape& is,
                       const std::vector<float>& w, const std::vector<float>& bias, int64_t cout,
                       int k, int stride, const mobilenet::Padding& pad, int64_t groups,
                       mobilenet::Activation act, const float* residual = nullptr) {
  using mobilenet::conv_output_size;
  const mobilenet::Shape os{is.n, conv_output_size(is.h, k, stride, pad.top, pad.bottom),
                            conv_output_size(is.w, k, stride, pad.left, pad.right), cout};
  ConvResult r{std::vector<float>(static_cast<size_t>(os.numel())),
               std::vector<double>(static_cast<size_t>(os.numel())), os};
  const int64_t cin_g = is.c / groups, cout_g = cout / groups;
  for (int64_t n = 0; n < os.n; ++n)
    for (int64_t oy = 0; oy < os.h; ++oy)
      for (int64_t ox = 0; ox < os.w; ++ox)
        for (int64_t co = 0; co < cout; ++co) {
          const int64_t g = co / cout_g;
          double acc = bias.empty() ? 0.0 : bias[static_cast<size_t>(co)];
          double mag = std::abs(acc);
          for (int64_t ci = 0; ci < cin_g; ++ci)
            for (int ky = 0; ky < k; ++ky)
              for (int kx = 0; kx < k; ++kx) {
                const int64_t iy = oy * stride - pad.top + ky, ix = ox * stride - pad.left + kx;
                if (iy < 0 || iy >= is.h || ix < 0 || ix >= is.w) continue;
                const double term =
                    double(in[static_cast<size_t>(((n * is.h + iy) * is.w + ix) * is.c + g * cin_g + ci)]) *
                    w[static_cast<size_t>(((co * cin_g + ci) * k + ky) * k + kx)];
                acc += term;
                mag += std::abs(term);
              }
          const size_t o = static_cast<size_t>(((n * os.h + oy) * os.w + ox) * cout + co);
          float v = activate(act, static_cast<float>(acc));
          if (residual) v += residual[o];
          r.out[o] = v;
          r.magnitude[o] = mag;
        }
  return r;
}

}  // namespace reference
