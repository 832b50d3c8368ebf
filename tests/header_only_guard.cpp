// A header-only program compiled for one path (tests/CMakeLists.txt builds it for AVX-512) and
// run on a CPU without it (qemu as a Haswell): building the model must throw
// require_compiled_isa()'s Error, which this prints as one line and exits 1, instead of dying on
// SIGILL in the first AVX-512 instruction.

#include <cstdio>

#include "mobilenet/mobilenet.hpp"

int main() {
  try {
    const mobilenet::Model model = mobilenet::random_model(mobilenet::Arch::V3Small, {0.5, 10});
    std::printf("built %s on %s\n", mobilenet::to_string(model.arch()), mobilenet::isa_name());
    return 0;
  } catch (const mobilenet::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
