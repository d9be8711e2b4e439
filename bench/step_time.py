"""Time of one training step of train_cnn or train_ae on this machine, and what an epoch of the
full training split would cost at that rate: a quick way to size a model for a CPU class.

    .venv/bin/python -m bench.step_time cnn [KEY=VALUE ...]
    ONEDNN_MAX_CPU_ISA=AVX2 .venv/bin/python -m bench.step_time cnn filters=[48,96,192]

Each KEY=VALUE overrides one key of params.yaml's section (values parsed as YAML); `precision`
goes through the same `auto` choice as the stage. Uses the first 40 batches of the real training
split (data/prepared/fashion; run `dvc repro preprocess_fashion` first), after 5 warm-up batches.
"""

from __future__ import annotations

import sys
import time

import yaml

from pipeline import hardware, quiet_start

STEPS, WARMUP = 40, 5


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in ("cnn", "ae"):
        sys.exit("usage: python -m bench.step_time {cnn,ae} [KEY=VALUE ...]")
    quiet_start.tensorflow()
    import keras

    from pipeline import fashion, params, training
    from pipeline.models import autoencoder, cnn

    section = f"train_{argv[0]}"
    overrides = {}
    for arg in argv[1:]:
        key, _, value = arg.partition("=")
        overrides[key] = yaml.safe_load(value)
    p = params.merge(params.load(section), overrides, f"{section}.")
    hardware.start(f"step_time {section}", p.get("precision"))
    policy = keras.mixed_precision.global_policy().name
    training.seed_everything(p["seed"])
    x, y = fashion.load("train")
    n_epoch, bs = len(x), p["batch_size"]
    x, y = x[: bs * (STEPS + WARMUP)], y[: bs * (STEPS + WARMUP)]
    if argv[0] == "cnn":
        model = cnn.from_params(p, n_epoch)
        target = keras.utils.to_categorical(y, 10)
    else:
        model = autoencoder.from_params(p, n_epoch)
        target = fashion.scaled(x)
    model.fit(x[: bs * WARMUP], target[: bs * WARMUP], batch_size=bs, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(x[bs * WARMUP :], target[bs * WARMUP :], batch_size=bs, epochs=1, verbose=0)
    step = (time.perf_counter() - start) / STEPS
    print(
        f"{section} {' '.join(argv[1:]) or '(params.yaml)'} [{policy}]: {step * 1000:.0f} ms/step "
        f"at batch {bs}, {step * n_epoch / bs / 60:.2f} min per epoch of {n_epoch:,} images",
        flush=True,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
