#!/usr/bin/python3
"""Checks mobilenet-benchmark --json output: every model's figures present, named, ordered.

check_benchmark_json.py REPORT.json EXPECTED_ISA ARCH...   (EXPECTED_ISA "any": not checked)
"""
import json
import sys


def main():
    path, isa, archs = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(path) as f:
        r = json.load(f)
    if isa == "any":
        isa = r["isa"]
    assert r["precision"] == "float32" and r["isa"] == isa, (r["precision"], r["isa"])
    assert r["cpu_features"] and r["threads"] >= 1 and r["peak_rss_mib"] > 0, r
    assert [m["arch"] for m in r["models"]] == archs, r["models"]
    for m in r["models"]:
        assert m["precision"] == "float32" and m["isa"] == isa, m
        assert m["build_ms"] > 0 and m["first_inference_ms"] > 0 and m["macs"] > 0, m
        lat = m["latency_ms"]
        order = [lat[k] for k in ("min", "median", "p90", "p99", "max")]
        assert all(v > 0 for v in order) and order == sorted(order), lat
        assert lat["min"] <= lat["mean"] <= lat["max"], lat
    print("%s: %d models on %s, every figure present" % (path, len(archs), isa))


if __name__ == "__main__":
    main()
