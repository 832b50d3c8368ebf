#pragma once
// The int8 safetensors file: a quantized network's recipe (quant/int8_recipe.hpp) under the float
// file's key names (ISA-independent). Every conv, at its conv key K (torchvision's or timm's):
//   K.weight            I8  the conv's shape ([out, in/groups, k, k]), symmetric
//   K.weight_scale      F32 [out]   real weight = scale * int8
//   K.bias              F32 [out]   BatchNorm folded in
//   K.output_qparams    F32 [2]     scale and zero point the conv requantizes to
//   K.activated_qparams F32 [2]     after the activation's lookup table (hard-swish layers only)
//   K.sum_qparams       F32 [2]     a residual block's projection: the sum's
// and input_qparams F32 [2] (the input image's). Squeeze-excite and classifier layers are float,
// as in the float file. __metadata__ holds the float file's entries and precision=int8,
// quant_method, quant_weights (per_channel or per_tensor) and quant_calibration_images.

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "mobilenet/io/safetensors.hpp"
#include "mobilenet/io/safetensors_writer.hpp"
#include "mobilenet/io/torchvision_names.hpp"
#include "mobilenet/models/spec.hpp"
#include "mobilenet/quant/int8_recipe.hpp"

namespace mobilenet {
namespace int8_file_detail {

inline void put_params(SafetensorsWriter& w, const std::string& name, quant::QuantParams p) {
  w.add(name, {2}, std::vector<float>{p.scale, static_cast<float>(p.zero_point)});
}

inline void put_conv(SafetensorsWriter& w, const std::string& key,
                     const std::vector<int64_t>& shape, const quant::QuantizedConv& c) {
  w.add(key + ".weight", shape, c.weight.values);
  w.add(key + ".weight_scale", {shape[0]}, c.weight.scales);
  w.add(key + ".bias", {shape[0]}, c.bias);
  put_params(w, key + ".output_qparams", c.output);
  if (c.activated) put_params(w, key + ".activated_qparams", *c.activated);
}

inline void put_float(SafetensorsWriter& w, const std::string& key,
                      const std::vector<int64_t>& shape, const FoldedConv& f) {
  w.add(key + ".weight", shape, f.weight);
  w.add(key + ".bias", {shape[0]}, f.bias);
}

/// Reads the tensors of one file, each checked for its dtype and shape.
class Reader {
 public:
  explicit Reader(const SafetensorsFile& f) : f_(f) {}

  std::vector<float> floats(const std::string& name, const std::vector<int64_t>& shape) const {
    check(name, "F32", shape);
    return f_.read_float(name);
  }
  std::vector<int8_t> int8s(const std::string& name, const std::vector<int64_t>& shape) const {
    check(name, "I8", shape);
    return f_.read_int8(name);
  }
  bool has(const std::string& name) const { return f_.tensors().count(name) > 0; }

  /// Scale (finite, > 0) and zero point (an integer in [-128, 127]).
  quant::QuantParams params(const std::string& name) const {
    const std::vector<float> v = floats(name, {2});
    if (!(std::isfinite(v[0]) && v[0] > 0) || !(v[1] >= quant::kMin && v[1] <= quant::kMax) ||
        v[1] != std::floor(v[1]))
      throw Error(f_.name() + ": '" + name + "' is not a scale > 0 and an int8 zero point");
    return {v[0], static_cast<int32_t>(v[1])};
  }

  quant::QuantizedConv conv(const std::string& key, const std::vector<int64_t>& shape,
                            bool activated) const {
    quant::QuantizedConv c;
    c.weight.values = int8s(key + ".weight", shape);
    // Symmetric: -128 never occurs, and kernels rely on it (two int8 products then fit int16).
    for (int8_t w : c.weight.values)
      if (w == quant::kMin)
        throw Error(f_.name() + ": '" + key + ".weight' holds -128; symmetric int8 weights lie " +
                    "in [-127, 127]");
    c.weight.scales = floats(key + ".weight_scale", {shape[0]});
    for (float s : c.weight.scales)
      if (!(std::isfinite(s) && s > 0))
        throw Error(f_.name() + ": '" + key + ".weight_scale' holds a scale that is not > 0");
    c.bias = floats(key + ".bias", {shape[0]});
    c.output = params(key + ".output_qparams");
    if (activated) c.activated = params(key + ".activated_qparams");
    return c;
  }

  FoldedConv float_conv(const std::string& key, const std::vector<int64_t>& shape) const {
    return {floats(key + ".weight", shape), floats(key + ".bias", {shape[0]})};
  }

 private:
  void check(const std::string& name, const char* dtype, const std::vector<int64_t>& shape) const {
    const auto it = f_.tensors().find(name);
    if (it == f_.tensors().end())
      throw Error(f_.name() + ": int8 model lacks tensor '" + name + "'");
    if (it->second.dtype != dtype || it->second.shape != shape)
      throw Error(f_.name() + ": tensor '" + name + "' is " + it->second.dtype + " " +
                  shape_string(it->second.shape) + ", expected " + dtype + " " +
                  shape_string(shape));
  }

  const SafetensorsFile& f_;
};

/// The [out, in] shape of classifier layer i of n.
inline std::vector<int64_t> linear_shape(const NetworkSpec& spec, std::size_t i, std::size_t n) {
  const int64_t in =
      i == 0 ? (spec.last_conv_out ? spec.last_conv_out : spec.blocks.back().out) : spec.hidden;
  return {i + 1 == n ? spec.num_classes : spec.hidden, in};
}

}  // namespace int8_file_detail

/// Writes `recipe`, the int8 network of `spec` named by `keys`, to `path` with `metadata`
/// (the int8 entries are added; see the top of this file).
/// @throws Error if the file cannot be written.
inline void write_int8_file(const std::string& path, const NetworkSpec& spec,
                            const NetworkKeys& keys, const quant::Int8Recipe& r,
                            std::map<std::string, std::string> metadata) {
  using namespace int8_file_detail;
  SafetensorsWriter w;
  put_params(w, "input_qparams", r.input);
  put_conv(w, keys.stem.conv, {spec.stem_out, 3, 3, 3}, r.stem);
  for (std::size_t i = 0; i < spec.blocks.size(); ++i) {
    const BlockSpec& b = spec.blocks[i];
    const BlockKeys& k = keys.blocks[i];
    const quant::QuantizedBlock& q = r.blocks[i];
    if (q.expand) put_conv(w, k.expand->conv, {b.expanded, b.in, 1, 1}, *q.expand);
    put_conv(w, k.depthwise.conv, {b.expanded, 1, b.kernel, b.kernel}, q.depthwise);
    if (q.se_reduce) {
      put_float(w, k.se_reduce, {b.squeeze, b.expanded, 1, 1}, *q.se_reduce);
      put_float(w, k.se_expand, {b.expanded, b.squeeze, 1, 1}, *q.se_expand);
    }
    put_conv(w, k.project.conv, {b.out, b.expanded, 1, 1}, q.project);
    if (q.sum) put_params(w, k.project.conv + ".sum_qparams", *q.sum);
  }
  if (r.last_conv)
    put_conv(w, keys.last_conv.conv, {spec.last_conv_out, spec.blocks.back().out, 1, 1},
             *r.last_conv);
  for (std::size_t i = 0; i < r.linears.size(); ++i)
    put_float(w, keys.linears[i], linear_shape(spec, i, r.linears.size()), r.linears[i]);
  metadata["precision"] = "int8";
  metadata["quant_method"] = r.provenance.method;
  metadata["quant_weights"] = r.provenance.per_channel ? "per_channel" : "per_tensor";
  metadata["quant_calibration_images"] = std::to_string(r.provenance.calibration_images);
  w.write(path, metadata);
}

/// The recipe an int8 file holds for `spec` named by `keys`; which layers have lookup tables
/// follows from the spec's activations.
/// @throws Error naming the file and tensor if one is missing, of another dtype or shape, or
/// holds invalid quantization parameters.
inline quant::Int8Recipe read_int8_recipe(const SafetensorsFile& file, const NetworkSpec& spec,
                                          const NetworkKeys& keys) {
  using namespace int8_file_detail;
  const Reader in(file);
  const auto table = [](Activation a) { return !quant::is_clamp(a); };
  quant::Int8Recipe r;
  r.input = in.params("input_qparams");
  r.stem = in.conv(keys.stem.conv, {spec.stem_out, 3, 3, 3}, table(spec.stem_act));
  for (std::size_t i = 0; i < spec.blocks.size(); ++i) {
    const BlockSpec& b = spec.blocks[i];
    const BlockKeys& k = keys.blocks[i];
    const bool separable = b.kind == BlockKind::DepthwiseSeparable;
    quant::QuantizedBlock q;
    if (!separable && b.expanded != b.in)
      q.expand = in.conv(k.expand->conv, {b.expanded, b.in, 1, 1}, table(b.act));
    q.depthwise = in.conv(k.depthwise.conv, {b.expanded, 1, b.kernel, b.kernel}, table(b.act));
    if (b.squeeze) {
      q.se_reduce = in.float_conv(k.se_reduce, {b.squeeze, b.expanded, 1, 1});
      q.se_expand = in.float_conv(k.se_expand, {b.expanded, b.squeeze, 1, 1});
    }
    q.project = in.conv(k.project.conv, {b.out, b.expanded, 1, 1}, separable && table(b.act));
    if (!separable && b.stride == 1 && b.in == b.out)
      q.sum = in.params(k.project.conv + ".sum_qparams");
    r.blocks.push_back(std::move(q));
  }
  if (spec.last_conv_out)
    r.last_conv = in.conv(keys.last_conv.conv, {spec.last_conv_out, spec.blocks.back().out, 1, 1},
                          table(spec.last_conv_act));
  for (std::size_t i = 0; i < keys.linears.size(); ++i) {
    const std::vector<int64_t> shape = linear_shape(spec, i, keys.linears.size());
    // A classifier stored as a 1x1 conv (timm's conv_head) is read as one.
    const std::vector<int64_t> conv_shape = {shape[0], shape[1], 1, 1};
    const auto it = file.tensors().find(keys.linears[i] + ".weight");
    r.linears.push_back(in.float_conv(
        keys.linears[i],
        it != file.tensors().end() && it->second.shape == conv_shape ? conv_shape : shape));
  }
  const auto& meta = file.metadata();
  const auto get = [&](const char* k) {
    const auto it = meta.find(k);
    return it == meta.end() ? std::string() : it->second;
  };
  r.provenance.method = get("quant_method");
  r.provenance.per_channel = get("quant_weights") != "per_tensor";
  try {
    r.provenance.calibration_images = std::stoll(get("quant_calibration_images"));
  } catch (const std::exception&) {
    r.provenance.calibration_images = 0;
  }
  return r;
}

}  // namespace mobilenet
