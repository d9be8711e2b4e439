"""Benchmark of the pipeline on the real data, in a fresh clone of this repository's HEAD.

Measures: one `dvc repro -f` from scratch, as a user's first run (its wall time is the total), with
each stage's share of it (from the moment DVC prints "Running stage" to the next such line)
and each stage's peak memory (the peak resident size, VmHWM, of its largest process, read
every 0.1 s while it runs); a no-op `dvc repro`; and an incremental `dvc exp run` that changes
one model's param. Then checks that the run from scratch reproduced the committed metrics/ and
plots/ byte for byte. Prints a markdown table.

    bench/run.sh                 # or: .venv/bin/python -m bench.run [--keep DIR] [--isa AVX2]

With --keep DIR, the clone stays in DIR/repo and the results of the run from scratch (dvc.lock,
metrics/, plots/, data/models/) in DIR/from-scratch, before the incremental experiment.

With --config NAME, it times instead what `scripts/quick.sh NAME` runs: `dvc exp run` of the
overrides in configs/NAME.yaml up to `summarize`, stage by stage (in the clone's workspace,
not a --temp copy, so each stage's FLOPs can be read back).

--isa caps TensorFlow's oneDNN kernels (ONEDNN_MAX_CPU_ISA) for every stage: `--isa AVX2` on a
host with AVX-512 or AMX measures what a machine with AVX2 alone would do with its oneDNN
kernels (TensorFlow's other kernels still use the host's full instruction set). The results
then differ from the committed ones where `precision: auto` chose another precision.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INCREMENTAL = ["-S", "train_charcnn.filters=96"]


def peak_rss_mib(pid: int) -> float:
    """The highest resident size process `pid` has had so far (Linux's VmHWM), in MiB; 0 once gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def descendants(pid: int) -> list[int]:
    """Every living process under `pid` (the stage's shell, Python, anything they start)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, frontier = [], children.get(pid, [])
    while frontier:
        found += frontier
        frontier = [c for p in frontier for c in children.get(p, [])]
    return found


def run_dvc(args: list[str], cwd: Path, env: dict) -> tuple[float, float, list[tuple[str, float, float]]]:
    """Run a dvc command: (wall seconds, peak RSS in MiB of its largest process, and per stage it
    ran (name, seconds, peak RSS in MiB of the stage's largest process))."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    stages: list[list] = []  # [name, started, peak MiB]
    lock, finished = threading.Lock(), threading.Event()

    def sample() -> None:
        while not finished.wait(0.1):
            peak = max((peak_rss_mib(pid) for pid in descendants(proc.pid)), default=0.0)
            with lock:
                if stages:
                    stages[-1][2] = max(stages[-1][2], peak)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = []
    for line in proc.stdout:
        out.append(line)
        if line.startswith("Running stage"):
            now = time.perf_counter()
            with lock:
                if stages:
                    report(stages[-1], now)
                stages.append([line.split("'")[1], now, 0.0])
    _, status, usage = os.wait4(proc.pid, 0)
    end = time.perf_counter()
    finished.set()
    sampler.join()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(args)} failed:\n{''.join(out)}")
    if stages:
        report(stages[-1], end)
    ends = [s[1] for s in stages[1:]] + ([end] if stages else [])
    return end - start, usage.ru_maxrss / 1024, [(n, e - t, m) for (n, t, m), e in zip(stages, ends, strict=True)]


def report(stage: list, now: float) -> None:
    print(f"{stage[0]}: {now - stage[1]:.1f} s, {stage[2]:.0f} MiB", file=sys.stderr, flush=True)


def describe_machine(env: dict) -> tuple[str, str]:
    """The hardware line the training stages print, and the precision `auto` picks, as seen
    by a stage started with `env`."""
    code = (
        "from pipeline import hardware, quiet_start; quiet_start.tensorflow(); m = hardware.Machine.detect(); "
        "print(m.device()); print(hardware.choose_precision('auto', m)[0])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    device, precision = out.stdout.strip().splitlines()
    return device, precision


def stage_flops(repo: Path, stage: str) -> str:
    """The FLOPs a stage recorded: training (and the transfer model's frozen embedding pass) for
    a training stage, the prediction passes for an evaluation; blank for the others."""
    name = stage.removeprefix("train_").split("@")[-1]
    if stage.startswith("train_"):
        path, keys = repo / "metrics/train" / name / "metrics.json", ("train_flops", "embedding_flops")
    elif stage.startswith(("evaluate_images@", "evaluate_tweets@")):
        path, keys = repo / "metrics/evaluate" / f"{name}.json", ("predict_flops",)
    else:
        return ""
    found = json.loads(path.read_text()) if path.is_file() else {}
    return " + ".join(f"{found[key]:.3g} ({key.split('_')[0]})" for key in keys if key in found)


def quick_command(config: str, repo: Path) -> list[str]:
    """What scripts/quick.sh CONFIG runs (without --temp): the named set's overrides as one
    `dvc exp run` up to the summary."""
    path = repo / "configs" / f"{config}.yaml"
    if not path.is_file():
        sys.exit(f"--config {config}: {path.relative_to(repo)}: no such file")
    sets = subprocess.run(
        [sys.executable, "-m", "pipeline.params", "--overrides", str(path)],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return ["dvc", "exp", "run", "-n", config, *sets, "summarize"]


def named_set_table(config: str, repo: Path, env: dict, machine: str, precision: str, isa: str | None) -> str:
    """A named set's experiment, timed stage by stage, as a markdown table."""
    command = quick_command(config, repo)
    total, total_rss, rows = run_dvc(command, repo, env)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join(
        [
            f"Measured {when} on {machine}, {platform.system()}"
            + (f", ONEDNN_MAX_CPU_ISA={isa}" if isa else "")
            + f"; train_cnn precision {precision}; commit {head.stdout.strip()}; configs/{config}.yaml",
            "",
            "| step | wall time | peak memory | FLOPs |",
            "| --- | ---: | ---: | ---: |",
            *[f"| `{name}` | {wall:.1f} s | {rss:.0f} MiB | {stage_flops(repo, name)} |" for name, wall, rss in rows],
            f"| **`{' '.join(command[:4])} ... summarize`** | **{total:.0f} s** | {total_rss:.0f} MiB | |",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", type=Path, help="clone here and keep it (default: a temp dir)")
    parser.add_argument("--isa", help="ONEDNN_MAX_CPU_ISA for every stage, e.g. AVX2")
    parser.add_argument("--no-incremental", action="store_true", help="skip the incremental `dvc exp run`")
    parser.add_argument("--config", help="time `scripts/quick.sh CONFIG`'s experiment (configs/CONFIG.yaml) instead")
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
    if args.config:
        print(named_set_table(args.config, repo, env, machine, precision, args.isa))
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        return
    # -f: the clone has no models and an empty cache, but the outputs kept in git (metrics,
    # plots) would let DVC skip a stage whose inputs come out as dvc.lock records them.
    total, total_rss, rows = run_dvc(["dvc", "repro", "-f"], repo, env)
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
    flops = {name: stage_flops(repo, name) for name, _, _ in rows}
    noop, noop_rss, _ = run_dvc(["dvc", "repro"], repo, env)
    if not args.no_incremental:
        incr, incr_rss, ran = run_dvc(["dvc", "exp", "run", *INCREMENTAL], repo, env)
        ran = ", ".join(name for name, _, _ in ran)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Measured {when} on {machine}, {platform.system()}"
        + (f", ONEDNN_MAX_CPU_ISA={args.isa}" if args.isa else "")
        + f"; train_cnn precision {precision}; commit "
        + subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True
        ).stdout.strip(),
        "",
        "| step | wall time | peak memory | FLOPs |",
        "| --- | ---: | ---: | ---: |",
        *[f"| `{name}` | {wall:.1f} s | {rss:.0f} MiB | {flops[name]} |" for name, wall, rss in rows],
        f"| **full `dvc repro` from scratch** | **{total / 60:.1f} min** | {total_rss:.0f} MiB | |",
        f"| no-op `dvc repro` | {noop:.1f} s | {noop_rss:.0f} MiB | |",
    ]
    if not args.no_incremental:
        lines.append(f"| `dvc exp run {' '.join(INCREMENTAL)}` (ran: {ran}) | {incr:.1f} s | {incr_rss:.0f} MiB | |")
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
