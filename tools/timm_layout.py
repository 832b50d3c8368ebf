"""timm's MobileNet layouts, written from timm's model definitions (pytorch-image-models) for the
tools that read or write timm-named weights (export_weights.py --keras for MobileNetV3, whose
Keras network is timm's tf_ network) and the timm tests (tests/to_timm_keys.py says which timm
files each piece follows): the arch_def block strings, the key renaming from torchvision's
layout, and torchvision's MobileNetV3 class built with timm's channel counts.
"""
import re

from torch import nn

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
