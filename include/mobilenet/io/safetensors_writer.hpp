#pragma once
// Writes safetensors files (the format: io/safetensors.hpp): tensors added by name with their
// dtype and shape, then the header (sorted by name, with `__metadata__`) and the data written at
// once. ISA-independent.

#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mobilenet/core/error.hpp"

namespace mobilenet {

class SafetensorsWriter {
 public:
  void add(const std::string& name, const std::vector<int64_t>& shape,
           const std::vector<float>& values) {
    add_bytes(name, "F32", shape, values.data(), values.size() * sizeof(float));
  }
  void add(const std::string& name, const std::vector<int64_t>& shape,
           const std::vector<int8_t>& values) {
    add_bytes(name, "I8", shape, values.data(), values.size());
  }

  /// Writes the tensors added so far and `metadata` to `path`.
  /// @throws Error naming `path` if it cannot be written.
  void write(const std::string& path, const std::map<std::string, std::string>& metadata) const {
    nlohmann::json header = nlohmann::json::object();
    for (const auto& [name, t] : tensors_)
      header[name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {t.begin, t.end}}};
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // data 8-byte aligned, as other writers do
    // Little-endian uint64 (shifting a 32-bit size_t by 32 or more would be undefined).
    const uint64_t n = text.size();
    std::string length(8, '\0');
    for (int i = 0; i < 8; ++i)
      length[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(length.data(), 8);
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
    f.write(data_.data(), static_cast<std::streamsize>(data_.size()));
    if (!f) throw Error(path + ": cannot write file");
  }

 private:
  struct Entry {
    std::string dtype;
    std::vector<int64_t> shape;
    std::size_t begin, end;
  };

  void add_bytes(const std::string& name, const char* dtype, const std::vector<int64_t>& shape,
                 const void* bytes, std::size_t n) {
    int64_t count = 1;
    for (int64_t d : shape) count *= d;
    const std::size_t element = std::string(dtype) == "F32" ? 4 : 1;
    if (static_cast<std::size_t>(count) * element != n)
      throw Error("safetensors writer: tensor '" + name + "' has " + std::to_string(n) +
                  " bytes for its shape's " + std::to_string(count) + " elements");
    if (!tensors_.emplace(name, Entry{dtype, shape, data_.size(), data_.size() + n}).second)
      throw Error("safetensors writer: tensor '" + name + "' added twice");
    data_.append(static_cast<const char*>(bytes), n);
  }

  std::map<std::string, Entry> tensors_;
  std::string data_;
};

}  // namespace mobilenet
