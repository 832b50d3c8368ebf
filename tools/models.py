#!/usr/bin/python3
"""Shared model factory for the MobileNet tools.

``build_model(arch, width, num_classes)`` returns an (untrained) torch model:

* ``v1``: :class:`mobilenet_v1.MobileNetV1` (this directory);
* ``v2``: ``torchvision.models.mobilenet_v2(width_mult=..., num_classes=...)``;
* ``v3_large`` / ``v3_small``: ``torchvision.models.mobilenet_v3_large/small``
  with ``width_mult`` (torchvision 0.14 forwards it to ``_mobilenet_v3_conf``).

Also holds helpers shared by the tools: the name of the first depthwise
conv weight of each architecture and the standard preprocessing metadata.

Run as a script to print parameter counts.
"""
import argparse
import os
import sys

import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mobilenet_v1 import MobileNetV1  # noqa: E402

ARCHS = ("v1", "v2", "v3_large", "v3_small")

# Key of the first depthwise conv weight (shape [C, 1, 3, 3]) per arch.
# (v3_large's and v3_small's features.1 have no expansion conv, so block.0
# is the depthwise conv.)
FIRST_DEPTHWISE = {
    "v1": "features.1.0.0.weight",
    "v2": "features.1.conv.0.0.weight",
    "v3_large": "features.1.block.0.0.weight",
    "v3_small": "features.1.block.0.0.weight",
}

IMAGENET_MEAN = "0.485,0.456,0.406"
IMAGENET_STD = "0.229,0.224,0.225"


def build_model(arch, width=1.0, num_classes=1000):
    """Return the torch model for ``arch`` in ARCHS."""
    if arch == "v1":
        return MobileNetV1(width_mult=width, num_classes=num_classes)
    if arch == "v2":
        return torchvision.models.mobilenet_v2(width_mult=width,
                                               num_classes=num_classes)
    if arch == "v3_large":
        return torchvision.models.mobilenet_v3_large(width_mult=width,
                                                     num_classes=num_classes)
    if arch == "v3_small":
        return torchvision.models.mobilenet_v3_small(width_mult=width,
                                                     num_classes=num_classes)
    raise ValueError("unknown arch %r (expected one of %s)" % (arch, ARCHS))


def model_from_safetensors(path):
    """Build the model described by a safetensors file's metadata and load
    its weights (F16/BF16 are widened to float32); return
    (model in eval mode, metadata)."""
    import safetensors_io

    tensors, metadata = safetensors_io.load(path, as_torch=True)
    model = build_model(metadata["arch"], float(metadata["width"]),
                        int(metadata["num_classes"]))
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError("%s: missing %s, unexpected %s"
                         % (path, missing, unexpected))
    return model.eval(), metadata


def count_parameters(model):
    """Number of trainable parameters (excludes BN running statistics)."""
    return sum(p.numel() for p in model.parameters())


def main():
    parser = argparse.ArgumentParser(
        description="Print the parameter count of a MobileNet variant.")
    parser.add_argument("--arch", choices=ARCHS, nargs="+", default=ARCHS)
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--classes", type=int, default=1000)
    args = parser.parse_args()
    for arch in args.arch:
        model = build_model(arch, args.width, args.classes)
        print("%-9s width=%r classes=%d: %d parameters"
              % (arch, args.width, args.classes, count_parameters(model)))


if __name__ == "__main__":
    main()
