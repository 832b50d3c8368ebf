#!/usr/bin/python3
"""Minimal reader/writer for the safetensors file format.

Layout of a file written by :func:`save`:

* 8 bytes: little-endian u64 ``N``, the length of the JSON header;
* ``N`` bytes: UTF-8 JSON object, padded with spaces so that ``8 + N`` is a
  multiple of 8.  Each tensor has an entry
  ``{"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}`` (offsets
  relative to the first byte after the header), plus an optional
  ``"__metadata__"`` entry mapping strings to strings;
* the raw little-endian tensor data, tensors laid out contiguously in sorted
  key order.

Supported dtypes: F32, F16, BF16, I64 (plus F64, I32, U8 for reading and
writing convenience).  BF16 is handled without framework support: it is the
upper 16 bits of an IEEE float32, produced here with round-to-nearest-even.

Used as a script it prints the header of a file (``--help`` for usage).
"""
import argparse
import json
import struct

import numpy as np

# safetensors dtype name -> little-endian numpy storage dtype.
# BF16 is stored as raw uint16 bit patterns.
_STORAGE = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
}

_NUMPY_TO_NAME = {
    np.dtype("float64"): "F64",
    np.dtype("float32"): "F32",
    np.dtype("float16"): "F16",
    np.dtype("int64"): "I64",
    np.dtype("int32"): "I32",
    np.dtype("uint8"): "U8",
}

FLOAT_DTYPES = ("F64", "F32", "F16", "BF16")


def float32_to_bf16_bits(a):
    """Round float32 values to bfloat16 (nearest-even); return uint16 bits."""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
    nan = np.isnan(a)
    rounding = ((bits >> 16) & 1) + np.uint32(0x7FFF)
    out = ((bits + rounding) >> 16).astype(np.uint16)
    out[nan] = 0x7FC0  # canonical quiet NaN (rounding could turn NaN into inf)
    return out


def bf16_bits_to_float32(bits):
    """Expand uint16 bfloat16 bit patterns to float32 values (exact)."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


def _to_numpy(t):
    """Return (numpy array, safetensors dtype name) for a torch tensor or array."""
    if isinstance(t, np.ndarray):
        if t.dtype not in _NUMPY_TO_NAME:
            raise TypeError("unsupported numpy dtype %s" % t.dtype)
        return t, _NUMPY_TO_NAME[t.dtype]
    import torch  # imported lazily: the module works with numpy alone

    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        return t.float().numpy(), "BF16"
    return _to_numpy(t.numpy())


def _encode(arr, name):
    """Convert an array to the raw little-endian bytes of dtype ``name``."""
    if name == "BF16":
        return float32_to_bf16_bits(arr.astype(np.float32)).astype("<u2").tobytes()
    return np.ascontiguousarray(arr, dtype=_STORAGE[name]).tobytes()


def save(path, tensors, metadata=None, dtype=None):
    """Write ``tensors`` (name -> torch.Tensor or np.ndarray) to ``path``.

    ``metadata`` is an optional dict of str -> str stored as ``__metadata__``.
    ``dtype`` ("F32", "F16" or "BF16"), if given, converts every floating
    tensor to that type; integer tensors keep their type.
    """
    if dtype is not None and dtype not in FLOAT_DTYPES:
        raise ValueError("dtype must be one of %s" % (FLOAT_DTYPES,))
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        arr, kind = _to_numpy(tensors[name])
        if dtype is not None and kind in FLOAT_DTYPES:
            kind = dtype
        data = _encode(arr, kind)
        header[name] = {"dtype": kind, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError("metadata keys and values must be str")
        header["__metadata__"] = dict(metadata)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-(8 + len(raw)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for chunk in chunks:
            f.write(chunk)


def read_header(path):
    """Return (header dict without metadata, metadata dict, data start offset)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
    metadata = header.pop("__metadata__", {}) or {}
    return header, metadata, 8 + n


def load(path, as_torch=False, keep_dtype=False):
    """Read a safetensors file; return (dict name -> array, metadata).

    Floating tensors are returned as float32 numpy arrays unless
    ``keep_dtype`` (then F16 stays float16; BF16 has no numpy type and is
    always expanded to float32 in numpy).  Integer tensors keep their type.
    With ``as_torch`` torch tensors are returned (BF16 as torch.bfloat16
    when ``keep_dtype``).
    """
    header, metadata, start = read_header(path)
    with open(path, "rb") as f:
        f.seek(start)
        blob = f.read()
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        kind = info["dtype"]
        if kind not in _STORAGE:
            raise ValueError("unsupported dtype %s for %s" % (kind, name))
        arr = np.frombuffer(blob[begin:end], dtype=_STORAGE[kind])
        arr = arr.reshape(info["shape"])
        if kind == "BF16":
            arr = bf16_bits_to_float32(arr)
        elif kind in FLOAT_DTYPES and not keep_dtype:
            arr = arr.astype(np.float32)
        arr = arr.astype(arr.dtype.newbyteorder("="))  # native, writable copy
        if as_torch:
            import torch

            t = torch.from_numpy(arr)
            if kind == "BF16" and keep_dtype:
                t = t.to(torch.bfloat16)
            arr = t
        out[name] = arr
    return out, metadata


def main():
    parser = argparse.ArgumentParser(
        description="Print the header (tensors and __metadata__) of a "
                    "safetensors file.")
    parser.add_argument("file", help="path to a .safetensors file")
    parser.add_argument("--metadata-only", action="store_true",
                        help="print only the __metadata__ entries")
    args = parser.parse_args()
    header, metadata, start = read_header(args.file)
    if not args.metadata_only:
        for name in sorted(header, key=lambda k: header[k]["data_offsets"][0]):
            info = header[name]
            print("%-50s %-5s %-20s %s" % (name, info["dtype"], info["shape"],
                                           info["data_offsets"]))
        print("data starts at byte %d, %d tensors" % (start, len(header)))
    for k, v in metadata.items():
        print("%s = %s" % (k, v if len(v) < 200 else v[:200] + "..."))


if __name__ == "__main__":
    main()
