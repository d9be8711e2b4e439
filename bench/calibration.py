"""Whether train_ensemble's per-kind calibration helps, estimated on the validation split
without scoring it on the tweets it was fitted on: each member's Platt scaling (pipeline.models.
ensemble.platt) fitted on 4/5 of val and applied to the other 1/5, for 5 folds, then the weights
chosen on those out-of-fold scores by ensemble.choose_weights; against the weights on the
scores as they are. Three fold draws per penalty show the spread. Reads the members' validation
scores that `dvc repro train_tweets` saved.

    .venv/bin/python -m bench.calibration [L2 ...]     # default: 0 0.001 0.01 0.1

Per-kind order across folds is not one transform, so the out-of-fold macro ROC-AUC drops a
little by construction; the saved ensemble applies one transform per member and kind.
"""

import sys

import numpy as np

from pipeline import outputs, params, tweets
from pipeline.models import ensemble

FOLDS = 5


def figures(m: dict) -> str:
    return f"micro {m['roc_auc_micro']:.5f} macro {m['roc_auc_macro']:.4f} RMSE {m['rmse']:.5f}"


def out_of_fold(scores: dict, k: np.ndarray, l2: float, seed: int) -> dict:
    folds = np.random.default_rng(seed).permutation(len(k)) % FOLDS
    oof = {name: np.empty_like(s) for name, s in scores.items()}
    for fold in range(FOLDS):
        fit, held = folds != fold, folds == fold
        for name, s in scores.items():
            oof[name][held] = ensemble.apply_platt(s[held], *ensemble.platt(s[fit], k[fit], l2))
    return oof


def main(argv: list[str]) -> None:
    p = params.load("train_ensemble")
    threshold = params.load("evaluate")["roc_threshold"]
    _, k = tweets.load_prepared("val")
    scores = {name: np.load(outputs.val_scores_path(name)) for name in p["members"]}
    weights, found = ensemble.choose_weights(scores, k, threshold)
    print(f"as they are: {weights} {figures(found['ensemble'])}", flush=True)
    for l2 in [float(a) for a in argv] or [0.0, 0.001, 0.01, 0.1]:
        for seed in range(3):
            oof = out_of_fold(scores, k, l2, seed)
            weights, found = ensemble.choose_weights(oof, k, threshold)
            members = "; ".join(f"{n} {figures(found[n])}" for n in sorted(scores))
            print(f"l2 {l2}, folds {seed}: {weights} {figures(found['ensemble'])} ({members})", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
