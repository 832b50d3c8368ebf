#!/usr/bin/python3
"""ONNX import of tools/export_weights.py (--onnx), for ctest.

onnx_export_test.py prepare CASE DIR
    Builds the seeded fixture model of CASE (tools/make_fixtures.py: random
    BatchNorm gamma/beta and calibrated running statistics, so BatchNorm is
    far from the identity), exports it with torch.onnx.export, converts the
    ONNX file with ``export_weights.py --onnx`` and writes
    DIR/{model.onnx, weights.safetensors, input.npy, expected.npy}
    (expected = torchvision's logits).  The C++ side is then run by
    mobilenet-infer and compared by compare_npy.py (tests/CMakeLists.txt).

onnx_export_test.py fails ONNX ARCH WIDTH
    Runs ``export_weights.py --onnx ONNX --arch ARCH --width WIDTH`` as a
    user would, for a model of another arch/width: it must exit non-zero
    with one line on stderr naming an ONNX node of the file, the shape of
    its weight and the (different) shape ARCH/WIDTH expects there; no output
    file may be written.

Cases: the four architectures at a small width as exported by default
(opset 13, eval mode: the exporter folds every BatchNorm into its conv and
writes hard-swish as HardSigmoid * x), and v3_small_bn_matmul: BatchNorm
kept as BatchNormalization nodes (no constant folding), opset 14
(HardSwish nodes) and the classifier's Gemm nodes rewritten as MatMul + Add.
"""
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
TOOLS = os.path.join(ROOT, "tools")
sys.path.insert(0, TOOLS)
import export_weights  # noqa: E402
import make_fixtures  # noqa: E402
import safetensors_io  # noqa: E402
from models import build_model, model_from_safetensors  # noqa: E402

# name -> (arch, width, variant, seed)
CASES = {
    "v1": ("v1", 0.25, "folded", 11),
    "v2": ("v2", 0.35, "folded", 12),
    "v3_large": ("v3_large", 0.75, "folded", 13),
    "v3_small": ("v3_small", 0.5, "folded", 14),
    "v3_small_bn_matmul": ("v3_small", 0.5, "bn_matmul", 15),
}
INPUT_SHAPE = (2, 3, 129, 96)  # batch 2, non-square
TOLERANCE = 1e-4               # as tests/test_parity.cpp: 1e-4 * max(1, max|ref|)


def gemm_to_matmul(model):
    """Rewrite every Gemm(A, B, C, transB=1) as MatMul(A, B^T) + Add(C)."""
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    nodes = []
    for n in g.node:
        if n.op_type != "Gemm":
            nodes.append(n)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        assert attrs.get("transB") == 1 and attrs.get("alpha", 1.0) == 1.0, attrs
        w = numpy_helper.to_array(inits[n.input[1]])
        wt = n.input[1] + "_transposed"
        g.initializer.append(numpy_helper.from_array(np.ascontiguousarray(w.T), wt))
        mm = n.output[0] + "_matmul"
        nodes.append(helper.make_node("MatMul", [n.input[0], wt], [mm], name=n.name + "_MatMul"))
        nodes.append(helper.make_node("Add", [mm, n.input[2]], [n.output[0]], name=n.name + "_Add"))
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(model)
    return model


def prepare(case, out):
    arch, width, variant, seed = CASES[case]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    model = make_fixtures.make_model(arch, width, seed)
    x = np.random.default_rng(seed).standard_normal(INPUT_SHAPE, dtype=np.float32)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()

    onnx_path = os.path.join(out, "model.onnx")
    kwargs = dict(opset_version=13)
    if variant == "bn_matmul":
        kwargs = dict(opset_version=14, do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE)
    torch.onnx.export(model, torch.from_numpy(x[:1]), onnx_path,
                      input_names=["input"], output_names=["logits"], **kwargs)
    proto = onnx.load(onnx_path)
    if variant == "bn_matmul":
        proto = gemm_to_matmul(proto)
        onnx.save(proto, onnx_path)
    ops = [n.op_type for n in proto.graph.node]
    count = {op: ops.count(op) for op in sorted(set(ops))}
    print("%s: %s width %r, ONNX opset %d: %s" % (
        case, arch, width, proto.opset_import[0].version,
        ", ".join("%s %d" % kv for kv in count.items())))
    if variant == "folded":
        # The exporter folded BatchNorm: the test exercises the identity-BN path.
        assert "BatchNormalization" not in count, "BatchNorm was not folded"
        assert "Gemm" in count and "MatMul" not in count
    else:
        assert count.get("BatchNormalization", 0) > 0 and count.get("MatMul", 0) == 2
        assert "HardSwish" in count and "Gemm" not in count

    weights = os.path.join(out, "weights.safetensors")
    export_weights.main(["--onnx", onnx_path, "--arch", arch, "--width", repr(width),
                         "--out", weights])
    tensors, metadata = safetensors_io.load(weights)
    classes = make_fixtures.num_classes_for(width)
    assert metadata["num_classes"] == str(classes), metadata["num_classes"]
    assert metadata["arch"] == arch and float(metadata["width"]) == width

    # Torch itself on the converted weights (BatchNorm folded back) agrees too.
    back, _ = model_from_safetensors(weights)
    with torch.no_grad():
        got = back(torch.from_numpy(x)).numpy()
    tol = TOLERANCE * max(1.0, float(np.abs(ref).max()))
    diff = float(np.abs(got.astype(np.float64) - ref).max())
    print("torch on the converted weights: max|diff| %.3g, tolerance %.3g, max|ref| %.3f"
          % (diff, tol, float(np.abs(ref).max())))
    assert diff <= tol, "torch on the converted weights is outside the tolerance"

    np.save(os.path.join(out, "input.npy"), x)
    np.save(os.path.join(out, "expected.npy"), ref.astype(np.float32))


SHAPE = r"\[[0-9, ]*\]"
MESSAGE = re.compile(r"^error: (?P<file>.+): ONNX node '(?P<node>[^']+)' \((?P<op>\w+)\): "
                     r"weight shape (?P<got>%s), but (?P<arch>\w+) width (?P<width>[0-9.]+) "
                     r"with (?P<classes>\d+) classes expects (?P<want>%s) for (?P<key>\S+)\.weight "
                     r"\(layer \d+ of \d+\)$" % (SHAPE, SHAPE))


def shape_of(text):
    return [int(v) for v in re.findall(r"\d+", text)]


def fails(onnx_path, arch, width):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "never.safetensors")
        r = subprocess.run([sys.executable, os.path.join(TOOLS, "export_weights.py"),
                            "--onnx", onnx_path, "--arch", arch, "--width", width,
                            "--out", out], capture_output=True, text=True)
        print("exit %d, stdout %r\nstderr: %s" % (r.returncode, r.stdout, r.stderr), end="")
        assert r.returncode != 0, "export_weights.py succeeded on a mismatched model"
        assert not os.path.exists(out), "an output file was written"
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, "expected one line on stderr"
    m = MESSAGE.match(lines[0])
    assert m, "message does not name the node and both shapes"
    assert m["file"] == onnx_path and m["arch"] == arch and float(m["width"]) == float(width)
    got, want = shape_of(m["got"]), shape_of(m["want"])
    assert got != want
    # The node exists, is of that type and its weight has the stated shape.
    proto = onnx.load(onnx_path)
    inits = {t.name: list(t.dims) for t in proto.graph.initializer}
    node = [n for n in proto.graph.node if n.name == m["node"]]
    assert len(node) == 1 and node[0].op_type == m["op"], "no such node %r" % m["node"]
    assert inits.get(node[0].input[1]) == got, "the node's weight is %s" % inits.get(node[0].input[1])
    # The model asked for has the stated shape under the stated key.
    model = build_model(arch, float(width), int(m["classes"]))
    assert list(model.state_dict()[m["key"] + ".weight"].shape) == want
    print("ok: clear error naming %s, %s vs %s" % (m["node"], got, want))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "prepare":
        prepare(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "fails":
        fails(*sys.argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
