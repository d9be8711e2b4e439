"""train_ensemble: the trained tweet models -> data/models/ensemble.keras, their weighted mean
(each member recalibrated per kind first if `calibrate`), with the weights and the
validation figures in metrics/train/ensemble/metrics.json. Trains no network: it reads the
members' saved models and their validation scores from before the refit, fits the calibration
on those scores if asked, and mixes the members with the params' weights, chosen beforehand on
cross-validated scores (pipeline.models.ensemble)."""

import stages.with_tensorflow  # noqa: F401  (first: TensorFlow starts quietly)

# isort: split

import numpy as np

from pipeline import errors, files, hardware, outputs, params, training, tweets
from pipeline.models import ensemble


def val_scores(name: str, shape: tuple) -> np.ndarray:
    path = outputs.val_scores_path(name)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file; run `dvc repro {outputs.trained_by(name)}` first")
    scores = np.load(path)
    if scores.shape != shape:
        raise errors.UserError(
            f"{path}: scores of shape {scores.shape} for {shape[0]} validation tweets; "
            f"the split changed since {outputs.trained_by(name)} ran: run `dvc repro {outputs.trained_by(name)}`"
        )
    return scores


def main() -> None:
    p = params.load("train_ensemble")
    threshold = params.load("evaluate")["roc_threshold"]
    hardware.start("train_ensemble")
    _, k_val = tweets.load_prepared("val")
    members = {name: training.load(outputs.model_path(name)) for name in p["members"]}
    scores = {name: val_scores(name, k_val.shape) for name in p["members"]}
    weights, figures, calibration = ensemble.fit(scores, k_val, threshold, **params.keywords(ensemble.fit, p))
    for name, (scale, offset) in calibration.items():
        try:
            ensemble.recalibrate(members[name], scale, offset)
        except ValueError as e:
            raise errors.UserError(str(e)) from None
    print(f"train_ensemble: weights {weights}; validation {figures['ensemble']}", flush=True)
    training.save(ensemble.build(members=members, weights=weights), "ensemble")
    files.write_json(outputs.CURVES / "ensemble" / "metrics.json", {"weights": weights, "val": figures})


if __name__ == "__main__":
    errors.run_stage("train_ensemble", main)
