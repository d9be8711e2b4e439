"""Reading IDX files (the format of MNIST and Fashion-MNIST), gzipped or not, with validation."""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np


class IdxError(ValueError):
    pass


# The third byte of the magic number names the element type.
DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def parse(data: bytes, name: str = "<bytes>") -> np.ndarray:
    if len(data) < 4:
        raise IdxError(f"{name}: {len(data)} bytes is too short for an IDX header")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or code not in DTYPES or not 1 <= ndim <= 4:
        raise IdxError(
            f"{name}: bad IDX magic number {data[:4].hex()} (expected 0000 then a type byte "
            f"in {sorted(hex(c) for c in DTYPES)} and 1 to 4 dimensions); is it an IDX file?"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxError(f"{name}: truncated IDX header")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    if 0 in dims:
        # Never data to learn from, and numpy cannot even shape an empty array whose other
        # dimensions are huge.
        raise IdxError(f"{name}: header declares an empty array {dims}; the file is corrupt, download it again")
    dtype = np.dtype(DTYPES[code])
    # Python integers: a product of four 32-bit dimensions can wrap around in int64 (to 0 for
    # 65536**4) and make a tiny file pass for a huge declared array.
    expected = math.prod(dims) * dtype.itemsize
    if len(data) - header != expected:
        raise IdxError(
            f"{name}: header says {dims} ({expected} bytes of data) but the file has "
            f"{len(data) - header}; the file is truncated or corrupt, download it again"
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def read(path: Path | str) -> np.ndarray:
    path = Path(path)
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    try:
        data = gzip.decompress(path.read_bytes()) if gzipped else path.read_bytes()
    except (EOFError, OSError, zlib.error) as e:
        raise IdxError(f"{path}: corrupt or truncated gzip data ({e}); download it again") from e
    return parse(data, str(path))


def read_images_labels(images: Path | str, labels: Path | str, size: int = 28, classes: int = 10):
    x, y = read(images), read(labels)
    if x.ndim != 3 or x.shape[1:] != (size, size) or x.dtype != np.uint8:
        raise IdxError(f"{images}: expected uint8 images of {size}x{size}, got {x.dtype} {x.shape}")
    if y.ndim != 1 or y.dtype != np.uint8:
        raise IdxError(f"{labels}: expected a 1-D uint8 label file, got {y.dtype} {y.shape}")
    if len(x) != len(y):
        raise IdxError(f"{images} has {len(x)} images but {labels} has {len(y)} labels")
    if y.size and y.max() >= classes:
        raise IdxError(f"{labels}: label {int(y.max())} is outside 0..{classes - 1}")
    return x, y
