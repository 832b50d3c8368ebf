#pragma once
// What a network (float Network or Int8Network) is, as rows and text: one row per layer or per
// stage (output shape, parameters, MACs at a given input size), and the table mobilenet-summary
// prints.

#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "mobilenet/models/network.hpp"

namespace mobilenet {
inline namespace MOBILENET_ISA {

/// Calls f(stage name, its layers' rows) for the stem, each block, the last 1x1 conv and the
/// classifier of `net`, at a batch-1 input of `height` x `width`.
template <class Net, class F>
void describe_stages(const Net& net, int64_t height, int64_t width, F&& f) {
  std::vector<LayerInfo> rows;
  const auto emit = [&](const std::string& name) {
    f(name, rows);
    rows.clear();
  };
  Shape s = net.stem.output_shape({1, height, width, 3});
  rows.push_back(net.stem.info("features.0", {1, height, width, 3}));
  emit("features.0");
  for (size_t i = 0; i < net.blocks.size(); ++i) {
    const std::string name = "features." + std::to_string(i + 1);
    visit_block(net.blocks[i], [&](const auto& b) {
      b.describe(name, s, rows);
      s = b.output_shape(s);
    });
    emit(name);
  }
  if (net.last_conv) {
    const std::string name = "features." + std::to_string(net.blocks.size() + 1);
    rows.push_back(net.last_conv->info(name, s));
    s = net.last_conv->output_shape(s);
    emit(name);
  }
  net.classifier.describe("classifier", s, rows);
  emit("classifier");
}

/// One row per layer in execution order (see Model::layers).
template <class Net>
std::vector<LayerInfo> layer_rows(const Net& net, int64_t height, int64_t width) {
  std::vector<LayerInfo> rows;
  describe_stages(net, height, width,
                  [&](const std::string&, const std::vector<LayerInfo>& layers) {
                    rows.insert(rows.end(), layers.begin(), layers.end());
                  });
  return rows;
}

/// One row per stage, its layers merged (see Model::stages).
template <class Net>
std::vector<LayerInfo> stage_rows(const Net& net, int64_t height, int64_t width) {
  std::vector<LayerInfo> rows;
  describe_stages(
      net, height, width, [&](const std::string& name, const std::vector<LayerInfo>& layers) {
        if (layers.size() == 1) {
          rows.push_back(layers.front());
          return;
        }
        LayerInfo stage{name, "", layers.back().output, 0, 0};
        for (const LayerInfo& l : layers) {
          stage.type += (stage.type.empty() ? "" : "+") + l.name.substr(name.size() + 1);
          stage.params += l.params;
          stage.macs += l.macs;
        }
        rows.push_back(stage);
      });
  return rows;
}

/// The printable layer table with totals (see Model::summary).
template <class Net>
std::string summary_table(const Net& net, int64_t height, int64_t width) {
  const NetworkSpec& spec = net.spec;
  std::ostringstream os;
  char line[256];
  std::snprintf(line, sizeof line, "%-24s %-32s %-20s %12s %14s\n", "layer", "type",
                "output (HxWxC)", "params", "MACs");
  os << "mobilenet " << to_string(spec.arch) << (spec.scheme == Scheme::Timm ? " (timm)" : "")
     << " width " << spec.width << ", " << spec.num_classes << " classes"
     << (spec.padding == PaddingMode::TfSame ? ", tf_same padding" : "") << ", " << to_string(Net::kPrecision)
     << ", input " << height << "x" << width << "\n"
     << line;
  int64_t params = 0, macs = 0;
  for (const LayerInfo& r : layer_rows(net, height, width)) {
    const std::string shape = std::to_string(r.output.h) + "x" + std::to_string(r.output.w) + "x" +
                              std::to_string(r.output.c);
    std::snprintf(line, sizeof line, "%-24s %-32s %-20s %12lld %14lld\n", r.name.c_str(),
                  r.type.c_str(), shape.c_str(), static_cast<long long>(r.params),
                  static_cast<long long>(r.macs));
    os << line;
    params += r.params;
    macs += r.macs;
  }
  std::snprintf(line, sizeof line, "%-78s %12lld %14lld\n", "total", static_cast<long long>(params),
                static_cast<long long>(macs));
  os << line;
  return os.str();
}

}  // namespace MOBILENET_ISA
}  // namespace mobilenet
