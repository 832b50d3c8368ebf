// Keras weight files (issue: TensorFlow-trained MobileNets): keras.applications' MobileNet,
// MobileNetV2 and MobileNetV3 (Large, Small, minimalistic) layouts written by
// tests/make_keras_fixtures.py from seeded torch weights, exported by tools/export_weights.py
// --keras, loaded with no flag but the file, against torch running the same network with BatchNorm
// eps 1e-3 and TensorFlow's padding, at 224x224 and 230x197 (V1: 192x160, Keras' V1 padding being
// SAME on even sides only).

#include <gtest/gtest.h>

#include <array>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "error_expectations.hpp"
#include "mobilenet/mobilenet.hpp"
#include "parity_helpers.hpp"
#include "safetensors_writer.hpp"

namespace {

using namespace mobilenet;

const std::string kKerasFixtures = std::string(MOBILENET_FIXTURES_DIR) + "/keras";

struct KerasCase {
  std::string model, arch;
  double width = 0;
  int classes = 0;
  bool minimal = false;
  std::string size;
  int64_t batch = 0, height = 0, width_px = 0;
};

std::vector<KerasCase> keras_cases() {
  std::ifstream f(kKerasFixtures + "/cases.txt");
  if (!f)
    throw Error(kKerasFixtures +
                "/cases.txt missing: run tests/make_keras_fixtures.py (ctest runs it)");
  std::vector<KerasCase> out;
  KerasCase c;
  while (f >> c.model >> c.arch >> c.width >> c.classes >> c.minimal >> c.size >> c.batch >>
         c.height >> c.width_px)
    out.push_back(c);
  return out;
}

TEST(Keras, ExportedFilesCarryTheirVariantAndMatchTorch) {
  const auto cases = keras_cases();
  ASSERT_EQ(cases.size(), 14u)
      << "V1 and V2 at two widths, V3 Large, Small and minimal, two sizes each";
  for (const KerasCase& c : cases) {
    SCOPED_TRACE(c.model + " " + c.size);
    const std::string dir = kKerasFixtures + "/" + c.model;
    const Model m = load(dir + "/model.safetensors");
    EXPECT_EQ(m.arch(), parse_arch(c.arch));
    // V1 (ReLU6) and V3 (the tf_ network, its head 1280/1024 wide at 0.75) follow timm's
    // definitions under timm's names.
    EXPECT_EQ(m.spec().scheme, c.arch == "v2" ? Scheme::Torchvision : Scheme::Timm);
    // Minimalistic: ReLU after the stem, no squeeze-excite anywhere.
    const Activation stem = c.arch == "v1" || c.arch == "v2" ? Activation::ReLU6
                            : c.minimal                      ? Activation::ReLU
                                                             : Activation::HardSwish;
    EXPECT_EQ(m.spec().stem_act, stem);
    if (c.minimal) {
      for (const BlockSpec& b : m.spec().blocks) EXPECT_EQ(b.squeeze, 0);
    }
    EXPECT_EQ(m.spec().width, c.width);
    EXPECT_EQ(m.num_classes(), c.classes);
    EXPECT_EQ(m.spec().padding, PaddingMode::TfSame);
    EXPECT_EQ(m.spec().bn_eps, 1e-3);
    // Keras' x / 127.5 - 1, resized to the input size.
    EXPECT_EQ(m.metadata().mean[0], 0.5f);
    EXPECT_EQ(m.metadata().std[1], 0.5f);
    EXPECT_EQ(m.metadata().resize_size, 224);
    const Tensor x = parity::nhwc_from_npy(dir + "/input_" + c.size + ".npy");
    EXPECT_EQ(x.shape(), (Shape{c.batch, c.height, c.width_px, 3}));
    const NpyArray expected = read_npy(dir + "/expected_" + c.size + ".npy");
    const parity::Deviation d = parity::deviation(parity::run(m, x), expected);
    EXPECT_LE(d.max_diff, d.tolerance());
    std::printf("[keras] %-8s %-8s max|ref| %8.4f  max|diff| %.3g  (tolerance %.3g)\n",
                c.model.c_str(), c.size.c_str(), d.max_ref, d.max_diff, d.tolerance());

    // What the metadata keys are for: without them the same weights miss the reference.
    LoadOptions symmetric;
    symmetric.padding = PaddingMode::Torch;
    const parity::Deviation off =
        parity::deviation(parity::run(load(dir + "/model.safetensors", symmetric), x), expected);
    EXPECT_GT(off.max_diff, off.tolerance()) << "symmetric padding passed";
  }
}

TEST(Keras, BadVariantMetadataIsRefused) {
  const std::string file = testing_io::temp_path("keras", "bad_eps.safetensors");
  for (const auto& [key, value, message] : std::vector<std::array<std::string, 3>>{
           {"bn_eps", "-1", "metadata 'bn_eps' must be in [0, 1), got '-1'"},
           {"bn_eps", "x", "metadata 'bn_eps' is not a number: 'x'"},
           {"minimal", "yes", "metadata 'minimal' must be true or false, got 'yes'"}}) {
    SCOPED_TRACE(key + "=" + value);
    const SafetensorsFile in = SafetensorsFile::open(kKerasFixtures + "/v2_a035/model.safetensors");
    std::map<std::string, testing_io::NamedTensor> tensors;
    for (const auto& [name, e] : in.tensors()) tensors[name] = {e.shape, in.read_float(name)};
    std::map<std::string, std::string> meta = in.metadata();
    meta[key] = value;
    testing_io::write_file(file, testing_io::make_safetensors(tensors, meta));
    testing_io::expect_error_containing([&] { load(file); }, {file + ": " + message});
  }
}

}  // namespace
