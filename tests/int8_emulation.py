#!/usr/bin/env python3
"""Check an int8 model against an emulation of its integer arithmetic, stage by stage.

Reads an int8 file written by mobilenet-quantize, the input batch (float32 NCHW .npy) and the
feature maps our int8 network produced for it (stage_K.npy, NHWC, dequantized, written by
tests/int8_stages.cpp), and recomputes each stage with numpy from the stage before it as ours
computed it (so that one stage's difference does not travel), following the arithmetic of include/mobilenet/quant/quantize.hpp and
layers/int8/: int32 sums over (x - zp) * w with the bias rounded ties-to-even at s_in * s_w,
float32 requantization (multiplier s_in * s_w / s_out; multiply, clamp, round ties-to-even, add
the zero point), hard-swish tables, the residual add and squeeze-excite in float32. The structure
(which convs, activations, SE and residuals each stage has) comes from torch's model definition
(tools/models.py). Integer sums are exact; the float32 steps are done in the same operations, so
codes may differ only where ours and numpy's float sums differ in order (squeeze-excite's FCs) or
where a fused multiply-add rounds once (the residual add on CPUs with FMA, written out in
kernels/residual_add_int8.hpp): at most one code, rarely. The
check: every code within 1, and at most 0.5% of a stage's codes off by one (measured on the four
fixtures of the suite: no code differs).
"""
import argparse
import os
import sys

import numpy as np
import torch.nn as nn

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tools")
sys.path.insert(0, TOOLS)
import models  # noqa: E402
import safetensors_io  # noqa: E402

F32 = np.float32


def qparams(t, key):
    s, z = t[key]
    return F32(s), int(z)


def requantize(acc, mult, lo, hi, zp):
    f = acc.astype(F32) * mult
    f = np.minimum(np.maximum(f, F32(lo)), F32(hi))
    return (np.rint(f).astype(np.int64) + zp)


def clamp_bounds(out_s, out_z, act):
    qmin, qmax = -128, 127
    if act == "relu6":
        qmax = min(127, out_z + int(np.rint(F32(6.0) / out_s)))
    if act in ("relu", "relu6"):
        qmin = max(-128, out_z)
    return qmin - out_z, qmax - out_z


def quantize(x, s, z):
    q = np.rint(x.astype(F32) / s) + F32(z)
    return np.clip(q, -128, 127).astype(np.int64)


def hardswish_table(in_s, in_z, out_s, out_z):
    q = np.arange(-128, 128)
    v = F32(in_s) * (q - in_z).astype(F32)
    r6 = np.minimum(np.maximum(v + F32(3), F32(0)), F32(6))
    h = v * (r6 * F32(1.0 / 6.0))
    return quantize(h, out_s, out_z)


def act_name(module):
    if module is None:
        return "identity"
    return {nn.ReLU: "relu", nn.ReLU6: "relu6", nn.Hardswish: "hardswish"}[type(module)]


def conv(t, key, conv_module, act, x, xs, xz):
    """One quantized conv (NHWC int codes x with params xs, xz) and its table."""
    w = t[key + ".weight"].astype(np.int64)  # [out, in/groups, k, k]
    ws = t[key + ".weight_scale"]
    bias = t[key + ".bias"]
    os_, oz = qparams(t, key + ".output_qparams")
    k, stride, groups = conv_module.kernel_size[0], conv_module.stride[0], conv_module.groups
    pad = conv_module.padding[0]
    n, h, wd, c = x.shape
    xp = np.zeros((n, h + 2 * pad, wd + 2 * pad, c), np.int64)
    xp[:, pad:pad + h, pad:pad + wd, :] = x - xz  # padding is real 0
    oh, ow = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    cout = w.shape[0]
    acc = np.zeros((n, oh, ow, cout), np.int64)
    for ky in range(k):
        for kx in range(k):
            patch = xp[:, ky:ky + stride * oh:stride, kx:kx + stride * ow:stride, :]
            if groups == 1:
                acc += np.einsum("nhwc,oc->nhwo", patch, w[:, :, ky, kx])
            else:  # depthwise
                acc += patch * w[:, 0, ky, kx]
    bias_q = np.rint(bias.astype(np.float64) / (np.float64(xs) * ws.astype(np.float64)))
    acc += bias_q.astype(np.int64)
    mult = (F32(xs) * ws.astype(F32)) / F32(os_)
    table = act == "hardswish"
    lo, hi = clamp_bounds(os_, oz, "identity" if table else act)
    q = requantize(acc, mult, lo, hi, oz)
    if table:
        as_, az = qparams(t, key + ".activated_qparams")
        q = hardswish_table(os_, oz, as_, az)[q + 128]
        return q, as_, az
    return q, os_, oz


def squeeze_excite(t, key, x, xs, xz):
    n, h, w, c = x.shape
    sums = x.sum(axis=(1, 2)).astype(F32)
    pooled = F32(xs) * (sums / F32(h * w) - F32(xz))
    w1, b1 = t[key + ".fc1.weight"][:, :, 0, 0], t[key + ".fc1.bias"]
    w2, b2 = t[key + ".fc2.weight"][:, :, 0, 0], t[key + ".fc2.bias"]
    hidden = np.maximum(pooled @ w1.T + b1, F32(0))
    z = hidden @ w2.T + b2
    gate = np.minimum(np.maximum(z + F32(3), F32(0)), F32(6)) * F32(1.0 / 6.0)
    f = (x - xz).astype(F32) * gate[:, None, None, :]
    return np.rint(f).astype(np.int64) + xz


def residual(t, key, y, ys, yz, x, xs, xz):
    so, zo = qparams(t, key + ".sum_qparams")
    f = (y - yz).astype(F32) * (F32(ys) / so) + (x - xz).astype(F32) * (F32(xs) / so)
    f = np.minimum(np.maximum(f, F32(-128 - zo)), F32(127 - zo))
    return np.rint(f).astype(np.int64) + zo, so, zo


def last_conv_key(module, prefix):
    """The key of the last quantized conv inside `module` (squeeze-excite's FCs are float)."""
    names = [name for name, m in module.named_modules()
             if isinstance(m, nn.Conv2d) and not name.split(".")[-1].startswith("fc")]
    return prefix + "." + names[-1]


def body(module, prefix):
    """An inverted residual's layers: torchvision's V3 names them block, V2 conv."""
    name = "block" if hasattr(module, "block") else "conv"
    return getattr(module, name), prefix + "." + name


def emulate(module, prefix, t, x, xs, xz):
    """Runs one torch module's int8 emulation; returns (codes, scale, zero point)."""
    children = list(module.named_children())
    if isinstance(module, nn.Conv2d):  # a conv whose BatchNorm follows, no activation
        return conv(t, prefix, module, "identity", x, xs, xz)
    if isinstance(module, nn.BatchNorm2d):  # folded into the conv before it
        return x, xs, xz
    if children and isinstance(children[0][1], nn.Conv2d):  # conv, BatchNorm, [activation]
        act = act_name(children[2][1] if len(children) > 2 else None)
        return conv(t, prefix + ".0", children[0][1], act, x, xs, xz)
    if type(module).__name__ == "SqueezeExcitation":
        return squeeze_excite(t, prefix, x, xs, xz), xs, xz
    if type(module).__name__ == "InvertedResidual":
        layers, layers_prefix = body(module, prefix)
        y, ys, yz = emulate(layers, layers_prefix, t, x, xs, xz)
        if module.use_res_connect:
            return residual(t, last_conv_key(module, prefix), y, ys, yz, x, xs, xz)
        return y, ys, yz
    for name, child in children:
        x, xs, xz = emulate(child, prefix + "." + name, t, x, xs, xz)
    return x, xs, xz


def stage_params(t, model, k):
    """The parameters of stage k's output (its last quantized tensor)."""
    stage, prefix = model.features[k], "features.%d" % k
    key = last_conv_key(stage, prefix)
    if type(stage).__name__ == "InvertedResidual" and stage.use_res_connect:
        return qparams(t, key + ".sum_qparams")
    act_key = key + ".activated_qparams"
    return qparams(t, act_key if act_key in t else key + ".output_qparams")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--int8", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--stages", required=True, help="directory of stage_K.npy")
    a = p.parse_args()
    t, meta = safetensors_io.load(a.int8)
    model = models.build_model(meta["arch"], float(meta["width"]), int(meta["num_classes"]))
    x = np.load(a.input).transpose(0, 2, 3, 1)  # NHWC
    xs, xz = qparams(t, "input_qparams")
    codes, scale, zero = quantize(x, xs, xz), xs, xz
    worst = 0
    for k in range(len(model.features)):
        ours_s, ours_z = stage_params(t, model, k)
        ours = np.load(os.path.join(a.stages, "stage_%d.npy" % k))
        ours_q = np.rint(ours / ours_s).astype(np.int64) + ours_z
        emu, es, ez = emulate(model.features[k], "features.%d" % k, t, codes, scale, zero)
        assert (es, ez) == (ours_s, ours_z), (k, es, ez, ours_s, ours_z)
        diff = np.abs(emu - ours_q)
        off = int((diff > 0).sum())
        print("stage %2d %-18s %8d codes, max |diff| %d, off by one %d (%.3f%%)"
              % (k, type(model.features[k]).__name__, diff.size, diff.max(), off,
                 100.0 * off / diff.size))
        if diff.max() > 1 or off > 0.005 * diff.size:
            print("FAIL: stage %d differs from the emulation" % k)
            return 1
        worst = max(worst, int(diff.max()))
        codes, scale, zero = ours_q, ours_s, ours_z  # the next stage starts from ours
    print("int8 emulation: %d stages agree (max |diff| %d code)" % (len(model.features), worst))
    return 0


if __name__ == "__main__":
    sys.exit(main())
