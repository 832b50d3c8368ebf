// Writes the seed corpora of the fuzz targets, so that no binary corpus is committed:
//   make_corpus OUT  ->  OUT/safetensors/*, OUT/npy/*
// Seeds are small valid files (and near misses) that reach deep into each parser: tensors of
// every dtype, metadata, and two complete tiny models (V1 and V3-Small at width 0.01) that load
// and run.

#include <cstdio>
#include <filesystem>
#include <string>

#include "mobilenet/mobilenet.hpp"
#include "safetensors_writer.hpp"

namespace {

using testing_io::header_length_bytes;
using testing_io::make_safetensors;
using testing_io::write_file;

/// Every tensor `arch` at `options` asks for, with seeded values.
std::map<std::string, testing_io::NamedTensor> model_tensors(mobilenet::Arch arch, const mobilenet::ModelOptions& options) {
  const mobilenet::NetworkSpec spec = mobilenet::make_spec(arch, options);
  testing_io::RecordingWeights rec;
  mobilenet::Model(spec, rec, mobilenet::torchvision_keys(spec));
  return rec.requested;
}

std::string raw(const std::string& header, const std::string& data) {
  return header_length_bytes(header.size()) + header + data;
}

std::string npy(int version, const std::string& dict, size_t data_bytes) {
  std::string header = dict;
  const size_t prefix = version == 1 ? 10 : 12;
  header += std::string(63 - (prefix + header.size()) % 64, ' ') + "\n";
  std::string s = std::string("\x93NUMPY", 6) + static_cast<char>(version) + '\0';
  for (size_t i = 0; i < (version == 1 ? 2u : 4u); ++i) s += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return s + header + std::string(data_bytes, '\x01');
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus OUT_DIR\n");
    return 2;
  }
  const std::filesystem::path out = argv[1];
  const auto st = out / "safetensors";
  const auto np = out / "npy";
  std::filesystem::create_directories(st);
  std::filesystem::create_directories(np);

  // safetensors: small files of every shape the reader handles...
  write_file(st / "two_tensors", make_safetensors({{"a", {{2, 3}, {1, 2, 3, 4, 5, 6}}}, {"b", {{1}, {7}}}}, {{"arch", "v2"}}));
  write_file(st / "dtypes",
             raw(R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[1,2],"data_offsets":[4,8]},)"
                 R"("i":{"dtype":"I64","shape":[1],"data_offsets":[8,16]},"u":{"dtype":"U8","shape":[2],"data_offsets":[16,18]},)"
                 R"("s":{"dtype":"F32","shape":[],"data_offsets":[18,22]},"z":{"dtype":"F32","shape":[0,3],"data_offsets":[22,22]},)"
                 R"("__metadata__":{"format":"pt"}})",
                 std::string("\x00\x3e\x00\xc0\xc0\x3f\x00\xc0\x05\0\0\0\0\0\0\0\x01\x02\0\0\x80\x3f", 22)));
  write_file(st / "empty_header", raw("{}", ""));
  write_file(st / "metadata_only", raw(R"({"__metadata__":{"arch":"v3_small","width":"0.5","num_classes":"10"}})", ""));
  // ...and two complete tiny models that load and run, one with full metadata, one without.
  const std::map<std::string, std::string> v1_meta = {
      {"arch", "v1"}, {"width", "0.01"}, {"num_classes", "3"}, {"labels", R"(["a","b","c"])"},
      {"input_size", "16"}, {"resize_size", "18"}, {"mean", "0.5,0.5,0.5"}, {"std", "0.25,0.25,0.25"}};
  write_file(st / "tiny_v1", make_safetensors(model_tensors(mobilenet::Arch::V1, {0.01, 3}), v1_meta));
  write_file(st / "tiny_v3_small",
             make_safetensors(model_tensors(mobilenet::Arch::V3Small, {0.01, 2}), {{"arch", "v3_small"}, {"width", "0.01"}}));
  write_file(st / "tiny_v1_no_metadata", make_safetensors(model_tensors(mobilenet::Arch::V1, {0.01, 3})));

  // .npy: versions 1-3, several shapes, and the refused variants nearby.
  const auto dict = [](const std::string& descr, const std::string& fortran, const std::string& shape) {
    return "{'descr': " + descr + ", 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
  };
  write_file(np / "nchw", npy(1, dict("'<f4'", "False", "(1, 3, 4, 4)"), 192));
  write_file(np / "vector", npy(1, dict("'<f4'", "False", "(5,)"), 20));
  write_file(np / "scalar", npy(1, dict("'<f4'", "False", "()"), 4));
  write_file(np / "empty", npy(1, dict("'<f4'", "False", "(2, 0, 3)"), 0));
  write_file(np / "v2", npy(2, dict("'<f4'", "False", "(3, 2)"), 24));
  write_file(np / "v3", npy(3, dict("'f4'", "False", "(2,)"), 8));
  write_file(np / "fortran", npy(1, dict("'<f4'", "True", "(2, 2)"), 16));
  write_file(np / "float64", npy(1, dict("'<f8'", "False", "(2,)"), 16));
  std::printf("wrote seeds to %s\n", out.c_str());
  return 0;
}
