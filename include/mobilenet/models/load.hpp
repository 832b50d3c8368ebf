#pragma once
// Building models: `load` from a safetensors file (torchvision's or timm's key names, detected
// from the keys or forced; arch, width and class count from the arguments, the file's metadata
// or, for a timm model, its name: --timm-arch or timm's config.json beside the file),
// `random_model` for benchmarks and summaries.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>

#include "mobilenet/io/int8_file.hpp"
#include "mobilenet/io/safetensors.hpp"
#include "mobilenet/io/timm_config.hpp"
#include "mobilenet/models/load_options.hpp"
#include "mobilenet/models/model.hpp"
#include "mobilenet/models/timm_models.hpp"

namespace mobilenet {

namespace detail {

inline double parse_number(const std::string& file, const std::string& key, const std::string& v) {
  try {
    size_t used = 0;
    const double d = std::stod(v, &used);
    if (used == v.size()) return d;
  } catch (const std::exception&) {
  }
  throw Error(file + ": metadata '" + key + "' is not a number: '" + v + "'");
}

inline int parse_int(const std::string& file, const std::string& key, const std::string& v, int lo,
                     int hi) {
  const double d = parse_number(file, key, v);
  if (!(d >= lo && d <= hi) || d != static_cast<double>(static_cast<int>(d)))
    throw Error(file + ": metadata '" + key + "' must be an integer in [" + std::to_string(lo) +
                ", " + std::to_string(hi) + "], got '" + v + "'");
  return static_cast<int>(d);
}

inline ModelMetadata parse_metadata(const SafetensorsFile& f) {
  ModelMetadata m;
  m.raw = f.metadata();
  const auto get = [&](const char* k) -> const std::string* {
    const auto it = m.raw.find(k);
    return it == m.raw.end() ? nullptr : &it->second;
  };
  const auto triple = [&](const char* k, float* out) {
    const std::string* v = get(k);
    if (!v) return;
    std::stringstream ss(*v);
    std::string part;
    for (int i = 0; i < 3; ++i) {
      if (!std::getline(ss, part, ','))
        throw Error(f.name() + ": metadata '" + k + "' needs three comma-separated numbers, got '" +
                    *v + "'");
      out[i] = static_cast<float>(parse_number(f.name(), k, part));
    }
  };
  triple("mean", m.mean);
  triple("std", m.std);
  if (const auto* v = get("input_size"))
    m.input_size = parse_int(f.name(), "input_size", *v, 1, 1 << 14);
  if (const auto* v = get("resize_size"))
    m.resize_size = parse_int(f.name(), "resize_size", *v, 1, 1 << 14);
  if (const auto* v = get("interpolation")) {
    try {
      m.interpolation = parse_interpolation(*v);
    } catch (const Error& e) {
      throw Error(f.name() + ": metadata 'interpolation': " + e.what());
    }
  }
  if (const auto* v = get("labels")) {
    try {
      m.labels = nlohmann::json::parse(*v).get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception& e) {
      throw Error(f.name() + ": metadata 'labels' is not a JSON array of strings: " + e.what());
    }
  }
  return m;
}

/// The preprocessing timm's config.json gives, where the file's own metadata says nothing:
/// input size, resize size (timm: floor(input_size / crop_pct)), interpolation, mean and std.
inline void apply_timm_config(const TimmConfig& c, ModelMetadata& m) {
  const auto has = [&](const char* k) { return m.raw.count(k) > 0; };
  if (c.input_size && !has("input_size")) m.input_size = *c.input_size;
  if (c.input_size && c.crop_pct && !has("resize_size"))
    m.resize_size = static_cast<int>(std::floor(*c.input_size / *c.crop_pct));
  if (!c.interpolation.empty() && !has("interpolation")) {
    try {
      m.interpolation = parse_interpolation(c.interpolation);
    } catch (const Error& e) {
      throw Error(c.path + ": " + e.what());
    }
  }
  if (c.mean && !has("mean")) std::copy(c.mean->begin(), c.mean->end(), m.mean);
  if (c.std && !has("std")) std::copy(c.std->begin(), c.std->end(), m.std);
}

/// The tensor that tells the schemes apart: the stem conv's weight.
inline std::string scheme_marker(Scheme s) {
  return s == Scheme::Timm ? "conv_stem.weight" : "features.0.0.weight";
}

/// The scheme `forced`, or the one whose marker the file holds. Throws when the forced scheme's
/// marker is missing or both markers are present; returns nullopt when neither is.
inline std::optional<Scheme> detect_scheme(const SafetensorsFile& f, std::optional<Scheme> forced) {
  const auto has = [&](Scheme s) { return f.tensors().count(scheme_marker(s)) > 0; };
  const auto marker = [](Scheme s) {
    return std::string(to_string(s)) + "'s '" + scheme_marker(s) + "'";
  };
  if (forced) {
    if (has(*forced)) return forced;
    const Scheme other = *forced == Scheme::Timm ? Scheme::Torchvision : Scheme::Timm;
    throw Error(
        f.name() + ": key-name scheme " + to_string(*forced) +
        " was asked for (--scheme) but the file has no '" + scheme_marker(*forced) + "'" +
        (has(other) ? std::string("; its keys look like ") + marker(other) : std::string()));
  }
  const bool tv = has(Scheme::Torchvision), timm = has(Scheme::Timm);
  if (tv && timm)
    throw Error(f.name() + ": cannot tell the key-name scheme: the file holds both " +
                marker(Scheme::Torchvision) + " and " + marker(Scheme::Timm) +
                "; pass one (--scheme torchvision or --scheme timm)");
  if (tv) return Scheme::Torchvision;
  if (timm) return Scheme::Timm;
  return std::nullopt;
}

/// How many conv and linear weights (biases and BatchNorm aside) `spec` has, from the spec alone.
inline int64_t weight_count(const NetworkSpec& spec) {
  int64_t n = int64_t{spec.stem_out} * 3 * 3 * 3;
  int64_t channels = spec.stem_out;
  for (const BlockSpec& b : spec.blocks) {
    const int64_t e = b.expanded;
    n += (b.expanded != b.in ? e * b.in : 0) + e * b.kernel * b.kernel + 2 * e * b.squeeze +
         e * b.out;
    channels = b.out;
  }
  if (spec.last_conv_out) {
    n += int64_t{spec.last_conv_out} * channels;
    channels = spec.last_conv_out;
  }
  if (spec.hidden) {
    n += channels * spec.hidden;
    channels = spec.hidden;
  }
  return n + channels * spec.num_classes;
}

/// Weight values (F32, F16, BF16 and, in int8 models, I8 elements) a safetensors file holds.
inline int64_t weight_value_count(const SafetensorsFile& file) {
  int64_t n = 0;
  for (const auto& [name, e] : file.tensors()) {
    const uint64_t bytes = e.end - e.begin;
    if (e.dtype == "F32")
      n += static_cast<int64_t>(bytes / 4);
    else if (e.dtype == "F16" || e.dtype == "BF16")
      n += static_cast<int64_t>(bytes / 2);
    else if (e.dtype == "I8")
      n += static_cast<int64_t>(bytes);
  }
  return n;
}

/// Throws naming the first tensor of `file` holding a NaN or infinity.
inline void check_finite(const SafetensorsFile& file) {
  for (const auto& [name, e] : file.tensors()) {
    if (e.dtype != "F32" && e.dtype != "F16" && e.dtype != "BF16") continue;
    const std::vector<float> values = file.read_float(name);
    for (size_t i = 0; i < values.size(); ++i)
      if (!std::isfinite(values[i]))
        throw Error(file.name() + ": tensor '" + name + "' holds a non-finite value (" +
                    (std::isnan(values[i]) ? "nan"
                     : values[i] > 0       ? "inf"
                                           : "-inf") +
                    ") at index " + std::to_string(i) + "; rejected in strict mode");
  }
}

}  // namespace detail

inline namespace MOBILENET_ISA {

/// Builds a model from a parsed safetensors file with torchvision's or timm's state-dict keys (see
/// the overload taking a path). Every missing, unexpected or mis-shaped tensor is reported in one
/// Error. The model's metadata() comes from the file's `__metadata__`.
/// @throws Error naming the file if the architecture is unknown, the metadata is malformed or
/// the weights do not match the model.
inline Model load(const SafetensorsFile& file, const LoadOptions& options = {},
                  const TimmConfig* timm_config = nullptr);

namespace load_detail {

/// load()'s work with the last step, building the model from its spec and float weights, left
/// to `build(spec, weights, keys)` (the float model, or, `quantizing`, the int8 one). An int8
/// file is built as it is (and refused when quantizing).
template <class Build>
Model load_with(const SafetensorsFile& file, const LoadOptions& options,
                const TimmConfig* timm_config, Build&& build, bool quantizing = false) {
  require_compiled_isa();
  const std::string& path = file.name();
  const auto& meta = file.metadata();
  const auto meta_value = [&](const char* k) -> std::optional<std::string> {
    const auto it = meta.find(k);
    return it == meta.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  // A timm model name (--timm-arch, else config.json's when the file names no architecture)
  // fixes the architecture and the variant its name implies (padding, BatchNorm eps, minimal);
  // explicit width, padding and class count still win. The variant is never dropped silently:
  // an --arch or --timm-arch that contradicts config.json is an error, one that agrees keeps
  // the config's variant (a tf_ port loaded with --arch must still pad as TensorFlow does).
  std::optional<TimmModel> timm;
  std::string timm_name = options.timm_arch;
  if (!timm_name.empty()) timm = timm_model(timm_name);
  if (!meta_value("arch") && timm_config) {
    std::optional<TimmModel> from_config;
    try {
      from_config = timm_model(timm_config->architecture);
    } catch (const Error& e) {
      throw Error(timm_config->path + ": " + e.what());
    }
    if (timm && timm_name != timm_config->architecture)
      throw Error(path + ": --timm-arch " + timm_name + " contradicts " + timm_config->path +
                  ", which names " + timm_config->architecture);
    timm = from_config;
    timm_name = timm_config->architecture;
  }
  if (timm && options.arch && *options.arch != timm->arch)
    throw Error(path + ": --arch " + to_string(*options.arch) + " contradicts timm's " + timm_name +
                " (" + to_string(timm->arch) + ")" +
                (timm_config ? ", named by " + timm_config->path : std::string()));
  Arch arch;
  if (options.arch) {
    arch = *options.arch;
  } else if (timm) {
    arch = timm->arch;
  } else if (const auto a = meta_value("arch")) {
    try {
      arch = parse_arch(*a);
    } catch (const Error& e) {
      throw Error(path + ": metadata 'arch': " + e.what());
    }
  } else {
    throw Error(path +
                ": the file's metadata names no architecture; pass one (--arch, or --timm-arch "
                "for timm's model names), or keep timm's config.json beside the file");
  }
  // Unknown (neither stem key present) is reported after the size check below, which tells a
  // file far too small for the model (e.g. one without tensors) as such.
  const std::optional<Scheme> scheme =
      detail::detect_scheme(file, options.scheme ? options.scheme
                                  : timm         ? std::optional<Scheme>(Scheme::Timm)
                                                 : std::nullopt);
  // make_spec validates the width and class count, which may come from the file: name the file.
  const auto spec_for = [&](const ModelOptions& o) {
    try {
      return make_spec(arch, o);
    } catch (const Error& e) {
      throw Error(path + ": " + e.what());
    }
  };
  ModelOptions mo = timm ? timm->options : ModelOptions{};
  mo.scheme = scheme.value_or(Scheme::Torchvision);
  if (options.width) {
    mo.width = *options.width;
  } else if (!timm) {
    if (const auto w = meta_value("width")) mo.width = detail::parse_number(path, "width", *w);
  }
  if (options.padding) {
    mo.padding = *options.padding;
  } else if (const auto p = meta_value("padding")) {
    try {
      mo.padding = parse_padding_mode(*p);
    } catch (const Error& e) {
      throw Error(path + ": metadata 'padding': " + e.what());
    }
  }
  // Keras' exporter writes bn_eps (1e-3 in every Keras MobileNet) and, for V3, minimal.
  if (const auto e = meta_value("bn_eps")) {
    const double eps = detail::parse_number(path, "bn_eps", *e);
    if (!(eps >= 0 && eps < 1))
      throw Error(path + ": metadata 'bn_eps' must be in [0, 1), got '" + *e + "'");
    mo.bn_eps = eps;
  }
  if (const auto m = meta_value("minimal")) {
    if (*m != "true" && *m != "false")
      throw Error(path + ": metadata 'minimal' must be true or false, got '" + *m + "'");
    mo.minimal = *m == "true";
  }
  if (options.num_classes) {
    mo.num_classes = *options.num_classes;
  } else if (const auto c = meta_value("num_classes")) {
    mo.num_classes = detail::parse_int(path, "num_classes", *c, 1, 1 << 20);
  } else if (timm && timm_config && timm_config->num_classes) {
    mo.num_classes = *timm_config->num_classes;
  } else if (scheme) {
    const auto keys = network_keys(spec_for(mo));
    const auto it = file.tensors().find(keys.linears.back() + ".weight");
    if (it != file.tensors().end() && it->second.shape.size() == 2 && it->second.shape[0] >= 1 &&
        it->second.shape[0] <= (1 << 20))
      mo.num_classes = static_cast<int>(it->second.shape[0]);
  }
  const NetworkSpec spec = spec_for(mo);
  std::ostringstream desc;
  desc << "mobilenet " << to_string(arch) << (mo.scheme == Scheme::Timm ? " (timm)" : "")
       << " width " << mo.width << " with " << mo.num_classes << " classes"
       << (mo.padding == PaddingMode::TfSame ? ", tf_same padding" : "")
       << (mo.minimal ? ", minimal" : "");
  if (timm) desc << " (timm's " << timm_name << ")";
  if (!meta.empty())
    desc << " (file metadata: arch=" << meta_value("arch").value_or("?")
         << " width=" << meta_value("width").value_or("?")
         << " num_classes=" << meta_value("num_classes").value_or("?") << ")";
  // The builder allocates every weight (zeros for missing ones, so that one error can list all
  // problems). A small hostile file must not make it allocate gigabytes (metadata width 8 or
  // num_classes 2^20): refuse a model far larger than the file before building it. The slack
  // keeps the key-by-key report for near misses (a wrong width, arch or class count).
  const int64_t needed = detail::weight_count(spec), held = detail::weight_value_count(file);
  if (needed > 4 * held + (int64_t{4} << 20))
    throw Error(path + ": the file holds " + std::to_string(held) + " weight values but " +
                desc.str() + " needs " + std::to_string(needed) +
                " weights; wrong architecture, width or class count?");
  if (!scheme)
    throw Error(path + ": cannot tell the key-name scheme: the file holds neither torchvision's '" +
                detail::scheme_marker(Scheme::Torchvision) + "' nor timm's '" +
                detail::scheme_marker(Scheme::Timm) +
                "' (the stem convolution's weight); is it a MobileNet state dict?");
  if (options.reject_non_finite) detail::check_finite(file);
  const auto precision = meta_value("precision");
  if (precision && *precision != "fp32" && *precision != "int8")
    throw Error(path + ": metadata 'precision' must be fp32 or int8, got '" + *precision + "'");
  std::optional<Model> built;
  if (precision == std::optional<std::string>("int8")) {
    // An int8 file builds its int8 network as it is; quantizing it again makes no sense.
    if (quantizing)
      throw Error(path + " is already an int8 model; quantize its float model instead");
    if (options.precision == Precision::fp16)
      throw Error(path + " is an int8 model; fp16 needs its float model");
    built.emplace(spec, read_int8_recipe(file, spec, network_keys(spec)));
  } else {
    SafetensorsWeights weights(file);
    built.emplace(build(spec, weights, network_keys(spec)));
    weights.check_complete(desc.str());
  }
  Model model = std::move(*built);
  ModelMetadata metadata = detail::parse_metadata(file);
  if (timm_config) detail::apply_timm_config(*timm_config, metadata);
  model.set_metadata(std::move(metadata));
  return model;
}

/// Builds the float file's model in the precision `options` asks for.
inline auto build_float(const LoadOptions& options) {
  return [precision = options.precision](const NetworkSpec& spec, WeightSource& w,
                                         const NetworkKeys& keys) {
    return Model(spec, w, keys, precision);
  };
}

/// Opens `path` (with timm's config.json beside it for a file that names no architecture: the
/// Hugging Face hub layout) and loads it with `build`.
template <class Build>
Model load_path_with(const std::string& path, const LoadOptions& options, Build&& build,
                     bool quantizing = false) {
  require_compiled_isa();  // before the file is read: its conversions run this path's code
  const SafetensorsFile file = SafetensorsFile::open(path);
  const std::string::size_type slash = path.find_last_of('/');
  const std::string config =
      (slash == std::string::npos ? "" : path.substr(0, slash + 1)) + "config.json";
  // Read only for a file that names no architecture itself (timm's hub files hold no metadata).
  std::optional<TimmConfig> timm_config;
  if (!file.metadata().count("arch") && std::ifstream(config).good())
    timm_config = read_timm_config(config);
  return load_with(file, options, timm_config ? &*timm_config : nullptr, build, quantizing);
}

}  // namespace load_detail

inline Model load(const SafetensorsFile& file, const LoadOptions& options,
                  const TimmConfig* timm_config) {
  return load_detail::load_with(file, options, timm_config, load_detail::build_float(options));
}

/// Loads a model from a safetensors file with torchvision's or timm's state-dict keys (detected,
/// or options.scheme). Architecture, width and class count come from `options`, else from the
/// file's metadata, else, for a file without metadata beside timm's config.json (the Hugging
/// Face hub layout), from the timm model that config names (timm_model(): tf_ ports with
/// TensorFlow's padding and BatchNorm eps), with its preprocessing. Every missing, unexpected or
/// mis-shaped tensor is reported in one Error.
/// @throws Error naming the file if it cannot be read, is not a valid safetensors file, or does
/// not hold the weights of the model it describes.
inline Model load(const std::string& path, const LoadOptions& options = {}) {
  return load_detail::load_path_with(path, options, load_detail::build_float(options));
}

/// Loads the float model at `path` as load() does and quantizes it to int8 (Precision::int8),
/// calibrating activation ranges on `calibration`: float NHWC images preprocessed as the model
/// expects (its metadata().preprocess_options()). See quantize_recipe() for the scheme.
/// @throws Error as load(), or if calibration fails (an empty or non-3-channel batch, a
/// non-finite value).
inline Model quantize(const std::string& path, ConstTensorView calibration,
                      const QuantizeOptions& quantize_options = {},
                      const LoadOptions& options = {}) {
  if (options.precision != Precision::fp32)
    throw Error(std::string("quantize: the float model is read in fp32, not ") +
                to_string(options.precision) + " (LoadOptions::precision)");
  return load_detail::load_path_with(
      path, options,
      [&](const NetworkSpec& spec, WeightSource& w, const NetworkKeys& keys) {
        return Model(spec, w, keys, calibration, quantize_options);
      },
      true);
}

/// A model with seeded random weights (no file needed): for benchmarks and summaries. Its
/// metadata() holds the ImageNet defaults (input size 224, no labels).
/// @throws Error if `options` is invalid (see make_spec()).
inline Model random_model(Arch arch, const ModelOptions& options = {}, uint32_t seed = 0) {
  require_compiled_isa();
  const NetworkSpec spec = make_spec(arch, options);
  RandomWeights weights(seed);
  return Model(spec, weights, network_keys(spec), options.precision);
}

/// random_model(arch, options, seed) quantized to int8, calibrated on `calibration` (float NHWC
/// images): an int8 model without a file, for benchmarks.
/// @throws Error as random_model(), or if calibration fails.
inline Model random_int8_model(Arch arch, ConstTensorView calibration,
                               const ModelOptions& options = {}, uint32_t seed = 0) {
  require_compiled_isa();
  const NetworkSpec spec = make_spec(arch, options);
  RandomWeights weights(seed);
  return Model(spec, weights, network_keys(spec), calibration);
}

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
