// mobilenet-summary: the per-layer table of a MobileNet (output shape, parameters, MACs) and
// totals, from the config tables alone; no weight file needed.

#include <cstdio>

#include "cli.hpp"
#include "mobilenet/mobilenet.hpp"

static const char kUsage[] =
    "usage: mobilenet-summary --arch {v1,v2,v3_large,v3_small} [--width W] [--classes N]\n"
    "                         [--resolution R | --resolution HxW] [--threads T]\n"
    "Prints every layer's output shape, parameter count and multiply-accumulates at batch 1,\n"
    "and the workspace arena size for that input.\n";

int main(int argc, char** argv) {
  return cli::run("mobilenet-summary", [&] {
    const cli::Args args(argc, argv, {"arch", "width", "classes", "resolution", "threads"}, {"help"});
    if (args.has("help")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (!args.positional.empty()) throw mobilenet::Error("unexpected argument '" + args.positional[0] + "'");
    const mobilenet::Arch arch = mobilenet::parse_arch(args.require("arch"));
    const mobilenet::Model model = mobilenet::random_model(
        arch, {args.number("width", 1.0), args.integer("classes", 1000)});
    const std::string r = args.get("resolution", "224");
    int64_t h = 0, w = 0;
    const size_t x = r.find('x');
    try {
      h = std::stoll(r.substr(0, x));
      w = x == std::string::npos ? h : std::stoll(r.substr(x + 1));
    } catch (const std::exception&) {
      throw mobilenet::Error("--resolution expects R or HxW, got '" + r + "'");
    }
    const mobilenet::Workspace ws = model.workspace({1, h, w, 1});
    std::fputs(model.summary(h, w).c_str(), stdout);
    std::printf("workspace arena: %zu bytes (%.2f MiB) at batch 1\n", ws.arena_bytes(),
                static_cast<double>(ws.arena_bytes()) / (1 << 20));
    return 0;
  });
}
