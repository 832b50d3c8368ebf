#!/usr/bin/env python3
"""Writes the corrupt files the CLI failure tests feed to mobilenet-infer and mobilenet-classify
(tests/CMakeLists.txt, fixture `hostile_inputs`). Made at test time from the shipped data, never
committed. Standard library only.

usage: make_hostile_inputs.py EXAMPLES_DATA_DIR OUT_DIR
"""
import json
import os
import random
import struct
import sys


def npy(header_dict: str, data: bytes) -> bytes:
    """A version-1 .npy file with `header_dict` (padded as NumPy does) and raw `data`."""
    header = header_dict.encode("latin1")
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data


def with_nan(model: bytes, tensor: str) -> bytes:
    """`model` (safetensors, F32) with the first value of `tensor` replaced by a quiet NaN."""
    (n,) = struct.unpack("<Q", model[:8])
    entry = json.loads(model[8 : 8 + n])[tensor]
    assert entry["dtype"] == "F32"
    at = 8 + n + entry["data_offsets"][0]
    return model[:at] + struct.pack("<I", 0x7FC00000) + model[at + 4 :]


def huge_png() -> bytes:
    """PNG signature and an IHDR chunk declaring a 40000x40000 RGB image, then no data."""
    import struct
    import zlib
    ihdr = struct.pack(">IIBBBBB", 40000, 40000, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk +
            struct.pack(">I", zlib.crc32(chunk) & 0xFFFFFFFF))


def main() -> None:
    data_dir, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(data_dir, "digits_v3_small.safetensors"), "rb") as f:
        model = f.read()
    with open(os.path.join(data_dir, "digit_7.png"), "rb") as f:
        png = f.read()
    rng = random.Random(5)
    files = {
        # The shipped model cut inside its data section (its header is 20 KB; the file 1.6 MB).
        "truncated.safetensors": model[:100000],
        # Seeded random bytes: the first 8 read as a header length far beyond the 64 MiB cap.
        "random.safetensors": bytes(rng.getrandbits(8) for _ in range(4096)),
        # The shipped model with a NaN weight (refused by --strict, propagated otherwise).
        "nan.safetensors": with_nan(model, "classifier.3.bias"),
        # A .npy whose header length (200) runs past the end of the 30-byte file.
        "bad_header.npy": b"\x93NUMPY\x01\x00" + struct.pack("<H", 200) + b"{'descr': '<f4'",
        # float64 where float32 is expected.
        "float64.npy": npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3, 8, 8), }", bytes(8 * 192)),
        # Well-formed float32, but 4 channels.
        "four_channels.npy": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4, 8, 8), }", bytes(4 * 256)),
        # The first 200 bytes of a PNG (what `head -c 200 digit_7.png` gives), and an empty file.
        "truncated.png": png[:200],
        "empty.png": b"",
        # A valid PNG whose IHDR claims 40000x40000 pixels: refused before stb allocates it.
        "huge.png": huge_png(),
    }
    for name, content in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(content)
    print(f"wrote {len(files)} files to {out}")


if __name__ == "__main__":
    main()
