#!/usr/bin/python3
"""Compare .npy arrays for the CLI tests.

compare_npy.py close EXPECTED ACTUAL   max|a-e| <= 1e-4 * max(1, max|e|) (the parity tolerance)
compare_npy.py close=R EXPECTED ACTUAL the same with R in place of 1e-4 (fp16: see
                                       tests/test_fp16_model.cpp for its bound)
compare_npy.py equal A B               bit-identical arrays
"""
import sys

import numpy as np


def main():
    mode, a_path, b_path = sys.argv[1:4]
    a, b = np.load(a_path), np.load(b_path)
    if a.shape != b.shape or a.dtype != b.dtype:
        sys.exit("shape/dtype differ: %s %s vs %s %s" % (a.shape, a.dtype, b.shape, b.dtype))
    if mode == "equal":
        if not np.array_equal(a.view(np.uint32), b.view(np.uint32)):
            sys.exit("arrays differ in %d elements" % int((a != b).sum()))
        print("bit-identical %s" % (a.shape,))
        return
    diff = float(np.abs(a.astype(np.float64) - b).max())
    relative = float(mode.split("=", 1)[1]) if mode.startswith("close=") else 1e-4
    tol = relative * max(1.0, float(np.abs(a).max()))
    print("max|diff| %.3g, tolerance %.3g" % (diff, tol))
    if not diff <= tol:
        sys.exit("outside the tolerance")


if __name__ == "__main__":
    main()
