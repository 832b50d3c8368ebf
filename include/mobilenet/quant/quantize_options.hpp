#pragma once
// How to quantize a model to int8 (ISA-independent: the dispatching API passes it to any path).

namespace mobilenet {

/// How quantize() quantizes (the scheme itself: quant/quantize.hpp).
struct QuantizeOptions {
  /// One weight scale per output channel (the default), else one per tensor: only to show what
  /// per-channel scales avoid (quant/quantize.hpp).
  bool per_channel = true;
};

}  // namespace mobilenet
