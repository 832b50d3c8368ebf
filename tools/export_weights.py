#!/usr/bin/python3
"""Export MobileNet weights (torchvision layout) to a safetensors file.

The weights come from a checkpoint (a torchvision state dict such as
torchvision's published ``mobilenet_v3_large-*.pth``, optionally wrapped in a
dict under "state_dict" or "model"), from an ONNX model of the same
architecture (``--onnx``, see below) or from a seeded random initialisation.
The state dict is validated by loading it into the model built by
``models.build_model(arch, width, classes)``.  ``num_batches_tracked`` keys
are dropped.

ONNX (``--onnx``, needs python3-onnx; code in onnx_import.py): initializer
names are ignored.  The graph is walked in topological order and its Conv,
Gemm and MatMul(+Add) layers are assigned in order to the conv / linear
layers of the given --arch/--width, every shape checked (a mismatch names
the ONNX node and both shapes).  A BatchNormalization after a Conv is kept.
PyTorch's exporter folds BatchNorm into the conv in eval mode (Conv with
bias, no BatchNormalization node); such a conv is written with an identity
BatchNorm: gamma 1, beta = conv bias, running_mean 0, running_var 1 - eps
(eps 1e-5 for v1/v2, 1e-3 for v3), which the C++ loader folds back to the
same float32 weights.  --classes defaults to the ONNX classifier's outputs.

Keras (``--keras``, needs python3-h5py; code in keras_import.py): a Keras 2
HDF5 file of keras.applications' MobileNet (V1, alpha 0.25-1.0), MobileNetV2
(alpha 0.35-1.4) or MobileNetV3Small/Large (alpha 0.75, 1.0; minimalistic
too), as published or saved with ``save_weights``.  Its layers are matched
in order to the model of --arch/--width (V2: torchvision's; V1 and V3:
timm's, written under timm's key names: V1 with ReLU6, V3 the tf_ network,
its minimalistic variant recognised by its layers), every shape checked (a
mismatch names the Keras layer and both shapes); --classes defaults to the
classifier's outputs.  Keras' V1 pads its stride-2 layers one pixel
bottom/right, which is SAME on even sides (its published sizes 128-224); at
sizes that are odd at a stride-2 layer the exported file pads as SAME.  The file gets the metadata of a TensorFlow-trained network:
padding "tf_same" (Keras pads stride-2 layers by ZeroPadding2D(correct_pad),
which is TensorFlow's SAME), bn_eps "0.001" (every Keras MobileNet's
BatchNormalization epsilon) and Keras' preprocessing, x / 127.5 - 1 (mean =
std = 0.5 on [0, 1] input), resized to the input size.

``__metadata__`` written (all values are strings):
arch, width (repr of the float, e.g. "1.0", "0.35"), num_classes,
input_size, resize_size, interpolation, mean, std (comma separated, 3
values), labels (JSON array of class names), source; for --keras also padding and bn_eps (and, for
V3, minimal).
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras_import  # noqa: E402
import onnx_import  # noqa: E402
import safetensors_io  # noqa: E402
import timm_layout  # noqa: E402
from models import ARCHS, IMAGENET_MEAN, IMAGENET_STD, build_model  # noqa: E402

DTYPES = {"f32": "F32", "f16": "F16", "bf16": "BF16"}
# BatchNormalization(epsilon=1e-3) in every keras.applications MobileNet.
KERAS_BN_EPS = 1e-3
KERAS_MEAN_STD = "0.5,0.5,0.5"  # x / 127.5 - 1 on 0..255 pixels


def imagenet_labels():
    """The 1000 ImageNet category names in torchvision's order."""
    from torchvision.models._meta import _IMAGENET_CATEGORIES

    return list(_IMAGENET_CATEGORIES)


def default_labels(num_classes, labels_file=None):
    """Labels from a file (one per line), ImageNet names for 1000 classes,
    else the strings "0".."N-1"."""
    if labels_file:
        with open(labels_file, encoding="utf-8") as f:
            labels = [line.rstrip("\r\n") for line in f if line.strip()]
        if len(labels) != num_classes:
            raise ValueError("%s has %d labels, expected %d"
                             % (labels_file, len(labels), num_classes))
        return labels
    if num_classes == 1000:
        return imagenet_labels()
    return [str(i) for i in range(num_classes)]


def make_metadata(arch, width, num_classes, labels, source,
                  input_size=224, resize_size=256,
                  mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """Build the string -> string ``__metadata__`` dict."""
    if len(labels) != num_classes:
        raise ValueError("%d labels for %d classes" % (len(labels), num_classes))
    return {
        "arch": arch,
        "width": repr(float(width)),
        "num_classes": str(int(num_classes)),
        "input_size": str(int(input_size)),
        "resize_size": str(int(resize_size)),
        "mean": mean,
        "std": std,
        "labels": json.dumps(list(labels)),
        "source": source,
    }


def exportable_state(model):
    """The model's state dict without ``num_batches_tracked`` entries."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()
            if not k.endswith("num_batches_tracked")}


def load_checkpoint(path):
    """Load a state dict from a .pth file, unwrapping common containers."""
    obj = torch.load(path, map_location="cpu")
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if hasattr(obj, "state_dict"):  # a pickled nn.Module
        obj = obj.state_dict()
    return {k[len("module."):] if k.startswith("module.") else k: v
            for k, v in obj.items()}


def load_onnx(path, arch, width, classes=None):
    """(model of ``arch``/``width`` holding the weights of an ONNX file,
    number of classes); see the module docstring.  ``classes`` defaults to
    the ONNX classifier's output count.  Raises onnx_import.OnnxImportError."""
    layers = onnx_import.onnx_layers(onnx_import.load_onnx(path))
    if classes is None:
        classes = onnx_import.num_classes(layers)
    model = build_model(arch, width, classes)
    describe = "%s width %r with %d classes" % (arch, float(width), classes)
    model.load_state_dict(onnx_import.state_dict(layers, model, describe),
                          strict=True)
    return model, classes


def load_keras(path, arch, width, classes=None):
    """(torch model of ``arch``/``width`` holding the weights of a Keras .h5 file, number of
    classes, minimal, state dict to write); see the module docstring.  V1 and V3 are written
    under timm's names, whose definitions they follow (V1: ReLU6, as Keras' MobileNet; V3:
    Keras' MobileNetV3 is the network of timm's tf_ ports, built with timm_layout); V3's
    minimalistic variant is recognised by its layers (no squeeze-excite, 3x3 only): every shape
    must match either way.  Raises keras_import.KerasImportError."""
    layers = keras_import.keras_layers(path)
    if classes is None:
        last = layers[-1][1].get("kernel") if layers else None
        if last is None:
            raise keras_import.KerasImportError("the last layer with weights has no kernel")
        classes = int(last.shape[-1])
    errors = []
    for minimal in ([False, True] if arch.startswith("v3") else [False]):
        if arch in ("v1", "v2"):
            model = build_model(arch, width, classes)
        else:
            model = timm_layout.timm_v3_model(arch, width, classes, minimal)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.eps = KERAS_BN_EPS
        describe = "%s%s width %r with %d classes" % (
            arch, " minimalistic" if minimal else "", float(width), classes)
        try:
            state = keras_import.state_dict(layers, model, describe)
        except keras_import.KerasImportError as e:
            errors.append(str(e))
            continue
        model.load_state_dict(state, strict=True)
        tensors = exportable_state(model)
        if arch != "v2":  # V1 uses ReLU6 as timm's does; V3 is timm's tf_ network
            tensors = timm_layout.to_timm(arch, tensors, minimal)
        return model, classes, minimal, tensors
    raise keras_import.KerasImportError("; ".join(errors))


def write(path, model, metadata, dtype="F32"):
    """Write the model's exportable state dict and metadata to ``path``."""
    safetensors_io.save(path, exportable_state(model), metadata, dtype=dtype)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Preprocessing metadata: torchvision's IMAGENET1K_V1 weights "
               "use resize 256 / crop 224\n(the defaults).  For torchvision's "
               "IMAGENET1K_V2 weights of mobilenet_v2 and\nmobilenet_v3_large "
               "pass --resize-size 232.\n\n"
               "--onnx: layers are matched by graph order and shape, not by "
               "initializer name;\na mismatch (wrong --arch/--width) names the "
               "ONNX node and both shapes (exit 1).\n"
               "A Conv whose BatchNorm was folded in by the exporter (no "
               "BatchNormalization node)\nis written with an identity "
               "BatchNorm: gamma=1, beta=conv bias, running_mean=0,\n"
               "running_var=1-eps (eps 1e-5 for v1/v2, 1e-3 for v3), which "
               "folds back to the same\nfloat32 weights.  Example:\n"
               "  export_weights.py --onnx model.onnx --arch v2 --width 1.0 "
               "--out v2.safetensors",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", choices=ARCHS, required=True)
    parser.add_argument("--width", type=float, default=1.0,
                        help="width multiplier (default 1.0)")
    parser.add_argument("--classes", type=int, default=None,
                        help="number of classes (default 1000; with --onnx "
                             "the ONNX classifier's output count)")
    parser.add_argument("--out", required=True, help="output .safetensors")
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="torchvision state dict (.pth)")
    src.add_argument("--onnx",
                     help="ONNX model of --arch/--width (e.g. from "
                          "torch.onnx.export; BatchNorm folded or not)")
    src.add_argument("--keras",
                     help="Keras 2 HDF5 weights of keras.applications' "
                          "MobileNet, MobileNetV2 or MobileNetV3 (needs "
                          "python3-h5py)")
    src.add_argument("--random", action="store_true",
                     help="seeded random initialisation (torchvision init)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed for --random (default 0)")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="f32",
                        help="storage type of floating tensors (default f32)")
    parser.add_argument("--input-size", type=int, default=224,
                        help="center-crop size (default 224)")
    parser.add_argument("--resize-size", type=int, default=None,
                        help="shorter-side resize before the crop (default "
                             "256, with --keras the input size; use 232 for "
                             "torchvision IMAGENET1K_V2 weights of v2 and "
                             "v3_large)")
    parser.add_argument("--interpolation", choices=("bilinear", "bicubic"),
                        default="bilinear",
                        help="the resize's filter (default bilinear, as torchvision's and "
                             "Keras' weights are evaluated)")
    parser.add_argument("--mean", default=None,
                        help="per-channel mean (default %s, with --keras %s)"
                             % (IMAGENET_MEAN, KERAS_MEAN_STD))
    parser.add_argument("--std", default=None,
                        help="per-channel std (default %s, with --keras %s)"
                             % (IMAGENET_STD, KERAS_MEAN_STD))
    parser.add_argument("--labels",
                        help="file with one class name per line (default: "
                             "ImageNet names for 1000 classes, else 0..N-1)")
    parser.add_argument("--source", help="free text for the 'source' key")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(1)
    if args.random:
        torch.manual_seed(args.seed)
    if args.onnx:
        try:
            model, args.classes = load_onnx(args.onnx, args.arch, args.width,
                                            args.classes)
        except onnx_import.OnnxImportError as e:
            sys.exit("error: %s: %s" % (args.onnx, e))
        source = "converted from ONNX %s" % os.path.basename(args.onnx)
    elif args.keras:
        try:
            model, args.classes, minimal, keras_tensors = load_keras(
                args.keras, args.arch, args.width, args.classes)
        except (keras_import.KerasImportError, OSError) as e:
            sys.exit("error: %s: %s" % (args.keras, e))
        source = "converted from Keras %s" % os.path.basename(args.keras)
    else:
        if args.classes is None:
            args.classes = 1000
        model = build_model(args.arch, args.width, args.classes)
    if args.checkpoint:
        model.load_state_dict(load_checkpoint(args.checkpoint), strict=True)
        source = "converted from %s" % os.path.basename(args.checkpoint)
    elif args.random:
        source = "random init (torchvision init), seed %d" % args.seed
    model.eval()
    keras = bool(args.keras)
    metadata = make_metadata(
        args.arch, args.width, args.classes,
        default_labels(args.classes, args.labels),
        args.source or source, args.input_size,
        args.resize_size or (args.input_size if keras else 256),
        args.mean or (KERAS_MEAN_STD if keras else IMAGENET_MEAN),
        args.std or (KERAS_MEAN_STD if keras else IMAGENET_STD))
    metadata["interpolation"] = args.interpolation
    if keras:
        metadata["padding"] = "tf_same"
        metadata["bn_eps"] = repr(KERAS_BN_EPS)
        if args.arch != "v2":
            metadata["minimal"] = "true" if minimal else "false"
        safetensors_io.save(args.out, keras_tensors, metadata, dtype=DTYPES[args.dtype])
    else:
        write(args.out, model, metadata, DTYPES[args.dtype])
    print("wrote %s (%d bytes)" % (args.out, os.path.getsize(args.out)))


if __name__ == "__main__":
    main()
