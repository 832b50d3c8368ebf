"""TensorFlow's "SAME" padding for PyTorch convolutions: the reference for TensorFlow-trained
MobileNets (Keras applications, timm's tf_ ports), which pad by the input size and, at stride 2
on an even side, put the extra pixel at the bottom/right only.

Written from TensorFlow's rule (tensorflow/core/framework/kernel_shape_util.cc,
GetWindowedOutputSize with Padding::SAME) as timm's Conv2dSame applies it (timm/layers/padding.py,
pad_same): out = ceil(in / s), total = max((out - 1) * s + k - in, 0), before = total // 2.
"""
import torch.nn.functional as F
from torch import nn


def same_padding(size, kernel, stride, dilation=1):
    """(before, after) zeros along one axis of length ``size``."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _pad_input(conv, inputs):
    (x,) = inputs
    top, bottom = same_padding(x.shape[-2], conv.kernel_size[0], conv.stride[0], conv.dilation[0])
    left, right = same_padding(x.shape[-1], conv.kernel_size[1], conv.stride[1], conv.dilation[1])
    return (F.pad(x, (left, right, top, bottom)),)


def use_tf_same_padding(model):
    """Make every convolution of ``model`` with a kernel above 1x1 pad as TensorFlow's SAME (in
    place: its own padding set to 0, the input padded by a forward pre-hook). Returns the model."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d) and max(m.kernel_size) > 1:
            m.padding = (0, 0)
            m.register_forward_pre_hook(_pad_input)
    return model
