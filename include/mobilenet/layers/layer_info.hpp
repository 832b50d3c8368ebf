#pragma once
// What every layer reports about itself for summaries: output shape, trained parameter count
// (as PyTorch counts them, BatchNorm's gamma and beta included) and multiply-accumulates.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mobilenet/core/tensor.hpp"

namespace mobilenet {

struct LayerInfo {
  std::string name;  // e.g. "features.3.block.1"
  std::string type;  // e.g. "dwconv5x5/2 hardswish"
  Shape output;
  int64_t params = 0;
  int64_t macs = 0;
};

/// How a conv layer's bias came about; decides how many parameters the trained model had.
enum class BiasSource { BatchNorm, Bias };

inline int64_t bias_params(BiasSource s, int64_t channels) {
  return s == BiasSource::BatchNorm ? 2 * channels : channels;
}

/// The summary rows of an inverted-residual block of any precision, in the order forward runs
/// them: expand (if the block has one) at `in`, depthwise at `expanded`, squeeze-excite (if any)
/// and project at `depthwise_out`; the project row is marked when the block adds its input.
template <class Expand, class Depthwise, class SqueezeExcite, class Project>
void describe_inverted_residual(const std::string& name, const Shape& in, const Shape& expanded,
                                const Shape& depthwise_out, const std::optional<Expand>& expand,
                                const Depthwise& depthwise, const std::optional<SqueezeExcite>& se,
                                const Project& project, bool residual,
                                std::vector<LayerInfo>& rows) {
  if (expand) rows.push_back(expand->info(name + ".expand", in));
  rows.push_back(depthwise.info(name + ".depthwise", expanded));
  if (se) rows.push_back(se->info(name + ".se", depthwise_out));
  rows.push_back(project.info(name + ".project", depthwise_out));
  if (residual) rows.back().type += " +residual";
}

/// Throws unless `in` has `channels` channels and `out` the shape the layer produces.
inline void check_shapes(const char* layer, const Shape& in, const Shape& out, int64_t channels,
                         const Shape& expected_out) {
  if (in.c != channels)
    throw Error(std::string(layer) + ": input " + in.str() + " has " + std::to_string(in.c) +
                " channels, expected " + std::to_string(channels));
  if (out != expected_out)
    throw Error(std::string(layer) + ": output view " + out.str() + " should be " +
                expected_out.str());
}

/// Throws if `v` (a layer's input or output, `which`) has a pixel stride below its channel count
/// (its pixels would overlap).
template <class T>
void check_stride(const char* layer, const char* which, const BasicTensorView<T>& v) {
  if (v.pixel_stride() < v.shape.c)
    throw Error(std::string(layer) + ": " + which + " " + v.shape.str() + " has pixel stride " +
                std::to_string(v.pixel_stride()) + ", below its " + std::to_string(v.shape.c) +
                " channels");
}

/// Throws unless `v` (a layer's input or output, `which`) is contiguous: only the pointwise and
/// depthwise layers read and write padded activations.
template <class T>
void require_contiguous(const char* layer, const char* which, const BasicTensorView<T>& v) {
  if (!v.contiguous())
    throw Error(std::string(layer) + ": " + which + " " + v.shape.str() +
                " is padded (pixel stride " + std::to_string(v.pixel_stride()) +
                "); this layer takes contiguous tensors only");
}

}  // namespace mobilenet
