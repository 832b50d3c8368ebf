#pragma once
// Reader for the safetensors format (https://huggingface.co/docs/safetensors): an 8-byte
// little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__":
// {string: string}}, then the raw little-endian tensor bytes. Everything is validated before it
// is trusted; every failure is a mobilenet::Error naming the file and the problem.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "mobilenet/core/eigen.hpp"
#include "mobilenet/core/error.hpp"

namespace mobilenet {

/// Where one tensor lives in a safetensors file.
struct SafetensorsEntry {
  std::string dtype;           ///< "F32", "F16", "BF16", "I64", ...
  std::vector<int64_t> shape;  ///< Dimensions; empty for a scalar.
  uint64_t begin = 0;          ///< First byte inside the data section.
  uint64_t end = 0;            ///< One past the last byte inside the data section.
};

/// A shape as text for messages, e.g. "[32, 3, 3, 3]".
inline std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// A safetensors file held in memory, its header parsed and validated (see the file comment).
class SafetensorsFile {
 public:
  /// Headers above this size are refused before they are read (real ones are a few KiB to MiB).
  static constexpr uint64_t kMaxHeaderBytes = 64ull << 20;

  /// Reads and validates the whole file.
  /// @throws Error naming `path` if it cannot be read or is not a valid safetensors file.
  static SafetensorsFile open(const std::string& path) {
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    if (!f) throw Error(path + ": cannot open file");
    const std::streamoff size = f.tellg();
    if (size < 0) throw Error(path + ": cannot read file size");
    // On 32-bit targets a file can be larger than one read (or an allocation) can hold.
    if (static_cast<uint64_t>(size) >
            static_cast<uint64_t>(std::numeric_limits<std::streamsize>::max()) ||
        static_cast<uint64_t>(size) >= static_cast<uint64_t>(std::numeric_limits<size_t>::max()))
      throw Error(path + ": " + std::to_string(size) +
                  " bytes is too large to load on this platform");
    std::string bytes(static_cast<size_t>(size), '\0');
    f.seekg(0);
    if (size > 0 && !f.read(bytes.data(), static_cast<std::streamsize>(size)))
      throw Error(path + ": read failed");
    return SafetensorsFile(path, std::move(bytes));
  }

  /// Parses `bytes` as a safetensors file; `name` is used in error messages.
  /// @throws Error if the bytes are not a valid safetensors file.
  SafetensorsFile(std::string name, std::string bytes)
      : name_(std::move(name)), bytes_(std::move(bytes)) {
    parse();
  }

  /// The path or name the file was opened with (used in error messages).
  const std::string& name() const { return name_; }
  /// Every tensor's entry, by name (`__metadata__` excluded).
  const std::map<std::string, SafetensorsEntry>& tensors() const { return tensors_; }
  /// The header's `__metadata__` (string to string; empty if absent).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  /// The tensor converted to float32 (from F32, F16 or BF16).
  /// @throws Error if there is no such tensor or its dtype is not a float type.
  std::vector<float> read_float(const std::string& tensor) const {
    const auto it = tensors_.find(tensor);
    if (it == tensors_.end()) throw Error(name_ + ": no tensor named '" + tensor + "'");
    const SafetensorsEntry& e = it->second;
    const char* src = bytes_.data() + data_offset_ + e.begin;
    const size_t bytes = static_cast<size_t>(e.end - e.begin);
    std::vector<float> out;
    if (e.dtype == "F32") {
      out.resize(bytes / 4);
      if (bytes) std::memcpy(out.data(), src, bytes);  // an empty vector's data() may be null
    } else if (e.dtype == "F16" || e.dtype == "BF16") {
      out.resize(bytes / 2);
      for (size_t i = 0; i < out.size(); ++i) {
        uint16_t bits;
        std::memcpy(&bits, src + 2 * i, 2);
        out[i] = e.dtype == "F16"
                     ? static_cast<float>(Eigen::half(Eigen::half_impl::raw_uint16_to_half(bits)))
                     : static_cast<float>(
                           Eigen::bfloat16(Eigen::bfloat16_impl::raw_uint16_to_bfloat16(bits)));
      }
    } else {
      throw Error(name_ + ": tensor '" + tensor + "' has dtype " + e.dtype +
                  "; expected a float dtype (F32, F16 or BF16)");
    }
    return out;
  }

  /// The tensor's values, which must be stored as I8 (an int8 model's weights).
  /// @throws Error if there is no such tensor or its dtype is not I8.
  std::vector<int8_t> read_int8(const std::string& tensor) const {
    const auto it = tensors_.find(tensor);
    if (it == tensors_.end()) throw Error(name_ + ": no tensor named '" + tensor + "'");
    const SafetensorsEntry& e = it->second;
    if (e.dtype != "I8")
      throw Error(name_ + ": tensor '" + tensor + "' has dtype " + e.dtype + "; expected I8");
    std::vector<int8_t> out(static_cast<size_t>(e.end - e.begin));
    if (!out.empty()) std::memcpy(out.data(), bytes_.data() + data_offset_ + e.begin, out.size());
    return out;
  }

 private:
  static uint64_t dtype_size(const std::string& d) {
    static const std::map<std::string, uint64_t> sizes = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2},
        {"I8", 1},  {"U64", 8}, {"U32", 4}, {"U16", 2},  {"U8", 1},  {"BOOL", 1}};
    const auto it = sizes.find(d);
    return it == sizes.end() ? 0 : it->second;
  }

  [[noreturn]] void fail(const std::string& what) const { throw Error(name_ + ": " + what); }

  /// A JSON value for an error message: scalars and flat arrays as JSON text cut to 80
  /// characters, nested values by their type. (Dumping a hostile value whole printed megabytes,
  /// and overflowed the stack on deep nesting before the depth limit below existed.)
  static std::string brief(const nlohmann::json& v) {
    if (v.is_structured()) {
      for (const auto& item : v)
        if (item.is_structured()) return std::string("a nested ") + v.type_name();
    }
    std::string text = v.dump();
    return text.size() <= 80 ? text : text.substr(0, 77) + "...";
  }

  /// nlohmann keeps the last of duplicate keys silently, so a file could say one thing to this
  /// reader and another to a reader that keeps the first. This parser callback refuses duplicate
  /// keys in any object (one key set per open object) and nesting deeper than any safetensors
  /// header needs (root object > tensor entry > shape array), which also bounds what a hostile
  /// header like "[[[[..." makes the parser allocate.
  struct HeaderChecker {
    static constexpr int kMaxDepth = 8;
    const SafetensorsFile* file;
    std::shared_ptr<std::vector<std::set<std::string>>> keys =
        std::make_shared<std::vector<std::set<std::string>>>();

    bool operator()(int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) const {
      using E = nlohmann::json::parse_event_t;
      if ((event == E::object_start || event == E::array_start) && depth >= kMaxDepth)
        file->fail("header nests JSON deeper than " + std::to_string(kMaxDepth) + " levels");
      if (event == E::object_start) keys->emplace_back();
      if (event == E::object_end) keys->pop_back();
      if (event == E::key && !keys->back().insert(parsed.get<std::string>()).second)
        file->fail("header has a duplicate key '" + parsed.get<std::string>() + "'");
      return true;
    }
  };

  void parse() {
    if (bytes_.size() < 8)
      fail("file is " + std::to_string(bytes_.size()) +
           " bytes, too short for a safetensors header");
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i)
      header_len = (header_len << 8) | static_cast<unsigned char>(bytes_[static_cast<size_t>(i)]);
    if (header_len > kMaxHeaderBytes)
      fail("header length " + std::to_string(header_len) + " exceeds the " +
           std::to_string(kMaxHeaderBytes) + "-byte limit");
    if (header_len > bytes_.size() - 8)
      fail("header length " + std::to_string(header_len) + " runs past the end of the " +
           std::to_string(bytes_.size()) + "-byte file");
    data_offset_ = 8 + static_cast<size_t>(header_len);
    const uint64_t data_size = bytes_.size() - data_offset_;

    nlohmann::json header;
    try {
      header = nlohmann::json::parse(bytes_.begin() + 8,
                                     bytes_.begin() + static_cast<std::ptrdiff_t>(data_offset_),
                                     HeaderChecker{this});
    } catch (const nlohmann::json::exception& e) {
      fail(std::string("header is not valid JSON: ") + e.what());
    }
    if (!header.is_object()) fail("header is not a JSON object");

    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    for (const auto& [key, value] : header.items()) {
      if (key == "__metadata__") {
        if (!value.is_object()) fail("__metadata__ is not a JSON object");
        for (const auto& [mk, mv] : value.items()) {
          if (!mv.is_string()) fail("__metadata__ value for '" + mk + "' is not a string");
          metadata_[mk] = mv.get<std::string>();
        }
        continue;
      }
      const std::string where = "tensor '" + key + "': ";
      if (!value.is_object()) fail(where + "entry is not a JSON object");
      SafetensorsEntry e;
      const auto dtype = value.find("dtype");
      if (dtype == value.end() || !dtype->is_string()) fail(where + "missing string 'dtype'");
      e.dtype = dtype->get<std::string>();
      const uint64_t elem = dtype_size(e.dtype);
      if (elem == 0) fail(where + "unknown dtype '" + e.dtype + "'");
      const auto shape = value.find("shape");
      if (shape == value.end() || !shape->is_array()) fail(where + "missing array 'shape'");
      uint64_t bytes = elem;
      for (const auto& d : *shape) {
        if (!d.is_number_unsigned())
          fail(where + "shape has a dimension (" + brief(d) +
               ") that is not a non-negative integer");
        const uint64_t dim = d.get<uint64_t>();
        if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
            (dim != 0 && bytes > std::numeric_limits<uint64_t>::max() / dim))
          fail(where + "shape " + brief(*shape) + " overflows");
        bytes *= dim;
        e.shape.push_back(static_cast<int64_t>(dim));
      }
      const auto offsets = value.find("data_offsets");
      if (offsets == value.end() || !offsets->is_array() || offsets->size() != 2 ||
          !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned())
        fail(where + "'data_offsets' must be two non-negative integers");
      e.begin = (*offsets)[0].get<uint64_t>();
      e.end = (*offsets)[1].get<uint64_t>();
      if (e.begin > e.end || e.end > data_size)
        fail(where + "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
             "] lie outside the " + std::to_string(data_size) + "-byte data section");
      if (e.end - e.begin != bytes)
        fail(where + "dtype " + e.dtype + " and shape " + shape_string(e.shape) + " need " +
             std::to_string(bytes) + " bytes but data_offsets span " +
             std::to_string(e.end - e.begin));
      if (e.begin != e.end) ranges.emplace_back(e.begin, e.end);
      tensors_.emplace(key, std::move(e));
    }
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i)
      if (ranges[i].first < ranges[i - 1].second) fail("two tensors' data ranges overlap");
  }

  std::string name_;
  std::string bytes_;
  size_t data_offset_ = 0;
  std::map<std::string, SafetensorsEntry> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace mobilenet
