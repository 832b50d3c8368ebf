#pragma once
// timm's model names for the MobileNets we run (pytorch-image-models: efficientnet.py for
// mobilenetv1_* / mobilenetv2_*, mobilenetv3.py for mobilenetv3_* and the tf_mobilenetv3_* ports
// of Google's TensorFlow weights), as architectures and ModelOptions. timm's state-dict keys do
// not tell these apart (a tf_ port has the keys of the PyTorch-trained model), so the name comes
// from the config.json timm writes beside model.safetensors, or from the user.

#include <string>

#include "mobilenet/core/error.hpp"
#include "mobilenet/models/spec.hpp"

namespace mobilenet {

/// A timm model: the architecture and the options that build it.
struct TimmModel {
  Arch arch;
  ModelOptions options;
};

/// The names timm_model() knows, comma-separated (for messages).
inline const char* timm_model_names() {
  return "mobilenetv1_100, mobilenetv2_035, mobilenetv2_050, mobilenetv2_075, mobilenetv2_100, "
         "mobilenetv2_140, mobilenetv3_large_075, mobilenetv3_large_100, mobilenetv3_small_050, "
         "mobilenetv3_small_075, mobilenetv3_small_100, tf_mobilenetv3_large_075, "
         "tf_mobilenetv3_large_100, tf_mobilenetv3_large_minimal_100, tf_mobilenetv3_small_075, "
         "tf_mobilenetv3_small_100, tf_mobilenetv3_small_minimal_100";
}

/// The architecture and options of timm's model `name`, with `num_classes` classes. The tf_
/// ports (mobilenetv3.py, _gen_mobilenet_v3 called with bn_eps BN_EPS_TF_DEFAULT = 1e-3 and
/// pad_type 'same') fold BatchNorm with eps 1e-3 and pad as TensorFlow's SAME; their _minimal_
/// variants drop squeeze-excite and hard-swish and use 3x3 kernels only.
/// @throws Error naming the supported models if `name` is not one of them.
inline TimmModel timm_model(const std::string& name, int num_classes = 1000) {
  struct Row {
    const char* name;
    Arch arch;
    double width;
    bool tf, minimal;
  };
  static const Row kRows[] = {
      {"mobilenetv1_100", Arch::V1, 1.0, false, false},
      {"mobilenetv2_035", Arch::V2, 0.35, false, false},
      {"mobilenetv2_050", Arch::V2, 0.5, false, false},
      {"mobilenetv2_075", Arch::V2, 0.75, false, false},
      {"mobilenetv2_100", Arch::V2, 1.0, false, false},
      {"mobilenetv2_140", Arch::V2, 1.4, false, false},
      {"mobilenetv3_large_075", Arch::V3Large, 0.75, false, false},
      {"mobilenetv3_large_100", Arch::V3Large, 1.0, false, false},
      {"mobilenetv3_small_050", Arch::V3Small, 0.5, false, false},
      {"mobilenetv3_small_075", Arch::V3Small, 0.75, false, false},
      {"mobilenetv3_small_100", Arch::V3Small, 1.0, false, false},
      {"tf_mobilenetv3_large_075", Arch::V3Large, 0.75, true, false},
      {"tf_mobilenetv3_large_100", Arch::V3Large, 1.0, true, false},
      {"tf_mobilenetv3_large_minimal_100", Arch::V3Large, 1.0, true, true},
      {"tf_mobilenetv3_small_075", Arch::V3Small, 0.75, true, false},
      {"tf_mobilenetv3_small_100", Arch::V3Small, 1.0, true, false},
      {"tf_mobilenetv3_small_minimal_100", Arch::V3Small, 1.0, true, true},
  };
  for (const Row& r : kRows)
    if (name == r.name) {
      ModelOptions o;
      o.width = r.width;
      o.num_classes = num_classes;
      o.scheme = Scheme::Timm;
      o.minimal = r.minimal;
      if (r.tf) {
        o.padding = PaddingMode::TfSame;
        o.bn_eps = 1e-3;
      }
      return {r.arch, o};
    }
  throw Error("unknown timm model '" + name + "' (supported: " + timm_model_names() + ")");
}

}  // namespace mobilenet
