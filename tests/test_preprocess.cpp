// mobilenet::preprocess on photographs against torchvision's and timm's evaluation transforms on
// PIL images (tests/make_preprocess_fixtures.py: skimage's sample photographs and odd-sized crops,
// shrunk and enlarged, bilinear and bicubic). The resampling follows Pillow's fixed-point
// arithmetic, so every element is expected equal; the test reports how many differ and fails if
// any differs by more than one 8-bit step (1/255 of the input range, divided by the std).

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "mobilenet/io/npy.hpp"
#include "mobilenet/io/preprocess.hpp"
#include "mobilenet/models/metadata.hpp"

namespace {

using namespace mobilenet;

const std::string kFixtures = std::string(MOBILENET_FIXTURES_DIR) + "/preprocess";

/// The presets of make_preprocess_fixtures.py, as a weight file's metadata gives them.
PreprocessOptions preset(const std::string& name) {
  ModelMetadata m;
  m.input_size = 224;
  m.resize_size = 256;
  if (name != "torchvision") {
    std::fill(m.mean, m.mean + 3, 0.5f);
    std::fill(m.std, m.std + 3, 0.5f);
    m.interpolation = name == "timm_bicubic" ? Interpolation::Bicubic : Interpolation::Bilinear;
  }
  return m.preprocess_options();
}

TEST(Preprocess, PhotographsMatchTorchvisionAndTimmOnPilImages) {
  std::ifstream f(kFixtures + "/cases.txt");
  ASSERT_TRUE(f) << "run tests/make_preprocess_fixtures.py (ctest runs it)";
  std::string image, name;
  int cases = 0;
  while (f >> image >> name) {
    SCOPED_TRACE(image + " " + name);
    const NpyArray px = read_npy(kFixtures + "/" + image + ".npy");
    ASSERT_EQ(px.shape.size(), 3u);
    std::vector<uint8_t> rgb(px.data.size());
    for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(px.data[i]);
    const int h = static_cast<int>(px.shape[0]), w = static_cast<int>(px.shape[1]);
    const PreprocessOptions o = preset(name);
    const Tensor got = preprocess(rgb.data(), w, h, int64_t{w} * 3, PixelFormat::RGB, o);
    const NpyArray want = read_npy(kFixtures + "/" + image + "_" + name + ".npy");
    ASSERT_EQ(want.shape, (std::vector<int64_t>{1, 3, 224, 224}));
    int differing = 0;
    double worst_steps = 0;
    for (int64_t y = 0; y < 224; ++y)
      for (int64_t x = 0; x < 224; ++x)
        for (int64_t c = 0; c < 3; ++c) {
          const float g = got.data()[(y * 224 + x) * 3 + c];
          const float e = want.data[static_cast<size_t>((c * 224 + y) * 224 + x)];
          if (g != e) {
            ++differing;
            worst_steps = std::max(worst_steps, std::abs(double(g) - e) * o.std[c] * 255.0);
          }
        }
    std::printf("[preprocess] %-18s %-14s %4dx%-4d differing elements %d (worst %.3g steps)\n",
                image.c_str(), name.c_str(), w, h, differing, worst_steps);
    EXPECT_LE(worst_steps, 1.0 + 1e-3);
    EXPECT_EQ(differing, 0) << "Pillow's arithmetic should be followed exactly";
    ++cases;
  }
  EXPECT_EQ(cases, 18);
}

TEST(Preprocess, InterpolationNames) {
  EXPECT_EQ(parse_interpolation("bicubic"), Interpolation::Bicubic);
  EXPECT_STREQ(to_string(Interpolation::Bilinear), "bilinear");
  EXPECT_THROW(parse_interpolation("lanczos"), Error);
}

}  // namespace
