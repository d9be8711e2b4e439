"""Fetching external files from a mirror, the Debian dataset folder or the official URLs,
verified against the checksums in data/manifest.yaml.

A file is written to a staging folder beside the destination root (data/.raw.incoming for
data/raw) and renamed into place only once its checksum matches, so a dropped connection, a
corrupt source or a kill never leaves a partial file in the output.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from tqdm import tqdm

from pipeline import files

MANIFEST = Path("data/manifest.yaml")
MIRROR_ENV = "DATA_MIRROR"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
CHUNK = 1 << 20
# Only files this large get a progress bar; the labels files would just flash one.
PROGRESS_MIN_BYTES = 1 << 20


class FetchError(RuntimeError):
    pass


class ChecksumError(FetchError):
    pass


@dataclass(frozen=True)
class Entry:
    path: str  # relative, the same under data/raw/ and under a mirror
    urls: tuple[str, ...] = ()
    sha256: str | None = None
    gunzip_sha256: str | None = None
    git_blob: str | None = None
    debian: str | None = None  # file name inside DEBIAN_DIR

    def __post_init__(self):
        if sum(x is not None for x in (self.sha256, self.gunzip_sha256, self.git_blob)) != 1:
            raise ValueError(f"{self.path}: the manifest must give exactly one checksum")


def read_manifest(groups: list[str], path: Path = MANIFEST) -> list[Entry]:
    manifest = yaml.safe_load(Path(path).read_text())
    entries = []
    for group in groups:
        if group not in manifest:
            raise FetchError(f"{path} has no group {group!r}; it has {', '.join(manifest)}")
        for rel, spec in manifest[group].items():
            entries.append(Entry(path=rel, **{**spec, "urls": tuple(spec.get("urls", ()))}))
    return entries


def checksum(path: Path, entry: Entry) -> tuple[str, str]:
    """(kind, hex digest) of `path` in the form the manifest gives for `entry`."""
    if entry.gunzip_sha256:
        h = hashlib.sha256()
        try:
            with gzip.open(path, "rb") as f:
                while block := f.read(CHUNK):
                    h.update(block)
        except (OSError, EOFError, zlib.error) as e:
            raise ChecksumError(f"{entry.path}: not a complete gzip file ({e})") from e
        return "sha256 of the decompressed content", h.hexdigest()
    if entry.git_blob:
        h = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
        kind = "git blob id"
    else:
        h = hashlib.sha256()
        kind = "sha256"
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return kind, h.hexdigest()


def verify(path: Path, entry: Entry) -> None:
    expected = entry.gunzip_sha256 or entry.sha256 or entry.git_blob
    kind, actual = checksum(path, entry)
    if actual != expected:
        raise ChecksumError(f"{entry.path}: checksum mismatch ({kind}): expected {expected}, got {actual}")


def sources(entry: Entry, mirror: str | None, debian_dir: Path = DEBIAN_DIR) -> list[str]:
    """Where to look for `entry`, in the order to try them."""
    found = []
    if mirror:
        if "://" in mirror:
            found.append(mirror.rstrip("/") + "/" + urllib.parse.quote(entry.path))
        else:
            found.append(str(Path(mirror) / entry.path))
    if entry.debian and (debian_dir / entry.debian).is_file():
        found.append(str(debian_dir / entry.debian))
    found.extend(entry.urls)
    return found


def _download(url: str, tmp: Path, timeout: float) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        length = resp.headers.get("Content-Length")
        total = int(length) if length is not None else None
        got = 0
        with (
            open(tmp, "wb") as out,
            tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                desc=Path(urllib.parse.urlparse(url).path).name,
                disable=total is not None and total < PROGRESS_MIN_BYTES,
                file=sys.stderr,
            ) as bar,
        ):
            while block := resp.read(CHUNK):
                out.write(block)
                got += len(block)
                bar.update(len(block))
    if total is not None and got != total:
        raise FetchError(f"connection closed after {got} of {total} bytes")


def _copy_or_download(src: str, tmp: Path, timeout: float, retries: int) -> None:
    if "://" not in src:
        if not Path(src).is_file():
            raise FetchError("no such file")
        shutil.copyfile(src, tmp)
        return
    for attempt in range(retries + 1):
        try:
            _download(src, tmp, timeout)
            return
        except urllib.error.HTTPError as e:
            # 4xx will not change on a retry; 5xx might.
            if e.code < 500 or attempt == retries:
                raise FetchError(f"HTTP {e.code} {e.reason}") from e
        except (urllib.error.URLError, OSError, FetchError) as e:
            if files.disk_full(e) is not None:
                raise  # no other attempt or source can help
            if attempt == retries:
                reason = getattr(e, "reason", e)
                raise FetchError(f"{reason} (after {retries + 1} attempts)") from e
        time.sleep(0.5 * 2**attempt)


def staging_dir(dest_root: Path) -> Path:
    """Where files are written until verified: beside dest_root, on the same disk (so the final
    rename is atomic), outside it (so a killed fetch leaves nothing in the output)."""
    return dest_root.parent / f".{dest_root.name}.incoming"


def _prune(folder: Path, top: Path) -> None:
    """Remove `folder` and its parents up to `top` while they are empty."""
    while folder.is_relative_to(top):
        try:
            folder.rmdir()
        except OSError:  # not empty: another file is still on its way, or a killed run left one
            return
        folder = folder.parent


@dataclass
class Fetched:
    entry: Entry
    source: str
    tried: list[str] = field(default_factory=list)


def fetch(
    entry: Entry,
    dest_root: Path,
    mirror: str | None = None,
    timeout: float = 60.0,
    retries: int = 3,
    debian_dir: Path = DEBIAN_DIR,
) -> Fetched:
    """Put a verified copy of `entry` at dest_root/entry.path, from the first source that has one."""
    dest_root = Path(dest_root)
    dest = dest_root / entry.path
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_dir(dest_root)
    tmp = staging / entry.path
    tmp.parent.mkdir(parents=True, exist_ok=True)
    tried = []
    for src in sources(entry, mirror, debian_dir):
        try:
            _copy_or_download(src, tmp, timeout, retries)
            verify(tmp, entry)
        except (FetchError, OSError) as e:
            tmp.unlink(missing_ok=True)
            files.raise_if_disk_full(e, dest)
            tried.append(f"  {src}: {e}")
            continue
        os.replace(tmp, dest)
        _prune(tmp.parent, staging)
        return Fetched(entry, src, tried)
    hints = [
        f"set {MIRROR_ENV} to a directory or base URL holding {entry.path}"
        " (for example ../shared/data on machines without internet)"
    ]
    if entry.debian:
        hints.append(f"or run `apt-get install dataset-fashion-mnist` (fills {debian_dir})")
    if not entry.urls:
        hints.append("this file has no public URL; it is only published through a mirror")
    raise FetchError(
        f"could not get a verified copy of {entry.path}.\nTried:\n"
        + ("\n".join(tried) if tried else f"  nothing: {MIRROR_ENV} is not set")
        + "\nFix: "
        + "; ".join(hints)
    )
