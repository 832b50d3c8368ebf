#!/usr/bin/python3
"""Write timm's TensorFlow ports of MobileNetV3 in the Hugging Face hub layout, for the parity
tests of the tf_ models (test_timm.cpp, TimmTf.*).

Written from timm's definitions (pytorch-image-models), independently of the C++ code:

* timm/models/mobilenetv3.py: each ``tf_mobilenetv3_*`` entry point calls _gen_mobilenet_v3 with
  bn_eps=BN_EPS_TF_DEFAULT (1e-3, _efficientnet_builder.py) and pad_type='same'; the
  ``_minimal_`` ones drop se0.25 from the arch_def, use k3 for k5 and ReLU for every activation.
  Their state-dict keys are those of mobilenetv3_large_100 etc.
* timm/layers/padding.py + conv2d_same.py: with pad_type 'same', a stride-2 conv pads by the input
  size (pad_same: total max((ceil(x / s) - 1) * s + k - x, 0), the odd pixel right/bottom);
  stride-1 convs pad (k - 1) / 2, which is the same thing (tools/tf_same.py applies the rule to
  every KxK conv).
* timm/models/_hub.py, save_config_for_hf: config.json beside model.safetensors holds
  ``architecture``, ``num_classes``, ``num_features`` and ``pretrained_cfg`` (for these six:
  input_size [3, 224, 224], bilinear, crop_pct 0.875, mean = std = 0.5, mobilenetv3.py _cfg with
  IMAGENET_INCEPTION_MEAN/STD).

The reference network is torchvision's MobileNetV3 class fed with timm's channel counts
(timm_layout.timm_v3_model), BatchNorm eps 1e-3 and TensorFlow's padding, seeded and calibrated
like the parity fixtures. FIXTURES/timm_tf/<name>/ holds model.safetensors (timm's keys, metadata
only {"format": "pt"} as timm writes it), config.json, input_<case>.npy and expected_<case>.npy
for the cases 224x224 batch 1 and 230x197 batch 3 (sides even at some stride-2 layers and odd at
others). FIXTURES/timm_tf/no_config/model.safetensors is tf_mobilenetv3_small_100's file alone.
FIXTURES/timm_tf/cases.txt: ``name case batch height width``.
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
sys.path.insert(0, HERE)
import make_fixtures  # noqa: E402
import safetensors_io  # noqa: E402
import tf_same  # noqa: E402
import timm_layout  # noqa: E402
import to_timm_keys  # noqa: E402

# name: (arch, width, minimal)
MODELS = {
    "tf_mobilenetv3_large_075": ("v3_large", 0.75, False),
    "tf_mobilenetv3_large_100": ("v3_large", 1.0, False),
    "tf_mobilenetv3_large_minimal_100": ("v3_large", 1.0, True),
    "tf_mobilenetv3_small_075": ("v3_small", 0.75, False),
    "tf_mobilenetv3_small_100": ("v3_small", 1.0, False),
    "tf_mobilenetv3_small_minimal_100": ("v3_small", 1.0, True),
}
CASES = [("224", 1, 224, 224), ("230x197", 3, 230, 197)]
CLASSES = 1000


def tf_port(arch, width, minimal, seed):
    """The reference model of one tf_ port, seeded and calibrated, in eval mode."""
    torch.manual_seed(seed)
    model = timm_layout.timm_v3_model(arch, width, CLASSES, minimal)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eps = 1e-3
    tf_same.use_tf_same_padding(model)
    make_fixtures.reset_linears(model)
    make_fixtures.scale_output_layer(model, make_fixtures.LOGIT_SCALE)
    gen = torch.Generator().manual_seed(seed)
    make_fixtures.randomize_bn_affine(model, gen)
    make_fixtures.calibrate_bn(model, gen)
    return model.eval()


def hub_config(name, arch, width):
    """config.json as timm's save_config_for_hf writes it for these models."""
    last_conv = timm_layout.make_divisible((960 if arch == "v3_large" else 576) * width)
    return {
        "architecture": name,
        "num_classes": CLASSES,
        "num_features": last_conv,
        "pretrained_cfg": {
            "tag": "in1k", "custom_load": False, "input_size": [3, 224, 224],
            "fixed_input_size": False, "interpolation": "bilinear", "crop_pct": 0.875,
            "crop_mode": "center", "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
            "num_classes": CLASSES, "pool_size": [7, 7], "first_conv": "conv_stem",
            "classifier": "classifier", "license": "apache-2.0"},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="output directory (FIXTURES/timm_tf)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    lines = []
    for i, (name, (arch, width, minimal)) in enumerate(MODELS.items()):
        seed = 8800 + i
        model = tf_port(arch, width, minimal, seed)
        state = {k: v for k, v in model.state_dict().items()
                 if not k.endswith("num_batches_tracked")}
        d = os.path.join(args.out, name)
        os.makedirs(d)
        safetensors_io.save(os.path.join(d, "model.safetensors"),
                            timm_layout.to_timm(arch, state, minimal), {"format": "pt"},
                            dtype="F32")
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(hub_config(name, arch, width), f, indent=2)
        for j, (case, batch, height, width_px) in enumerate(CASES):
            x = np.random.default_rng(seed + j).standard_normal(
                (batch, 3, height, width_px), dtype=np.float32)
            expected = to_timm_keys.forward(model, x)
            make_fixtures.check_logits(name + "_" + case, expected)
            np.save(os.path.join(d, "input_%s.npy" % case), x)
            np.save(os.path.join(d, "expected_%s.npy" % case), expected)
            lines.append("%s %s %d %d %d" % (name, case, batch, height, width_px))
        print("%-34s %d parameters" % (name, sum(p.numel() for p in model.parameters())),
              flush=True)
    os.makedirs(os.path.join(args.out, "no_config"))
    shutil.copy(os.path.join(args.out, "tf_mobilenetv3_small_100", "model.safetensors"),
                os.path.join(args.out, "no_config", "model.safetensors"))
    with open(os.path.join(args.out, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
