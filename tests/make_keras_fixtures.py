#!/usr/bin/python3
"""Write Keras 2 HDF5 files in keras.applications' MobileNetV2 layout, export them with
tools/export_weights.py --keras, and write the expected logits, for the Keras parity tests
(test_keras.cpp, Keras.*).

The layout, written from keras-team/keras independently of tools/keras_import.py:

* applications/mobilenet_v2.py: layers Conv1 (3x3 stride 2, no bias), bn_Conv1, Conv1_relu;
  block 0 expanded_conv_depthwise(_BN), expanded_conv_project(_BN) (no expansion); blocks 1-16
  block_<i>_expand(_BN), block_<i>_pad before a stride-2 depthwise (ZeroPadding2D(correct_pad):
  TensorFlow's SAME), block_<i>_depthwise(_BN), block_<i>_project(_BN), block_<i>_add for
  residuals; Conv_1, Conv_1_bn, out_relu, global_average_pooling2d, predictions (Dense).
  Channels: make_divisible(int(filters * alpha), 8), which equals torchvision's
  _make_divisible(filters * width, 8) for alpha 0.35-1.4; BatchNormalization epsilon 1e-3.
* saving/legacy/hdf5_format.py: root attributes layer_names (every layer, in order),
  keras_version, backend; a group per layer with attribute weight_names and datasets
  "<layer>/kernel:0", ".../depthwise_kernel:0", ".../bias:0", ".../gamma:0", ".../beta:0",
  ".../moving_mean:0", ".../moving_variance:0".
* layers: Conv2D kernel [kh, kw, in, out]; DepthwiseConv2D depthwise_kernel [kh, kw, C, 1];
  Dense kernel [in, out].

The reference is torchvision's MobileNetV2 with BatchNorm eps 1e-3 and TensorFlow's padding
(tools/tf_same.py), seeded and calibrated as the parity fixtures. FIXTURES/keras/<case>/ holds
weights.h5, model.safetensors (the exporter's output), input_<size>.npy, expected_<size>.npy;
FIXTURES/keras/cases.txt lists ``case width classes size batch height width``.
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

# (case, width, classes)
MODELS = [("v2_a100", 1.0, 1000), ("v2_a035", 0.35, 10)]
SIZES = [("224", 1, 224, 224), ("230x197", 2, 230, 197)]
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


def keras_arrays(module):
    """{short weight name: array} of a torch module in Keras' layout."""
    if isinstance(module, nn.BatchNorm2d):
        return {"gamma": module.weight, "beta": module.bias, "moving_mean": module.running_mean,
                "moving_variance": module.running_var}
    if isinstance(module, nn.Linear):
        return {"kernel": module.weight.t(), "bias": module.bias}
    if module.groups > 1:  # [C, 1, kh, kw] -> [kh, kw, C, 1]
        return {"depthwise_kernel": module.weight.permute(2, 3, 0, 1)}
    return {"kernel": module.weight.permute(2, 3, 1, 0)}  # [out, in, kh, kw] -> [kh, kw, in, out]


def write_h5(path, model):
    import h5py

    modules = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear))]
    names = keras_v2_names()
    weighted = [n for n, w in names if w]
    assert len(weighted) == len(modules), (len(weighted), len(modules))
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [n.encode() for n, _ in names]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.11.0"
        it = iter(modules)
        for name, has_weights in names:
            g = f.create_group(name)
            if not has_weights:
                g.attrs["weight_names"] = []
                continue
            arrays = keras_arrays(next(it))
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
    for seed, (case, width, classes) in enumerate(MODELS, start=700):
        torch.manual_seed(seed)
        model = make_fixtures.build_model("v2", width, classes)
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
        write_h5(os.path.join(d, "weights.h5"), model)
        subprocess.run([sys.executable, os.path.join(TOOLS, "export_weights.py"), "--keras",
                        os.path.join(d, "weights.h5"), "--arch", "v2", "--width", repr(width),
                        "--out", os.path.join(d, "model.safetensors")],
                       check=True, stdout=subprocess.DEVNULL)
        for size, batch, h, w in SIZES:
            x = torch.randn(batch, 3, h, w, generator=gen).numpy()
            np.save(os.path.join(d, "input_%s.npy" % size), x)
            np.save(os.path.join(d, "expected_%s.npy" % size), make_fixtures.forward(model, x))
            cases.append("%s %r %d %s %d %d %d" % (case, width, classes, size, batch, h, w))
    with open(os.path.join(args.out, "cases.txt"), "w") as f:
        f.write("\n".join(cases) + "\n")
    print("wrote %d Keras cases to %s" % (len(cases), args.out))


if __name__ == "__main__":
    main()
