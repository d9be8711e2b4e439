"""Writing a stage's outputs so that a failure half way (a full disk, a kill, a bug) never leaves a
partial file under an output's name."""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Errors that mean the disk, not the code: reported as one line naming the file (errors.run_stage).
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
        raise_if_disk_full(e, path)
        raise


def write_text(path: Path | str, text: str) -> None:
    with replacing(path) as tmp:
        tmp.write_text(text)


def write_json(path: Path | str, data) -> None:
    write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def save_npy(path: Path | str, array) -> None:
    # Imported here: the download stage uses this module and needs no numpy.
    import numpy as np

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


def raise_if_disk_full(exc: BaseException, output: Path | str) -> None:
    """Raise the full disk behind `exc`, if any, as one OSError naming `output`: the library that
    failed may name a temporary file, or nothing."""
    full = disk_full(exc)
    if full is not None:
        raise OSError(full.errno, os.strerror(full.errno), str(output)) from exc


@contextmanager
def replacing_dir(path: Path | str) -> Iterator[Path]:
    """`replacing` for a folder: yield a new temporary folder beside `path` to fill; it takes the
    place of `path` (any old one removed) once filled, and is removed if filling fails."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        shutil.rmtree(path, ignore_errors=True)
        os.replace(tmp, path)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise_if_disk_full(e, path)
        raise
