"""download: fetch every external input into data/raw/, each verified against data/manifest.yaml."""

import os
import sys
from pathlib import Path

from pipeline import errors, fetch, params

OUT = Path("data/raw")


def main() -> None:
    p = params.load("download")
    groups = ["fashion-mnist", "weights", f"tweets-{p['tweets']}"]
    mirror = os.environ.get(fetch.MIRROR_ENV) or None
    for entry in fetch.read_manifest(groups):
        got = fetch.fetch(entry, OUT, mirror, timeout=p["timeout"], retries=p["retries"])
        print(f"{entry.path}: verified, from {got.source}", file=sys.stderr)


if __name__ == "__main__":
    errors.run_stage("download", main, (fetch.FetchError,))
