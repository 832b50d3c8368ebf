#pragma once
// Minimal command-line parsing shared by the example tools: `--name value` options, `--flag`
// switches and positional arguments; unknown options are errors naming the option.

#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mobilenet/core/error.hpp"
#include "mobilenet/dispatch.hpp"
#include "mobilenet/models/config.hpp"

namespace cli {

class Args {
 public:
  /// `options` take a value, `switches` do not.
  Args(int argc, char** argv, const std::set<std::string>& options,
       const std::set<std::string>& switches = {}) {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (a.rfind("--", 0) != 0 || a == "--") {
        positional.push_back(a);
        continue;
      }
      const std::string name = a.substr(2);
      if (switches.count(name)) {
        values_[name] = "1";
      } else if (options.count(name)) {
        if (i + 1 >= argc) throw mobilenet::Error("option --" + name + " needs a value");
        values_[name] = argv[++i];
      } else {
        throw mobilenet::Error("unknown option " + a + " (see --help)");
      }
    }
  }

  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const {
    const auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }
  std::string require(const std::string& name) const {
    if (!has(name)) throw mobilenet::Error("missing required option --" + name + " (see --help)");
    return get(name);
  }
  double number(const std::string& name, double fallback) const {
    if (!has(name)) return fallback;
    try {
      size_t used = 0;
      const double v = std::stod(get(name), &used);
      if (used == get(name).size()) return v;
    } catch (const std::exception&) {
    }
    throw mobilenet::Error("option --" + name + " expects a number, got '" + get(name) + "'");
  }
  int integer(const std::string& name, int fallback) const {
    const double v = number(name, fallback);
    if (!(v >= -1e9 && v <= 1e9) || v != static_cast<double>(static_cast<int>(v)))
      throw mobilenet::Error("option --" + name + " expects an integer, got '" + get(name) + "'");
    return static_cast<int>(v);
  }

  std::vector<std::string> positional;

 private:
  std::map<std::string, std::string> values_;
};

/// `--isa PATH`: the instruction-set path to run instead of the best one this CPU has (as the
/// MOBILENET_ISA environment variable, which it overrides).
inline mobilenet::dispatch::Options dispatch_options(const Args& args) {
  mobilenet::dispatch::Options o;
  o.isa = args.get("isa", "");
  return o;
}

/// The line the tools print about where they run: "isa avx512 (CPU: SSE2 ... AVX512VL)".
inline std::string isa_report(const std::string& isa) {
  return "isa " + isa + " (CPU: " + mobilenet::dispatch::cpu_feature_names() + ")";
}

/// `--scheme auto|torchvision|timm` (whose key names a weight file has): nothing for auto or when
/// the option is absent (the loader then detects it), the scheme otherwise. `allow_auto` false:
/// a tool that loads no file needs one of the two (default torchvision).
inline std::optional<mobilenet::Scheme> scheme_option(const Args& args, bool allow_auto = true) {
  const std::string s = args.get("scheme", allow_auto ? "auto" : "torchvision");
  if (s == "torchvision") return mobilenet::Scheme::Torchvision;
  if (s == "timm") return mobilenet::Scheme::Timm;
  if (allow_auto && s == "auto") return std::nullopt;
  throw mobilenet::Error("option --scheme expects " + std::string(allow_auto ? "auto, " : "") +
                         "torchvision or timm, got '" + s + "'");
}

/// `--padding torch|tf_same` (how the convs pad): nothing when absent (a weight file's metadata
/// then decides, else torch).
inline std::optional<mobilenet::PaddingMode> padding_option(const Args& args) {
  if (!args.has("padding")) return std::nullopt;
  try {
    return mobilenet::parse_padding_mode(args.get("padding"));
  } catch (const mobilenet::Error& e) {
    throw mobilenet::Error(std::string("option --padding: ") + e.what());
  }
}

/// The --precision option (absent: fp32).
inline mobilenet::Precision precision_option(const Args& args) {
  try {
    return mobilenet::parse_precision(args.get("precision", "fp32"));
  } catch (const mobilenet::Error& e) {
    throw mobilenet::Error(std::string("option --precision: ") + e.what());
  }
}

/// What loading a weight file takes from the options every loading tool accepts: --arch,
/// --width, --classes, --scheme, --padding, --timm-arch (absent: the file decides) and
/// --precision (absent: fp32 for a float file).
inline mobilenet::LoadOptions load_options(const Args& args) {
  mobilenet::LoadOptions lo;
  if (args.has("arch")) lo.arch = mobilenet::parse_arch(args.get("arch"));
  if (args.has("width")) lo.width = args.number("width", 1.0);
  if (args.has("classes")) lo.num_classes = args.integer("classes", 1000);
  lo.scheme = scheme_option(args);
  lo.padding = padding_option(args);
  if (args.has("timm-arch")) lo.timm_arch = args.get("timm-arch");
  lo.precision = precision_option(args);
  return lo;
}

/// Runs `body`, turning any error into one line on stderr and exit status 1.
template <class Body>
int run(const char* program, Body&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", program, e.what());
    return 1;
  }
}

}  // namespace cli
