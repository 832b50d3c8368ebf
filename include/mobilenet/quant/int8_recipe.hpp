#pragma once
// What quantizing a network produces, before any packing (ISA-independent): every conv's int8
// weights and scales with its folded float bias and the parameters of the tensors it writes, the
// float layers the int8 network keeps (squeeze-excite's FCs, the classifier), and how it was
// made. The calibration builds one (models/int8_network_builder.hpp), an int8 file holds one
// (io/int8_file.hpp), and the int8 network is built from one.

#include <optional>
#include <string>
#include <vector>

#include "mobilenet/io/weight_source.hpp"
#include "mobilenet/quant/quantize.hpp"

namespace mobilenet {
namespace quant {

/// One conv layer quantized.
struct QuantizedConv {
  QuantizedWeights weight;  ///< int8 [out][in/groups * k * k] (PyTorch's order), scale per out
  std::vector<float> bias;  ///< folded float bias, one per output channel
  QuantParams output;       ///< what the conv requantizes to (before a table, if one follows)
  /// After the activation's lookup table, when the activation is not a clamp (hard-swish).
  std::optional<QuantParams> activated;

  /// The parameters of what the layer hands on.
  QuantParams result() const { return activated ? *activated : output; }
};

struct QuantizedBlock {
  std::optional<QuantizedConv> expand;
  QuantizedConv depthwise;
  std::optional<FoldedConv> se_reduce, se_expand;  ///< float
  QuantizedConv project;
  std::optional<QuantParams> sum;  ///< project + input, with a residual
};

/// How a recipe was made, as the int8 file's metadata records it.
struct Provenance {
  std::string method = "minmax";  ///< the activation-range method
  bool per_channel = true;        ///< weight scales per output channel (else per tensor)
  int64_t calibration_images = 0;
};

struct Int8Recipe {
  QuantParams input;
  QuantizedConv stem;
  std::vector<QuantizedBlock> blocks;
  std::optional<QuantizedConv> last_conv;
  std::vector<FoldedConv> linears;  ///< the classifier's, float
  Provenance provenance;
};

}  // namespace quant
}  // namespace mobilenet
