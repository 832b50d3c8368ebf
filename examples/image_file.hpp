#pragma once
// Decoding image files for the tools (JPEG, PNG, BMP, ... through stb_image, Debian's
// libstb-dev). Include from one translation unit per program: it holds stb's implementation.

#include <cstdint>
#include <string>
#include <vector>

#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
// A hostile header may declare any size; stb then allocates it. Refuse sides above 16384 pixels
// (a 16384x16384 RGB image is 768 MiB), stb's own check runs before it allocates.
#define STBI_MAX_DIMENSIONS (1 << 14)
#include <stb/stb_image.h>

#include "mobilenet/core/error.hpp"

namespace cli {

/// An image's pixels as 8-bit RGB, row-major.
struct RgbImage {
  std::vector<uint8_t> pixels;
  int width = 0, height = 0;
};

/// Decodes `path` to RGB.
/// @throws mobilenet::Error naming the file and stb's reason if it cannot be decoded.
inline RgbImage decode_rgb(const std::string& path) {
  int w = 0, h = 0, channels = 0;
  stbi_uc* p = stbi_load(path.c_str(), &w, &h, &channels, 3);
  if (!p) throw mobilenet::Error(path + ": cannot decode image (" + stbi_failure_reason() + ")");
  RgbImage image{std::vector<uint8_t>(p, p + static_cast<std::size_t>(w) * h * 3), w, h};
  stbi_image_free(p);
  return image;
}

}  // namespace cli
