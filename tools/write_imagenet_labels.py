#!/usr/bin/python3
"""Write the 1000 ImageNet category names (torchvision order), one per line.

Default output: examples/data/imagenet_labels.txt next to this tools/ folder.
"""
import argparse
import os

from torchvision.models._meta import _IMAGENET_CATEGORIES

DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           os.pardir, "examples", "data", "imagenet_labels.txt")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.normpath(DEFAULT_OUT),
                        help="output file (default %(default)s)")
    args = parser.parse_args()
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        for name in _IMAGENET_CATEGORIES:
            f.write(name + "\n")
    print("wrote %d labels to %s" % (len(_IMAGENET_CATEGORIES), args.out))


if __name__ == "__main__":
    main()
