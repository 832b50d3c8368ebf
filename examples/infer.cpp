// mobilenet-infer: runs a float32 NCHW .npy batch through a model (a float or an int8 file) and
// writes the logits as .npy.
// The scripting interface: what PyTorch users feed their models, with the same layout.

#include <cstdio>

#include "cli.hpp"
#include "mobilenet/dispatch.hpp"
#include "mobilenet/io/npy.hpp"
#include "mobilenet/io/preprocess.hpp"
#include "mobilenet/io/safetensors.hpp"

static const char kUsage[] =
    "usage: mobilenet-infer [--arch {v1,v2,v3_large,v3_small}] [--width W] [--classes N]\n"
    "                       --weights F.safetensors --input x.npy --output y.npy [--threads T]\n"
    "                       [--strict] [--scheme {auto,torchvision,timm}]\n"
    "                       [--padding {torch,tf_same}] [--timm-arch NAME] [--isa PATH]\n"
    "                       [--precision {fp32,fp16}]\n"
    "Runs a float32 NCHW batch [N,3,H,W] (or one image [3,H,W]) and writes logits [N,classes].\n"
    "--arch, --width and --classes default to the weight file's metadata. --strict refuses\n"
    "weights holding NaN or infinity. --scheme: whose state-dict key names the file has\n"
    "(torchvision's or timm's, whose models it then follows); auto (default) tells them apart by\n"
    "the stem's key. --padding: how the convs pad (default: the file's metadata, else torch;\n"
    "tf_same for TensorFlow-trained weights). --timm-arch: timm's model name (e.g.\n"
    "tf_mobilenetv3_large_100) for a timm file without its config.json beside it.\n"
    "--isa: the instruction-set path to run (sse2, avx2_fma, avx512, neon, neon_v82; default:\n"
    "the best this CPU has, or MOBILENET_ISA). Prints the path it ran on. --precision fp16:\n"
    "compute in half precision (AArch64 CPUs with fp16 arithmetic, ARMv8.2; an error elsewhere);\n"
    "an int8 file runs in int8 whatever this says.\n";

int main(int argc, char** argv) {
  return cli::run("mobilenet-infer", [&] {
    const cli::Args args(argc, argv,
                         {"arch", "width", "classes", "scheme", "padding", "timm-arch", "weights",
                          "input", "output", "threads", "isa", "precision"},
                         {"help", "strict"});
    if (args.has("help")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (!args.positional.empty())
      throw mobilenet::Error("unexpected argument '" + args.positional[0] + "'");
    mobilenet::LoadOptions lo = cli::load_options(args);
    lo.reject_non_finite = args.has("strict");
    const mobilenet::dispatch::Model model =
        mobilenet::dispatch::load(args.require("weights"), lo, cli::dispatch_options(args));

    const std::string input = args.require("input");
    const mobilenet::NpyArray x = mobilenet::read_npy(input);
    std::vector<int64_t> s = x.shape;
    if (s.size() == 3) s.insert(s.begin(), 1);
    if (s.size() != 4 || s[1] != 3)
      throw mobilenet::Error(input +
                             ": expected a float32 array [N, 3, H, W] or [3, H, W], got shape " +
                             mobilenet::shape_string(x.shape));
    mobilenet::dispatch::Workspace ws =
        model.workspace({s[0], s[2], s[3], args.integer("threads", 1)});
    mobilenet::Tensor nhwc({s[0], s[2], s[3], 3});
    mobilenet::nchw_to_nhwc(x.data.data(), nhwc);
    const mobilenet::ConstTensorView y = model.forward(nhwc, ws);
    mobilenet::write_npy(args.require("output"), {s[0], model.num_classes()}, y.data);
    std::printf("mobilenet-infer: %s, %s, logits [%lld, %d] written to %s\n",
                cli::isa_report(model.isa()).c_str(), mobilenet::to_string(model.precision()),
                static_cast<long long>(s[0]), model.num_classes(), args.require("output").c_str());
    return 0;
  });
}
