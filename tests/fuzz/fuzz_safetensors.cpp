// libFuzzer target: the safetensors reader and the model loader on arbitrary bytes.
// Every input must either be refused with a mobilenet::Error or give a consistent file; any
// other exception, a crash, a sanitizer report, a leak or a hang is a bug. Files that parse are
// read tensor by tensor, then loaded as a model (metadata permitting) and run on a small input.

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "mobilenet/mobilenet.hpp"

namespace {

bool is_float(const std::string& dtype) { return dtype == "F32" || dtype == "F16" || dtype == "BF16"; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<mobilenet::SafetensorsFile> file;
  try {
    file.emplace("fuzz.safetensors", std::string(reinterpret_cast<const char*>(data), size));
  } catch (const mobilenet::Error&) {
    return 0;
  }
  // Invariants of a file that parsed: every float tensor reads as exactly numel values; every
  // other dtype is refused with an Error.
  for (const auto& [name, entry] : file->tensors()) {
    uint64_t numel = 1;
    for (int64_t d : entry.shape) numel *= static_cast<uint64_t>(d);
    try {
      if (file->read_float(name).size() != numel) std::abort();
      if (!is_float(entry.dtype)) std::abort();
    } catch (const mobilenet::Error&) {
      if (is_float(entry.dtype)) std::abort();
    }
  }
  try {
    const mobilenet::Model model = mobilenet::load(*file);
    mobilenet::Workspace ws = model.workspace({1, 16, 16, 1});
    mobilenet::Tensor x({1, 16, 16, 3});
    for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = static_cast<float>(i % 7) - 3.0f;
    const mobilenet::ConstTensorView y = model.forward(x, ws);
    if (y.shape.c != model.num_classes()) std::abort();
  } catch (const mobilenet::Error&) {
  }
  return 0;
}
