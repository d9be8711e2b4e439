"""Benchmark of the pipeline on the real data, in a fresh clone of this repository's HEAD.

Measures: every stage from scratch (wall time and peak memory, one `dvc repro --single-item`
per stage in pipeline order, so the figures do not overlap), the total, a no-op `dvc repro`,
and an incremental `dvc exp run` that changes one model's param; then checks that the run from
scratch reproduced the committed metrics/ and plots/ byte for byte. Prints a markdown table.

    bench/run.sh                 # or: .venv/bin/python -m bench.run [--keep DIR] [--isa AVX2]

With --keep DIR, the clone stays in DIR/repo and the results of the run from scratch (dvc.lock,
metrics/, plots/, data/models/) in DIR/from-scratch, before the incremental experiment.

--isa caps TensorFlow's oneDNN kernels (ONEDNN_MAX_CPU_ISA) for every stage: `--isa AVX2` on a
host with AVX-512 or AMX measures what a machine with AVX2 alone would do with its oneDNN
kernels (TensorFlow's other kernels still use the host's full instruction set). The results
then differ from the committed ones where `precision: auto` chose another precision.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INCREMENTAL = ["-S", "train_charcnn.filters=96"]


def timed(args: list[str], cwd: Path, env: dict) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MiB of the largest process in the tree, stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(args)} failed:\n{out}")
    return wall, usage.ru_maxrss / 1024, out


def stages_in_order(repo: Path, env: dict) -> list[str]:
    # `dvc repro --dry` lists the stages in the order it would run them.
    dry = subprocess.run(["dvc", "repro", "--dry", "-f"], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return [line.split("'")[1] for line in dry.stdout.splitlines() if line.startswith("Running stage")]


def describe_machine(env: dict) -> tuple[str, str]:
    """The hardware line the training stages print, and the precision `auto` picks, as seen
    by a stage started with `env`."""
    code = (
        "from pipeline import runtime; runtime.quiet_tensorflow(); m = runtime.Machine.detect(); "
        "print(m.device()); print(runtime.choose_precision('auto', m)[0])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    device, precision = out.stdout.strip().splitlines()
    return device, precision


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", type=Path, help="clone here and keep it (default: a temp dir)")
    parser.add_argument("--isa", help="ONEDNN_MAX_CPU_ISA for every stage, e.g. AVX2")
    args = parser.parse_args()
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    if args.isa:
        env["ONEDNN_MAX_CPU_ISA"] = args.isa
    machine, precision = describe_machine(env)
    print(f"{machine}; train_cnn precision: {precision}", file=sys.stderr, flush=True)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env.setdefault("DATA_MIRROR", str(ROOT.parent / "shared" / "data"))
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-"))
    repo = work / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    for key, value in (("user.email", "bench@example.com"), ("user.name", "bench")):
        subprocess.run(["git", "config", key, value], cwd=repo, check=True)
    rows = []
    for stage in stages_in_order(repo, env):
        wall, rss, _ = timed(["dvc", "repro", "--single-item", "-f", stage], repo, env)
        rows.append((f"`{stage}`", wall, rss))
        print(f"{stage}: {wall:.1f} s, {rss:.0f} MiB", file=sys.stderr, flush=True)
    total = sum(r[1] for r in rows)
    # The clone started from the committed results: whatever differs now was not reproduced.
    differ = subprocess.run(
        ["git", "status", "--porcelain", "--", "metrics", "plots"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.split("\n")
    differ = [line[3:] for line in differ if line.strip()]
    if args.keep:
        # The incremental experiment below changes the workspace: keep the run from scratch
        # (its lock file, metrics, plots and models) to commit from.
        kept = work / "from-scratch"
        for rel in ("metrics", "plots", "data/models"):
            shutil.copytree(repo / rel, kept / rel)
        shutil.copy2(repo / "dvc.lock", kept / "dvc.lock")
    noop, noop_rss, _ = timed(["dvc", "repro"], repo, env)
    incr, incr_rss, out = timed(["dvc", "exp", "run", *INCREMENTAL], repo, env)
    ran = [line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Measured {when} on {machine}, {platform.system()}"
        + (f", ONEDNN_MAX_CPU_ISA={args.isa}" if args.isa else "")
        + f"; train_cnn precision {precision}; commit "
        + subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True
        ).stdout.strip(),
        "",
        "| step | wall time | peak memory |",
        "| --- | ---: | ---: |",
        *[f"| {name} | {wall:.1f} s | {rss:.0f} MiB |" for name, wall, rss in rows],
        f"| **full `dvc repro` from scratch (sum)** | **{total / 60:.1f} min** | {max(r[2] for r in rows):.0f} MiB |",
        f"| no-op `dvc repro` | {noop:.1f} s | {noop_rss:.0f} MiB |",
        f"| `dvc exp run {' '.join(INCREMENTAL)}` (ran: {', '.join(ran)}) | {incr:.1f} s | {incr_rss:.0f} MiB |",
    ]
    lines += [
        "",
        "metrics/ and plots/ after the run from scratch, against the committed ones: "
        + ("byte-identical" if not differ else f"{len(differ)} files differ: {', '.join(differ)}"),
    ]
    print("\n".join(lines))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
