// mobilenet-quantize: quantizes a float model to int8 with calibration images, reports how close
// the int8 model stays to the float one on them, and writes the int8 file (README, "int8 files").

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "cli.hpp"
#include "image_file.hpp"
#include "mobilenet/dispatch.hpp"
#include "mobilenet/io/npy.hpp"
#include "mobilenet/io/preprocess.hpp"
#include "mobilenet/io/safetensors.hpp"

static const char kUsage[] =
    "usage: mobilenet-quantize --weights F.safetensors --calibration {DIR,X.npy}\n"
    "                          --output F.int8.safetensors [--samples N] [--per-tensor]\n"
    "                          [--method {minmax,percentile}] [--percentile P]\n"
    "                          [--arch A] [--width W] [--classes N]\n"
    "                          [--scheme {auto,torchvision,timm}] [--padding {torch,tf_same}]\n"
    "                          [--timm-arch NAME] [--threads T] [--isa PATH]\n"
    "Quantizes a float model to int8: weights per output channel after BatchNorm folding,\n"
    "activations per tensor over the range the float model reaches on the calibration images.\n"
    "--method: that range's ends, minmax (default: the smallest and largest value) or percentile\n"
    "(the values below which 100-P% and P% of all values lie, P = --percentile, default 99.99:\n"
    "rare outliers are clipped, the rest get finer steps). --calibration: a directory of images "
    "(png, jpg, bmp, ...: decoded and\n"
    "preprocessed as the model's metadata says, in name order; other files skipped) or a\n"
    "float32 NCHW .npy batch as mobilenet-infer takes, already preprocessed. --samples: use the\n"
    "first N (default: all). --per-tensor: one weight scale per layer, to compare. Prints each\n"
    "stage's signal-to-quantization-noise ratio against the float model and their top-1\n"
    "agreement on the calibration images, then writes the int8 file, which mobilenet-infer,\n"
    "-classify, -benchmark and -summary load as they load a float\n"
    "one. --arch ... --timm-arch as for mobilenet-infer.\n";

namespace {

/// Whether a file extension is one of the image formats stb decodes (other files in a
/// calibration directory are skipped).
bool is_image_name(std::string ext) {
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* e : {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga", ".ppm", ".pgm", ".psd"})
    if (ext == e) return true;
  return false;
}

/// The calibration batch, NHWC: a directory's images preprocessed for `model`, or an .npy batch.
mobilenet::Tensor calibration_batch(const std::string& source,
                                    const mobilenet::PreprocessOptions& pre, int64_t samples) {
  namespace fs = std::filesystem;
  if (fs::is_directory(source)) {
    std::vector<std::string> files;
    for (const fs::directory_entry& e : fs::directory_iterator(source))
      if (e.is_regular_file() && is_image_name(e.path().extension().string()))
        files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    if (samples > 0 && static_cast<int64_t>(files.size()) > samples)
      files.resize(static_cast<std::size_t>(samples));
    if (files.empty())
      throw mobilenet::Error(source +
                             ": no image files (png, jpg, jpeg, bmp, gif, tga, ppm, pgm, psd)");
    const int64_t n = static_cast<int64_t>(files.size()), side = pre.crop_size;
    mobilenet::Tensor x({n, side, side, 3});
    for (int64_t i = 0; i < n; ++i) {
      const std::string& path = files[static_cast<std::size_t>(i)];
      const cli::RgbImage image = cli::decode_rgb(path);
      try {
        mobilenet::preprocess_into(image.pixels.data(), image.width, image.height,
                                   int64_t{image.width} * 3, mobilenet::PixelFormat::RGB, pre,
                                   x.data() + i * side * side * 3);
      } catch (const mobilenet::Error& e) {
        throw mobilenet::Error(path + ": " + e.what());
      }
    }
    return x;
  }
  const mobilenet::NpyArray a = mobilenet::read_npy(source);
  std::vector<int64_t> s = a.shape;
  if (s.size() == 3) s.insert(s.begin(), 1);
  if (s.size() != 4 || s[1] != 3)
    throw mobilenet::Error(source + ": expected a float32 array [N, 3, H, W] or [3, H, W], got " +
                           mobilenet::shape_string(a.shape));
  mobilenet::Tensor all({s[0], s[2], s[3], 3});
  mobilenet::nchw_to_nhwc(a.data.data(), all);
  const int64_t n = samples > 0 ? std::min(samples, s[0]) : s[0];
  mobilenet::Tensor x({n, s[2], s[3], 3});
  std::copy(all.data(), all.data() + x.numel(), x.data());
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  return cli::run("mobilenet-quantize", [&] {
    const cli::Args args(
        argc, argv,
        {"arch", "width", "classes", "scheme", "padding", "timm-arch", "weights", "calibration",
         "output", "samples", "threads", "isa", "method", "percentile"},
        {"help", "per-tensor"});
    if (args.has("help")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (!args.positional.empty())
      throw mobilenet::Error("unexpected argument '" + args.positional[0] + "'");
    const mobilenet::LoadOptions lo = cli::load_options(args);
    const int samples = args.integer("samples", 0);
    if (args.has("samples") && samples < 1) throw mobilenet::Error("--samples must be positive");
    const std::string weights = args.require("weights"), output = args.require("output");
    const mobilenet::dispatch::Options dispatch = cli::dispatch_options(args);

    const mobilenet::dispatch::Model fp32 = mobilenet::dispatch::load(weights, lo, dispatch);
    const mobilenet::Tensor x = calibration_batch(args.require("calibration"),
                                                  fp32.metadata().preprocess_options(), samples);
    mobilenet::QuantizeOptions qo;
    qo.per_channel = !args.has("per-tensor");
    const std::string method = args.get("method", "minmax");
    if (method == "percentile")
      qo.method = mobilenet::RangeMethod::percentile;
    else if (method != "minmax")
      throw mobilenet::Error("--method must be minmax or percentile, got '" + method + "'");
    if (args.has("percentile")) {
      if (qo.method != mobilenet::RangeMethod::percentile)
        throw mobilenet::Error("--percentile needs --method percentile");
      qo.percentile = args.number("percentile", qo.percentile);
    }
    const mobilenet::dispatch::Model int8 =
        mobilenet::dispatch::quantize(weights, x, qo, lo, dispatch);

    // Every feature stage kept, image by image: signal and noise summed per stage.
    const int64_t n = x.shape().n, h = x.shape().h, w = x.shape().w;
    const int stages = static_cast<int>(fp32.stages(h, w).size()) - 1;  // the head is no feature
    mobilenet::WorkspaceOptions o{1, h, w, args.integer("threads", 1)};
    for (int k = 0; k < stages; ++k) o.features.push_back(k);
    mobilenet::dispatch::Workspace wf = fp32.workspace(o), wq = int8.workspace(o);
    std::vector<double> signal(static_cast<std::size_t>(stages + 1)), noise(signal.size());
    int64_t agree = 0;
    for (int64_t i = 0; i < n; ++i) {
      const mobilenet::ConstTensorView image{x.data() + i * h * w * 3, {1, h, w, 3}};
      const mobilenet::ConstTensorView yf = fp32.forward(image, wf), yq = int8.forward(image, wq);
      const auto add = [&](std::size_t k, const float* f, const float* q, int64_t count) {
        for (int64_t j = 0; j < count; ++j) {
          signal[k] += double(f[j]) * f[j];
          noise[k] += (double(q[j]) - f[j]) * (double(q[j]) - f[j]);
        }
      };
      for (int k = 0; k < stages; ++k)
        add(static_cast<std::size_t>(k), wf.feature(static_cast<std::size_t>(k)).data,
            wq.feature(static_cast<std::size_t>(k)).data,
            wf.feature(static_cast<std::size_t>(k)).numel());
      add(static_cast<std::size_t>(stages), yf.data, yq.data, yf.numel());
      agree += std::max_element(yf.data, yf.data + yf.numel()) - yf.data ==
               std::max_element(yq.data, yq.data + yq.numel()) - yq.data;
    }
    const auto db = [&](std::size_t k) {
      return 10 * std::log10(signal[k] / std::max(noise[k], 1e-300));
    };
    std::printf(
        "mobilenet-quantize: %s, %lld calibration images %lldx%lld, %s weights, activation "
        "ranges by %s\n",
        cli::isa_report(int8.isa()).c_str(), static_cast<long long>(n), static_cast<long long>(h),
        static_cast<long long>(w), qo.per_channel ? "per-channel" : "per-tensor",
        mobilenet::method_name(qo).c_str());
    std::printf("%-16s %12s\n", "stage", "SQNR (dB)");
    const std::vector<mobilenet::LayerInfo> rows = int8.stages(h, w);
    for (int k = 0; k < stages; ++k)
      std::printf("%-16s %12.1f\n", rows[static_cast<std::size_t>(k)].name.c_str(),
                  db(static_cast<std::size_t>(k)));
    std::printf("%-16s %12.1f\n", "logits", db(static_cast<std::size_t>(stages)));
    std::printf("top-1 agreement with float32: %lld of %lld (%.2f%%)\n",
                static_cast<long long>(agree), static_cast<long long>(n),
                100.0 * double(agree) / double(n));
    int8.save_int8(output);
    std::printf("int8 model written to %s\n", output.c_str());
    return 0;
  });
}
