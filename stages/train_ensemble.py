"""train_ensemble: the trained tweet models -> data/models/ensemble.keras, their weighted mean,
with the weights and the validation figures in metrics/train/ensemble/metrics.json. Trains
nothing: it reads the members' saved models and their validation scores from before the refit."""

import stages.with_tensorflow  # noqa: F401  (first: TensorFlow starts quietly)

# isort: split

import numpy as np

from pipeline import errors, files, hardware, outputs, params, text_training, training, tweets
from pipeline.models import ensemble


def main() -> None:
    p = params.load("train_ensemble")
    threshold = params.load("evaluate")["roc_threshold"]
    hardware.start("train_ensemble")
    _, k_val = tweets.load_prepared("val")
    scores = {}
    for name in p["members"]:
        path = outputs.val_scores_path(name)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file; run `dvc repro {outputs.trained_by(name)}` first")
        scores[name] = np.load(path)
        if scores[name].shape != k_val.shape:
            raise errors.UserError(
                f"{path}: scores of shape {scores[name].shape} for {k_val.shape[0]} validation tweets; "
                f"the split changed since {outputs.trained_by(name)} ran: run `dvc repro {outputs.trained_by(name)}`"
            )
    weights, figures = text_training.ensemble_weights(scores, k_val, threshold, p["weight_step"])
    print(f"train_ensemble: weights {weights}; validation {figures['ensemble']}", flush=True)
    members = {name: training.load(outputs.model_path(name)) for name in p["members"]}
    training.save(ensemble.build(members=members, weights=weights), "ensemble")
    files.write_json(outputs.CURVES / "ensemble" / "metrics.json", {"weights": weights, "val": figures})


if __name__ == "__main__":
    errors.run_stage("train_ensemble", main)
