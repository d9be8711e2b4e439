"""Validation scores of tweet-model variants, to choose train_rnn / train_charcnn params.
Trains on data/prepared/tweets/train.csv and scores on val.csv (never on test).

    .venv/bin/python -m bench.text_choices rnn loss=softmax units=128 ...
"""

import os
import sys
import tempfile
import time

from bench import stage_params
from pipeline import hardware, params, text_training, training, tweet_evaluation, tweets
from pipeline.models import charcnn, rnn, text

BUILD = {"rnn": rnn.from_params, "charcnn": charcnn.from_params}


def section(argv: list[str]) -> tuple[str, list[str], dict]:
    """`rnn key=value ...` -> ("rnn", the overrides as given, the train_rnn params with them)."""
    if not argv or argv[0] not in BUILD:
        raise SystemExit(f"usage: python -m bench.<name> {{{','.join(BUILD)}}} [KEY=VALUE ...]")
    return argv[0], argv[1:], stage_params(f"train_{argv[0]}", argv[1:])


def scratch_dir() -> None:
    """Work from a scratch folder, so that dvclive's curves stay out of the project's metrics/."""
    os.chdir(tempfile.mkdtemp(prefix="text_bench_"))


def val_scores(model, val, threshold: float) -> str:
    m = tweet_evaluation.text_metrics(val[1], text.predict(model, val[0]), threshold)
    return f"val micro AUC {m['roc_auc_micro']:.4f} macro {m['roc_auc_macro']:.4f} RMSE {m['rmse']:.4f}"


def main() -> None:
    name, overrides, p = section(sys.argv[1:])
    threshold = params.load("evaluate")["roc_threshold"]
    hardware.start(f"text_choices {name}")
    training.seed_everything(p["seed"])
    train, val = tweets.load_prepared("train"), tweets.load_prepared("val")
    start = time.perf_counter()
    model = BUILD[name](train[0], p)
    scratch_dir()
    # Trained as the stage's first run, early stopping included; not refitted, since the refit
    # would learn from the very tweets scored here (bench/text_refit.py measures the refit).
    seen = text_training.Seen()
    _, callbacks = text_training.fit(model, name, p, train, val, threshold, seen)
    spent = next(c for c in callbacks if isinstance(c, training.Record)).flops(0)
    print(
        f"RESULT {name} {overrides}: {val_scores(model, val, threshold)} ({time.perf_counter() - start:.0f} s); "
        f"train FLOPs {spent:.3g}, {spent / seen.examples / 1e6:.2f} M per training tweet, "
        f"{seen.examples / len(train[0]):.0f} epochs",
        flush=True,
    )


if __name__ == "__main__":
    main()
