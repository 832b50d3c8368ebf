#pragma once
// The config.json that timm writes beside a model's weights on the Hugging Face hub
// (timm/models/_hub.py, save_config_for_hf): the model's name in `architecture`, `num_classes`,
// and the preprocessing it was trained with in `pretrained_cfg` (input_size [3, H, W],
// interpolation, crop_pct, mean, std). Older files put the pretrained_cfg keys at the top level,
// which timm also reads (_hub.py, _parse_model_cfg); so do we.

#include <array>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>

#include "mobilenet/core/error.hpp"

namespace mobilenet {

/// What a timm config.json says about its model.
struct TimmConfig {
  std::string path;          ///< Where it was read (for messages).
  std::string architecture;  ///< timm's model name, e.g. "tf_mobilenetv3_large_100".
  std::optional<int> num_classes;
  std::optional<int> input_size;  ///< H of pretrained_cfg.input_size [3, H, W] (H == W).
  std::optional<double> crop_pct;
  std::optional<std::array<float, 3>> mean, std;
  std::string interpolation;  ///< e.g. "bilinear", "bicubic"; empty if absent.
};

/// Reads and checks timm's config.json at `path`.
/// @throws Error naming the file if it cannot be read, is not JSON, or a field has the wrong type.
inline TimmConfig read_timm_config(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw Error(path + ": cannot open file");
  std::stringstream text;
  text << f.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not valid JSON: " + e.what());
  }
  const auto fail = [&](const std::string& what) { throw Error(path + ": " + what); };
  if (!j.is_object()) fail("expected a JSON object");
  TimmConfig c;
  c.path = path;
  const auto arch = j.find("architecture");
  if (arch == j.end() || !arch->is_string()) fail("no string 'architecture' (timm's model name)");
  c.architecture = arch->get<std::string>();
  const nlohmann::json& cfg =
      j.contains("pretrained_cfg") && j["pretrained_cfg"].is_object() ? j["pretrained_cfg"] : j;
  const auto integer = [&](const nlohmann::json& o, const char* key, int lo,
                           int hi) -> std::optional<int> {
    const auto it = o.find(key);
    if (it == o.end() || it->is_null()) return std::nullopt;
    if (!it->is_number_integer() || it->get<int64_t>() < lo || it->get<int64_t>() > hi)
      fail(std::string("'") + key + "' must be an integer in [" + std::to_string(lo) + ", " +
           std::to_string(hi) + "]");
    return static_cast<int>(it->get<int64_t>());
  };
  c.num_classes = integer(j, "num_classes", 1, 1 << 20);
  if (!c.num_classes) c.num_classes = integer(cfg, "num_classes", 1, 1 << 20);
  if (const auto it = cfg.find("input_size"); it != cfg.end() && !it->is_null()) {
    if (!it->is_array() || it->size() != 3 || !(*it)[1].is_number_integer() ||
        !(*it)[2].is_number_integer() || (*it)[1] != (*it)[2] || (*it)[1].get<int64_t>() < 1 ||
        (*it)[1].get<int64_t>() > (1 << 14))
      fail("'input_size' must be [3, S, S] with S in [1, 16384], got " + it->dump());
    c.input_size = static_cast<int>((*it)[1].get<int64_t>());
  }
  if (const auto it = cfg.find("crop_pct"); it != cfg.end() && !it->is_null()) {
    if (!it->is_number() || !(it->get<double>() > 0 && it->get<double>() <= 1))
      fail("'crop_pct' must be a number in (0, 1], got " + it->dump());
    c.crop_pct = it->get<double>();
  }
  const auto triple = [&](const char* key) -> std::optional<std::array<float, 3>> {
    const auto it = cfg.find(key);
    if (it == cfg.end() || it->is_null()) return std::nullopt;
    if (!it->is_array() || it->size() != 3 || !(*it)[0].is_number() || !(*it)[1].is_number() ||
        !(*it)[2].is_number())
      fail(std::string("'") + key + "' must be three numbers, got " + it->dump());
    return std::array<float, 3>{(*it)[0].get<float>(), (*it)[1].get<float>(),
                                (*it)[2].get<float>()};
  };
  c.mean = triple("mean");
  c.std = triple("std");
  if (c.std && !((*c.std)[0] > 0 && (*c.std)[1] > 0 && (*c.std)[2] > 0))
    fail("'std' must be positive, got " + cfg["std"].dump());
  if (const auto it = cfg.find("interpolation"); it != cfg.end() && it->is_string())
    c.interpolation = it->get<std::string>();
  return c;
}

}  // namespace mobilenet
