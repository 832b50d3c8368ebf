// mobilenet-summary: the per-layer table of a MobileNet (output shape, parameters, MACs) and
// totals, from the config tables alone, or of a weight file's model with its preprocessing.

#include <cstdio>

#include "cli.hpp"
#include "mobilenet/dispatch.hpp"
#include "mobilenet/io/npy.hpp"
#include "mobilenet/io/preprocess.hpp"

static const char kUsage[] =
    "usage: mobilenet-summary (--arch {v1,v2,v3_large,v3_small} | --weights F.safetensors)\n"
    "                         [--width W] [--classes N]\n"
    "                         [--resolution R | --resolution HxW] [--scheme {torchvision,timm}]\n"
    "                         [--padding {torch,tf_same}] [--timm-arch NAME] [--isa PATH]\n"
    "                         [--precision {fp32,fp16}]\n"
    "Prints every layer's output shape, parameter count and multiply-accumulates at batch 1,\n"
    "and the workspace arena size for that input. --scheme timm: the network as timm defines it\n"
    "(mobilenetv3_large_075 etc. round some channel counts differently). --weights: the model a\n"
    "weight file describes (as mobilenet-infer loads it) and its preprocessing preset; the\n"
    "resolution defaults to its input size.\n";

int main(int argc, char** argv) {
  return cli::run("mobilenet-summary", [&] {
    const cli::Args args(argc, argv,
                         {"arch", "weights", "width", "classes", "resolution", "scheme", "padding",
                          "timm-arch", "isa", "precision"},
                         {"help"});
    if (args.has("help")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (!args.positional.empty())
      throw mobilenet::Error("unexpected argument '" + args.positional[0] + "'");
    const bool file = args.has("weights");
    if (!file && !args.has("arch")) throw mobilenet::Error("pass --arch or --weights");
    const mobilenet::dispatch::Model model = [&] {
      if (file) {
        const mobilenet::LoadOptions lo = cli::load_options(args);
        return mobilenet::dispatch::load(args.require("weights"), lo, cli::dispatch_options(args));
      }
      mobilenet::ModelOptions options{
          args.number("width", 1.0), args.integer("classes", 1000),
          *cli::scheme_option(args, false),
          cli::padding_option(args).value_or(mobilenet::PaddingMode::Torch)};
      options.precision = cli::precision_option(args);
      return mobilenet::dispatch::random_model(mobilenet::parse_arch(args.require("arch")), options,
                                               0, cli::dispatch_options(args));
    }();
    const std::string r =
        args.get("resolution", file ? std::to_string(model.metadata().input_size) : "224");
    const auto side = [&](const std::string& text) {
      size_t used = 0;
      long long v = -1;
      try {
        v = std::stoll(text, &used);
      } catch (const std::exception&) {
      }
      if (used != text.size() || v < 1)
        throw mobilenet::Error("--resolution expects R or HxW, got '" + r + "'");
      return static_cast<int64_t>(v);
    };
    const size_t x = r.find('x');
    const int64_t h = side(r.substr(0, x)), w = x == std::string::npos ? h : side(r.substr(x + 1));
    const std::size_t bytes = model.workspace_bytes({1, h, w, 1});  // validates the size too
    std::printf("%s\n", cli::isa_report(model.isa()).c_str());
    if (file)
      std::printf("preprocessing: %s\n",
                  mobilenet::to_string(model.metadata().preprocess_options()).c_str());
    std::fputs(model.summary(h, w).c_str(), stdout);
    std::printf("workspace arena: %zu bytes (%.2f MiB) at batch 1\n", bytes,
                static_cast<double>(bytes) / (1 << 20));
    return 0;
  });
}
