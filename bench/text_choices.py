"""Validation scores of tweet-model variants, to choose train_rnn / train_charcnn params.
Trains on data/prepared/tweets/train.csv and scores on val.csv (never on test), alone and as
the ensemble's member beside the other members' committed validation scores (the weights chosen
and the calibration fitted on val as train_ensemble fits them), when `dvc repro` has made those.

    .venv/bin/python -m bench.text_choices rnn loss=softmax units=128 ...
"""

import os
import sys
import tempfile
import time

import numpy as np

from bench import stage_params
from pipeline import hardware, outputs, params, text_training, training, tweet_evaluation, tweets
from pipeline.models import charcnn, ensemble, rnn, text

BUILD = {"rnn": rnn.from_params, "charcnn": charcnn.from_params}


def section(argv: list[str]) -> tuple[str, list[str], dict]:
    """`rnn key=value ...` -> ("rnn", the overrides as given, the train_rnn params with them)."""
    if not argv or argv[0] not in BUILD:
        raise SystemExit(f"usage: python -m bench.<name> {{{','.join(BUILD)}}} [KEY=VALUE ...]")
    return argv[0], argv[1:], stage_params(f"train_{argv[0]}", argv[1:])


def scratch_dir() -> None:
    """Work from a scratch folder, so that dvclive's curves stay out of the project's metrics/."""
    os.chdir(tempfile.mkdtemp(prefix="text_bench_"))


def figures(m: dict) -> str:
    return f"val micro AUC {m['roc_auc_micro']:.4f} macro {m['roc_auc_macro']:.4f} RMSE {m['rmse']:.4f}"


def val_scores(model, val, threshold: float) -> str:
    return figures(tweet_evaluation.text_metrics(val[1], text.predict(model, val[0]), threshold))


def partners(name: str) -> dict:
    """The other ensemble members' validation scores that train_tweets saved, by member."""
    others = [m for m in params.load("train_ensemble")["members"] if m != name]
    return {m: np.load(outputs.val_scores_path(m)) for m in others if outputs.val_scores_path(m).is_file()}


def as_member(name: str, scores, others: dict, val, threshold: float, p: dict) -> str:
    """The ensemble's validation figures with this variant as member `name`, fitted as the
    train_ensemble params `p` say (calibration and weights)."""
    if name not in p["members"]:
        return f"not one of train_ensemble.members {p['members']}, so no ensemble figure"
    if not others:
        return "no other member's validation scores (run `dvc repro train_tweets`) to score an ensemble with"
    weights, found, _ = ensemble.fit({name: scores, **others}, val[1], threshold, **params.keywords(ensemble.fit, p))
    return f"ensemble {weights}: {figures(found['ensemble'])}"


def main() -> None:
    name, overrides, p = section(sys.argv[1:])
    threshold = params.load("evaluate")["roc_threshold"]
    hardware.start(f"text_choices {name}")
    training.seed_everything(p["seed"])
    train, val = tweets.load_prepared("train"), tweets.load_prepared("val")
    others, ensemble_p = partners(name), params.load("train_ensemble")  # before scratch_dir
    start = time.perf_counter()
    model = BUILD[name](train[0], p)
    scratch_dir()
    # Trained as the stage's first run, early stopping included; not refitted, since the refit
    # would learn from the very tweets scored here (bench/text_refit.py measures the refit, and
    # `bench/text_folds.py --as-stage` the whole stage, refit and average_fits included).
    seen = text_training.Seen()
    _, callbacks = text_training.fit(model, name, p, train, val, threshold, seen)
    spent = next(c for c in callbacks if isinstance(c, training.Record)).flops(0)
    scores = text.predict(model, val[0])
    print(
        f"RESULT {name} {overrides}: {figures(tweet_evaluation.text_metrics(val[1], scores, threshold))} "
        f"({time.perf_counter() - start:.0f} s); train FLOPs {spent:.3g}, "
        f"{spent / seen.examples / 1e6:.2f} M per training tweet, {seen.examples / len(train[0]):.0f} epochs; "
        f"{as_member(name, scores, others, val, threshold, ensemble_p)}",
        flush=True,
    )


if __name__ == "__main__":
    main()
