#!/usr/bin/python3
"""Generate deterministic PyTorch parity fixtures for the C++ tests.

For each case, DIR/<case>/ holds:

* weights.safetensors: F32 weights with the usual ``__metadata__``;
* weights_perturbed.safetensors: the same weights with one element (or one
  channel's kernel) of the first depthwise conv scaled (see
  perturbation.txt, one line "key index factor": ``index`` is a comma
  separated index into the tensor, a single number meaning the whole [1,3,3]
  kernel of that channel);
* input.npy: float32 NCHW input, normal(0, 1);
* expected.npy: float32 logits [N, classes] of the torch model (eval mode).

DIR/cases.txt has one line per case:
``name arch width num_classes batch height width``.

Weights: torchvision init, then BatchNorm gamma ~ U(0.5, 1.5) and
beta ~ N(0, 0.2), then the BN running statistics are calibrated (cumulative
average of batch statistics over a few train-mode passes on random
images), and the Linear layers get PyTorch's default init, the output
layer then scaled by LOGIT_SCALE (10): with the default init alone the
logits are only ~0.1..1, which would make the parity tolerance
1e-4 * max(1, max|ref|) an absolute 1e-4, loose relative to the logits.  Gamma/beta are
drawn BEFORE calibrating, so that every BN normalizes the activations it
actually sees in eval mode: activations stay O(1) through the whole network
and the logits clearly depend on the input.  (Drawing them after
calibration would leave each BN's statistics mismatched to its input,
scales and shifts compounding over the layers.)

DIR/tf_same/ holds the width-1.0 models again with TensorFlow's "SAME" padding
(tools/tf_same.py: the extra pixel of a stride-2 layer on an even side at the bottom/right),
at 224x224 batch 1 and 230x197 batch 3, with ``padding: tf_same`` in the weights' metadata;
DIR/tf_same/cases.txt lists them as cases.txt does.

DIR/digits/ holds the held-out split of the digits data set preprocessed as
in tools/train_digits.py (input.npy), 100 training images preprocessed alike for int8
calibration (calibration.npy), its labels (labels.npy, int64; labels_f32.npy, float32) and the
logits of each trained digits model examples/data/digits_<arch>.safetensors (V3-Small, V2, V1;
tools/train_digits.py) run by torch (expected_<arch>.npy).
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
from torch import nn

TOOLS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS_DIR)
import export_weights  # noqa: E402
import safetensors_io  # noqa: E402
import tf_same  # noqa: E402
from models import (FIRST_DEPTHWISE, build_model, count_parameters,  # noqa: E402
                    model_from_safetensors)

DIGITS_ARCHS = ("v3_small", "v2", "v1")
DIGITS_WEIGHTS = os.path.normpath(os.path.join(
    TOOLS_DIR, os.pardir, "examples", "data", "digits_%s.safetensors"))

ARCH_WIDTHS = [("v1", 1.0), ("v1", 0.25), ("v2", 1.0), ("v2", 0.35),
               ("v3_large", 1.0), ("v3_large", 0.75),
               ("v3_small", 1.0), ("v3_small", 0.5)]
SHAPES = [(1, 224, 224), (2, 129, 96)]  # (batch, height, width)
TOLERANCE = 1e-4          # relative: atol = TOLERANCE * max(1, max|ref|)
PERTURB_FACTOR = 1.001
MIN_EFFECT = 2.0          # wanted perturbation effect, in tolerances
LOGIT_SCALE = 10.0        # output Linear scaled so that max|logit| >~ 1
FALLBACK_FACTORS = (1.001, 1.002, 1.005, 1.01, 1.02, 1.05, 1.1, 1.2, 1.5, 2.0)


def num_classes_for(width):
    """1000 classes at width 1.0, 37 otherwise."""
    return 1000 if width == 1.0 else 37


def case_name(arch, width, batch, height, width_px):
    """e.g. v3_large_w075_129x96_b2."""
    return "%s_w%03d_%dx%d_b%d" % (arch, round(width * 100), height,
                                   width_px, batch)


def batchnorms(model):
    return [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]


def randomize_bn_affine(model, gen):
    """gamma ~ U(0.5, 1.5), beta ~ N(0, 0.2) for every BatchNorm."""
    with torch.no_grad():
        for bn in batchnorms(model):
            bn.weight.copy_(torch.rand(bn.weight.shape, generator=gen) + 0.5)
            bn.bias.copy_(0.2 * torch.randn(bn.bias.shape, generator=gen))


def calibrate_bn(model, gen, batches=4, batch=4, sizes=(112, 224)):
    """Set BN running stats to the cumulative average of the batch stats of
    a few train-mode passes on normal(0, 1) images of random size."""
    saved = []
    for bn in batchnorms(model):
        saved.append(bn.momentum)
        bn.momentum = None
        bn.reset_running_stats()
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            h, w = torch.randint(sizes[0], sizes[1] + 1, (2,),
                                 generator=gen).tolist()
            model(torch.randn(batch, 3, h, w, generator=gen))
    for bn, momentum in zip(batchnorms(model), saved):
        bn.momentum = momentum
    model.eval()


def reset_linears(model):
    """PyTorch's default init for every Linear layer."""
    for m in model.modules():
        if isinstance(m, nn.Linear):
            m.reset_parameters()


def scale_output_layer(model, scale):
    """Multiply weight and bias of the last Linear layer by ``scale``."""
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    with torch.no_grad():
        last.weight.mul_(scale)
        last.bias.mul_(scale)


def make_model(arch, width, seed, logit_scale=LOGIT_SCALE):
    """Seeded fixture model (see module docstring), in eval mode."""
    torch.manual_seed(seed)
    model = build_model(arch, width, num_classes_for(width))
    reset_linears(model)
    scale_output_layer(model, logit_scale)
    gen = torch.Generator().manual_seed(seed)
    randomize_bn_affine(model, gen)
    calibrate_bn(model, gen)
    return model.eval()


def forward(model, x):
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def logits_with(model, key, index, factor, x):
    """Logits with ``state[key][index] *= factor`` (model restored after)."""
    param = model.state_dict()[key]
    orig = param.clone()
    with torch.no_grad():
        param[index] *= factor
        try:
            return forward(model, x)
        finally:
            param.copy_(orig)


def effect(model, key, index, factor, x, ref):
    """max|perturbed - ref| in units of the parity tolerance."""
    tol = TOLERANCE * max(1.0, float(np.abs(ref).max()))
    return float(np.abs(logits_with(model, key, index, factor, x) - ref)
                 .max()) / tol


def choose_perturbation(model, key, x, ref):
    """Return (index tuple, factor, effect in tolerances).

    First choice: the largest-magnitude element times 1.001.  If that moves
    the logits by less than MIN_EFFECT tolerances, scale the whole kernel
    of the most sensitive channel by the smallest factor that does."""
    w = model.state_dict()[key]
    index = np.unravel_index(int(w.abs().argmax()), tuple(w.shape))
    index = tuple(int(i) for i in index)
    e = effect(model, key, index, PERTURB_FACTOR, x, ref)
    if e >= MIN_EFFECT:
        return index, PERTURB_FACTOR, e
    print("    1.001 on %s%s moves logits by only %.2f tol; falling back"
          % (key, list(index), e))
    per_channel = [effect(model, key, (c,), PERTURB_FACTOR, x, ref)
                   for c in range(w.shape[0])]
    channel = (int(np.argmax(per_channel)),)
    for factor in FALLBACK_FACTORS:
        e = effect(model, key, channel, factor, x, ref)
        if e >= MIN_EFFECT:
            return channel, factor, e
    raise RuntimeError("no perturbation of %s reaches %g tolerances"
                       % (key, MIN_EFFECT))


def check_logits(name, logits):
    """Assert the logits are finite, not tiny and input dependent."""
    peak = float(np.abs(logits).max())
    assert np.all(np.isfinite(logits)), name
    assert peak > 0.1 and float(logits.std(axis=1).min()) > 1e-2, \
        "%s: logits too small (max %g)" % (name, peak)
    spread = None
    if logits.shape[0] > 1:
        spread = float(np.abs(logits[0] - logits[1]).max())
        assert spread > 1e-2 * max(1.0, peak), \
            "%s: logits do not depend on the input (%g vs %g)" % (
                name, spread, peak)
    return peak, spread


# Backbone taps checked against the C++ features(): indices into torchvision's model.features.
FEATURE_TAPS = {"v1": [1, 5, 11, 13], "v2": [3, 6, 13, 18],
                "v3_large": [3, 6, 12, 16], "v3_small": [1, 3, 8, 12]}


def write_features(case_dir, model, arch, x):
    """features_<i>.npy (NCHW float32): the output of model.features[i], via forward hooks."""
    taps = FEATURE_TAPS[arch]
    seen = {}
    hooks = [model.features[i].register_forward_hook(
        lambda mod, inp, out, i=i: seen.__setitem__(i, out.detach().numpy().copy()))
        for i in taps]
    forward(model, x)
    for h in hooks:
        h.remove()
    for i in taps:
        np.save(os.path.join(case_dir, "features_%d.npy" % i), seen[i].astype(np.float32))
    with open(os.path.join(case_dir, "features.txt"), "w") as f:
        f.write(" ".join(map(str, taps)) + "\n")


def write_case(out, name, model, arch, width, batch, height, width_px, seed):
    """Write one case directory; return a summary dict."""
    case_dir = os.path.join(out, name)
    os.makedirs(case_dir, exist_ok=True)
    classes = num_classes_for(width)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, 3, height, width_px), dtype=np.float32)
    ref = forward(model, x)
    peak, spread = check_logits(name, ref)

    metadata = export_weights.make_metadata(
        arch, width, classes, export_weights.default_labels(classes),
        "parity fixture: tools/make_fixtures.py seed %d (random gamma/beta, "
        "calibrated BN)" % seed)
    weights = os.path.join(case_dir, "weights.safetensors")
    export_weights.write(weights, model, metadata, "F32")
    np.save(os.path.join(case_dir, "input.npy"), x)
    np.save(os.path.join(case_dir, "expected.npy"), ref.astype(np.float32))
    if batch > 1 and width == 1.0:
        write_features(case_dir, model, arch, x)

    key = FIRST_DEPTHWISE[arch]
    index, factor, eff = choose_perturbation(model, key, x, ref)
    state = export_weights.exportable_state(model)
    state[key][index] *= factor
    perturbed = os.path.join(case_dir, "weights_perturbed.safetensors")
    safetensors_io.save(perturbed, state, metadata, dtype="F32")
    with open(os.path.join(case_dir, "perturbation.txt"), "w") as f:
        f.write("%s %s %r\n" % (key, ",".join(map(str, index)), factor))

    # Round trip: both files, run by torch, must give what we expect.
    back, _ = model_from_safetensors(weights)
    assert np.array_equal(forward(back, x), ref), name
    back, _ = model_from_safetensors(perturbed)
    eff_file = float(np.abs(forward(back, x) - ref).max()) / (
        TOLERANCE * max(1.0, peak))
    assert eff_file >= MIN_EFFECT, name
    return dict(name=name, arch=arch, width=width, classes=classes,
                batch=batch, height=height, width_px=width_px, peak=peak,
                spread=spread, key=key, index=index, factor=factor,
                effect=eff_file)


# 224: every stride-2 layer pads only after. 230x197: the stride-2 layers see 230, 115, 58, 29, 15
# rows and 197, 99, 50, 25, 13 columns, so some pad after only and some symmetrically, at other
# layers for each axis. (225x193 would be odd at every stride-2 layer: SAME is then symmetric.)
TF_SAME_SHAPES = [(1, 224, 224), (3, 230, 197)]


def write_tf_same_cases(out, arch, model, seed):
    """The width-1.0 ``model`` with TensorFlow's SAME padding: weights (metadata padding tf_same),
    input and torch logits per TF_SAME_SHAPES under out/tf_same/; returns cases.txt lines. The
    model's own padding is changed in place."""
    tf_same.use_tf_same_padding(model)
    metadata = export_weights.make_metadata(
        arch, 1.0, num_classes_for(1.0), export_weights.default_labels(num_classes_for(1.0)),
        "parity fixture: tools/make_fixtures.py seed %d, TensorFlow SAME padding" % seed)
    metadata["padding"] = "tf_same"
    lines = []
    for j, (batch, height, width_px) in enumerate(TF_SAME_SHAPES):
        name = case_name(arch, 1.0, batch, height, width_px)
        case_dir = os.path.join(out, "tf_same", name)
        os.makedirs(case_dir, exist_ok=True)
        x = np.random.default_rng(seed + 50 + j).standard_normal(
            (batch, 3, height, width_px), dtype=np.float32)
        ref = forward(model, x)
        check_logits(name, ref)
        export_weights.write(os.path.join(case_dir, "weights.safetensors"), model, metadata, "F32")
        np.save(os.path.join(case_dir, "input.npy"), x)
        np.save(os.path.join(case_dir, "expected.npy"), ref.astype(np.float32))
        lines.append("%s %s %r %d %d %d %d" % (name, arch, 1.0, num_classes_for(1.0), batch,
                                               height, width_px))
        print("  tf_same/%-18s max|logit| %7.3f" % (name, float(np.abs(ref).max())), flush=True)
    return lines


DIGITS_CALIBRATION = 100


def write_digits(out, weights=DIGITS_WEIGHTS):
    """Held-out digits inputs, labels and torch logits of the trained models."""
    import train_digits

    models = {arch: model_from_safetensors(weights % arch) for arch in DIGITS_ARCHS}
    md = models[DIGITS_ARCHS[0]][1]
    for arch, (_, other) in models.items():  # one input batch serves them all
        for key in ("input_size", "mean", "std"):
            if other[key] != md[key]:
                raise ValueError("digits_%s: %s %s differs from %s's %s"
                                 % (arch, key, other[key], DIGITS_ARCHS[0], md[key]))
    size = int(md["input_size"])
    mean = [float(v) for v in md["mean"].split(",")]
    std = [float(v) for v in md["std"].split(",")]
    x_tr, _, x_te, y_te = train_digits.load_split()
    x = train_digits.preprocess(x_te, size, mean, std)
    # Calibration images for the int8 model: the first 100 of the training split (the split
    # is stratified and shuffled), never the held-out images it is evaluated on.
    calibration = train_digits.preprocess(x_tr[:DIGITS_CALIBRATION], size, mean, std)
    case_dir = os.path.join(out, "digits")
    os.makedirs(case_dir, exist_ok=True)
    np.save(os.path.join(case_dir, "input.npy"), x)
    np.save(os.path.join(case_dir, "calibration.npy"), calibration)
    np.save(os.path.join(case_dir, "labels.npy"), y_te.astype(np.int64))
    # The same labels as float32, the one dtype the C++ .npy reader accepts.
    np.save(os.path.join(case_dir, "labels_f32.npy"), y_te.astype(np.float32))
    for arch, (model, _) in models.items():
        logits = forward(model, x).astype(np.float32)
        np.save(os.path.join(case_dir, "expected_%s.npy" % arch), logits)
        acc = float((logits.argmax(1) == y_te).mean())
        print("digits %s: %d held-out images %dx%d, torch accuracy %.2f%%"
              % (arch, len(x), size, size, 100 * acc))


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="cases.txt line format: name arch width num_classes batch "
               "height width")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--quick", action="store_true",
                        help="only the 224x224 batch-1 cases plus the "
                             "batch-2 cases at width != 1.0")
    parser.add_argument("--seed", type=int, default=1234,
                        help="base seed (default %(default)s)")
    parser.add_argument("--logit-scale", type=float, default=LOGIT_SCALE,
                        help="factor applied to the output Linear layer "
                             "(default %(default)s; 1 = PyTorch default init)")
    parser.add_argument("--no-digits", action="store_true",
                        help="skip the digits fixture")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.time()
    os.makedirs(args.out, exist_ok=True)
    lines, tf_same_lines = [], []
    for i, (arch, width) in enumerate(ARCH_WIDTHS):
        seed = args.seed + 100 * i
        model = make_model(arch, width, seed, args.logit_scale)
        print("%s width %r: %d parameters" % (arch, width,
                                              count_parameters(model)))
        for j, (batch, height, width_px) in enumerate(SHAPES):
            if args.quick and batch > 1 and width == 1.0:
                continue
            name = case_name(arch, width, batch, height, width_px)
            r = write_case(args.out, name, model, arch, width, batch, height,
                           width_px, seed + j + 1)
            print("  %-26s max|logit| %7.3f  batch spread %s  perturb %s[%s]"
                  " x%r -> %.1f tol" % (
                      name, r["peak"],
                      "%.3f" % r["spread"] if r["spread"] else "   -  ",
                      r["key"], ",".join(map(str, r["index"])), r["factor"],
                      r["effect"]), flush=True)
            lines.append("%s %s %r %d %d %d %d" % (
                name, arch, width, r["classes"], batch, height, width_px))
        if width == 1.0 and not args.quick:
            tf_same_lines += write_tf_same_cases(args.out, arch, model, seed)
    with open(os.path.join(args.out, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    if tf_same_lines:
        with open(os.path.join(args.out, "tf_same", "cases.txt"), "w") as f:
            f.write("\n".join(tf_same_lines) + "\n")
    if not args.no_digits:
        write_digits(args.out)
    print("%d cases written to %s in %.1f s" % (len(lines), args.out,
                                                time.time() - start))


if __name__ == "__main__":
    main()
