#!/usr/bin/python3
"""Write Keras 2 HDF5 files in keras.applications' MobileNet, MobileNetV2 and MobileNetV3 layouts, export
them with tools/export_weights.py --keras, and write the expected logits, for the Keras parity
tests (test_keras.cpp, Keras.*).

The layouts, written from keras-team/keras independently of tools/keras_import.py:

* applications/mobilenet.py (V1): conv1 (3x3 stride 2, no bias, int(32 * alpha) channels),
  conv1_bn, conv1_relu (ReLU6); blocks 1-13 conv_pad_<i> (ZeroPadding2D((0, 1), (0, 1)) before
  a stride-2 depthwise: SAME on even sides), conv_dw_<i>, conv_dw_<i>_bn, conv_dw_<i>_relu,
  conv_pw_<i>, conv_pw_<i>_bn, conv_pw_<i>_relu; global_average_pooling2d, reshape_1, dropout,
  conv_preds (1x1 with bias), reshape_2, act_softmax.
* applications/mobilenet_v2.py: layers Conv1 (3x3 stride 2, no bias), bn_Conv1, Conv1_relu;
  block 0 expanded_conv_depthwise(_BN), expanded_conv_project(_BN) (no expansion); blocks 1-16
  block_<i>_expand(_BN), block_<i>_pad before a stride-2 depthwise (ZeroPadding2D(correct_pad):
  TensorFlow's SAME), block_<i>_depthwise(_BN), block_<i>_project(_BN), block_<i>_add for
  residuals; Conv_1, Conv_1_bn, out_relu, global_average_pooling2d, predictions (Dense).
  Channels: make_divisible(int(filters * alpha), 8), which equals torchvision's
  _make_divisible(filters * width, 8) for alpha 0.35-1.4.
* applications/mobilenet_v3.py: rescaling (x / 127.5 - 1), Conv (16 channels at any alpha,
  "same" padding), Conv/BatchNorm; per block "expanded_conv/" (block 0, never an expansion) or
  "expanded_conv_<i>/": expand, expand/BatchNorm, depthwise/pad (stride 2), depthwise,
  depthwise/BatchNorm, squeeze_excite/Conv and squeeze_excite/Conv_1 (1x1 with bias, squeezing
  to _depth(filters * 0.25)), project, project/BatchNorm; Conv_1 (6x the last block's width),
  Conv_1/BatchNorm, Conv_2 (1x1 with bias, 1280 or 1024 wide unless alpha > 1), Logits (1x1
  with bias). minimalistic=True: kernel 3, ReLU, no squeeze-excite. This is timm's tf_
  network (timm_layout.timm_v3_model builds it).
* Every BatchNormalization has epsilon 1e-3.
* saving/legacy/hdf5_format.py: root attributes layer_names (every layer, in the model's
  order), keras_version, backend; a group per layer (created in sorted name order) with attribute weight_names and datasets
  "<layer>/kernel:0", ".../depthwise_kernel:0", ".../bias:0", ".../gamma:0", ".../beta:0",
  ".../moving_mean:0", ".../moving_variance:0".
* layers: Conv2D kernel [kh, kw, in, out]; DepthwiseConv2D depthwise_kernel [kh, kw, C, 1];
  Dense kernel [in, out].

The references are our V1 (tools/mobilenet_v1.py) with ReLU6, torchvision's MobileNetV2 and
timm's V3 built in torchvision's classes, with
BatchNorm eps 1e-3 and TensorFlow's padding (tools/tf_same.py), seeded and calibrated as the
parity fixtures. FIXTURES/keras/<case>/ holds weights.h5, model.safetensors (the exporter's
output), input_<size>.npy, expected_<size>.npy; FIXTURES/keras/cases.txt lists ``case arch width
classes minimal size batch height width``.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(os.path.dirname(HERE), "tools")
sys.path.insert(0, TOOLS)
import make_fixtures  # noqa: E402
import tf_same  # noqa: E402
import timm_layout  # noqa: E402

# (case, arch, width, classes, minimal)
MODELS = [("v1_a100", "v1", 1.0, 1000, False), ("v1_a025", "v1", 0.25, 10, False),
          ("v2_a100", "v2", 1.0, 1000, False), ("v2_a035", "v2", 0.35, 10, False),
          ("v3_large_a100", "v3_large", 1.0, 1000, False),
          ("v3_small_a075", "v3_small", 0.75, 10, False),
          ("v3_large_minimal", "v3_large", 1.0, 1000, True)]
SIZES = [("224", 1, 224, 224), ("230x197", 2, 230, 197)]
# Keras' V1 pads its stride-2 layers (0, 1), SAME only where the side is even: sizes even at
# every stride-2 layer (Keras publishes 128-224).
V1_SIZES = [("224", 1, 224, 224), ("192x160", 2, 192, 160)]
BN_EPS = 1e-3


def keras_v2_names():
    """keras.applications MobileNetV2's layer names in order, weighted ones marked True."""
    names = [("input_1", False), ("Conv1", True), ("bn_Conv1", True), ("Conv1_relu", False),
             ("expanded_conv_depthwise", True), ("expanded_conv_depthwise_BN", True),
             ("expanded_conv_depthwise_relu", False), ("expanded_conv_project", True),
             ("expanded_conv_project_BN", True)]
    strides = [1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1]  # blocks 0-16
    for i in range(1, 17):
        b = "block_%d_" % i
        names += [(b + "expand", True), (b + "expand_BN", True), (b + "expand_relu", False)]
        if strides[i] == 2:
            names.append((b + "pad", False))
        names += [(b + "depthwise", True), (b + "depthwise_BN", True),
                  (b + "depthwise_relu", False), (b + "project", True), (b + "project_BN", True)]
    names += [("Conv_1", True), ("Conv_1_bn", True), ("out_relu", False),
              ("global_average_pooling2d", False), ("predictions", True)]
    return names


def keras_v1_names():
    """keras.applications MobileNet's layer names in order, weighted ones marked True."""
    names = [("input_1", False), ("conv1", True), ("conv1_bn", True), ("conv1_relu", False)]
    strides = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1]  # blocks 1-13
    for i, s in enumerate(strides, start=1):
        if s == 2:
            names.append(("conv_pad_%d" % i, False))
        for part in ("dw", "pw"):
            names += [("conv_%s_%d" % (part, i), True), ("conv_%s_%d_bn" % (part, i), True),
                      ("conv_%s_%d_relu" % (part, i), False)]
    names += [("global_average_pooling2d", False), ("reshape_1", False), ("dropout", False),
              ("conv_preds", True), ("reshape_2", False), ("act_softmax", False)]
    return names


def keras_v3_names(arch, minimal):
    """keras.applications MobileNetV3's layer names in order, weighted ones marked True."""
    names = [("input_1", False), ("rescaling", False), ("Conv", True), ("Conv/BatchNorm", True),
             ("activation", False)]
    blocks = [b for _, _, b in timm_layout.timm_blocks(arch, minimal) if b["type"] != "cn"]
    for i, b in enumerate(blocks):
        p = "expanded_conv/" if i == 0 else "expanded_conv_%d/" % i
        if i:
            names += [(p + "expand", True), (p + "expand/BatchNorm", True)]
        if b["s"] == 2:
            names.append((p + "depthwise/pad", False))
        names += [(p + "depthwise", True), (p + "depthwise/BatchNorm", True)]
        if b["se"]:
            names += [(p + "squeeze_excite/AvgPool", False), (p + "squeeze_excite/Conv", True),
                      (p + "squeeze_excite/Relu", False), (p + "squeeze_excite/Conv_1", True),
                      (p + "squeeze_excite/Mul", False)]
        names += [(p + "project", True), (p + "project/BatchNorm", True)]
    names += [("Conv_1", True), ("Conv_1/BatchNorm", True), ("global_average_pooling2d", False),
              ("Conv_2", True), ("dropout", False), ("Logits", True), ("flatten", False)]
    return names


def keras_arrays(module, conv_classifier=False):
    """{short weight name: array} of a torch module in Keras' layout."""
    if isinstance(module, nn.BatchNorm2d):
        return {"gamma": module.weight, "beta": module.bias, "moving_mean": module.running_mean,
                "moving_variance": module.running_var}
    if isinstance(module, nn.Linear):  # Dense [in, out]; V3's 1x1 Conv2D [1, 1, in, out]
        kernel = module.weight.t()
        return {"kernel": kernel[None, None] if conv_classifier else kernel, "bias": module.bias}
    if module.groups > 1:  # [C, 1, kh, kw] -> [kh, kw, C, 1]
        return {"depthwise_kernel": module.weight.permute(2, 3, 0, 1)}
    out = {"kernel": module.weight.permute(2, 3, 1, 0)}  # [out, in, kh, kw] -> [kh, kw, in, out]
    if module.bias is not None:
        out["bias"] = module.bias
    return out


def write_h5(path, model, names):
    import h5py

    modules = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear))]
    weighted = [n for n, w in names if w]
    assert len(weighted) == len(modules), (len(weighted), len(modules))
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [n.encode() for n, _ in names]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.11.0"
        weights = dict(zip(weighted, modules))
        # Keras creates the groups sorted by name ("strictly growing to avoid prefix issues":
        # V3's "x/depthwise" before "x/depthwise/BatchNorm" and "x/depthwise/pad").
        for name, has_weights in sorted(names):
            g = f.create_group(name)
            if not has_weights:
                g.attrs["weight_names"] = []
                continue
            arrays = keras_arrays(weights[name], conv_classifier=name in ("Conv_2", "Logits", "conv_preds"))
            weight_names = []
            for short, t in arrays.items():
                wn = "%s/%s:0" % (name, short)
                g.create_dataset(wn, data=t.detach().numpy().astype(np.float32))
                weight_names.append(wn.encode())
            g.attrs["weight_names"] = weight_names


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="FIXTURES/keras directory")
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    cases = []
    for seed, (case, arch, width, classes, minimal) in enumerate(MODELS, start=700):
        torch.manual_seed(seed)
        if arch == "v1":  # Keras' ReLU6
            model, names = make_fixtures.build_model(arch, width, classes), keras_v1_names()
            for m in model.modules():
                for child_name, child in m.named_children():
                    if isinstance(child, nn.ReLU):
                        setattr(m, child_name, nn.ReLU6(inplace=True))
        elif arch == "v2":
            model, names = make_fixtures.build_model(arch, width, classes), keras_v2_names()
        else:
            model = timm_layout.timm_v3_model(arch, width, classes, minimal)
            names = keras_v3_names(arch, minimal)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eps = BN_EPS
        make_fixtures.reset_linears(model)
        make_fixtures.scale_output_layer(model, make_fixtures.LOGIT_SCALE)
        gen = torch.Generator().manual_seed(seed)
        make_fixtures.randomize_bn_affine(model, gen)
        tf_same.use_tf_same_padding(model)
        make_fixtures.calibrate_bn(model, gen)
        model.eval()
        d = os.path.join(args.out, case)
        os.makedirs(d, exist_ok=True)
        write_h5(os.path.join(d, "weights.h5"), model, names)
        subprocess.run([sys.executable, os.path.join(TOOLS, "export_weights.py"), "--keras",
                        os.path.join(d, "weights.h5"), "--arch", arch, "--width", repr(width),
                        "--out", os.path.join(d, "model.safetensors")],
                       check=True, stdout=subprocess.DEVNULL)
        for size, batch, h, w in V1_SIZES if arch == "v1" else SIZES:
            x = torch.randn(batch, 3, h, w, generator=gen).numpy()
            np.save(os.path.join(d, "input_%s.npy" % size), x)
            np.save(os.path.join(d, "expected_%s.npy" % size), make_fixtures.forward(model, x))
            cases.append("%s %s %r %d %d %s %d %d %d"
                         % (case, arch, width, classes, minimal, size, batch, h, w))
    with open(os.path.join(args.out, "cases.txt"), "w") as f:
        f.write("\n".join(cases) + "\n")
    print("wrote %d Keras cases to %s" % (len(cases), args.out))


if __name__ == "__main__":
    main()
