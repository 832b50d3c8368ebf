#!/usr/bin/python3
"""Write timm-named copies of the parity fixtures, for the timm key-name tests.

Written from timm's model definitions (pytorch-image-models), independently of the C++ mapping
in include/mobilenet/io/timm_names.hpp:

* timm/models/efficientnet.py: ``EfficientNet`` (mobilenetv1_*, mobilenetv2_*) has the stem
  ``conv_stem`` + ``bn1``, ``blocks.<stage>.<index>``, then for V2 ``conv_head`` + ``bn2``
  before pooling (V1: none, num_features=0), then ``classifier`` (Linear).  The stages are
  the rows of the arch_def in ``_gen_mobilenet_v1`` / ``_gen_mobilenet_v2``.
* timm/models/mobilenetv3.py: ``MobileNetV3`` has the same stem and blocks; the last 1x1 conv
  is a "cn" block of the last stage; after pooling ``conv_head`` (a 1x1 Conv2d with bias, where
  torchvision has the Linear ``classifier.0``) and ``classifier``.  Stages from
  ``_gen_mobilenet_v3``'s arch_def.
* timm/models/_efficientnet_blocks.py: DepthwiseSeparableConv ("ds", "dsa") = conv_dw, bn1,
  [se], conv_pw, bn2; InvertedResidual ("ir") = conv_pw, bn1, conv_dw, bn2, [se], conv_pwl,
  bn3; ConvBnAct ("cn") = conv, bn1; SqueezeExcite = conv_reduce, conv_expand.

For every width-1.0 224x224 case of tools/make_fixtures.py, FIXTURES/timm/<case>/ gets
``weights.safetensors`` (the torchvision-named file's tensors under timm's names, the Linear
``classifier.0`` of V3 reshaped to timm's 1x1 ``conv_head``), ``input.npy`` (the case's input)
and ``expected.npy``: the logits of the same weights run by the network as timm defines it.  At
width 1.0 timm's channel counts equal torchvision's, but timm's ``mobilenetv1_100`` uses ReLU6
(efficientnet.py, _gen_mobilenet_v1: act_layer 'relu6') and ``mobilenetv3_*_100`` use
BatchNorm's default eps 1e-5 (torchvision: 1e-3), so the reference model is the torchvision
model with those two changes.

Two more cases are built the way timm builds ``mobilenetv3_large_075`` and
``mobilenetv3_small_075``, whose channel counts differ from torchvision's at that width (timm
multiplies a block's rounded input width by the expansion ratio; its head conv stays 1280/1024
wide; its squeeze-excite width is round_channels(mid * 0.25)): torchvision's MobileNetV3 class
fed with timm's channel counts, seeded and calibrated like the parity fixtures.

FIXTURES/timm/cases.txt: ``name arch width classes batch height width torchvision_case``
(``-`` when the case has no torchvision-named original).
"""
import argparse
import os
import shutil
import sys

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(os.path.dirname(HERE), "tools")
sys.path.insert(0, TOOLS)
import make_fixtures  # noqa: E402
import safetensors_io  # noqa: E402
from models import model_from_safetensors  # noqa: E402
from timm_layout import timm_v3_model, to_timm  # noqa: E402

def as_timm_defines_it(model, arch):
    """The torchvision-layout model changed in place to timm's layer details at width 1.0."""
    if arch == "v1":  # ReLU6 throughout
        for m in model.modules():
            for name, child in m.named_children():
                if isinstance(child, nn.ReLU):
                    setattr(m, name, nn.ReLU6(inplace=True))
    if arch.startswith("v3"):  # BatchNorm eps 1e-5
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eps = 1e-5
    return model.eval()


def forward(model, x):
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy().astype(np.float32)


def write_case(out_dir, name, tensors, metadata, x, expected):
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    safetensors_io.save(os.path.join(d, "weights.safetensors"), tensors, metadata, dtype="F32")
    np.save(os.path.join(d, "input.npy"), x)
    np.save(os.path.join(d, "expected.npy"), expected)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fixtures", required=True, help="tools/make_fixtures.py's output directory")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out_dir = os.path.join(args.fixtures, "timm")
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    lines = []
    with open(os.path.join(args.fixtures, "cases.txt")) as f:
        cases = [line.split() for line in f if line.strip()]
    for name, arch, width, classes, batch, height, width_px in cases:
        if float(width) != 1.0 or (batch, height, width_px) != ("1", "224", "224"):
            continue
        src = os.path.join(args.fixtures, name)
        tensors, metadata = safetensors_io.load(os.path.join(src, "weights.safetensors"), as_torch=True)
        x = np.load(os.path.join(src, "input.npy"))
        model, _ = model_from_safetensors(os.path.join(src, "weights.safetensors"))
        expected = forward(as_timm_defines_it(model, arch), x)
        write_case(out_dir, name, to_timm(arch, tensors), metadata, x, expected)
        lines.append(" ".join([name, arch, width, classes, batch, height, width_px, name]))
        print("%-22s %d tensors renamed" % (name, len(tensors)))

    for i, arch in enumerate(("v3_large", "v3_small")):
        width, classes, batch, height, width_px = 0.75, 37, 2, 129, 96
        seed = 4321 + i
        torch.manual_seed(seed)
        model = timm_v3_model(arch, width, classes)
        make_fixtures.reset_linears(model)
        make_fixtures.scale_output_layer(model, make_fixtures.LOGIT_SCALE)
        gen = torch.Generator().manual_seed(seed)
        make_fixtures.randomize_bn_affine(model, gen)
        make_fixtures.calibrate_bn(model, gen)
        model.eval()
        x = np.random.default_rng(seed).standard_normal((batch, 3, height, width_px), dtype=np.float32)
        expected = forward(model, x)
        make_fixtures.check_logits(arch, expected)
        state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
        name = "%s_w075_timm_%dx%d_b%d" % (arch, height, width_px, batch)
        metadata = {"arch": arch, "width": repr(width), "num_classes": str(classes),
                    "source": "tests/to_timm_keys.py: timm's mobilenet%s_075 channel counts, seed %d"
                              % (arch, seed)}
        write_case(out_dir, name, to_timm(arch, state), metadata, x, expected)
        lines.append(" ".join(map(str, [name, arch, width, classes, batch, height, width_px, "-"])))
        print("%-22s %d parameters (timm's channel counts)"
              % (name, sum(p.numel() for p in model.parameters())))
    with open(os.path.join(out_dir, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
