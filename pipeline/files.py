"""Writing a stage's outputs so that a failure half way (a full disk, a kill, a bug) never leaves a
partial file under an output's name."""

from __future__ import annotations

import errno
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

# Errors that mean the disk, not the code: reported as one line naming the file (runtime.main).
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


@contextmanager
def replacing(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside `path` to write the whole file to; it becomes `path` (an atomic
    rename within one directory) only once written, and is removed if writing fails."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The suffix stays last: Keras, numpy and matplotlib choose the format by it.
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        full = disk_full(e)
        if full is not None:
            # The library that failed may name the temporary file, or nothing: name the output.
            raise OSError(full.errno, os.strerror(full.errno), str(path)) from e
        raise


def write_text(path: Path | str, text: str) -> None:
    with replacing(path) as tmp:
        tmp.write_text(text)


def save_npy(path: Path | str, array: np.ndarray) -> None:
    # Through memory: numpy's own file writing reports a full disk without its errno.
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    with replacing(path) as tmp:
        tmp.write_bytes(buffer.getbuffer())


def disk_full(exc: BaseException) -> OSError | None:
    """The full-disk error behind `exc`, if any: libraries (Keras's saving, h5py) may wrap it."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, OSError) and exc.errno in DISK_FULL:
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None
