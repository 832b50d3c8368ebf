"""Per-function instructions of one inference from two insnprof.c profiles (1 and 3 inferences):
the difference halved, so start-up cancels. Usage: report.py BINARY PROFILE_1 PROFILE_3 [TOP]"""
import bisect
import collections
import subprocess
import sys


def load(path):
    counts = {}
    with open(path) as f:
        for line in f:
            address, count = line.split()
            if address != "other":
                counts[int(address, 16)] = int(count)
    return counts


def main():
    binary, one, three = sys.argv[1:4]
    top = int(sys.argv[4]) if len(sys.argv) > 4 else 25
    nm = subprocess.run(["aarch64-linux-gnu-nm", "-n", "-C", "--defined-only", binary],
                        capture_output=True, text=True, check=True).stdout
    symbols = [(int(a, 16), name) for a, kind, name in
               (line.split(" ", 2) for line in nm.splitlines() if line.count(" ") >= 2)
               if kind in "tTwW"]
    starts = [a for a, _ in symbols]
    c1, c3 = load(one), load(three)
    per_function = collections.Counter()
    for address in set(c1) | set(c3):
        i = bisect.bisect_right(starts, address) - 1
        per_function[symbols[i][1] if i >= 0 else "?"] += (c3.get(address, 0) - c1.get(address, 0)) / 2
    total = sum(per_function.values())
    print(f"{total / 1e6:9.2f} M instructions per inference")
    for name, count in per_function.most_common(top):
        print(f"{count / 1e6:9.3f} M {100 * count / total:5.1f}%  {name[:160]}")


if __name__ == "__main__":
    main()
