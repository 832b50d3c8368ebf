#pragma once
// Writes an int8 model as an int8 safetensors file (io/int8_file.hpp), with what load() needs to
// build it again: the architecture, width, class count, padding and variant, the preprocessing,
// and every other metadata entry of the file it was quantized from.

#include <cstdio>
#include <map>
#include <string>

#include "mobilenet/io/int8_file.hpp"
#include "mobilenet/models/model.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {

namespace save_detail {
inline std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}
inline std::string triple(const float* v) {
  return number(v[0]) + "," + number(v[1]) + "," + number(v[2]);
}
}  // namespace save_detail

/// Writes the int8 `model` to `path` (the format: README, "int8 files"); load() reads it back
/// into the same network.
/// @throws Error if the model is not int8 or the file cannot be written.
inline void save_int8(const Model& model, const std::string& path) {
  using save_detail::number;
  const quant::Int8Recipe* recipe = model.int8_recipe();
  if (!recipe) throw Error("save_int8: the model is fp32; quantize it first");
  const NetworkSpec& spec = model.spec();
  const ModelMetadata& m = model.metadata();
  std::map<std::string, std::string> meta = m.raw;
  meta["arch"] = to_string(spec.arch);
  meta["width"] = number(spec.width);
  meta["num_classes"] = std::to_string(spec.num_classes);
  meta["padding"] = to_string(spec.padding);
  meta["minimal"] = spec.minimal ? "true" : "false";
  meta["input_size"] = std::to_string(m.input_size);
  meta["resize_size"] = std::to_string(m.resize_size);
  meta["interpolation"] = to_string(m.interpolation);
  meta["mean"] = save_detail::triple(m.mean);
  meta["std"] = save_detail::triple(m.std);
  write_int8_file(path, spec, network_keys(spec), *recipe, meta);
}

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
