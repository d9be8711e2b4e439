"""train_ensemble: the tweet models combined, from raw tweet strings to 15 kind scores.

A weighted mean of the trained members' kind scores, with train_ensemble's `weights`. They are
chosen on cross-validated scores of train + val (`choose_weights` on bench/text_folds.py's
out-of-fold scores), not on the validation split: an early-stopped member's validation scores
are those of the epoch that scored best on them, which pulls the weights its way, and 1,359
tweets leave the choice noisy (docs/tuning.md). The members read tweets differently (the RNN
words and their subwords, the char CNN character n-grams), so they err on different tweets and
their mean is steadier than either. The saved model holds the members whole, so it takes raw
strings like them and needs nothing else to predict.

With `calibrate`, each member's scores are first recalibrated per kind (Platt scaling: a scale
and an offset of each kind's logit, fitted on the validation split by cross-entropy against the
annotators' fractions, `platt`). A kind's scores keep their order, so its own ROC-AUC does not
move; what moves is how the kinds' scores compare with each other, which micro ROC-AUC pools
and RMSE measures: a member trained on all kinds at once is not equally sure of each. The
scale and offset go into the member's sigmoid output layer (`recalibrate`), so the saved
ensemble computes exactly what it did before, with other weights.
"""

from __future__ import annotations

import itertools

import keras
import numpy as np
from keras import layers
from scipy import optimize, special

from pipeline import tweet_evaluation
from pipeline.models import text

# Keeps every logit finite: scores of exactly 0 or 1 (float32 saturates) become +-16.1.
_EPS = 1e-7


def figures_of(scores: dict[str, np.ndarray], k: np.ndarray, threshold: float, weights: dict[str, float]) -> dict:
    """Micro and macro ROC-AUC and RMSE of every member and of their mix with `weights`."""
    mixed = sum(weights[n] * scores[n] for n in sorted(scores))
    figures = {n: tweet_evaluation.text_metrics(k, s, threshold) for n, s in {**scores, "ensemble": mixed}.items()}
    return {n: {key: f[key] for key in ("roc_auc_micro", "roc_auc_macro", "rmse")} for n, f in figures.items()}


def choose_weights(scores: dict[str, np.ndarray], k: np.ndarray, threshold: float, step: float = 0.05):
    """The weights (summing to 1, multiples of `step`) of the members' scores whose mean scores
    best against `k`: highest micro ROC-AUC, then lowest RMSE, then nearest to equal weights.
    Returns (weights by member, the figures of every member and of the chosen mix). For the
    benchmarks, which choose train_ensemble.weights."""
    names = sorted(scores)
    units = round(1 / step)
    if not np.isclose(units * step, 1.0):
        raise ValueError(f"a weight step of {step} does not divide 1 into equal steps; use e.g. 0.05")
    best, best_key = None, None
    for combo in itertools.product(range(units + 1), repeat=len(names)):
        if sum(combo) != units:
            continue
        w = np.array(combo) / units
        mixed = sum(wi * scores[n] for wi, n in zip(w, names, strict=True))
        m = tweet_evaluation.text_metrics(k, mixed, threshold)
        key = (-m["roc_auc_micro"], m["rmse"], float(np.abs(w - 1 / len(names)).sum()))
        if best_key is None or key < best_key:
            best, best_key = dict(zip(names, (float(x) for x in w), strict=True)), key
    return best, figures_of(scores, k, threshold, best)


def logit(scores: np.ndarray) -> np.ndarray:
    return special.logit(np.clip(scores.astype("float64"), _EPS, 1 - _EPS))


def platt(scores: np.ndarray, k: np.ndarray, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """Per kind, the (scale, offset) of the logit whose sigmoid has the lowest mean binary
    cross-entropy against the fractions `k`, plus `l2` x ((scale - 1)^2 + offset^2): the penalty
    keeps a kind that few validation tweets show near its scores as they are (with 0 and no
    annotated tweet, the offset would run to minus infinity). Deterministic (L-BFGS from the
    identity)."""
    if scores.shape != k.shape:
        raise ValueError(f"scores of shape {scores.shape} for labels of shape {k.shape}")
    z, y = logit(scores), k.astype("float64")
    scale, offset = np.ones(k.shape[1]), np.zeros(k.shape[1])
    for j in range(k.shape[1]):

        def loss(w, zj=z[:, j], yj=y[:, j]):
            u = w[0] * zj + w[1]
            # Binary cross-entropy on the logit u, in its stable form: log(1 + e^u) - y u.
            value = np.mean(np.logaddexp(0, u) - yj * u) + l2 * ((w[0] - 1) ** 2 + w[1] ** 2)
            residual = special.expit(u) - yj
            grad = [np.mean(residual * zj) + 2 * l2 * (w[0] - 1), np.mean(residual) + 2 * l2 * w[1]]
            return value, np.array(grad)

        scale[j], offset[j] = optimize.minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B").x
    return scale, offset


def apply_platt(scores: np.ndarray, scale: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """What a member that gave `scores` gives after `recalibrate(member, scale, offset)`."""
    return special.expit(scale * logit(scores) + offset).astype("float32")


def recalibrate(member: keras.Model, scale: np.ndarray, offset: np.ndarray) -> None:
    """Makes `member`'s sigmoid output layer (text.output_layer, "kinds") give sigmoid(scale *
    logit + offset) per kind, in place: its kernel's columns and its bias rescaled, the offset
    added to the bias. The ensemble's members are loaded for it alone, so nothing else sees it."""
    if len(text.leaves(member)) > 1:
        raise ValueError(
            f"{member.name}: the mean of its refitted and first models (average_fits), whose kinds "
            f"cannot be recalibrated as one model's; set train_ensemble.calibrate: false or "
            f"train_{member.name}.average_fits: false"
        )
    out = member.get_layer("kinds")
    if not isinstance(out, layers.Dense) or out.activation is not keras.activations.sigmoid:
        raise ValueError(
            f"{member.name}: its output layer is not a sigmoid Dense layer, so its kinds cannot be "
            "recalibrated one by one; train it with loss: sigmoid or set train_ensemble.calibrate: false"
        )
    kernel, bias = out.get_weights()
    out.set_weights([kernel * scale.astype(kernel.dtype), (bias * scale + offset).astype(bias.dtype)])


def fit(
    scores: dict[str, np.ndarray],
    k: np.ndarray,
    threshold: float,
    *,
    members: list[str],
    weights: list[float],
    calibrate: bool,
    calibration_l2: float,
) -> tuple[dict, dict, dict]:
    """What train_ensemble fits on the members' validation scores `scores` against the fractions
    `k`: with `calibrate`, each member's per-kind calibration (`platt`). Returns (the weights by
    member, the validation figures of each member as calibrated and of the mix with `weights`,
    {member: (scale, offset)}, empty without `calibrate`). The calibration is fitted on the very
    scores the figures come from, so with it the figures lean optimistic; the test split says
    what holds."""
    if sorted(scores) != sorted(members):
        raise ValueError(f"scores of {sorted(scores)} for the members {members}")
    by_member = dict(zip(members, weights, strict=True))
    calibration = {name: platt(s, k, calibration_l2) for name, s in scores.items()} if calibrate else {}
    adjusted = {name: apply_platt(s, *calibration[name]) if calibrate else s for name, s in scores.items()}
    return by_member, figures_of(adjusted, k, threshold, by_member), calibration


def build(*, members: dict[str, keras.Model], weights: dict[str, float]) -> keras.Model:
    inputs = text.string_input()
    weighted = [
        layers.Rescaling(weights[name], name=f"weight_{name}")(model(inputs))
        for name, model in sorted(members.items())
        if weights[name] > 0
    ]
    if not weighted:
        raise ValueError("every ensemble weight is 0; at least one member must count")
    outputs = layers.Add(name="kinds")(weighted) if len(weighted) > 1 else layers.Identity(name="kinds")(weighted[0])
    return keras.Model(inputs, outputs, name="ensemble")
