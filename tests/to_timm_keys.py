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
import re
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

# timm's arch_def block strings (type_rRepeats_kKernel_sStride_eExpansion_cChannels[_seRatio]
# [_nre]); one inner list per stage.  The last 1x1 conv of V3 ("cn") is its own last stage.
ARCH_DEF = {
    "v1": [["dsa_r1_k3_s1_c64"], ["dsa_r2_k3_s2_c128"], ["dsa_r2_k3_s2_c256"],
           ["dsa_r6_k3_s2_c512"], ["dsa_r2_k3_s2_c1024"]],
    "v2": [["ds_r1_k3_s1_c16"], ["ir_r2_k3_s2_e6_c24"], ["ir_r3_k3_s2_e6_c32"],
           ["ir_r4_k3_s2_e6_c64"], ["ir_r3_k3_s1_e6_c96"], ["ir_r3_k3_s2_e6_c160"],
           ["ir_r1_k3_s1_e6_c320"]],
    "v3_large": [["ds_r1_k3_s1_e1_c16_nre"],
                 ["ir_r1_k3_s2_e4_c24_nre", "ir_r1_k3_s1_e3_c24_nre"],
                 ["ir_r3_k5_s2_e3_c40_se0.25_nre"],
                 ["ir_r1_k3_s2_e6_c80", "ir_r1_k3_s1_e2.5_c80", "ir_r2_k3_s1_e2.3_c80"],
                 ["ir_r2_k3_s1_e6_c112_se0.25"],
                 ["ir_r3_k5_s2_e6_c160_se0.25"],
                 ["cn_r1_k1_s1_c960"]],
    "v3_small": [["ds_r1_k3_s2_e1_c16_se0.25_nre"],
                 ["ir_r1_k3_s2_e4.5_c24_nre", "ir_r1_k3_s1_e3.67_c24_nre"],
                 ["ir_r1_k5_s2_e4_c40_se0.25", "ir_r2_k5_s1_e6_c40_se0.25"],
                 ["ir_r2_k5_s1_e3_c48_se0.25"],
                 ["ir_r3_k5_s2_e6_c96_se0.25"],
                 ["cn_r1_k1_s1_c576"]],
}
V3_HEAD = {"v3_large": 1280, "v3_small": 1024}  # MobileNetV3 num_features, never scaled


def decode(block):
    """'ir_r2_k3_s1_e2.3_c80_se0.25_nre' -> dict(type, r, k, s, e, c, se, relu)."""
    parts = block.split("_")
    d = dict(type=parts[0], e=1.0, se=0.0, relu=False)
    for p in parts[1:]:
        if p == "nre":
            d["relu"] = True
            continue
        key, value = re.match(r"([a-z]+)([0-9.]+)$", p).groups()
        d[key] = float(value) if key in ("e", "se") else int(value)
    return d


def timm_blocks(arch, minimal=False):
    """[(stage, index in stage, decoded block)] in network order, repeats unrolled. ``minimal``:
    timm's _minimal_ variants of V3 (mobilenetv3.py: the same strings without se0.25, with k3 for
    k5 and ReLU throughout)."""
    out = []
    for stage, strings in enumerate(ARCH_DEF[arch]):
        i = 0
        for s in strings:
            d = decode(s)
            if minimal and d["type"] != "cn":
                d.update(se=0.0, k=3, relu=True)
            for r in range(d["r"]):
                out.append((stage, i, dict(d, s=d["s"] if r == 0 else 1)))
                i += 1
    return out


def block_renames(arch, block):
    """{torchvision sub-module prefix: timm prefix} for one block."""
    t, se = block["type"], block["se"] > 0
    if arch == "v1":  # tools/mobilenet_v1.py: Sequential(ConvBNReLU(dw), ConvBNReLU(pw))
        return {"0.0": "conv_dw", "0.1": "bn1", "1.0": "conv_pw", "1.1": "bn2"}
    if arch == "v2":  # torchvision InvertedResidual.conv: [ConvBNReLU6(pw)], ConvBNReLU6(dw), Conv2d, BN
        if t == "ds":
            return {"conv.0.0": "conv_dw", "conv.0.1": "bn1", "conv.1": "conv_pw", "conv.2": "bn2"}
        return {"conv.0.0": "conv_pw", "conv.0.1": "bn1", "conv.1.0": "conv_dw", "conv.1.1": "bn2",
                "conv.2": "conv_pwl", "conv.3": "bn3"}
    # torchvision V3 InvertedResidual.block: [expand], dw, [SqueezeExcitation], project
    names = [] if t == "ds" else [("conv_pw", "bn1")]
    names.append(("conv_dw", "bn1" if t == "ds" else "bn2"))
    if se:
        names.append(None)
    names.append(("conv_pw", "bn2") if t == "ds" else ("conv_pwl", "bn3"))
    m = {}
    for j, n in enumerate(names):
        if n is None:
            m["block.%d.fc1" % j] = "se.conv_reduce"
            m["block.%d.fc2" % j] = "se.conv_expand"
        else:
            m["block.%d.0" % j], m["block.%d.1" % j] = n
    return m


def timm_name_map(arch, keys, minimal=False):
    """{torchvision key: timm key} for every key of a torchvision-named state dict."""
    prefixes = {"features.0.0": "conv_stem", "features.0.1": "bn1"}
    blocks = [b for b in timm_blocks(arch, minimal) if b[2]["type"] != "cn"]
    for n, (stage, i, block) in enumerate(blocks, start=1):
        for tv, timm in block_renames(arch, block).items():
            prefixes["features.%d.%s" % (n, tv)] = "blocks.%d.%d.%s" % (stage, i, timm)
    last = "features.%d" % (len(blocks) + 1)
    if arch == "v1":
        prefixes["classifier.1"] = "classifier"
    elif arch == "v2":
        prefixes.update({last + ".0": "conv_head", last + ".1": "bn2", "classifier.1": "classifier"})
    else:
        stage = len(ARCH_DEF[arch]) - 1
        prefixes.update({last + ".0": "blocks.%d.0.conv" % stage, last + ".1": "blocks.%d.0.bn1" % stage,
                         "classifier.0": "conv_head", "classifier.3": "classifier"})
    out = {}
    for k in keys:
        head, _, leaf = k.rpartition(".")
        if head not in prefixes:
            raise KeyError("%s: no timm name for %r" % (arch, k))
        out[k] = prefixes[head] + "." + leaf
    if len(set(out.values())) != len(out):
        raise ValueError("%s: two keys map to one timm name" % arch)
    return out


def to_timm(arch, tensors, minimal=False):
    """The state dict under timm's names; V3's Linear classifier.0 becomes the 1x1 conv_head."""
    out = {}
    for tv, timm in timm_name_map(arch, tensors, minimal).items():
        t = tensors[tv]
        if timm == "conv_head.weight" and arch.startswith("v3"):
            t = t.reshape(tuple(t.shape) + (1, 1))
        out[timm] = t
    return out


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


def make_divisible(v, divisor=8):
    """timm's make_divisible / round_channels (and torchvision's _make_divisible)."""
    n = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return n + divisor if n < 0.9 * v else n


def timm_v3_model(arch, width, classes, minimal=False):
    """torchvision's MobileNetV3 class with the channel counts timm's _gen_mobilenet_v3 builds;
    ``minimal``: its _minimal_ variant (no squeeze-excite, 3x3 kernels, ReLU for the stem, the
    blocks, the last conv and the head)."""
    from torchvision.models.mobilenetv3 import InvertedResidualConfig, MobileNetV3

    stem = 16 if width < 0.75 else make_divisible(16 * width)  # fix_stem below 0.75
    configs, cin = [], stem
    blocks = timm_blocks(arch, minimal)
    for _, _, b in blocks[:-1]:
        out = make_divisible(b["c"] * width)
        mid = cin if b["type"] == "ds" else make_divisible(cin * b["e"])
        if b["se"]:  # torchvision squeezes to _make_divisible(mid // 4, 8): timm's for mid % 4 == 0
            assert mid % 4 == 0
        configs.append(InvertedResidualConfig(cin, b["k"], mid, out, b["se"] > 0,
                                              "RE" if b["relu"] else "HS", b["s"], 1, 1.0))
        cin = out
    last = make_divisible(blocks[-1][2]["c"] * width)
    assert last == 6 * cin, "torchvision's class makes the last conv 6x the last block's width"
    model = MobileNetV3(configs, V3_HEAD[arch], num_classes=classes, norm_layer=nn.BatchNorm2d)
    if minimal:  # torchvision hard-codes Hardswish after the stem, the last conv and the hidden Linear
        model.features[0][2] = nn.ReLU(inplace=True)
        model.features[-1][2] = nn.ReLU(inplace=True)
        model.classifier[1] = nn.ReLU(inplace=True)
    return model


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
