#pragma once
// NumPy .npy files (format versions 1-3) holding little-endian float32 arrays in C order: the
// scripting interface of mobilenet-infer. https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "mobilenet/core/error.hpp"

namespace mobilenet {

/// A float32 array read from a .npy file.
struct NpyArray {
  std::vector<int64_t> shape;  ///< Dimensions, outermost first (empty for a scalar).
  std::vector<float> data;     ///< The elements in C (row-major) order.
};

namespace detail {

/// The value text following `'key':` in a .npy header dict, up to the next top-level comma.
inline std::string npy_field(const std::string& header, const std::string& key,
                             const std::string& name) {
  const std::string quoted = "'" + key + "'";
  const size_t k = header.find(quoted);
  if (k == std::string::npos) throw Error(name + ": .npy header has no '" + key + "' field");
  size_t p = header.find(':', k + quoted.size());
  if (p == std::string::npos) throw Error(name + ": malformed .npy header");
  ++p;
  while (p < header.size() && header[p] == ' ') ++p;
  size_t end = p;
  if (p < header.size() && header[p] == '(') {
    end = header.find(')', p);
    if (end == std::string::npos) throw Error(name + ": malformed shape in .npy header");
    ++end;
  } else {
    while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  }
  return header.substr(p, end - p);
}

}  // namespace detail

/// Parses the bytes of a .npy file; `name` is used in error messages.
/// @throws Error if the bytes are not a little-endian float32 C-order .npy array.
inline NpyArray parse_npy(const std::string& bytes, const std::string& name) {
  static const char kMagic[] = "\x93NUMPY";
  if (bytes.size() < 10 || bytes.compare(0, 6, kMagic, 6) != 0)
    throw Error(name + ": not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0, start = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8;
    start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw Error(name + ": truncated .npy header");
    for (int i = 3; i >= 0; --i) header_len = header_len << 8 | static_cast<unsigned char>(bytes[8 + static_cast<size_t>(i)]);
    start = 12;
  } else {
    throw Error(name + ": unsupported .npy format version " + std::to_string(major));
  }
  if (header_len > bytes.size() - start) throw Error(name + ": .npy header runs past the end of the file");
  const std::string header = bytes.substr(start, header_len);
  std::string descr = detail::npy_field(header, "descr", name);
  if (descr != "'<f4'" && descr != "'f4'")
    throw Error(name + ": dtype " + descr + " is not supported; expected little-endian float32 ('<f4')");
  if (detail::npy_field(header, "fortran_order", name) != "False")
    throw Error(name + ": Fortran-ordered arrays are not supported; save a C-contiguous array");
  const std::string shape_text = detail::npy_field(header, "shape", name);
  if (shape_text.size() < 2 || shape_text.front() != '(' || shape_text.back() != ')')
    throw Error(name + ": malformed shape " + shape_text + " in .npy header; expected a tuple");
  NpyArray a;
  uint64_t count = 1;
  size_t i = 1;
  while (i + 1 < shape_text.size()) {
    while (i < shape_text.size() && (shape_text[i] == ' ' || shape_text[i] == ',')) ++i;
    if (i + 1 >= shape_text.size()) break;
    size_t used = 0;
    long long d = 0;
    try {
      d = std::stoll(shape_text.substr(i), &used);
    } catch (const std::exception&) {
      throw Error(name + ": malformed shape " + shape_text + " in .npy header");
    }
    if (d < 0 || (d > 0 && count > std::numeric_limits<uint64_t>::max() / 4 / static_cast<uint64_t>(d)))
      throw Error(name + ": invalid shape " + shape_text + " in .npy header");
    count *= static_cast<uint64_t>(d);
    a.shape.push_back(d);
    i += used;
  }
  const size_t data_start = start + header_len;
  if (bytes.size() - data_start != count * 4)
    throw Error(name + ": shape " + shape_text + " needs " + std::to_string(count * 4) +
                " bytes of float32 data but the file has " + std::to_string(bytes.size() - data_start));
  a.data.resize(static_cast<size_t>(count));
  if (count) std::memcpy(a.data.data(), bytes.data() + data_start, static_cast<size_t>(count) * 4);
  return a;
}

/// Reads a little-endian float32 C-order .npy file.
/// @throws Error naming `path` if it cannot be read or holds another kind of array.
inline NpyArray read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open file");
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return parse_npy(bytes, path);
}

/// Writes a little-endian float32 C-order .npy file (format version 1) of `shape` from `data`,
/// which holds the product of `shape` elements.
/// @throws Error if the file cannot be written.
inline void write_npy(const std::string& path, const std::vector<int64_t>& shape, const float* data) {
  std::string dims;
  uint64_t count = 1;
  for (int64_t d : shape) {
    dims += std::to_string(d) + ", ";
    count *= static_cast<uint64_t>(d);
  }
  if (shape.size() > 1) dims.resize(dims.size() - 1);  // "(2, 3,)" and "(5,)": both valid tuples
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  header += std::string(63 - (10 + header.size()) % 64, ' ') + "\n";  // pad to 64 bytes
  std::ofstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open for writing");
  const char preamble[8] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0};
  const uint16_t len = static_cast<uint16_t>(header.size());
  const char len_bytes[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  f.write(preamble, 8);
  f.write(len_bytes, 2);
  f.write(header.data(), static_cast<std::streamsize>(header.size()));
  f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(count * 4));
  if (!f) throw Error(path + ": write failed");
}

}  // namespace mobilenet
