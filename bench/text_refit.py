"""Does refitting on train + val, for the epoch count early stopping chose, beat the early-stopped
model? Measured one level down, so that the test split stays untouched: the training split is cut
into A (6/7) and B (1/7, as large as val), then

    early: train on A, early-stopped on B                -> scored on val
    refit: a fresh model trained on A + B for as many epochs as `early` kept -> scored on val

which is the pipeline's train (70%) / val (10%) / test choice shifted onto train / val.

    .venv/bin/python -m bench.text_refit charcnn seed=43 ...
"""

import sys
import time

import numpy as np

from bench.text_choices import BUILD, scratch_dir, section, val_scores
from pipeline import hardware, params, text_training, training, tweets


def main() -> None:
    name, overrides, p = section(sys.argv[1:])
    threshold = params.load("evaluate")["roc_threshold"]
    train, val = tweets.load_prepared("train"), tweets.load_prepared("val")
    order = np.random.default_rng(p["seed"]).permutation(len(train[1]))
    a, b = (tuple(x[i] for x in train) for i in np.split(order, [len(order) * 6 // 7]))
    scratch_dir()
    hardware.start(f"text_refit {name}")
    start = time.perf_counter()
    training.seed_everything(p["seed"])
    model = BUILD[name](a[0], p)
    learning_rates, _ = text_training.fit(model, name, p, a, b, threshold)
    early = val_scores(model, val, threshold)
    model = text_training.refit(BUILD[name], p, a, b, learning_rates)
    late = val_scores(model, val, threshold)
    print(
        f"{name} {overrides}: early ({len(learning_rates)} epochs on A) {early}; "
        f"refit on A+B {late} ({time.perf_counter() - start:.0f} s)",
        flush=True,
    )


if __name__ == "__main__":
    main()
