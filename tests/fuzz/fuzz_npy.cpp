// libFuzzer target: the .npy reader (mobilenet-infer's input) on arbitrary bytes. Every input
// must either be refused with a mobilenet::Error or give an array whose data matches its shape.

#include <cstdint>
#include <cstdlib>
#include <string>

#include "mobilenet/io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const mobilenet::NpyArray a =
        mobilenet::parse_npy(std::string(reinterpret_cast<const char*>(data), size), "fuzz.npy");
    uint64_t numel = 1;
    for (int64_t d : a.shape) {
      if (d < 0) std::abort();
      numel *= static_cast<uint64_t>(d);
    }
    if (a.data.size() != numel) std::abort();
  } catch (const mobilenet::Error&) {
  }
  return 0;
}
