// Writes every feature stage of an int8 model for an input batch (float32 NCHW .npy) as
// stage_K.npy (NHWC, dequantized), for tests/int8_emulation.py to check against its emulation,
// on the instruction-set path named (default: the best this CPU runs).
//   mobilenet_int8_stages MODEL.int8.safetensors INPUT.npy OUTDIR [ISA]   (OUTDIR is created)

#include <cstdio>
#include <filesystem>
#include <string>

#include "mobilenet/dispatch.hpp"
#include "mobilenet/io/npy.hpp"

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: %s MODEL.int8.safetensors INPUT.npy OUTDIR [ISA]\n", argv[0]);
    return 2;
  }
  try {
    mobilenet::dispatch::Options isa;
    if (argc == 5) isa.isa = argv[4];
    const mobilenet::dispatch::Model model = mobilenet::dispatch::load(argv[1], {}, isa);
    if (model.precision() != mobilenet::Precision::int8)
      throw mobilenet::Error(std::string(argv[1]) + " is not an int8 model");
    const mobilenet::NpyArray a = mobilenet::read_npy(argv[2]);
    if (a.shape.size() != 4 || a.shape[1] != 3)
      throw mobilenet::Error(std::string(argv[2]) + ": expected [N, 3, H, W]");
    const int64_t n = a.shape[0], h = a.shape[2], w = a.shape[3];
    mobilenet::Tensor x({n, h, w, 3});
    mobilenet::nchw_to_nhwc(a.data.data(), x);
    const int stages = static_cast<int>(model.stages(h, w).size()) - 1;
    mobilenet::WorkspaceOptions o{n, h, w, 2};
    for (int k = 0; k < stages; ++k) o.features.push_back(k);
    mobilenet::dispatch::Workspace ws = model.workspace(o);
    model.forward(x, ws);
    std::filesystem::create_directories(argv[3]);
    for (int k = 0; k < stages; ++k) {
      const mobilenet::ConstTensorView f = ws.feature(static_cast<std::size_t>(k));
      mobilenet::write_npy(std::string(argv[3]) + "/stage_" + std::to_string(k) + ".npy",
                           {f.shape.n, f.shape.h, f.shape.w, f.shape.c}, f.data);
    }
    std::printf("%d stages on the %s path written to %s\n", stages, model.isa().c_str(), argv[3]);
    return 0;
  } catch (const mobilenet::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
