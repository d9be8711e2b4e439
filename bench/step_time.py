"""Time of one training step of train_cnn or train_ae on this machine, for one variant or several
side by side, and what an epoch of the full training split would cost at that rate: a quick way
to size a model for a CPU class.

    .venv/bin/python -m bench.step_time cnn [KEY=VALUE ...]
    .venv/bin/python -m bench.step_time cnn -- stem_filters=0 -- batch_norm=false   (defaults first)
    ONEDNN_MAX_CPU_ISA=AVX2 .venv/bin/python -m bench.step_time cnn filters=[48,96,192]

Each `--`-separated group of KEY=VALUE arguments is one variant: params.yaml's section with those
overrides (values parsed as YAML, nested keys with dots; an empty group is the defaults).
`precision` goes through the same `auto` choice as the stage, once per process, so the variants
must share it. Uses the first batches of the real training split (data/prepared/fashion; run `dvc
repro preprocess_fashion` first). Rounds of STEPS batches, after one warm-up round each, run in
turn, variant after variant, ROUNDS times: on a shared 2-core VM the same step can take twice as
long from one minute to the next, and alternating puts every variant through the same minutes.
Each variant prints its fastest round (the machine's speed when nothing slowed it) and its median.
"""

from __future__ import annotations

import functools
import statistics
import sys
import time

from bench import stage_params
from pipeline import hardware, quiet_start

STEPS, ROUNDS = 30, 5


def variants(args: list[str]) -> list[list[str]]:
    """The KEY=VALUE groups between `--` separators, the first (before any `--`) included: `--
    stem_filters=0` is the defaults against one variant."""
    groups: list[list[str]] = [[]]
    for arg in args:
        if arg == "--":
            groups.append([])
        else:
            groups[-1].append(arg)
    return groups


def summary(label: str, step_seconds: list[float], batch_size: int, n_epoch: int) -> str:
    fastest, median = min(step_seconds), statistics.median(step_seconds)
    return (
        f"{label}: {fastest * 1000:.0f} ms/step fastest, {median * 1000:.0f} median of {len(step_seconds)} rounds "
        f"at batch {batch_size}; {fastest * n_epoch / batch_size / 60:.2f} min per epoch of {n_epoch:,} images "
        "at the fastest"
    )


def rounds(fits: list, steps: int) -> list[list[float]]:
    """Seconds per step of each `fits` callable (one fit of `steps` batches): each run once
    untimed (it traces the step), then ROUNDS rounds of all of them in turn."""
    for fit in fits:
        fit()
    times: list[list[float]] = [[] for _ in fits]
    for _ in range(ROUNDS):
        for fit, spent in zip(fits, times, strict=True):
            start = time.perf_counter()
            fit()
            spent.append((time.perf_counter() - start) / steps)
    return times


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in ("cnn", "ae"):
        sys.exit("usage: python -m bench.step_time {cnn,ae} [KEY=VALUE ...] [-- KEY=VALUE ...]...")
    section = f"train_{argv[0]}"
    groups = variants(argv[1:])
    ps = [stage_params(section, group) for group in groups]
    if len({p.get("precision") for p in ps}) > 1:
        sys.exit("bench.step_time: the variants ask for different precisions; time each precision in its own run")
    quiet_start.tensorflow()
    import keras

    from pipeline import fashion, training
    from pipeline.models import autoencoder, cnn

    hardware.start(f"step_time {section}", ps[0].get("precision"))
    policy = keras.mixed_precision.global_policy().name
    training.seed_everything(ps[0]["seed"])
    x_all, y_all = fashion.load("train")
    fits = []
    for p in ps:
        bs = p["batch_size"]
        x, y = x_all[: bs * STEPS], y_all[: bs * STEPS]
        if argv[0] == "cnn":
            model, target = cnn.from_params(p, len(x_all)), keras.utils.to_categorical(y, 10)
        else:
            model, target = autoencoder.from_params(p, len(x_all)), fashion.scaled(x)
        fits.append(functools.partial(model.fit, x, target, batch_size=bs, epochs=1, verbose=0))
    times = rounds(fits, STEPS)
    for group, p, spent in zip(groups, ps, times, strict=True):
        print(summary(f"{section} {' '.join(group) or '(params.yaml)'} [{policy}]", spent, p["batch_size"], len(x_all)))


if __name__ == "__main__":
    main(sys.argv[1:])
