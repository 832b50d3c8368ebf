// mobilenet-classify: decodes images (JPEG, PNG, BMP, ... through stb_image), preprocesses them
// as the model's metadata says (torchvision's ImageNet transforms by default) and prints the
// top-k classes with probabilities.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>

#include "cli.hpp"
#include "image_file.hpp"
#include "mobilenet/dispatch.hpp"
#include "mobilenet/io/npy.hpp"
#include "mobilenet/io/preprocess.hpp"

static const char kUsage[] =
    "usage: mobilenet-classify [--arch A] [--width W] [--classes N] --weights F.safetensors\n"
    "                          [--top K] [--labels FILE] [--threads T] [--strict]\n"
    "                          [--scheme {auto,torchvision,timm}] [--padding {torch,tf_same}]\n"
    "                          [--timm-arch NAME] [--isa PATH] [--precision {fp32,fp16}]\n"
    "                          IMAGE...\n"
    "Prints the top-K classes of each image. Labels come from the weight file's metadata, else\n"
    "from --labels (one per line), else the ImageNet labels for 1000-class models. --strict\n"
    "refuses weights holding NaN or infinity. --scheme: whose state-dict key names the file has\n"
    "(torchvision's or timm's); auto (default) tells them apart by the stem's key. --padding:\n"
    "how the convs pad (default: the file's metadata, else torch). --timm-arch: timm's model\n"
    "name for a timm file without its config.json beside it. --isa: the\n"
    "instruction-set path to run (default: the best this CPU has, or MOBILENET_ISA).\n"
    "--precision fp16: compute in half precision (AArch64 CPUs with fp16 arithmetic).\n";

namespace {

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw mobilenet::Error(path + ": cannot open labels file");
  std::vector<std::string> lines;
  for (std::string line; std::getline(f, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> labels_for(const mobilenet::dispatch::Model& model,
                                    const cli::Args& args) {
  std::vector<std::string> labels = model.metadata().labels;
  if (args.has("labels")) labels = read_lines(args.get("labels"));
  if (labels.empty() && model.num_classes() == 1000)
    for (const char* dir : {MOBILENET_DATA_DIR, MOBILENET_INSTALLED_DATA_DIR})
      if (std::ifstream(std::string(dir) + "/imagenet_labels.txt")) {
        labels = read_lines(std::string(dir) + "/imagenet_labels.txt");
        break;
      }
  if (!labels.empty() && static_cast<int>(labels.size()) != model.num_classes())
    throw mobilenet::Error("have " + std::to_string(labels.size()) + " labels for a model with " +
                           std::to_string(model.num_classes()) + " classes");
  return labels;
}

}  // namespace

int main(int argc, char** argv) {
  return cli::run("mobilenet-classify", [&] {
    const cli::Args args(argc, argv,
                         {"arch", "width", "classes", "scheme", "padding", "timm-arch", "weights",
                          "top", "labels", "threads", "isa", "precision"},
                         {"help", "strict"});
    if (args.has("help")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (args.positional.empty()) throw mobilenet::Error("no image given (see --help)");
    mobilenet::LoadOptions lo = cli::load_options(args);
    lo.reject_non_finite = args.has("strict");
    const mobilenet::dispatch::Model model =
        mobilenet::dispatch::load(args.require("weights"), lo, cli::dispatch_options(args));
    const std::vector<std::string> labels = labels_for(model, args);
    const int top = std::min(args.integer("top", 5), model.num_classes());
    if (top < 1) throw mobilenet::Error("--top must be positive");

    const mobilenet::ModelMetadata& meta = model.metadata();
    const mobilenet::PreprocessOptions pre = meta.preprocess_options();
    mobilenet::dispatch::Workspace ws =
        model.workspace({1, pre.crop_size, pre.crop_size, args.integer("threads", 1)});
    mobilenet::Tensor x({1, pre.crop_size, pre.crop_size, 3});

    int failures = 0;
    for (const std::string& path : args.positional) {
      try {
        const cli::RgbImage image = cli::decode_rgb(path);  // its errors name the file
        try {
          mobilenet::preprocess_into(image.pixels.data(), image.width, image.height,
                                     int64_t{image.width} * 3, mobilenet::PixelFormat::RGB, pre,
                                     x.data());
        } catch (const mobilenet::Error& e) {
          throw mobilenet::Error(path + ": " + e.what());
        }
      } catch (const mobilenet::Error& e) {
        std::fprintf(stderr, "mobilenet-classify: error: %s\n", e.what());
        ++failures;
        continue;
      }
      const mobilenet::ConstTensorView logits = model.forward(x, ws);
      // Softmax in double for the printed probabilities. Weights or inputs holding NaN can make
      // logits NaN: such classes print as nan and sort last (a comparison with NaN is not a
      // strict weak order, which std::partial_sort needs).
      const int n = model.num_classes();
      double peak = -HUGE_VAL;
      for (int i = 0; i < n; ++i)
        if (!std::isnan(logits.data[i])) peak = std::max(peak, double(logits.data[i]));
      std::vector<double> p(static_cast<size_t>(n));
      double total = 0;
      for (int i = 0; i < n; ++i) {
        p[static_cast<size_t>(i)] = std::exp(double(logits.data[i]) - peak);
        if (!std::isnan(p[static_cast<size_t>(i)])) total += p[static_cast<size_t>(i)];
      }
      const auto rank = [&](int c) {
        const double v = p[static_cast<size_t>(c)];
        return std::isnan(v) ? -1.0 : v;
      };
      std::vector<int> order(static_cast<size_t>(n));
      std::iota(order.begin(), order.end(), 0);
      std::partial_sort(order.begin(), order.begin() + top, order.end(),
                        [&](int a, int b) { return rank(a) > rank(b); });
      std::printf("%s:\n", path.c_str());
      for (int k = 0; k < top; ++k) {
        const int c = order[static_cast<size_t>(k)];
        std::printf(
            "  %6.2f%%  %s\n", 100.0 * p[static_cast<size_t>(c)] / total,
            labels.empty() ? std::to_string(c).c_str() : labels[static_cast<size_t>(c)].c_str());
      }
    }
    return failures ? 1 : 0;
  });
}
