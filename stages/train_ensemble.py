"""train_ensemble: the trained tweet models -> data/models/ensemble.keras, their weighted mean,
with the weights and the validation figures in metrics/train/ensemble/metrics.json. Trains
nothing: it reads the members' saved models and their validation scores from before the refit."""

import numpy as np

from pipeline import files, params, runtime, text_training, training, tweets
from pipeline.models import ensemble


def main() -> None:
    p = params.load("train_ensemble")
    threshold = params.load("evaluate")["roc_threshold"]
    runtime.start("train_ensemble")
    _, k_val = tweets.load_prepared("val")
    scores = {}
    for name in p["members"]:
        path = training.val_scores_path(name)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file; run `dvc repro train_{name}` first")
        scores[name] = np.load(path)
        if scores[name].shape != k_val.shape:
            raise runtime.UserError(
                f"{path}: scores of shape {scores[name].shape} for {k_val.shape[0]} validation tweets; "
                f"the split changed since train_{name} ran: run `dvc repro train_{name}`"
            )
    weights, figures = text_training.ensemble_weights(scores, k_val, threshold, p["weight_step"])
    print(f"train_ensemble: weights {weights}; validation {figures['ensemble']}", flush=True)
    members = {name: training.load(training.model_path(name)) for name in p["members"]}
    training.save(ensemble.build(members=members, weights=weights), "ensemble")
    files.write_json(training.CURVES / "ensemble" / "metrics.json", {"weights": weights, "val": figures})


if __name__ == "__main__":
    runtime.main("train_ensemble", main)
