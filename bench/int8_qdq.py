#!/usr/bin/python3
"""Writes one of our int8 files as a QDQ ONNX model, so ONNX Runtime runs the same quantization.

``int8_qdq.py --int8 F.int8.safetensors --out F.qdq.onnx``

Every tensor our int8 network holds in int8 is, in the ONNX graph, the output of a
QuantizeLinear with the same scale and the same zero point (round half to even, as ours); every
operation reads DequantizeLinear of its inputs, as in ONNX Runtime's QDQ format, which ORT's
graph optimiser fuses into its integer kernels (QLinearConv, QLinearAdd, ...) where it has them.
Activations are written as uint8 with the zero point + 128, the same values with every code
shifted by 128: ORT's x86 kernels take uint8 activations and int8 weights, and its own int8 to
uint8 rewrite skipped every tensor read by two nodes (a residual's input, squeeze-excite's),
leaving those convs in float32. Weights stay int8.
The walk over the network follows tests/int8_emulation.py and the layer choices of
docs/design.md ("int8 models: what runs in int8 and why"):

* a conv: DequantizeLinear of its int8 weights (one scale per output channel, axis 0) and of its
  bias rounded to int32 at input scale x weight scale (as ours rounds it), Conv, QuantizeLinear to
  the file's ``output_qparams``, whose clamp is the ReLU or ReLU6 (ours folds them into the clamp
  too; see clamp_is_activation); a hard-swish conv is followed by DequantizeLinear, HardSwish and
  QuantizeLinear to ``activated_qparams`` (ours: a 256-entry table, the same function of the code);
* a residual add: the two dequantized tensors added and quantized to ``sum_qparams``;
* squeeze-excite: float32 pool, FCs and hard-sigmoid gate, the gate times the dequantized tensor
  quantized back to the tensor's own parameters (ours rescales the codes in place);
* global pool and classifier: float32 from the dequantized last tensor.

The image is quantized to ``input_qparams`` first. Input ``input`` [1, 3, H, W] float32 (NCHW),
output ``logits``. Structure from tools/models.py (the architecture in the file's metadata).
"""
import argparse
import os
import sys

import numpy as np
import onnx
import torch.nn as nn
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, "tools"))
import models  # noqa: E402
import safetensors_io  # noqa: E402

F32 = np.float32
OPSET = 17  # HardSwish needs 14, per-axis QuantizeLinear 13


class Graph:
    """ONNX nodes and initializers under construction; tensors are referred to by name."""

    def __init__(self, tensors):
        self.t = tensors
        self.nodes, self.inits, self.count = [], [], 0
        self.dequantized = {}  # quantized tensor -> its DequantizeLinear's output

    def name(self, hint):
        self.count += 1
        return "%s_%d" % (hint, self.count)

    def const(self, hint, array):
        n = self.name(hint)
        # np.array, not np.ascontiguousarray, which makes a scalar 1-d: ORT's QLinearAdd needs 0-d
        self.inits.append(numpy_helper.from_array(np.array(array, order="C"), n))
        return n

    def op(self, op_type, inputs, hint=None, **attrs):
        out = self.name(hint or op_type)
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def quantize(self, x, scale, zero):
        """A float tensor to int8 codes: the (name, scale, zero point) of a quantized tensor."""
        q = self.op("QuantizeLinear", [x, self.const("s", F32(scale)), self.const("z", np.uint8(zero + 128))])
        return q, scale, zero

    def dequantize(self, xq):
        """One DequantizeLinear per quantized tensor, shared by its consumers, as ORT's quantizer
        writes QDQ graphs (with one per consumer ORT ran a conv whose tensor had two in float)."""
        q, scale, zero = xq
        if q not in self.dequantized:
            self.dequantized[q] = self.op("DequantizeLinear", [q, self.const("s", F32(scale)), self.const("z", np.uint8(zero + 128))])
        return self.dequantized[q]

    def qparams(self, key):
        s, z = self.t[key]
        return F32(s), int(z)


def act_name(module):
    if module is None:
        return "identity"
    return {nn.ReLU: "relu", nn.ReLU6: "relu6", nn.Hardswish: "hardswish"}[type(module)]


def clamp_is_activation(act, scale, zero):
    """Whether QuantizeLinear's own clamp to [-128, 127] is already the ReLU or ReLU6 (zero point
    -128, and for ReLU6 code 127 at or below 6): then the graph has no Relu or Clip node, as
    ORT's quantizer writes it, and ORT fuses the conv into QLinearConv (with the node between
    them it ran Conv + Clip in float). Calibrated after the activation, ranges start at 0, so
    this holds for every conv of our models (ReLU6's scale is 6/255, rounded to float32, hence
    the tolerance); otherwise the node stays and the graph is still exact."""
    return zero == -128 and (act == "relu" or float(scale) * 255.0 <= 6.0 * (1 + 1e-6))


def conv(g, key, module, act, xq):
    t = g.t
    w = t[key + ".weight"].astype(np.int8)
    ws = t[key + ".weight_scale"].astype(F32)
    xs = xq[1]
    # The bias as ours rounds it (tests/int8_emulation.py), an int32 at input x weight scale.
    bias_q = np.rint(t[key + ".bias"].astype(np.float64) / (np.float64(xs) * ws.astype(np.float64)))
    wf = g.op("DequantizeLinear", [g.const("w", w), g.const("ws", ws), g.const("wz", np.zeros_like(ws, np.int8))],
              axis=0)
    bf = g.op("DequantizeLinear", [g.const("b", bias_q.astype(np.int32)), g.const("bs", F32(xs) * ws),
                                   g.const("bz", np.zeros(ws.shape, np.int32))], axis=0)
    k, stride, pad = module.kernel_size[0], module.stride[0], module.padding[0]
    y = g.op("Conv", [g.dequantize(xq), wf, bf], key, kernel_shape=[k, k], strides=[stride, stride],
             pads=[pad] * 4, group=module.groups)
    out_s, out_z = g.qparams(key + ".output_qparams")
    if act in ("relu", "relu6") and not clamp_is_activation(act, out_s, out_z):
        y = g.op("Relu", [y]) if act == "relu" else g.op("Clip", [y, g.const("lo", F32(0)), g.const("hi", F32(6))])
    yq = g.quantize(y, out_s, out_z)
    if act == "hardswish":
        yq = g.quantize(g.op("HardSwish", [g.dequantize(yq)]), *g.qparams(key + ".activated_qparams"))
    return yq


def fc_conv(g, key, x):
    """A float 1x1 conv (squeeze-excite's FCs) on a [N, C, 1, 1] tensor."""
    return g.op("Conv", [x, g.const("w", g.t[key + ".weight"].astype(F32)), g.const("b", g.t[key + ".bias"].astype(F32))])


def squeeze_excite(g, key, xq):
    x = g.dequantize(xq)
    hidden = g.op("Relu", [fc_conv(g, key + ".fc1", g.op("GlobalAveragePool", [x]))])
    gate = g.op("HardSigmoid", [fc_conv(g, key + ".fc2", hidden)], alpha=1.0 / 6.0, beta=0.5)
    return g.quantize(g.op("Mul", [x, gate]), xq[1], xq[2])


def last_conv_key(module, prefix):
    names = [name for name, m in module.named_modules()
             if isinstance(m, nn.Conv2d) and not name.split(".")[-1].startswith("fc")]
    return prefix + "." + names[-1]


def emit(g, module, prefix, xq):
    """The graph of one torch module's int8 form; returns its quantized output."""
    children = list(module.named_children())
    if isinstance(module, nn.Conv2d):
        return conv(g, prefix, module, "identity", xq)
    if isinstance(module, nn.BatchNorm2d):  # folded into the conv before it
        return xq
    if children and isinstance(children[0][1], nn.Conv2d):  # conv, BatchNorm, [activation]
        return conv(g, prefix + ".0", children[0][1], act_name(children[2][1] if len(children) > 2 else None), xq)
    if type(module).__name__ == "SqueezeExcitation":
        return squeeze_excite(g, prefix, xq)
    if type(module).__name__ == "InvertedResidual":
        name = "block" if hasattr(module, "block") else "conv"
        yq = emit(g, getattr(module, name), prefix + "." + name, xq)
        if not module.use_res_connect:
            return yq
        total = g.op("Add", [g.dequantize(yq), g.dequantize(xq)])
        return g.quantize(total, *g.qparams(last_conv_key(module, prefix) + ".sum_qparams"))
    for name, child in children:
        xq = emit(g, child, prefix + "." + name, xq)
    return xq


def classifier(g, model, x):
    for name, layer in model.classifier.named_children():
        key = "classifier.%s" % name
        if isinstance(layer, nn.Linear):
            x = g.op("Gemm", [x, g.const("w", g.t[key + ".weight"].astype(F32)), g.const("b", g.t[key + ".bias"].astype(F32))],
                     transB=1)
        elif isinstance(layer, nn.Hardswish):
            x = g.op("HardSwish", [x])
        elif not isinstance(layer, nn.Dropout):
            raise ValueError("unexpected classifier layer %s" % type(layer).__name__)
    return x


def build(int8_path, resolution=224, stage_outputs=False):
    """The QDQ model; with stage_outputs, each feature stage's codes are outputs ``stage_K`` too
    (uint8, NCHW: our int8 code + 128), for compare_peers.py's stage-by-stage check."""
    t, meta = safetensors_io.load(int8_path)
    if meta.get("precision") != "int8":
        raise ValueError("%s is not an int8 file (precision %r)" % (int8_path, meta.get("precision")))
    model = models.build_model(meta["arch"], float(meta["width"]), int(meta["num_classes"]))
    g = Graph(t)
    xq = g.quantize("input", *g.qparams("input_qparams"))
    stages = []
    for k, stage in enumerate(model.features):
        xq = emit(g, stage, "features.%d" % k, xq)
        stages.append(xq[0])
    pooled = g.op("Flatten", [g.op("GlobalAveragePool", [g.dequantize(xq)])])
    logits = classifier(g, model, pooled)
    g.nodes.append(helper.make_node("Identity", [logits], ["logits"], name="logits"))
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, int(meta["num_classes"])])]
    for k, q in enumerate(stages if stage_outputs else []):
        g.nodes.append(helper.make_node("Identity", [q], ["stage_%d" % k], name="stage_%d" % k))
        outputs.append(helper.make_tensor_value_info("stage_%d" % k, TensorProto.UINT8, [1, None, None, None]))
    graph = helper.make_graph(
        g.nodes, "mobilenet_%s_int8_qdq" % meta["arch"],
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, resolution, resolution])], outputs,
        g.inits)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                   producer_name="mobilenet bench/int8_qdq.py")
    onnx_model.ir_version = 8  # what ORT releases since 1.14 read
    onnx.checker.check_model(onnx_model)
    return onnx_model


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--int8", required=True, help="an int8 file written by mobilenet-quantize")
    p.add_argument("--out", required=True, help="the QDQ .onnx to write")
    p.add_argument("--resolution", type=int, default=224)
    p.add_argument("--stage-outputs", action="store_true", help="also output each stage's codes")
    a = p.parse_args()
    onnx.save(build(a.int8, a.resolution, a.stage_outputs), a.out)


if __name__ == "__main__":
    main()
