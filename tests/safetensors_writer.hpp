#pragma once
// Builds safetensors files in memory for tests (valid ones from a list of tensors, which tests
// then corrupt), and records which tensors a model builder asks for.

#include <cstdint>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mobilenet/io/weight_source.hpp"

namespace testing_io {

struct NamedTensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

inline std::string header_length_bytes(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

/// A float32 safetensors file holding `tensors` and `metadata`.
inline std::string make_safetensors(const std::map<std::string, NamedTensor>& tensors,
                                    const std::map<std::string, std::string>& metadata = {}) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& [name, t] : tensors) {
    const uint64_t begin = data.size();
    data.append(reinterpret_cast<const char*>(t.values.data()), t.values.size() * sizeof(float));
    header[name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return header_length_bytes(text.size()) + text + data;
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// A WeightSource that hands out seeded random values and remembers every request, so a test
/// can write exactly the tensors a model expects.
class RecordingWeights : public mobilenet::WeightSource {
 public:
  std::vector<float> tensor(const std::string& name, const std::vector<int64_t>& shape) override {
    auto v = random_.tensor(name, shape);
    requested[name] = {shape, v};
    return v;
  }
  std::map<std::string, NamedTensor> requested;

 private:
  mobilenet::RandomWeights random_{7};
};

}  // namespace testing_io
