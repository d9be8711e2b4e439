"""How the tweet stages' cost grows with the number of tweets (issue 22): each tweet stage run at
several sizes, with its wall time, the peak memory of its process and the training FLOPs it
recorded, and the time per 1,000 tweets.

    .venv/bin/python -m bench.growth [--sizes 2000 6000 13589 77946] [--keep DIR]

Sizes up to the real table's (13,589 clean rows from the mirror's two files) take its first rows
(`preprocess.tweets.max_rows`). A larger size stands in for `download.tweets: full` (77,946 rows,
which machines without internet cannot fetch): that many rows drawn with replacement from the
real ones, each with a new id, written as the raw `train.csv` and read as `full` would be. Its
tweets repeat, so what the models score there means nothing; its cost is what is measured.

Each size runs in a copy of the project's files (not a clone: HEAD's code as checked out), the
stages as dvc.yaml runs them (`python -m stages.<name> ...`), one after another; the raw tweets
come from this checkout's data/raw/weather-tweets (`dvc repro download` makes them). Not part
of the tests: it takes about an hour on 2 cores with the default sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from bench.run import describe_machine
from pipeline import tweets
from stages import preprocess_tweets

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data/raw/weather-tweets"
MIRROR_FILES = preprocess_tweets.SOURCES["mirror"]
STAGES = [
    ("preprocess_tweets", []),
    ("train_tweets", ["rnn"]),
    ("train_tweets", ["charcnn"]),
    ("train_ensemble", []),
    ("baseline_text", []),
    ("evaluate_tweets", ["rnn"]),
    ("evaluate_tweets", ["charcnn"]),
    ("evaluate_tweets", ["ensemble"]),
]
TRAINED = {"train_tweets rnn": "rnn", "train_tweets charcnn": "charcnn"}


def project_copy(where: Path) -> None:
    """The project's tracked and untracked (not ignored) files, as the e2e tests copy them."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for rel in listed:
        if rel.startswith(("data/", "metrics/", "plots/")) or not (ROOT / rel).is_file():
            continue
        (where / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, where / rel)


def real_rows() -> pd.DataFrame:
    """The mirror's rows, as published (text, as preprocess reads them)."""
    return tweets.read_all([RAW / name for name in MIRROR_FILES])


def resampled(real: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    """`rows` rows drawn with replacement from `real`, each with a new id."""
    picked = real.iloc[np.random.default_rng(seed).integers(0, len(real), rows)].reset_index(drop=True)
    picked["id"] = [f"r{i}" for i in range(rows)]
    return picked


def measure(size: int, real: pd.DataFrame, where: Path, seed: int) -> dict:
    project_copy(where)
    raw = where / "data/raw/weather-tweets"
    raw.mkdir(parents=True)
    params = yaml.safe_load((where / "params.yaml").read_text())
    if size <= len(real):
        for name in MIRROR_FILES:
            shutil.copy2(RAW / name, raw / name)
        params["download"]["tweets"] = "mirror"
        params["preprocess"]["tweets"]["max_rows"] = 0 if size == len(real) else size
    else:
        resampled(real, size, seed).to_csv(raw / "train.csv", index=False)
        params["download"]["tweets"] = "full"
        params["preprocess"]["tweets"]["max_rows"] = 0
    (where / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    found = {}
    for name, args in STAGES:
        label = " ".join([name, *args])
        found[label] = seconds, mib = timed(name, args, where)
        print(f"growth {size}: {label}: {seconds:.1f} s, {mib:.0f} MiB", file=sys.stderr, flush=True)
    stats = json.loads((where / "metrics/data/tweets.json").read_text())
    flops = {
        label: json.loads((where / f"metrics/train/{model}/metrics.json").read_text())["train_flops"]
        for label, model in TRAINED.items()
    }
    rows = sum(stats[split]["rows"] for split in ("train", "val", "test"))
    return {"rows": rows, "train": stats["train"]["rows"], "stages": found, "flops": flops}


def timed(name: str, args: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB of the stage's process) of `python -m stages.<name> args`."""
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", f"stages.{name}", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status):
        sys.exit(f"growth: {name} {' '.join(args)} failed in {cwd}:\n{err[-3000:]}")
    return seconds, usage.ru_maxrss / 1024


def table(results: dict[int, dict]) -> list[str]:
    sizes = sorted(results)
    head = "| stage | " + " | ".join(f"{results[n]['rows']:,} tweets ({results[n]['train']:,} train)" for n in sizes)
    lines = [head + " | s per 1,000 tweets |", "| --- |" + " ---: |" * (len(sizes) + 1)]
    for label in results[sizes[0]]["stages"]:
        cells = [f"{results[n]['stages'][label][0]:.1f} s, {results[n]['stages'][label][1]:.0f} MiB" for n in sizes]
        per = ", ".join(f"{1000 * results[n]['stages'][label][0] / results[n]['rows']:.2f}" for n in sizes)
        lines.append(f"| `{label}` | " + " | ".join(cells) + f" | {per} |")
    for label in TRAINED:
        cells = [f"{results[n]['flops'][label]:.3g}" for n in sizes]
        per = ", ".join(f"{results[n]['flops'][label] / results[n]['train'] / 1e6:.1f} M" for n in sizes)
        lines.append(f"| `{label}` train FLOPs | " + " | ".join(cells) + f" | FLOPs per training tweet: {per} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 6000, 13589, 77946])
    parser.add_argument("--seed", type=int, default=0, help="for the resampled rows")
    parser.add_argument("--keep", type=Path, help="keep each size's folder in DIR/<size>")
    args = parser.parse_args()
    missing = [name for name in MIRROR_FILES if not (RAW / name).is_file()]
    if missing:
        sys.exit(f"growth: {RAW}/{missing[0]}: no such file; run `dvc repro download` first")
    real = real_rows()
    device, _ = describe_machine(dict(os.environ))
    results = {}
    for size in args.sizes:
        base = Path(tempfile.mkdtemp(prefix=f"growth-{size}-"))
        try:
            results[size] = measure(size, real, base, args.seed)
        finally:
            if args.keep:
                shutil.copytree(base, args.keep / str(size), dirs_exist_ok=True)
            shutil.rmtree(base, ignore_errors=True)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    print(f"Measured {when} on {device}; commit {commit.stdout.strip()}\n")
    print("\n".join(table(results)))


if __name__ == "__main__":
    main()
