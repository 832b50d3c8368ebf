#!/usr/bin/python3
"""PyTorch MobileNet V1 (Howard et al. 2017, Table 1) with a torchvision-style layout.

Architecture:

* stem: conv 3x3 stride 2 pad 1 (no bias) -> 32 channels, BatchNorm, ReLU;
* 13 depthwise-separable blocks, each
  [depthwise 3x3 conv (groups=C, pad 1, stride s, no bias), BN, ReLU,
  pointwise 1x1 conv (no bias), BN, ReLU] with (out_channels, stride) =
  (64,1) (128,2) (128,1) (256,2) (256,1) (512,2) (512,1)x5 (1024,2) (1024,1);
* AdaptiveAvgPool2d(1), flatten, Dropout(0.2), Linear(last, num_classes).

Plain ReLU (not ReLU6), BatchNorm eps 1e-5.  The width multiplier maps every
channel count c to ``_make_divisible(c * width, 8)`` (torchvision's rule).

State-dict keys:
``features.0.0.weight`` (stem conv), ``features.0.1.*`` (stem BN);
for block i in 1..13: ``features.i.0.0.weight`` (depthwise [C,1,3,3]),
``features.i.0.1.*`` (BN), ``features.i.1.0.weight`` (pointwise
[Cout,Cin,1,1]), ``features.i.1.1.*`` (BN);
``classifier.1.weight``, ``classifier.1.bias``.

Parameter count (width 1.0, 1000 classes): 4,231,976 trainable parameters
(BN running statistics not included), i.e. ~4.23M as in the paper.

Run as a script to print the parameter count and state-dict shapes.
"""
import argparse

import torch
from torch import nn
from torchvision.models._utils import _make_divisible

# (out_channels, stride) of the 13 depthwise-separable blocks (paper Table 1).
BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
          (512, 1), (512, 1), (512, 1), (512, 1), (512, 1),
          (1024, 2), (1024, 1)]
STEM_CHANNELS = 32


def conv_bn_relu(cin, cout, kernel, stride, groups=1):
    """Conv (no bias, 'same' padding for odd kernels) + BatchNorm + ReLU."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups,
                  bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def separable_block(cin, cout, stride):
    """Depthwise 3x3 (stride ``stride``) followed by pointwise 1x1."""
    return nn.Sequential(
        conv_bn_relu(cin, cin, 3, stride, groups=cin),
        conv_bn_relu(cin, cout, 1, 1),
    )


class MobileNetV1(nn.Module):
    """MobileNet V1 classifier; see the module docstring for the layout."""

    def __init__(self, width_mult=1.0, num_classes=1000, dropout=0.2):
        super().__init__()
        cin = _make_divisible(STEM_CHANNELS * width_mult, 8)
        layers = [conv_bn_relu(3, cin, 3, 2)]
        for channels, stride in BLOCKS:
            cout = _make_divisible(channels * width_mult, 8)
            layers.append(separable_block(cin, cout, stride))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(cin, num_classes),
        )
        self._init_weights()

    def _init_weights(self):
        """Same initialisation as torchvision's MobileNetV2."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def count_parameters(model):
    """Number of trainable parameters (excludes BN running statistics)."""
    return sum(p.numel() for p in model.parameters())


def main():
    parser = argparse.ArgumentParser(
        description="Build MobileNet V1 and print its parameter count and "
                    "state-dict shapes.")
    parser.add_argument("--width", type=float, default=1.0,
                        help="width multiplier (default 1.0)")
    parser.add_argument("--classes", type=int, default=1000,
                        help="number of classes (default 1000)")
    parser.add_argument("--keys", action="store_true",
                        help="also print every state-dict key and shape")
    args = parser.parse_args()
    model = MobileNetV1(args.width, args.classes)
    print("MobileNetV1 width=%r classes=%d: %d parameters"
          % (args.width, args.classes, count_parameters(model)))
    if args.keys:
        for k, v in model.state_dict().items():
            print("%-40s %s" % (k, list(v.shape)))


if __name__ == "__main__":
    main()
