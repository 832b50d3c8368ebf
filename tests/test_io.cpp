// Loading: safetensors validation, key-by-key weight checks (every missing, unexpected or
// mis-shaped tensor named in one error), dtype conversion, metadata, .npy and preprocessing.

#include <gtest/gtest.h>

#include <cstdio>

#include "mobilenet/mobilenet.hpp"
#include "error_expectations.hpp"
#include "safetensors_writer.hpp"

namespace {

using namespace mobilenet;
using testing_io::make_safetensors;
using testing_io::NamedTensor;

std::string io_temp_path(const std::string& name) {
  return testing_io::temp_path("mobilenet_io_", name);
}
using testing_io::expect_error_containing;

TEST(Safetensors, ReadsTensorsAndMetadata) {
  const std::string bytes = make_safetensors({{"a", {{2, 3}, {1, 2, 3, 4, 5, 6}}}, {"b", {{1}, {7}}}},
                                             {{"arch", "v2"}});
  const SafetensorsFile f("mem", bytes);
  EXPECT_EQ(f.tensors().at("a").shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(f.read_float("a")[5], 6.0f);
  EXPECT_EQ(f.read_float("b")[0], 7.0f);
  EXPECT_EQ(f.metadata().at("arch"), "v2");
}

TEST(Safetensors, ConvertsF16AndBF16) {
  // 1.5 is 0x3E00 in IEEE half and 0x3FC0 in bfloat16; -2 is 0xC000 in both.
  const std::string header = R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]}})";
  std::string data = {'\x00', '\x3e', '\x00', '\xc0', '\xc0', '\x3f', '\x00', '\xc0'};
  const SafetensorsFile f("mem", testing_io::header_length_bytes(header.size()) + header + data);
  EXPECT_EQ(f.read_float("h"), (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(f.read_float("b"), (std::vector<float>{1.5f, -2.0f}));
}

TEST(Safetensors, RejectsMalformedFiles) {
  const auto with_header = [](const std::string& h, size_t data_bytes) {
    return testing_io::header_length_bytes(h.size()) + h + std::string(data_bytes, '\0');
  };
  const std::pair<std::string, std::string> cases[] = {
      {"", "too short"},
      {std::string(5, 'x'), "too short"},
      {testing_io::header_length_bytes(1ull << 40), "exceeds"},
      {testing_io::header_length_bytes(100) + "{}", "past the end"},
      {with_header("{not json", 0), "not valid JSON"},
      {with_header("[]", 0), "not a JSON object"},
      {with_header(R"({"t":{"dtype":"F99","shape":[1],"data_offsets":[0,4]}})", 4), "unknown dtype"},
      {with_header(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4), "need 8 bytes"},
      {with_header(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", 4), "outside"},
      {with_header(R"({"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4), "non-negative"},
      {with_header(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", 4), "outside"},
      {with_header(R"({"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4), "overflows"},
      {with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12), "overlap"},
      {with_header(R"({"t":{"shape":[1],"data_offsets":[0,4]}})", 4), "dtype"},
      {with_header(R"({"__metadata__":{"x":1}})", 0), "not a string"},
  };
  for (const auto& c : cases)  // not a structured binding: C++17 lambdas cannot capture one (clang)
    expect_error_containing([&] { SafetensorsFile("bad.safetensors", c.first); }, {"bad.safetensors", c.second});
  expect_error_containing([] { SafetensorsFile::open("/nonexistent/x.safetensors"); }, {"/nonexistent/x.safetensors", "cannot open"});
}

std::map<std::string, NamedTensor> expected_tensors(Arch arch, const ModelOptions& o) {
  const NetworkSpec spec = make_spec(arch, o);
  testing_io::RecordingWeights rec;
  Model(spec, rec, torchvision_keys(spec));
  return rec.requested;
}

TEST(Load, RoundTripsTorchvisionKeysWithMetadata) {
  auto tensors = expected_tensors(Arch::V3Small, {0.5, 10});
  EXPECT_TRUE(tensors.count("features.1.block.1.fc1.weight"));
  EXPECT_TRUE(tensors.count("classifier.3.bias"));
  tensors["features.0.1.num_batches_tracked"] = {{}, {0}};  // counters are ignored
  const std::string path = io_temp_path("ok.safetensors");
  testing_io::write_file(path, make_safetensors(tensors, {{"arch", "v3_small"}, {"width", "0.5"}, {"num_classes", "10"},
                                                          {"labels", R"(["zero","one","2","3","4","5","6","7","8","9"])"},
                                                          {"input_size", "32"}, {"resize_size", "36"}, {"mean", "0.5,0.5,0.5"}}));
  const Model m = load(path);
  EXPECT_EQ(m.arch(), Arch::V3Small);
  EXPECT_EQ(m.num_classes(), 10);
  EXPECT_EQ(m.metadata().labels.at(1), "one");
  EXPECT_EQ(m.metadata().input_size, 32);
  EXPECT_EQ(m.metadata().resize_size, 36);
  EXPECT_EQ(m.metadata().mean[2], 0.5f);
  EXPECT_EQ(m.metadata().std[0], 0.229f);
}

TEST(Load, NamesEveryMissingExtraAndMisshapedTensor) {
  auto tensors = expected_tensors(Arch::V2, {0.35, 7});
  tensors.erase("features.3.conv.1.0.weight");
  tensors["features.5.conv.0.1.bias"].shape = {3};
  tensors["features.5.conv.0.1.bias"].values.resize(3);
  tensors["extra.weight"] = {{2}, {1, 2}};
  const std::string path = io_temp_path("bad_keys.safetensors");
  testing_io::write_file(path, make_safetensors(tensors));
  expect_error_containing([&] { load(path, {Arch::V2, 0.35, 7}); },
                          {path, "3 problems", "missing tensor 'features.3.conv.1.0.weight' (expected shape [48, 1, 3, 3])",
                           "tensor 'features.5.conv.0.1.bias' has shape [3], expected [96]",
                           "unexpected tensor 'extra.weight'"});
}

TEST(Load, ReportsWrongArchitectureAndClassCount) {
  const std::string path = io_temp_path("v3s.safetensors");
  testing_io::write_file(path, make_safetensors(expected_tensors(Arch::V3Small, {1.0, 10}),
                                                {{"arch", "v3_small"}, {"num_classes", "10"}}));
  expect_error_containing([&] { load(path, {Arch::V3Small, 1.0, 1000}); },
                          {"classifier.3.weight' has shape [10, 1024], expected [1000, 1024]"});
  expect_error_containing([&] { load(path, {Arch::V3Large, {}, {}}); }, {"file metadata: arch=v3_small", "missing tensor"});
  const std::string bare = io_temp_path("bare.safetensors");
  testing_io::write_file(bare, make_safetensors(expected_tensors(Arch::V3Small, {1.0, 10})));
  expect_error_containing([&] { load(bare); }, {"names no architecture"});
  const std::string huge = io_temp_path("huge_classes.safetensors");
  testing_io::write_file(huge, make_safetensors(expected_tensors(Arch::V3Small, {1.0, 10}),
                                                {{"arch", "v3_small"}, {"num_classes", "1e10"}}));
  expect_error_containing([&] { load(huge); }, {"'num_classes' must be an integer in [1, 1048576], got '1e10'"});
  EXPECT_EQ(load(bare, {Arch::V3Small, {}, {}}).num_classes(), 10);  // from the classifier shape
}

TEST(Npy, RoundTripsAndRejectsBadFiles) {
  const std::string path = io_temp_path("x.npy");
  const std::vector<float> v = {1, 2, 3, 4, 5, 6};
  write_npy(path, {2, 1, 3}, v.data());
  const NpyArray a = read_npy(path);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 1, 3}));
  EXPECT_EQ(a.data, v);
  write_npy(path, {6}, v.data());
  EXPECT_EQ(read_npy(path).shape, (std::vector<int64_t>{6}));
  const auto npy = [](const std::string& header, size_t data) {
    std::string h = header;
    return std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(h.size()) + '\0' + h + std::string(data, '\0');
  };
  expect_error_containing([&] { parse_npy("garbage", "g.npy"); }, {"g.npy", "bad magic"});
  expect_error_containing([&] { parse_npy(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", 8), "d.npy"); }, {"'<f8'", "float32"});
  expect_error_containing([&] { parse_npy(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", 4), "f.npy"); }, {"Fortran"});
  expect_error_containing([&] { parse_npy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 4), "s.npy"); }, {"needs 12 bytes"});
  expect_error_containing([&] { parse_npy(npy("{'descr': '<f4', 'fortran_order': False, }", 4), "n.npy"); }, {"'shape'"});
}

TEST(Preprocess, IdentityResizeOnlyNormalises) {
  std::vector<uint8_t> rgb(5 * 5 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(i * 7);
  PreprocessOptions o;
  o.resize_size = o.crop_size = 5;
  const Tensor t = preprocess(rgb.data(), 5, 5, 15, PixelFormat::RGB, o);
  for (size_t i = 0; i < rgb.size(); ++i)
    ASSERT_FLOAT_EQ(t.data()[i], (rgb[i] / 255.0f - o.mean[i % 3]) / o.std[i % 3]);
  // BGR input gives the same tensor as RGB with the channels swapped.
  std::vector<uint8_t> bgr(rgb);
  for (size_t p = 0; p < 25; ++p) std::swap(bgr[p * 3], bgr[p * 3 + 2]);
  const Tensor tb = preprocess(bgr.data(), 5, 5, 15, PixelFormat::BGR, o);
  for (size_t i = 0; i < rgb.size(); ++i) ASSERT_EQ(tb.data()[i], t.data()[i]);
}

TEST(Preprocess, ExtremeAspectRatiosWorkOnTheCropWindowOnly) {
  // A 1 x 200000 strip: resized to 224 x 44800000 in principle; only the crop is computed.
  std::vector<uint8_t> strip(200000, 77);
  PreprocessOptions o;
  o.resize_size = o.crop_size = 224;
  const Tensor t = preprocess(strip.data(), 200000, 1, 200000, PixelFormat::Gray, o);
  for (int64_t i = 0; i < t.numel(); i += 3) ASSERT_FLOAT_EQ(t.data()[i], (77 / 255.0f - o.mean[0]) / o.std[0]);
}

TEST(Preprocess, ResizesShorterSideAndCropsCentre) {
  // A constant image stays constant through resize and crop; a stride larger than the row works.
  const int w = 40, h = 30, stride = 43 * 4;
  std::vector<uint8_t> rgba(static_cast<size_t>(h * stride), 9);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint8_t* p = &rgba[static_cast<size_t>(y * stride + x * 4)];
      p[0] = 200, p[1] = 100, p[2] = 50, p[3] = 255;
    }
  PreprocessOptions o;
  o.resize_size = 20;
  o.crop_size = 16;
  const Tensor t = preprocess(rgba.data(), w, h, stride, PixelFormat::RGBA, o);
  ASSERT_EQ(t.shape(), (Shape{1, 16, 16, 3}));
  for (int64_t i = 0; i < t.numel(); i += 3) ASSERT_FLOAT_EQ(t.data()[i], (200 / 255.0f - o.mean[0]) / o.std[0]);
  expect_error_containing([&] { preprocess(rgba.data(), 0, h, stride, PixelFormat::RGBA, o); }, {"must be positive"});
  expect_error_containing([&] { preprocess(rgba.data(), w, h, 10, PixelFormat::RGBA, o); }, {"row stride"});
  o.resize_size = 1 << 20;
  expect_error_containing([&] { preprocess(rgba.data(), w, h, stride, PixelFormat::RGBA, o); }, {"resize_size <="});
}

}  // namespace
