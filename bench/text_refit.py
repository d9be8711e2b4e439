"""Does refitting on train + val, for the epoch count early stopping chose, beat the early-stopped
model? Measured one level down, so that the test split stays untouched: the training split is cut
into A (6/7) and B (1/7, as large as val), then

    early: train on A, early-stopped on B                -> scored on val
    refit: a fresh model trained on A + B for as many epochs as `early` kept -> scored on val

which is the pipeline's train (70%) / val (10%) / test choice shifted onto train / val.

    .venv/bin/python bench/text_refit.py charcnn seed=43 ...
"""

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipeline import evaluation, params, training, tweets  # noqa: E402
from pipeline.models import charcnn, rnn, text  # noqa: E402


def main() -> None:
    name, overrides = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
    p = params.load(f"train_{name}")
    p.update({k: yaml.safe_load(v) for k, v in overrides.items()})
    threshold = params.load("evaluate")["roc_threshold"]
    build = {"rnn": rnn, "charcnn": charcnn}[name].from_params
    train, val = tweets.load_prepared("train"), tweets.load_prepared("val")
    order = np.random.default_rng(p["seed"]).permutation(len(train[1]))
    a, b = (tuple(x[i] for x in train) for i in np.split(order, [len(order) * 6 // 7]))
    os.chdir(tempfile.mkdtemp(prefix="text_refit_"))  # dvclive curves stay out of metrics/

    def score(model):
        m = evaluation.text_metrics(val[1], text.predict(model, val[0]), threshold)
        return f"val micro AUC {m['roc_auc_micro']:.4f} macro {m['roc_auc_macro']:.4f} RMSE {m['rmse']:.4f}"

    start = time.perf_counter()
    training.seed_everything(p["seed"])
    model = build(a[0], p)
    learning_rates = text.fit(model, name, p, a, b, threshold)
    early = score(model)
    model = text.refit(build, p, a, b, learning_rates)
    print(f"{name} {overrides}: early ({len(learning_rates)} epochs on A) {early}; refit on A+B {score(model)} "
          f"({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
