"""Time of one training step of train_cnn, train_ae, train_rnn or train_charcnn on this machine,
for one variant or several side by side, and what an epoch of the full training split would cost
at that rate: a quick way to size a model for a CPU class.

    .venv/bin/python -m bench.step_time cnn [KEY=VALUE ...]
    .venv/bin/python -m bench.step_time cnn -- stem_filters=0 -- batch_norm=false   (defaults first)
    ONEDNN_MAX_CPU_ISA=AVX2 .venv/bin/python -m bench.step_time cnn filters=[48,96,192]
    ONEDNN_MAX_CPU_ISA=AVX2 .venv/bin/python -m bench.step_time rnn -- optimizer=adam

Each `--`-separated group of KEY=VALUE arguments is one variant: params.yaml's section with those
overrides (values parsed as YAML, nested keys with dots; an empty group is the defaults).
`precision` goes through the same `auto` choice as the stage, once per process, so the variants
must share it. Uses the first batches of the real training split (data/prepared/fashion; run `dvc
repro preprocess_fashion` first), or of the training tweets (data/prepared/tweets), batched and
turned into ids as the stage does, then cached: the rounds time the model, not the input
pipeline. Rounds of STEPS batches, after one warm-up round each, run in turn, variant after
variant, ROUNDS times: on a shared 2-core VM the same step can take twice as
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
        f"at batch {batch_size}; {fastest * n_epoch / batch_size / 60:.2f} min per epoch of {n_epoch:,} examples "
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
    if not argv or argv[0] not in MODELS:
        sys.exit(f"usage: python -m bench.step_time {{{','.join(MODELS)}}} [KEY=VALUE ...] [-- KEY=VALUE ...]...")
    section = f"train_{argv[0]}"
    groups = variants(argv[1:])
    ps = [stage_params(section, group) for group in groups]
    if len({p.get("precision") for p in ps}) > 1:
        sys.exit("bench.step_time: the variants ask for different precisions; time each precision in its own run")
    quiet_start.tensorflow()
    import keras

    from pipeline import training

    hardware.start(f"step_time {section}", ps[0].get("precision"))
    policy = keras.mixed_precision.global_policy().name
    training.seed_everything(ps[0]["seed"])
    data = training_split(argv[0])
    fits = [MODELS[argv[0]](p, data) for p in ps]
    times = rounds(fits, STEPS)
    for group, p, spent in zip(groups, ps, times, strict=True):
        label = f"{section} {' '.join(group) or '(params.yaml)'} [{policy}]"
        print(summary(label, spent, p["batch_size"], len(data[0])))


def training_split(model: str) -> tuple:
    """The training split the model learns from, loaded once for every variant: (images, labels)
    or (tweets, kind fractions)."""
    from pipeline import fashion, tweets

    return tweets.load_prepared("train") if model in ("rnn", "charcnn") else fashion.load("train")


def image_fit(model: str, p: dict, data: tuple):
    """One epoch of STEPS batches of the first training images."""
    import keras

    from pipeline import fashion
    from pipeline.models import autoencoder, cnn

    x_all, y_all = data
    bs = p["batch_size"]
    x, y = x_all[: bs * STEPS], y_all[: bs * STEPS]
    if model == "cnn":
        fitted, target = cnn.from_params(p, len(x_all)), keras.utils.to_categorical(y, 10)
    else:
        fitted, target = autoencoder.from_params(p, len(x_all)), fashion.scaled(x)
    from pipeline import batches

    data = batches.of_arrays(x, target, batch_size=bs, shuffle_seed=0)
    return functools.partial(fitted.fit, data, epochs=1, verbose=0, shuffle=False)


def text_fit(model: str, p: dict, data: tuple):
    """One epoch of STEPS batches of the first training tweets, as the stage batches them (ids,
    its targets and loss, its optimizer at its peak learning rate)."""
    from bench.text_choices import BUILD
    from pipeline import text_training
    from pipeline.models.text import split

    texts, k = data
    n = p["batch_size"] * STEPS
    vectorize, core = split(BUILD[model](texts, p))
    text_training.compile_model(core, p["loss"], p["learning_rate"], p["optimizer"], text_training.loss_weights(p, k))
    pairs = text_training.train_targets((texts[:n], k[:n]), p)
    batches = text_training.dataset(*pairs, p["batch_size"], p["seed"], vectorize, None, p["length_sorted_batches"])
    return functools.partial(core.fit, batches.cache(), epochs=1, verbose=0, shuffle=False)


MODELS = {
    "cnn": functools.partial(image_fit, "cnn"),
    "ae": functools.partial(image_fit, "ae"),
    "rnn": functools.partial(text_fit, "rnn"),
    "charcnn": functools.partial(text_fit, "charcnn"),
}


if __name__ == "__main__":
    main(sys.argv[1:])
