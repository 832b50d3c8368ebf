// mobilenet-benchmark: latency of the table-built models with random weights (no files needed),
// like ncnn's benchncnn: warm-up, loops, threads, CPU pinning, cool-down, median/min/max, arena and
// peak memory, and an optional per-layer or per-stage profile. Built with MOBILENET_STATIC_TOOLS=ON
// it is one static executable: `adb push` it to a phone and run it from `adb shell`.

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <thread>

#include "cli.hpp"
#include "cpu_affinity.hpp"
#include "mobilenet/dispatch.hpp"
#include "mobilenet/io/npy.hpp"
#include "mobilenet/io/preprocess.hpp"

static const char kUsage[] =
    "usage: mobilenet-benchmark [--arch all|v1,v2,v3_large,v3_small] [--width W] [--resolution R]\n"
    "                           [--batch N] [--threads T] [--loops N] [--warmup N]\n"
    "                           [--cooldown SECONDS] [--cpus LIST | --big-cores]\n"
    "                           [--profile | --profile-stages] [--precision fp32|fp16|int8]\n"
    "                           [--isa PATH] [--json FILE]\n"
    "Times forward() on models with seeded random weights. --precision int8 quantizes each one\n"
    "first, calibrated on four synthetic images; fp16 computes in half precision (AArch64 CPUs\n"
    "with fp16 arithmetic; an error elsewhere); default fp32. --profile adds a per-layer table "
    "(blocks\n"
    "then run layer by layer, unfused); --profile-stages one row per stage (stem, block, last "
    "conv,\n"
    "head) on the real, fused path.\n"
    "--cpus 4-7 pins every thread to those CPUs; --big-cores pins to the cores whose cpufreq\n"
    "maximum is above the slowest cores' (the big cores of a big.LITTLE phone). --cooldown sleeps\n"
    "before each model so a phone's clocks recover from the previous one. --isa: the\n"
    "instruction-set path to run (default: the best this CPU has, or MOBILENET_ISA). --json\n"
    "writes every figure (path, precision, build and first-inference time, latency min, median,\n"
    "mean, p90, p99, max) to FILE as JSON.\n";

namespace {

using Clock = std::chrono::steady_clock;

std::vector<mobilenet::Arch> parse_archs(const std::string& list) {
  if (list == "all")
    return {mobilenet::Arch::V1, mobilenet::Arch::V2, mobilenet::Arch::V3Large,
            mobilenet::Arch::V3Small};
  std::vector<mobilenet::Arch> archs;
  std::stringstream ss(list);
  for (std::string name; std::getline(ss, name, ',');) archs.push_back(mobilenet::parse_arch(name));
  return archs;
}

/// A random float model's options: width, 1000 classes, fp32 or fp16.
mobilenet::ModelOptions model_options(double width, mobilenet::Precision precision) {
  mobilenet::ModelOptions o{width, 1000};
  o.precision = precision;
  return o;
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

/// The q-quantile (0 < q <= 1) of sorted `v` by the nearest-rank method.
double quantile(const std::vector<double>& sorted, double q) {
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::max<std::size_t>(rank, 1) - 1];
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

/// Four synthetic RGB images (smooth gradients and a checkerboard, normalized with ImageNet's
/// mean and std) to calibrate a random int8 model's activation ranges.
mobilenet::Tensor calibration_images(int size) {
  mobilenet::Tensor x({4, size, size, 3});
  const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
  for (int n = 0; n < 4; ++n)
    for (int y = 0; y < size; ++y)
      for (int c = 0; c < size; ++c)
        for (int k = 0; k < 3; ++k) {
          const float u = static_cast<float>(y) / static_cast<float>(size),
                      v = static_cast<float>(c) / static_cast<float>(size);
          const float pixel = n == 0   ? u
                              : n == 1 ? v
                              : n == 2 ? 0.5f * (u + v) * static_cast<float>(k + 1) / 3.0f
                                       : static_cast<float>(((y / 8) + (c / 8)) % 2);
          x.data()[((int64_t{n} * size + y) * size + c) * 3 + k] = (pixel - mean[k]) / std[k];
        }
  return x;
}

void print_profile(const std::vector<mobilenet::LayerInfo>& rows,
                   const mobilenet::dispatch::Workspace& ws, int64_t batch) {
  const auto& seconds = ws.profile().seconds();
  const double runs = static_cast<double>(std::max<std::size_t>(ws.profile().runs(), 1));
  double total = 0;
  for (double s : seconds) total += s;
  std::printf("  %-24s %-32s %-14s %9s %9s %6s\n", "layer or stage", "type", "output", "ms",
              "GFLOP/s", "%");
  for (size_t i = 0; i < rows.size(); ++i) {
    const double ms = 1e3 * seconds[i] / runs;
    const std::string shape = std::to_string(rows[i].output.h) + "x" +
                              std::to_string(rows[i].output.w) + "x" +
                              std::to_string(rows[i].output.c);
    const double gflops =
        ms > 0 ? 2.0 * static_cast<double>(rows[i].macs * batch) / (ms * 1e6) : 0.0;
    std::printf("  %-24s %-32s %-14s %9.4f %9.1f %6.1f\n", rows[i].name.c_str(),
                rows[i].type.c_str(), shape.c_str(), ms, gflops, 100.0 * seconds[i] / total);
  }
}

}  // namespace

int main(int argc, char** argv) {
  return cli::run("mobilenet-benchmark", [&] {
    const cli::Args args(argc, argv,
                         {"arch", "width", "resolution", "batch", "threads", "loops", "warmup",
                          "cooldown", "cpus", "isa", "json", "precision"},
                         {"help", "profile", "profile-stages", "big-cores"});
    if (args.has("help")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (!args.positional.empty())
      throw mobilenet::Error("unexpected argument '" + args.positional[0] + "'");
    const int size = args.integer("resolution", 224), batch = args.integer("batch", 1);
    const int threads = args.integer("threads", 1), loops = args.integer("loops", 50);
    const int warmup = args.integer("warmup", 5);
    const double cooldown = args.number("cooldown", 0.0);
    if (loops < 1 || warmup < 0 || cooldown < 0)
      throw mobilenet::Error("--loops must be positive, --warmup and --cooldown non-negative");
    const bool profile = args.has("profile"), profile_stages = args.has("profile-stages");
    if (args.has("cpus") && args.has("big-cores"))
      throw mobilenet::Error("give --cpus or --big-cores, not both");
    std::string pinning = "not pinned";
    if (args.has("cpus") || args.has("big-cores")) {
      // Before any model exists: the thread pools created below inherit this mask.
      const std::vector<int> cpus =
          args.has("cpus") ? cli::parse_cpu_list(args.get("cpus")) : cli::big_cores();
      cli::pin_to_cpus(cpus);
      pinning = "pinned to CPUs";
      for (size_t i = 0; i < cpus.size(); ++i) pinning += (i ? "," : " ") + std::to_string(cpus[i]);
    }
    const mobilenet::Precision precision = cli::precision_option(args);
    // Named as the JSON report always has: float32, float16 or int8. Each model's row names the
    // precision the model reports, so no figure can carry another precision's name.
    const auto precision_name = [](mobilenet::Precision p) {
      return p == mobilenet::Precision::int8   ? "int8"
             : p == mobilenet::Precision::fp16 ? "float16"
                                               : "float32";
    };
    const mobilenet::dispatch::Options dispatch = cli::dispatch_options(args);
    // Before anything is printed: fp16 where the path cannot compute it is an error.
    const std::string isa = mobilenet::dispatch::select_path(dispatch, precision);
    nlohmann::json report = {{"tool", "mobilenet-benchmark"},
                             {"precision", precision_name(precision)},
                             {"isa", isa},
                             {"cpu_features", mobilenet::dispatch::cpu_feature_names()},
                             {"threads", threads},
                             {"pinning", pinning},
                             {"batch", batch},
                             {"height", size},
                             {"width", size},
                             {"loops", loops},
                             {"warmup", warmup},
                             {"models", nlohmann::json::array()}};
    std::printf(
        "mobilenet-benchmark: %s, %s, %d thread(s) %s, batch %d, %dx%d, %d loops after %d "
        "warm-up\n",
        precision_name(precision), cli::isa_report(isa).c_str(), threads, pinning.c_str(), batch, size, size,
        loops, warmup);
    std::printf("%-10s %6s %10s %10s %10s %9s %10s %10s\n", "model", "width", "median ms", "min ms",
                "max ms", "GFLOP/s", "arena MiB", "MMACs");
    for (const mobilenet::Arch arch : parse_archs(args.get("arch", "all"))) {
      if (cooldown > 0) std::this_thread::sleep_for(std::chrono::duration<double>(cooldown));
      const double width = args.number("width", 1.0);
      mobilenet::Tensor x({batch, size, size, 3});
      for (int64_t i = 0; i < x.numel(); ++i)
        x.data()[i] = static_cast<float>(i % 251) / 125.0f - 1.0f;
      // Weights made, BatchNorm folded, packed (int8: quantized, ranges calibrated first).
      const auto built = Clock::now();
      const mobilenet::dispatch::Model model =
          precision == mobilenet::Precision::int8
              ? mobilenet::dispatch::random_int8_model(arch, calibration_images(size),
                                                       {width, 1000}, 0, dispatch)
              : mobilenet::dispatch::random_model(arch, model_options(width, precision), 0,
                                                  dispatch);
      const double build_ms = ms_since(built);
      mobilenet::WorkspaceOptions options{batch, size, size, threads, profile};
      options.profile_stages = profile_stages;
      mobilenet::dispatch::Workspace ws = model.workspace(options);
      const auto first = Clock::now();  // a fresh workspace: its arena not yet touched
      model.forward(x, ws);
      const double first_ms = ms_since(first);
      for (int i = 0; i < warmup; ++i) model.forward(x, ws);
      ws.clear_profile();
      std::vector<double> ms;
      for (int i = 0; i < loops; ++i) {
        const auto t0 = Clock::now();
        model.forward(x, ws);
        ms.push_back(ms_since(t0));
      }
      std::sort(ms.begin(), ms.end());
      const double median = ms[ms.size() / 2];
      int64_t macs = 0;
      for (const auto& l : model.layers(size, size)) macs += l.macs;
      std::printf("%-10s %6.2f %10.3f %10.3f %10.3f %9.1f %10.2f %10.1f\n",
                  mobilenet::to_string(arch), width, median, ms.front(), ms.back(),
                  2.0 * static_cast<double>(macs * batch) / (median * 1e6),
                  static_cast<double>(ws.arena_bytes()) / (1 << 20),
                  static_cast<double>(macs) / 1e6);
      report["models"].push_back(
          {{"arch", mobilenet::to_string(arch)},
           {"width", width},
           {"precision", precision_name(model.precision())},
           {"isa", model.isa()},
           {"macs", macs},
           {"arena_bytes", ws.arena_bytes()},
           {"build_ms", build_ms},
           {"first_inference_ms", first_ms},
           {"latency_ms",
            {{"min", ms.front()},
             {"median", median},
             {"mean", std::accumulate(ms.begin(), ms.end(), 0.0) / static_cast<double>(ms.size())},
             {"p90", quantile(ms, 0.90)},
             {"p99", quantile(ms, 0.99)},
             {"max", ms.back()}}},
           {"gflops", 2.0 * static_cast<double>(macs * batch) / (median * 1e6)}});
      if (profile) print_profile(model.layers(size, size), ws, batch);
      if (profile_stages) print_profile(model.stages(size, size), ws, batch);
    }
    std::printf("peak RSS %.1f MiB\n", peak_rss_mib());
    if (args.has("json")) {
      report["peak_rss_mib"] = peak_rss_mib();
      std::ofstream out(args.get("json"));
      if (!(out << report.dump(2) << "\n"))
        throw mobilenet::Error(args.get("json") + ": cannot write the JSON report");
    }
    return 0;
  });
}
