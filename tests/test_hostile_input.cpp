// Hostile input (issue 5): malformed weight files, mismatched models and malformed .npy files
// are refused with a mobilenet::Error naming the file and the problem, never a crash, hang or
// silent corruption; NaN and infinity in weights or inputs propagate as IEEE values, and the
// loader's strict mode refuses non-finite weights.
//
// Each table row builds a file in memory, writes it to a private temporary path, loads it
// through the public API and checks the error names that path and contains the row's fragments.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "mobilenet/mobilenet.hpp"
#include "safetensors_writer.hpp"

namespace {

using namespace mobilenet;
using testing_io::NamedTensor;

/// A path under the test temp dir unique to this process (ctest runs cases, and other build
/// trees, in parallel), removed when the guard goes out of scope.
struct TempFile {
  std::string path;
  TempFile(const std::string& name, const std::string& bytes)
      : path(::testing::TempDir() + "/mobilenet_hostile_" + std::to_string(::getpid()) + "_" + name) {
    testing_io::write_file(path, bytes);
  }
  ~TempFile() { std::remove(path.c_str()); }
};

/// Runs `f` and checks it throws a mobilenet::Error containing every fragment.
void expect_error(const std::function<void()>& f, const std::vector<std::string>& fragments) {
  try {
    f();
    ADD_FAILURE() << "expected a mobilenet::Error containing '" << fragments.back() << "'";
  } catch (const Error& e) {
    for (const auto& p : fragments)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << "'" << p << "' not in: " << e.what();
  }
}

// ---------------------------------------------------------------------------------------------
// Building files

/// An 8-byte little-endian length, `header` verbatim, then `data`.
std::string raw_file(const std::string& header, const std::string& data = "") {
  return testing_io::header_length_bytes(header.size()) + header + data;
}
std::string raw_file(const std::string& header, size_t zero_bytes) {
  return raw_file(header, std::string(zero_bytes, '\0'));
}

/// A small well-formed file: two F32 tensors and metadata (what the truncation rows cut up).
std::string small_valid_file() {
  return testing_io::make_safetensors({{"a", {{2, 3}, {1, 2, 3, 4, 5, 6}}}, {"b", {{4}, {7, 8, 9, 10}}}},
                                      {{"arch", "v3_small"}});
}

/// `n` seeded pseudo-random bytes.
std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

/// Every tensor a V3-Small, width 0.5, 10-class model asks for (torchvision names, PyTorch
/// shapes, seeded values): the base of the model-mismatch rows.
const std::map<std::string, NamedTensor>& v3_small_tensors() {
  static const std::map<std::string, NamedTensor> tensors = [] {
    const NetworkSpec spec = make_spec(Arch::V3Small, {0.5, 10});
    testing_io::RecordingWeights rec;
    Model(spec, rec, torchvision_keys(spec));
    return rec.requested;
  }();
  return tensors;
}

const std::map<std::string, std::string> kV3SmallMetadata = {
    {"arch", "v3_small"}, {"width", "0.5"}, {"num_classes", "10"}};

/// The V3-Small file after `edit` changed its tensors and `meta` its metadata.
std::string model_file(const std::function<void(std::map<std::string, NamedTensor>&)>& edit = {},
                       const std::map<std::string, std::string>& meta = kV3SmallMetadata) {
  auto tensors = v3_small_tensors();
  if (edit) edit(tensors);
  return testing_io::make_safetensors(tensors, meta);
}

/// The V3-Small file with metadata `key` set to `value`.
std::string model_file_with(const std::string& key, const std::string& value) {
  auto meta = kV3SmallMetadata;
  meta[key] = value;
  return model_file({}, meta);
}

/// A file whose tensor `name` is stored as I64 (same shape) and every other one as F32.
std::string model_file_with_int64(const std::string& name) {
  nlohmann::json header = {{"__metadata__", kV3SmallMetadata}};
  std::string data;
  for (const auto& [key, t] : v3_small_tensors()) {
    const uint64_t begin = data.size();
    if (key == name) {
      for (float v : t.values) {
        const int64_t i = static_cast<int64_t>(v);
        data.append(reinterpret_cast<const char*>(&i), sizeof i);
      }
    } else {
      data.append(reinterpret_cast<const char*>(t.values.data()), t.values.size() * sizeof(float));
    }
    header[key] = {{"dtype", key == name ? "I64" : "F32"}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
  }
  return raw_file(header.dump(), data);
}

/// `open` + `close`, nested `depth` times: JSON deeper than any safetensors header.
std::string nested(const std::string& open, const std::string& close, int depth) {
  std::string s;
  for (int i = 0; i < depth; ++i) s += open;
  for (int i = 0; i < depth; ++i) s += close;
  return s;
}

// ---------------------------------------------------------------------------------------------
// The weight-file table

struct HostileWeights {
  const char* name;
  std::function<std::string()> bytes;  // the file's content
  // What load() is asked for on top of the metadata; null: the defaults. (A function, not a
  // LoadOptions member: GCC 12 reports that member's std::string as "may be used uninitialized"
  // while it copies the table's rows, a false positive.)
  LoadOptions (*options)();
  std::vector<std::string> fragments;  // each must appear in the error, as must the file's path
};

void PrintTo(const HostileWeights& c, std::ostream* os) { *os << c.name; }

LoadOptions strict() {
  LoadOptions o;
  o.reject_non_finite = true;
  return o;
}

const std::string kF32One = R"("dtype":"F32","shape":[1],"data_offsets":[0,4])";

const HostileWeights kHostileWeights[] = {
    // Sizes and the header length.
    {"Empty", [] { return std::string(); }, {}, {"file is 0 bytes, too short"}},
    {"SevenBytes", [] { return std::string(7, '\x01'); }, {}, {"file is 7 bytes, too short"}},
    {"ZeroFilled", [] { return std::string(4096, '\0'); }, {}, {"header is not valid JSON"}},
    {"RandomBytes", [] { return random_bytes(4096, 1); }, {}, {"exceeds the 67108864-byte limit"}},
    {"HeaderLengthHuge", [] { return testing_io::header_length_bytes(~0ull) + "{}"; }, {},
     {"header length 18446744073709551615 exceeds"}},
    {"HeaderLengthPastEnd", [] { return testing_io::header_length_bytes(100) + "{}"; }, {},
     {"header length 100 runs past the end of the 10-byte file"}},
    {"HeaderLengthZero", [] { return raw_file("", 16); }, {}, {"header is not valid JSON"}},
    {"HeaderLengthCutsJson", [] { return testing_io::header_length_bytes(5) + R"({"t":{}})"; }, {},
     {"header is not valid JSON"}},
    // A valid file cut short at various points.
    {"TruncatedInLength", [] { return small_valid_file().substr(0, 5); }, {}, {"file is 5 bytes, too short"}},
    {"TruncatedAfterLength", [] { return small_valid_file().substr(0, 8); }, {}, {"runs past the end of the 8-byte file"}},
    {"TruncatedInHeader", [] { return small_valid_file().substr(0, 40); }, {}, {"runs past the end of the 40-byte file"}},
    {"TruncatedAtData", [] { const std::string f = small_valid_file(); return f.substr(0, f.size() - 40); }, {},
     {"data_offsets [0, 24] lie outside the 0-byte data section"}},
    {"TruncatedInData", [] { const std::string f = small_valid_file(); return f.substr(0, f.size() - 3); }, {},
     {"data_offsets [24, 40] lie outside the 37-byte data section"}},
    // The JSON itself.
    {"InvalidJson", [] { return raw_file("{not json"); }, {}, {"header is not valid JSON"}},
    {"TrailingGarbage", [] { return raw_file("{} x"); }, {}, {"header is not valid JSON"}},
    {"NulInHeader", [] { return raw_file(std::string("{\"t\0\":1}", 8)); }, {}, {"header is not valid JSON"}},
    {"InvalidUtf8Key", [] { return raw_file("{\"\xff\xfe\":{}}"); }, {}, {"header is not valid JSON"}},
    {"HeaderIsArray", [] { return raw_file("[]"); }, {}, {"header is not a JSON object"}},
    {"HeaderIsString", [] { return raw_file(R"("weights")"); }, {}, {"header is not a JSON object"}},
    {"DeeplyNestedArrays", [] { return raw_file(nested("[", "]", 100000)); }, {}, {"header nests JSON deeper than 8 levels"}},
    {"DeeplyNestedInShape", [] { return raw_file(R"({"t":{"dtype":"F32","shape":)" + nested("[", "]", 100000) + "}}"); }, {},
     {"nests JSON deeper than 8 levels"}},
    // Duplicate keys: nlohmann would silently keep the last one.
    {"DuplicateTensor",
     [] { return raw_file("{\"t\":{" + kF32One + "},\"t\":{" + kF32One + "}}", 4); }, {},
     {"header has a duplicate key 't'"}},
    {"DuplicateFieldInEntry",
     [] { return raw_file(R"({"t":{"dtype":"F32","dtype":"I8","shape":[1],"data_offsets":[0,4]}})", 4); }, {},
     {"duplicate key 'dtype'"}},
    {"DuplicateMetadata", [] { return raw_file(R"({"__metadata__":{},"__metadata__":{"arch":"v2"}})"); }, {},
     {"duplicate key '__metadata__'"}},
    {"DuplicateMetadataKey", [] { return raw_file(R"({"__metadata__":{"arch":"v2","arch":"v3_small"}})"); }, {},
     {"duplicate key 'arch'"}},
    // Tensor entries of the wrong types.
    {"EntryNotObject", [] { return raw_file(R"({"t":[1,2]})"); }, {}, {"tensor 't': entry is not a JSON object"}},
    {"DtypeMissing", [] { return raw_file(R"({"t":{"shape":[1],"data_offsets":[0,4]}})", 4); }, {}, {"missing string 'dtype'"}},
    {"DtypeNotString", [] { return raw_file(R"({"t":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})", 4); }, {},
     {"tensor 't': missing string 'dtype'"}},
    {"DtypeUnknown", [] { return raw_file(R"({"t":{"dtype":"F99","shape":[1],"data_offsets":[0,4]}})", 4); }, {},
     {"unknown dtype 'F99'"}},
    {"DtypeLowercase", [] { return raw_file(R"({"t":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}})", 4); }, {},
     {"unknown dtype 'f32'"}},
    {"ShapeMissing", [] { return raw_file(R"({"t":{"dtype":"F32","data_offsets":[0,4]}})", 4); }, {}, {"missing array 'shape'"}},
    {"ShapeNotArray", [] { return raw_file(R"({"t":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})", 4); }, {},
     {"missing array 'shape'"}},
    {"NegativeDim", [] { return raw_file(R"({"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4); }, {},
     {"shape has a dimension (-1) that is not a non-negative integer"}},
    {"FloatDim", [] { return raw_file(R"({"t":{"dtype":"F32","shape":[2.5],"data_offsets":[0,4]}})", 4); }, {},
     {"shape has a dimension (2.5) that is not a non-negative integer"}},
    {"StringDim", [] { return raw_file(R"({"t":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}})", 4); }, {},
     {"shape has a dimension (\"1\")"}},
    {"NestedDim", [] { return raw_file(R"({"t":{"dtype":"F32","shape":[[1]],"data_offsets":[0,4]}})", 4); }, {},
     {"shape has a dimension ([1])"}},
    {"DimBeyondUint64", [] { return raw_file(R"({"t":{"dtype":"F32","shape":[99999999999999999999999],"data_offsets":[0,4]}})", 4); }, {},
     {"that is not a non-negative integer"}},
    {"DimAboveInt64", [] { return raw_file(R"({"t":{"dtype":"U8","shape":[9223372036854775808],"data_offsets":[0,4]}})", 4); }, {},
     {"shape [9223372036854775808] overflows"}},
    {"ShapeProductOverflows",
     [] { return raw_file(R"({"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4); }, {},
     {"shape [4294967296,4294967296] overflows"}},
    {"ProductWrapsToZeroBytes",  // 2^62 x 4 bytes is 0 mod 2^64: must not pass as an empty tensor
     [] { return raw_file(R"({"t":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})"); }, {},
     {"overflows"}},
    // data_offsets.
    {"OffsetsMissing", [] { return raw_file(R"({"t":{"dtype":"F32","shape":[1]}})", 4); }, {},
     {"'data_offsets' must be two non-negative integers"}},
    {"OffsetsThreeValues", [] { return raw_file(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})", 8); }, {},
     {"'data_offsets' must be two non-negative integers"}},
    {"OffsetsNegative", [] { return raw_file(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", 4); }, {},
     {"'data_offsets' must be two non-negative integers"}},
    {"OffsetsStrings", [] { return raw_file(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":["0","4"]}})", 4); }, {},
     {"'data_offsets' must be two non-negative integers"}},
    {"OffsetsPastData", [] { return raw_file(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", 4); }, {},
     {"data_offsets [0, 8] lie outside the 4-byte data section"}},
    {"OffsetsHugeEnd",
     [] { return raw_file(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,18446744073709551615]}})", 4); }, {},
     {"lie outside the 4-byte data section"}},
    {"BeginAfterEnd", [] { return raw_file(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", 4); }, {},
     {"data_offsets [4, 0] lie outside"}},
    {"ByteLengthMismatch", [] { return raw_file(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4); }, {},
     {"dtype F32 and shape [2] need 8 bytes but data_offsets span 4"}},
    {"OverlappingTensors",
     [] { return raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12); },
     {}, {"two tensors' data ranges overlap"}},
    // __metadata__.
    {"MetadataNotObject", [] { return raw_file(R"({"__metadata__":["arch","v2"]})"); }, {}, {"__metadata__ is not a JSON object"}},
    {"MetadataNumber", [] { return raw_file(R"({"__metadata__":{"width":1.0}})"); }, {}, {"__metadata__ value for 'width' is not a string"}},
    {"MetadataNull", [] { return raw_file(R"({"__metadata__":{"arch":null}})"); }, {}, {"__metadata__ value for 'arch' is not a string"}},
    {"NoArchitecture", [] { return model_file({}, {}); }, {}, {"the file's metadata names no architecture"}},
    {"UnknownArchInMetadata", [] { return model_file_with("arch", "v4"); }, {}, {"metadata 'arch': unknown architecture 'v4'"}},
    {"WidthNotANumber", [] { return model_file_with("width", "half"); }, {}, {"metadata 'width' is not a number: 'half'"}},
    {"WidthOutOfRange", [] { return model_file_with("width", "9"); }, {}, {"width multiplier must be in (0, 8], got 9"}},
    {"ClassCountZero", [] { return model_file_with("num_classes", "0"); }, {}, {"'num_classes' must be an integer in [1, 1048576], got '0'"}},
    {"LabelsNotStrings", [] { return model_file_with("labels", "[1, 2]"); }, {}, {"metadata 'labels' is not a JSON array of strings"}},
    {"MeanTwoNumbers", [] { return model_file_with("mean", "0.5,0.5"); }, {}, {"metadata 'mean' needs three comma-separated numbers"}},
    // Metadata asking for a model far larger than the file: refused before allocating it.
    {"TinyFileHugeWidth", [] { return raw_file(R"({"__metadata__":{"arch":"v1","width":"8"}})"); }, {},
     {"the file holds 0 weight values but mobilenet v1 width 8 with 1000 classes", "weights; wrong architecture"}},
    {"TinyFileHugeClassCount", [] { return raw_file(R"({"__metadata__":{"arch":"v3_large","num_classes":"1048576"}})"); }, {},
     {"mobilenet v3_large width 1 with 1048576 classes", "wrong architecture, width or class count?"}},
    // Well-formed files that do not hold the model asked for: every offending key, one error.
    {"WrongShape",
     [] { return model_file([](auto& t) { t["features.0.1.running_var"] = {{9}, std::vector<float>(9, 1.0f)}; }); }, {},
     {"1 problem):", "tensor 'features.0.1.running_var' has shape [9], expected [8]"}},
    {"Transposed",
     [] {
       return model_file([](auto& t) {
         auto& w = t["classifier.0.weight"];
         std::swap(w.shape[0], w.shape[1]);
       });
     },
     {}, {"tensor 'classifier.0.weight' has shape [288, 512], expected [512, 288]"}},
    {"Renamed",
     [] {
       return model_file([](auto& t) {
         t["features.2.block.1.0.weights"] = t.at("features.2.block.1.0.weight");
         t.erase("features.2.block.1.0.weight");
       });
     },
     {},
     {"2 problems", "missing tensor 'features.2.block.1.0.weight' (expected shape [40, 1, 3, 3])",
      "unexpected tensor 'features.2.block.1.0.weights' with shape [40, 1, 3, 3]"}},
    {"Int64WhereFloatExpected", [] { return model_file_with_int64("features.0.1.running_var"); }, {},
     {"tensor 'features.0.1.running_var' has dtype I64, expected F32, F16 or BF16"}},
    {"WrongClassCount",
     [] { return model_file(); }, [] { LoadOptions o; o.num_classes = 12; return o; },
     {"weights do not match mobilenet v3_small width 0.5 with 12 classes", "2 problems",
      "tensor 'classifier.3.weight' has shape [10, 512], expected [12, 512]",
      "tensor 'classifier.3.bias' has shape [10], expected [12]"}},
    {"WrongWidth",
     [] { return model_file(); }, [] { LoadOptions o; o.width = 0.75; return o; },
     {"weights do not match mobilenet v3_small width 0.75", "tensor 'features.0.0.weight' has shape [8, 3, 3, 3], expected [16, 3, 3, 3]",
      "tensor 'classifier.3.weight' has shape [10, 512], expected [10, 768]"}},
    {"WrongArch", [] { return model_file(); }, [] { LoadOptions o; o.arch = Arch::V2; return o; },
     {"weights do not match mobilenet v2 width 0.5 with 10 classes (file metadata: arch=v3_small",
      "missing tensor 'features.1.conv.0.0.weight'", "unexpected tensor 'features.1.block.0.0.weight'"}},
    {"WrongArchInMetadata", [] { return model_file_with("arch", "v1"); }, {},
     {"weights do not match mobilenet v1 width 0.5", "missing tensor 'features.1.0.0.weight'", "unexpected tensor 'classifier.3.bias'"}},
    // Strict mode: non-finite weights are refused, naming the tensor.
    {"StrictNaN",
     [] { return model_file([](auto& t) { t["features.4.block.2.fc1.weight"].values[5] = std::nanf(""); }); }, strict,
     {"tensor 'features.4.block.2.fc1.weight' holds a non-finite value (nan) at index 5; rejected in strict mode"}},
    {"StrictInfinity",
     [] { return model_file([](auto& t) { t["classifier.3.bias"].values[9] = -std::numeric_limits<float>::infinity(); }); }, strict,
     {"tensor 'classifier.3.bias' holds a non-finite value (-inf) at index 9"}},
};

class HostileWeightFile : public ::testing::TestWithParam<HostileWeights> {};

TEST_P(HostileWeightFile, IsRefusedWithAnErrorNamingFileAndProblem) {
  const HostileWeights& c = GetParam();
  const TempFile file(std::string(c.name) + ".safetensors", c.bytes());
  std::vector<std::string> fragments = c.fragments;
  fragments.insert(fragments.begin(), file.path + ": ");
  expect_error([&] { load(file.path, c.options ? c.options() : LoadOptions{}); }, fragments);
}

INSTANTIATE_TEST_SUITE_P(Loader, HostileWeightFile, ::testing::ValuesIn(kHostileWeights),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(HostileWeightFile, TableHasTheIssuesMinimumOfDistinctCases) {
  EXPECT_GE(std::size(kHostileWeights), 25u);
  std::set<std::string> names;
  for (const auto& c : kHostileWeights) EXPECT_TRUE(names.insert(c.name).second) << c.name;
}

TEST(HostileWeightFile, TheUnmodifiedModelFileLoads) {
  // The mismatch rows differ from this file by one edit each, so they fail for that edit.
  const TempFile file("valid.safetensors", model_file());
  const Model m = load(file.path);
  EXPECT_EQ(m.num_classes(), 10);
  EXPECT_EQ(load(file.path, strict()).arch(), Arch::V3Small);
  const TempFile small("small_valid.safetensors", small_valid_file());
  EXPECT_EQ(SafetensorsFile::open(small.path).read_float("b")[3], 10.0f);
}

TEST(HostileWeightFile, EmptyTensorsReadAsEmpty) {
  // Found by fuzz_safetensors under UBSan: memcpy into an empty vector's null data().
  const SafetensorsFile f("empty_tensor.safetensors",
                          raw_file(R"({"z":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"h":{"dtype":"F16","shape":[3,0],"data_offsets":[0,0]}})"));
  EXPECT_TRUE(f.read_float("z").empty());
  EXPECT_TRUE(f.read_float("h").empty());
}

// ---------------------------------------------------------------------------------------------
// The .npy table (mobilenet-infer's input). Version-1 files with header `dict` and `data` bytes.

std::string npy_v1(const std::string& dict, size_t data_bytes) {
  std::string h = dict;
  return std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(h.size() & 0xff) + static_cast<char>(h.size() >> 8) + h +
         std::string(data_bytes, '\0');
}
std::string npy_dict(const std::string& descr, const std::string& fortran, const std::string& shape) {
  return "{'descr': " + descr + ", 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
}

struct HostileNpy {
  const char* name;
  std::string bytes;
  std::string fragment;
};
void PrintTo(const HostileNpy& c, std::ostream* os) { *os << c.name; }

const std::vector<HostileNpy> kHostileNpy = {
    {"Empty", "", "not a .npy file (bad magic)"},
    {"BadMagic", std::string("\x93NUMPX\x01\x00\x02\x00{}", 12), "not a .npy file (bad magic)"},
    {"PngBytes", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16), "not a .npy file (bad magic)"},
    {"UnsupportedVersion", std::string("\x93NUMPY\x04\x00\x00\x00", 10), "unsupported .npy format version 4"},
    {"TruncatedV2Length", std::string("\x93NUMPY\x02\x00\x10\x00", 10), "truncated .npy header"},
    {"TruncatedHeader", npy_v1(npy_dict("'<f4'", "False", "(1,)"), 4).substr(0, 30), ".npy header runs past the end of the file"},
    {"WrongDtype", npy_v1(npy_dict("'<f8'", "False", "(1,)"), 8), "dtype '<f8' is not supported"},
    {"BigEndian", npy_v1(npy_dict("'>f4'", "False", "(1,)"), 4), "dtype '>f4' is not supported"},
    {"IntegerDtype", npy_v1(npy_dict("'<i8'", "False", "(3,)"), 24), "dtype '<i8' is not supported"},
    {"FortranOrder", npy_v1(npy_dict("'<f4'", "True", "(2, 2)"), 16), "Fortran-ordered arrays are not supported"},
    {"SizeMismatch", npy_v1(npy_dict("'<f4'", "False", "(1, 3, 4, 4)"), 100), "needs 192 bytes of float32 data but the file has 100"},
    {"MissingShape", npy_v1("{'descr': '<f4', 'fortran_order': False, }", 4), ".npy header has no 'shape' field"},
    {"MissingDescr", npy_v1("{'fortran_order': False, 'shape': (1,), }", 4), ".npy header has no 'descr' field"},
    {"GarbageShape", npy_v1(npy_dict("'<f4'", "False", "(a, b)"), 4), "malformed shape (a, b) in .npy header"},
    {"UnclosedShape", npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2", 8), "malformed shape in .npy header"},
    {"ShapeNotTuple", npy_v1(npy_dict("'<f4'", "False", "12"), 48), "malformed shape 12 in .npy header; expected a tuple"},
    {"NegativeDim", npy_v1(npy_dict("'<f4'", "False", "(-1, 3)"), 12), "invalid shape (-1, 3) in .npy header"},
    {"OverflowingShape", npy_v1(npy_dict("'<f4'", "False", "(4294967296, 4294967296)"), 0), "invalid shape (4294967296, 4294967296)"},
    {"DimBeyondInt64", npy_v1(npy_dict("'<f4'", "False", "(99999999999999999999,)"), 0), "malformed shape (99999999999999999999,)"},
};

class HostileNpyFile : public ::testing::TestWithParam<HostileNpy> {};

TEST_P(HostileNpyFile, IsRefusedWithAnErrorNamingFileAndProblem) {
  const HostileNpy& c = GetParam();
  const TempFile file(std::string(c.name) + ".npy", c.bytes);
  expect_error([&] { read_npy(file.path); }, {file.path + ": ", c.fragment});
}

INSTANTIATE_TEST_SUITE_P(Npy, HostileNpyFile, ::testing::ValuesIn(kHostileNpy),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(HostileNpyFile, TheWellFormedBaseParses) {
  // The rows above are this file with one thing broken.
  const NpyArray a = parse_npy(npy_v1(npy_dict("'<f4'", "False", "(1, 3, 4, 4)"), 192), "ok.npy");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{1, 3, 4, 4}));
  EXPECT_EQ(a.data.size(), 48u);
  EXPECT_GE(kHostileNpy.size(), 10u);
}

// ---------------------------------------------------------------------------------------------
// Non-finite values propagate as IEEE arithmetic says, without crashing.

TEST(NonFinite, NaNWeightGivesNaNLogitForItsClassOnly) {
  // A NaN in row 3 of the last Linear layer makes logit 3 NaN; the other logits are exactly
  // those of the same model without the NaN.
  const TempFile clean("clean.safetensors", model_file());
  const TempFile poisoned("nan.safetensors", model_file([](auto& t) { t["classifier.3.weight"].values[3 * 512 + 7] = std::nanf(""); }));
  const Model a = load(clean.path), b = load(poisoned.path);
  Workspace wa = a.workspace({1, 32, 32, 1}), wb = b.workspace({1, 32, 32, 1});
  Tensor x({1, 32, 32, 3});
  for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = static_cast<float>(i % 17) / 8.0f - 1.0f;
  const ConstTensorView la = a.forward(x, wa), lb = b.forward(x, wb);
  for (int c = 0; c < 10; ++c) {
    if (c == 3) {
      EXPECT_TRUE(std::isnan(lb.data[c]));
    } else {
      EXPECT_TRUE(std::isfinite(lb.data[c]));
      EXPECT_EQ(std::memcmp(&la.data[c], &lb.data[c], sizeof(float)), 0) << "class " << c;
    }
  }
}

TEST(NonFinite, InfAndNaNInputsRunAndStayInTheirBatchItem) {
  const Model m = random_model(Arch::V3Small, {0.5, 10});
  Tensor one({1, 40, 36, 3});
  for (int64_t i = 0; i < one.numel(); ++i) one.data()[i] = std::sin(static_cast<float>(i));
  Workspace w1 = m.workspace({1, 40, 36, 1});
  const ConstTensorView clean = m.forward(one, w1);
  const std::vector<float> expected(clean.data, clean.data + 10);
  // Item 0: +inf, -inf and NaN pixels; item 1: the clean image.
  Tensor two({2, 40, 36, 3});
  const int64_t per_item = one.numel();
  const std::size_t item_bytes = static_cast<std::size_t>(per_item) * sizeof(float);
  std::memcpy(two.data(), one.data(), item_bytes);
  std::memcpy(two.data() + per_item, one.data(), item_bytes);
  two.data()[5] = std::numeric_limits<float>::infinity();
  two.data()[500] = -std::numeric_limits<float>::infinity();
  two.data()[1000] = std::nanf("");
  for (int threads : {1, 2}) {
    Workspace w2 = m.workspace({2, 40, 36, threads});
    const ConstTensorView out = m.forward(two, w2);
    bool item0_changed = false;
    for (int c = 0; c < 10; ++c) {
      EXPECT_EQ(std::memcmp(&out.data[10 + c], &expected[static_cast<size_t>(c)], sizeof(float)), 0) << "class " << c;
      item0_changed |= !(out.data[c] == expected[static_cast<size_t>(c)]);
    }
    EXPECT_TRUE(item0_changed) << "the non-finite pixels had no effect on item 0";
  }
}

}  // namespace
