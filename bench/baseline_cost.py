"""Where baseline_text's time goes as the tweets grow: the TF-IDF vectorising and the ridge fit
timed apart, with the features and the non-zeros of the matrix the ridge is fitted on
(scikit-learn solves it by conjugate gradients for sparse input, one run per kind).

    .venv/bin/python -m bench.baseline_cost [--sizes 13589 77946] [--alpha A]
    .venv/bin/python -m bench.baseline_cost --val A ...   # validation figures per penalty

`--alpha` is scikit-learn's (the penalty whatever the number of tweets); the stage's
`alpha_per_1000_tweets` is that per 1,000 tweets fitted. `--val` fits the baseline on the
prepared train split alone (data/prepared/tweets, `dvc repro preprocess_tweets`) with each
`alpha_per_1000_tweets` given and scores it on the validation split, never on test.

The rows are made as bench/growth.py makes them (the first rows of the mirror's real table, or
rows drawn with replacement from it for a larger size), cleaned and split as preprocess_tweets
does, and the baseline is fitted as its stage fits it (train + val with `with_val`). Needs the
raw tweets in data/raw/weather-tweets (`dvc repro download`).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench.growth import real_rows, resampled
from bench.text_choices import figures
from pipeline import params, tweet_evaluation, tweets
from stages import baseline_text


def prepared(size: int, real, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The tweets and kind fractions baseline_text would fit on at `size` rows."""
    # The first rows of the clean table, as preprocess.tweets.max_rows takes them, or resampled.
    df = tweets.clean(real if size <= len(real) else resampled(real, size, seed))[0].iloc[:size]
    p = params.load("preprocess")
    train, val, _ = tweets.split(df, p["tweets"]["test_fraction"], p["tweets"]["val_fraction"], p["seed"])
    parts = (train, val) if params.load("baseline_text")["with_val"] else (train,)
    return np.concatenate([part["tweet"].to_numpy(str) for part in parts]), np.concatenate(
        [tweets.labels(part) for part in parts]
    )


def validation(p: dict, per_1000: list[float]) -> None:
    threshold = params.load("evaluate")["roc_threshold"]
    (x, k), (x_val, k_val) = tweets.load_prepared("train"), tweets.load_prepared("val")
    for value in per_1000:
        alpha = baseline_text.penalty(value, len(x))
        model = baseline_text.build(max_features=p["max_features"], alpha=alpha)
        scores = np.clip(model.fit(x, k).predict(x_val), 0.0, 1.0)
        found = figures(tweet_evaluation.text_metrics(k_val, scores, threshold))
        print(f"RESULT alpha_per_1000_tweets {value} (alpha {alpha:.3g}): {found}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[13589, 77946])
    parser.add_argument("--alpha", type=float, help="default: baseline_text.alpha_per_1000_tweets x tweets / 1000")
    parser.add_argument("--val", type=float, nargs="+", help="alpha_per_1000_tweets values to score on val")
    parser.add_argument("--seed", type=int, default=0, help="for the resampled rows")
    args = parser.parse_args()
    p = params.load("baseline_text")
    if args.val:
        validation(p, args.val)
        return
    real = real_rows()
    print("| tweets fitted | alpha | vectorise | ridge fit | s per 1,000: vectorise, fit | features | non-zeros |")
    print("| ---: | ---: | ---: | ---: | --- | ---: | ---: |")
    for size in args.sizes:
        x, k = prepared(size, real, args.seed)
        alpha = args.alpha if args.alpha is not None else baseline_text.penalty(p["alpha_per_1000_tweets"], len(x))
        model = baseline_text.build(max_features=p["max_features"], alpha=alpha)
        vectorise, ridge = model.steps[0][1], model.steps[1][1]
        start = time.perf_counter()
        features = vectorise.fit_transform(x)
        middle = time.perf_counter()
        ridge.fit(features, k)
        end = time.perf_counter()
        per = f"{1000 * (middle - start) / len(x):.2f}, {1000 * (end - middle) / len(x):.2f}"
        print(
            f"| {len(x):,} | {alpha:.3g} | {middle - start:.1f} s | {end - middle:.1f} s | {per} | "
            f"{features.shape[1]:,} | {features.nnz:,} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
