#!/usr/bin/python3
"""Helpers of bench/compare_peers.sh (run with Debian's /usr/bin/python3).

Subcommands:

* ``export --out DIR --seed S [--archs ...] [--weights fixture|init]``: builds each
  model once (width 1.0, 1000 classes, eval mode) and writes, from that one torch
  module, DIR/<arch>.safetensors (read by our library) and DIR/<arch>.onnx (read
  by ONNX Runtime; torch.onnx.export, opset 13, batch 1, 3x224x224, BatchNorm
  folded by constant folding), plus the shared input DIR/input.npy (float32 NCHW
  normal(0, 1), seed S) and the same bytes raw in DIR/input.bin, and DIR/calibration.npy
  (eight more such images, seed S + 1: the calibration batch of ``--precision int8``).
  ``--weights fixture`` (default) is the parity suite's recipe
  (tools/make_fixtures.make_model: torchvision init, random BN gamma/beta, BN
  statistics calibrated on random images), so activations stay O(1) through the
  network and the logits are O(1-10) and input dependent.  ``--weights init`` is
  exactly ``tools/export_weights.py --random --seed S`` (torchvision init, BN at
  identity), where activations shrink with depth (V1's logits are ~1e-18).
* ``parity --arch A --precision P --ours Y.npy --ort Y.bin``: max|diff| of the two
  engines' logits; fails if it exceeds PARITY_RTOL[P] * max(1e-30, max|ort|).
* ``stages --int8 F.int8.safetensors --input input.npy --dir D``: checks ORT's codes of each
  feature stage of the int8 QDQ model (D/stage_K.bin, written by ort_bench.js --outputs-dir from
  bench/int8_qdq.py --stage-outputs) against tests/int8_emulation.py's emulation of our integer
  arithmetic, each stage recomputed from ORT's previous one, with that test's criterion (every code
  within 1, at most 0.5% of a stage's codes off by one): ORT runs the quantization we run.
* ``summarize --raw raw.csv --out results.md``: the table (see compare_peers.sh).
"""
import argparse
import csv
import json
import os
import statistics
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(HERE, os.pardir, "tools")
ARCHS = ("v1", "v2", "v3_large", "v3_small")
# float32: the two engines sum in different orders, nothing else. int8: ORT computes in float what
# we compute in integers, so a value on a rounding boundary can go the other way: stage by stage
# (``stages``, the real check) at most 8 codes of a network's 10^5-10^6 differed, by one, on the
# seed-0 fixtures, yet through these random-weight networks' 11-17 requantized stages such flips
# moved the logits by up to 8.8% of their scale (V3-Small; V1, V2, V3-Large agree to 1e-6). The
# int8 bound on the logits therefore only catches what the stage check cannot see (the pool and
# the float classifier).
PARITY_RTOL = {"fp32": 1e-4, "int8": 0.25}


def export(args):
    import torch

    sys.path.insert(0, TOOLS)
    import export_weights
    from models import build_model

    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    x = np.random.default_rng(args.seed).standard_normal((1, 3, 224, 224), dtype=np.float32)
    np.save(os.path.join(args.out, "input.npy"), x)
    x.tofile(os.path.join(args.out, "input.bin"))
    calibration = np.random.default_rng(args.seed + 1).standard_normal((8, 3, 224, 224), dtype=np.float32)
    np.save(os.path.join(args.out, "calibration.npy"), calibration)
    for arch in args.archs:
        if args.weights == "fixture":
            import make_fixtures

            model = make_fixtures.make_model(arch, 1.0, args.seed)
            source = "bench/compare_peers.py: tools/make_fixtures.make_model seed %d" % args.seed
        else:
            torch.manual_seed(args.seed)  # what export_weights.py --random --seed does
            model = build_model(arch, 1.0, 1000)
            source = "random init (torchvision init), seed %d" % args.seed
        model.eval()
        metadata = export_weights.make_metadata(arch, 1.0, 1000, export_weights.default_labels(1000), source)
        export_weights.write(os.path.join(args.out, arch + ".safetensors"), model, metadata, "F32")
        onnx_path = os.path.join(args.out, arch + ".onnx")
        with torch.no_grad():
            torch.onnx.export(model, torch.from_numpy(x), onnx_path, opset_version=args.opset,
                              input_names=["input"], output_names=["logits"], do_constant_folding=True)
            peak = float(model(torch.from_numpy(x)).abs().max())
        try:
            import onnx

            onnx.checker.check_model(onnx.load(onnx_path))
        except ImportError:
            pass
        print("  %-9s -> %s.{safetensors,onnx}  (torch max|logit| %.3g)" % (arch, arch, peak))
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump({"seed": args.seed, "weights": args.weights, "opset": args.opset,
                   "archs": list(args.archs), "torch": torch.__version__}, f, indent=1)


def parity(args):
    ours = np.load(args.ours).astype(np.float32).reshape(-1)
    ort = np.fromfile(args.ort, dtype=np.float32)
    if ours.shape != ort.shape:
        sys.exit("parity %s: ours has %d logits, ORT %d" % (args.arch, ours.size, ort.size))
    diff = float(np.abs(ours - ort).max())
    peak = float(np.abs(ort).max())
    rel = diff / max(peak, 1e-30)
    ok = np.all(np.isfinite(ours)) and rel <= PARITY_RTOL[args.precision]
    print("  %-9s max|ours-ORT| %.3g  max|logit| %.3g  relative %.2g  argmax %d/%d  %s"
          % (args.arch, diff, peak, rel, int(ours.argmax()), int(ort.argmax()), "ok" if ok else "FAIL"))
    if not ok:
        sys.exit(1)


def stages(args):
    sys.path.insert(0, TOOLS)
    sys.path.insert(0, os.path.join(HERE, os.pardir, "tests"))
    import int8_emulation as emu
    import models
    import safetensors_io

    t, meta = safetensors_io.load(args.int8)
    model = models.build_model(meta["arch"], float(meta["width"]), int(meta["num_classes"]))
    x = np.load(args.input).transpose(0, 2, 3, 1)  # NHWC
    scale, zero = emu.qparams(t, "input_qparams")
    codes = emu.quantize(x, scale, zero)
    worst = off_total = count = 0
    for k in range(len(model.features)):
        expected, scale, zero = emu.emulate(model.features[k], "features.%d" % k, t, codes, scale, zero)
        n, h, w, c = expected.shape
        ort = np.fromfile(os.path.join(args.dir, "stage_%d.bin" % k), np.uint8)
        if ort.size != expected.size:
            sys.exit("stages: ORT's stage %d has %d codes, expected %d" % (k, ort.size, expected.size))
        codes = ort.reshape(n, c, h, w).transpose(0, 2, 3, 1).astype(np.int64) - 128
        diff = np.abs(codes - expected)
        off = int((diff > 0).sum())
        if diff.max() > 1 or off > 0.005 * diff.size:
            sys.exit("stages: ORT's stage %d differs from our arithmetic: max |diff| %d codes, %d of %d off"
                     % (k, diff.max(), off, diff.size))
        worst, off_total, count = max(worst, int(diff.max())), off_total + off, count + diff.size
    print("  %-9s %d stages: ORT's codes are ours but %d of %d off by one (max |diff| %d)"
          % (meta["arch"], len(model.features), off_total, count, worst))


def summarize(args):
    # raw.csv rows: round,engine,arch,threads,median_ms,min_ms
    per = {}
    by_round = {}  # (round, arch, threads) -> {engine: median_ms}
    with open(args.raw) as f:
        for row in csv.DictReader(f):
            key = (row["engine"], row["arch"], int(row["threads"]))
            per.setdefault(key, []).append(float(row["median_ms"]))
            by_round.setdefault((row["round"], row["arch"], int(row["threads"])), {})[
                row["engine"]] = float(row["median_ms"])
    med = {k: statistics.median(v) for k, v in per.items()}
    # The two engines of one round ran back to back, so their ratio is measured under the same
    # machine state; the spread of these ratios shows how much the VM drifted between rounds.
    round_ratios = {}
    for (_, a, t), ms in by_round.items():
        if "ours" in ms and "ort" in ms:
            round_ratios.setdefault((a, t), []).append(ms["ours"] / ms["ort"])
    rounds = max(len(v) for v in per.values())
    archs = [a for a in ARCHS if any(k[1] == a for k in med)]
    threads = sorted({k[2] for k in med})
    lines = ["| model | threads | ours ms | ORT ms | ours/ORT | per-round ours/ORT: median (range) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for t in threads:
        for a in archs:
            o, r = med.get(("ours", a, t)), med.get(("ort", a, t))
            ratio = "%.2f" % (o / r) if o and r else "-"
            rr = sorted(round_ratios.get((a, t), []))
            spread = ("%.2f (%.2f-%.2f)" % (statistics.median(rr), rr[0], rr[-1])) if rr else "-"
            lines.append("| %s | %d | %s | %s | %s | %s |" % (a, t, "%.3f" % o if o else "-",
                                                             "%.3f" % r if r else "-", ratio,
                                                             spread))
    if 1 in threads and len(threads) > 1:
        t2 = threads[-1]
        lines += ["", "| model | ours %d-thread speedup | ORT %d-thread speedup |" % (t2, t2),
                  "| --- | --- | --- |"]
        for a in archs:
            cells = []
            for eng in ("ours", "ort"):
                one, many = med.get((eng, a, 1)), med.get((eng, a, t2))
                cells.append("%.2fx" % (one / many) if one and many else "-")
            lines.append("| %s | %s | %s |" % (a, cells[0], cells[1]))
    table = "\n".join(lines)
    header = args.header.replace("\\n", "\n") if args.header else ""
    note = ("Median over %d round(s) of the per-round median latency (batch 1, 224x224, %s);"
            " ours/ORT is the ratio of those medians, and the last column the ratio within each"
            " round (both engines back to back)." % (rounds, args.precision))
    with open(args.out, "w") as f:
        f.write((header + "\n\n" if header else "") + note + "\n\n" + table + "\n")
    print(note)
    print(table)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("--out", required=True)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--archs", nargs="+", choices=ARCHS, default=list(ARCHS))
    e.add_argument("--weights", choices=("fixture", "init"), default="fixture")
    e.add_argument("--opset", type=int, default=13)
    e.set_defaults(func=export)
    q = sub.add_parser("parity")
    q.add_argument("--arch", required=True)
    q.add_argument("--precision", choices=tuple(PARITY_RTOL), default="fp32")
    q.add_argument("--ours", required=True, help="our logits (.npy)")
    q.add_argument("--ort", required=True, help="ORT logits (raw float32)")
    q.set_defaults(func=parity)
    st = sub.add_parser("stages")
    st.add_argument("--int8", required=True)
    st.add_argument("--input", required=True)
    st.add_argument("--dir", required=True, help="ORT's stage_K.bin")
    st.set_defaults(func=stages)
    s = sub.add_parser("summarize")
    s.add_argument("--raw", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--precision", default="fp32")
    s.add_argument("--header", default="", help="markdown put above the table")
    s.set_defaults(func=summarize)
    args = p.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
