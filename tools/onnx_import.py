#!/usr/bin/python3
"""Read the weights of a MobileNet ONNX model into a torchvision state dict.

Used by ``export_weights.py --onnx``.  Names in the ONNX file are not trusted
(PyTorch's exporter renames folded weights ``onnx::Conv_123`` and even
reuses one initializer for equal tensors): the graph is walked in
topological order and its weighted layers are assigned, in order, to the
layers of the model that ``models.build_model(arch, width, classes)``
builds (execution order of its Conv2d / Linear modules), each shape checked.

ONNX layers recognised:

* ``Conv`` (weight [out, in/group, kh, kw], optional bias), optionally
  followed by a ``BatchNormalization`` that reads its output;
* ``Gemm`` with a constant B (``transB`` 0 or 1, alpha/beta applied) and
  optional C;
* ``MatMul`` with a constant [in, out] second input, optionally followed by
  an ``Add`` of a constant (the bias);
* a 1x1 ``Conv`` where the model has a Linear layer and a Gemm/MatMul where
  it has a 1x1 conv (SE blocks written as fully connected layers).

Constants are initializers, ``Constant`` nodes, or either seen through
``Identity``, ``Cast`` or ``Transpose``.  Everything else (activations,
decomposed hard-swish, pooling, reshapes, residual adds) carries no weights
and is skipped.

BatchNorm: where the model has Conv + BatchNorm and the ONNX Conv is followed
by a BatchNormalization, its parameters are kept (a conv bias is moved into
running_mean; a different epsilon into running_var).  Where the ONNX Conv
has no BatchNormalization (PyTorch's exporter folds BN into the conv in eval
mode) the folded conv weight is written with an identity BatchNorm:
gamma = 1, beta = conv bias, running_mean = 0, running_var = 1 - eps (eps of
the architecture: 1e-5 for v1/v2, 1e-3 for v3), so that folding it again
(w * gamma / sqrt(var + eps)) gives back the same float32 numbers.
"""
import heapq

import numpy as np

try:
    import onnx
    from onnx import numpy_helper
except ImportError:  # reported when an ONNX file is actually read
    onnx = None

import torch
from torch import nn


class OnnxImportError(ValueError):
    """The ONNX model cannot be mapped onto the requested architecture."""


class Slot:
    """One weighted layer of the torch model, in execution order."""

    def __init__(self, kind, key, module, bn_key=None, bn=None):
        self.kind = kind      # "conv_bn", "conv" (with bias) or "linear"
        self.key = key        # state-dict prefix of the conv / linear
        self.module = module
        self.bn_key = bn_key  # state-dict prefix of the BatchNorm (conv_bn)
        self.bn = bn
        self.index, self.count = 0, 0  # position among the model's layers

    @property
    def shape(self):
        return list(self.module.weight.shape)


class Layer:
    """One weighted layer found in the ONNX graph (PyTorch weight layout)."""

    def __init__(self, node, label, kind, weight, bias=None, group=1):
        self.node = node
        self.label = label    # how error messages name the node
        self.kind = kind      # "conv" or "linear"
        self.weight = weight  # float64 [out, in/g, kh, kw] or [out, in]
        self.bias = bias      # float64 [out] or None
        self.group = group
        self.bn = None        # dict gamma, beta, mean, var, eps, label

    @property
    def out_channels(self):
        return int(self.weight.shape[0])


def shape_str(shape):
    return "[%s]" % ", ".join(str(int(d)) for d in shape)


# --------------------------------------------------------------------------
# The torch side: expected layers.

def expected_slots(model, input_size=64):
    """The model's Conv2d / Linear layers in execution order (forward hooks
    on a dummy input), each Conv2d paired with the BatchNorm2d that runs
    right after it."""
    names = {m: n for n, m in model.named_modules()}
    order = []
    hooks = [m.register_forward_hook(lambda mod, i, o: order.append(mod))
             for m in model.modules()
             if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear))]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, input_size, input_size))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    slots, i = [], 0
    while i < len(order):
        m = order[i]
        if isinstance(m, nn.Conv2d):
            nxt = order[i + 1] if i + 1 < len(order) else None
            if isinstance(nxt, nn.BatchNorm2d):
                slots.append(Slot("conv_bn", names[m], m, names[nxt], nxt))
                i += 2
                continue
            slots.append(Slot("conv", names[m], m))
        elif isinstance(m, nn.Linear):
            slots.append(Slot("linear", names[m], m))
        else:
            raise OnnxImportError("BatchNorm %s does not follow a conv"
                                  % names[m])
        i += 1
    return slots


# --------------------------------------------------------------------------
# The ONNX side: weighted layers in topological order.

class Graph:
    """Producers, consumers and constant values of an ONNX graph."""

    def __init__(self, graph):
        self.graph = graph
        self.init = {t.name: t for t in graph.initializer}
        self.producer = {}
        self.consumers = {}
        for node in graph.node:
            for out in node.output:
                self.producer[out] = node
            for name in dict.fromkeys(node.input):  # each node once
                if name:
                    self.consumers.setdefault(name, []).append(node)
        self._labels = {}
        for i, node in enumerate(graph.node):
            self._labels[id(node)] = node.name or "#%d" % i

    def label(self, node):
        """'name' (op) for error messages; unnamed nodes by graph index."""
        return "'%s' (%s)" % (self._labels[id(node)], node.op_type)

    def const(self, name, depth=0):
        """The value of ``name`` as float64 numpy, or None if not constant."""
        if not name or depth > 8:
            return None
        if name in self.init:
            return numpy_helper.to_array(self.init[name]).astype(np.float64)
        node = self.producer.get(name)
        if node is None:
            return None
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    return numpy_helper.to_array(a.t).astype(np.float64)
            return None
        if node.op_type in ("Identity", "Cast"):
            return self.const(node.input[0], depth + 1)
        if node.op_type == "Transpose":
            v = self.const(node.input[0], depth + 1)
            if v is None:
                return None
            perm = attr(node, "perm", None)
            return np.transpose(v, perm if perm is None else list(perm))
        return None

    def topological(self):
        """Nodes in topological order (stable: graph order where allowed)."""
        nodes = list(self.graph.node)
        produced = {out for n in nodes for out in n.output}
        index = {id(n): i for i, n in enumerate(nodes)}
        pending = {}
        for n in nodes:
            pending[id(n)] = len({x for x in n.input if x in produced})
        ready = [index[id(n)] for n in nodes if pending[id(n)] == 0]
        heapq.heapify(ready)
        out, done = [], set()
        while ready:
            n = nodes[heapq.heappop(ready)]
            out.append(n)
            for o in n.output:
                if o in done:
                    continue
                done.add(o)
                for c in self.consumers.get(o, []):
                    pending[id(c)] -= 1
                    if pending[id(c)] == 0:
                        heapq.heappush(ready, index[id(c)])
        if len(out) != len(nodes):
            raise OnnxImportError("the ONNX graph has a cycle")
        return out


def attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _bias_vector(value, out, what):
    """Broadcast a Gemm C / Add operand to a [out] vector."""
    v = np.asarray(value, dtype=np.float64)
    if v.size == 1:
        return np.full(out, float(v.reshape(-1)[0]))
    if v.size == out:
        return v.reshape(out)
    raise OnnxImportError("%s: bias of shape %s for %d outputs"
                          % (what, shape_str(v.shape), out))


def onnx_layers(model_proto):
    """The weighted layers of an ONNX ModelProto, in topological order."""
    g = Graph(model_proto.graph)
    layers, used_bns = [], set()
    for node in g.topological():
        op = node.op_type
        if op == "Conv":
            w = g.const(node.input[1])
            if w is None:
                raise OnnxImportError("ONNX node %s: weight %r is not a "
                                      "constant" % (g.label(node),
                                                    node.input[1]))
            if w.ndim != 4:
                raise OnnxImportError("ONNX node %s: weight shape %s, expected"
                                      " a 2-D conv [out, in/group, kh, kw]"
                                      % (g.label(node), shape_str(w.shape)))
            b = None
            if len(node.input) > 2 and node.input[2]:
                b = g.const(node.input[2])
                if b is None:
                    raise OnnxImportError("ONNX node %s: bias %r is not a "
                                          "constant" % (g.label(node),
                                                        node.input[2]))
                b = _bias_vector(b, w.shape[0], "ONNX node " + g.label(node))
            layer = Layer(node, g.label(node), "conv", w, b,
                          int(attr(node, "group", 1)))
            for c in g.consumers.get(node.output[0], []):
                if c.op_type == "BatchNormalization" and c.input[0] == node.output[0]:
                    layer.bn = batchnorm_params(g, c, w.shape[0])
                    used_bns.add(id(c))
                    break
            layers.append(layer)
        elif op == "BatchNormalization":
            if id(node) not in used_bns:
                raise OnnxImportError("ONNX node %s does not follow a Conv: "
                                      "not a supported layout"
                                      % g.label(node))
        elif op == "Gemm":
            if attr(node, "transA", 0):
                raise OnnxImportError("ONNX node %s: transA=1 is not "
                                      "supported" % g.label(node))
            b_mat = g.const(node.input[1])
            if b_mat is None or b_mat.ndim != 2:
                raise OnnxImportError("ONNX node %s: B is not a constant "
                                      "matrix" % g.label(node))
            w = b_mat if attr(node, "transB", 0) else b_mat.T
            w = w * float(attr(node, "alpha", 1.0))
            bias = None
            if len(node.input) > 2 and node.input[2]:
                c = g.const(node.input[2])
                if c is None:
                    raise OnnxImportError("ONNX node %s: C is not a constant"
                                          % g.label(node))
                bias = float(attr(node, "beta", 1.0)) * _bias_vector(
                    c, w.shape[0], "ONNX node " + g.label(node))
            layers.append(Layer(node, g.label(node), "linear", w, bias))
        elif op == "MatMul":
            b_mat = g.const(node.input[1])
            if b_mat is None or b_mat.ndim != 2:
                raise OnnxImportError("ONNX node %s: the second input is not "
                                      "a constant matrix" % g.label(node))
            w = b_mat.T
            bias = None
            for c in g.consumers.get(node.output[0], []):
                if c.op_type != "Add":
                    continue
                other = [x for x in c.input if x != node.output[0]]
                value = g.const(other[0]) if len(other) == 1 else None
                if value is not None:
                    bias = _bias_vector(value, w.shape[0],
                                        "ONNX node " + g.label(c))
                    break
            layers.append(Layer(node, g.label(node), "linear", w, bias))
    return layers


def batchnorm_params(g, node, channels):
    """gamma, beta, mean, var (float64 [channels]) and eps of a BN node."""
    names = ("gamma", "beta", "mean", "var")
    p = {}
    for name, inp in zip(names, node.input[1:5]):
        v = g.const(inp)
        if v is None:
            raise OnnxImportError("ONNX node %s: %s (%r) is not a constant"
                                  % (g.label(node), name, inp))
        if v.size != channels:
            raise OnnxImportError("ONNX node %s: %s has shape %s, the conv "
                                  "before it has %d channels"
                                  % (g.label(node), name, shape_str(v.shape),
                                     channels))
        p[name] = v.reshape(channels)
    p["eps"] = float(attr(node, "epsilon", 1e-5))
    p["label"] = g.label(node)
    return p


# --------------------------------------------------------------------------
# Matching the two sides.

def _fit_weight(layer, slot, describe):
    """The ONNX weight reshaped to the slot's layout, or an error."""
    want = slot.shape
    w = layer.weight
    if slot.kind == "linear" and layer.kind == "conv" and w.ndim == 4 \
            and w.shape[2:] == (1, 1):
        w = w.reshape(w.shape[0], w.shape[1])       # Linear written as 1x1 conv
    elif slot.kind != "linear" and layer.kind == "linear" and \
            len(want) == 4 and want[2:] == [1, 1] and w.ndim == 2:
        w = w.reshape(w.shape[0], w.shape[1], 1, 1)  # SE written as Gemm
    if list(w.shape) != want:
        raise OnnxImportError(
            "ONNX node %s: weight shape %s, but %s expects %s for %s.weight "
            "(layer %d of %d)" % (layer.label, shape_str(layer.weight.shape),
                                  describe, shape_str(want), slot.key,
                                  slot.index + 1, slot.count))
    if slot.kind != "linear" and layer.kind == "conv" and \
            layer.group != slot.module.groups:
        raise OnnxImportError(
            "ONNX node %s: group=%d, but %s expects groups=%d for %s "
            "(layer %d of %d)" % (layer.label, layer.group, describe,
                                  slot.module.groups, slot.key,
                                  slot.index + 1, slot.count))
    return w


def _identity_bn(bias, eps):
    """BN parameters that fold to (w, bias) exactly (see module docstring)."""
    n = bias.shape[0]
    return np.ones(n), bias, np.zeros(n), np.full(n, 1.0 - eps)


def _fold(w, layer):
    """Fold the layer's BatchNorm (and conv bias) into (weight, bias)."""
    bn = layer.bn
    b = layer.bias if layer.bias is not None else np.zeros(w.shape[0])
    scale = bn["gamma"] / np.sqrt(bn["var"] + bn["eps"])
    w = w * scale.reshape((-1,) + (1,) * (w.ndim - 1))
    return w, bn["beta"] + (b - bn["mean"]) * scale


def slot_tensors(layer, slot, describe):
    """State-dict entries (float32 tensors) for one matched layer."""
    w = _fit_weight(layer, slot, describe)
    out = {}
    if slot.kind == "conv_bn":
        eps = float(slot.bn.eps)
        if layer.bn is None:
            bias = layer.bias if layer.bias is not None else np.zeros(w.shape[0])
            gamma, beta, mean, var = _identity_bn(bias, eps)
        else:
            bn = layer.bn
            gamma, beta, mean, var = bn["gamma"], bn["beta"], bn["mean"], bn["var"]
            if layer.bias is not None:        # BN(conv + b) = BN'(conv)
                mean = mean - layer.bias
            if bn["eps"] != eps:
                var = var + bn["eps"] - eps
                if np.any(var < 0):
                    w, bias = _fold(w, layer)
                    gamma, beta, mean, var = _identity_bn(bias, eps)
        out[slot.key + ".weight"] = w
        out[slot.bn_key + ".weight"] = gamma
        out[slot.bn_key + ".bias"] = beta
        out[slot.bn_key + ".running_mean"] = mean
        out[slot.bn_key + ".running_var"] = var
    else:
        if layer.bn is not None:
            w, bias = _fold(w, layer)
        else:
            bias = layer.bias if layer.bias is not None else np.zeros(w.shape[0])
        out[slot.key + ".weight"] = w
        if slot.module.bias is not None:
            out[slot.key + ".bias"] = bias
        elif np.any(bias != 0):
            raise OnnxImportError("ONNX node %s has a bias, %s has none"
                                  % (layer.label, slot.key))
    return {k: torch.from_numpy(np.asarray(v, dtype=np.float32).copy())
            for k, v in out.items()}


def load_onnx(path):
    """Load an ONNX file (external data from its directory)."""
    if onnx is None:
        raise OnnxImportError("reading ONNX needs the onnx Python package "
                              "(Debian: apt-get install python3-onnx)")
    try:
        return onnx.load(path)
    except Exception as e:  # protobuf DecodeError, OSError, ...
        raise OnnxImportError("%s: cannot read ONNX model (%s)" % (path, e))


def num_classes(layers):
    """Output count of the last weighted layer (the classifier)."""
    if not layers:
        raise OnnxImportError("the ONNX graph has no Conv/Gemm/MatMul layers")
    return layers[-1].out_channels


def state_dict(layers, model, describe):
    """Map ONNX layers onto ``model``; return its full state dict.

    ``describe`` names the model in messages, e.g. "v2 width 0.35"."""
    slots = expected_slots(model)
    for i, s in enumerate(slots):
        s.index, s.count = i, len(slots)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    assigned = set()
    for layer, slot in zip(layers, slots):
        for k, v in slot_tensors(layer, slot, describe).items():
            if state[k].shape != v.shape:
                raise OnnxImportError("ONNX node %s: %s has shape %s, %s "
                                      "expects %s" % (
                                          layer.label, k, shape_str(v.shape),
                                          describe, shape_str(state[k].shape)))
            state[k] = v
            assigned.add(k)
    if len(layers) > len(slots):
        extra = layers[len(slots)]
        raise OnnxImportError(
            "ONNX node %s (weight %s): the ONNX graph has %d weighted layers, "
            "%s has only %d" % (extra.label, shape_str(extra.weight.shape),
                                len(layers), describe, len(slots)))
    if len(layers) < len(slots):
        missing = slots[len(layers)]
        raise OnnxImportError(
            "the ONNX graph has %d weighted layers (last: node %s), %s has %d:"
            " nothing for %s.weight %s" % (
                len(layers), layers[-1].label if layers else "-", describe,
                len(slots), missing.key, shape_str(missing.shape)))
    left = [k for k in state if k not in assigned
            and not k.endswith("num_batches_tracked")]
    if left:
        raise OnnxImportError("no ONNX weights for %s" % ", ".join(left))
    return state
