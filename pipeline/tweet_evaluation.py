"""The tweet models' figures: ROC-AUC (micro and macro over kinds) and RMSE against the
annotators' fractions, ROC curves as plot data and per kind as a picture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn import metrics as skm

from pipeline import files, tweets
from pipeline.evaluation import METRICS, PLOTS, r, save_figure, subplots


def _present(k: np.ndarray, threshold: float) -> np.ndarray:
    return (k >= threshold).astype(int)


def text_metrics(k: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    """RMSE against the soft labels, and ROC-AUC with a kind present when its fraction >= threshold.

    Macro AUC averages the kinds that have both present and absent tweets in the test split
    (a rare kind can have no positive tweet among a few thousand); `auc_kinds` counts them.
    """
    truth = _present(k, threshold)
    per_kind = {
        kind: r(skm.roc_auc_score(truth[:, j], scores[:, j]))
        for j, kind in enumerate(tweets.KINDS)
        if 0 < truth[:, j].sum() < len(truth)
    }
    return {
        "rmse": r(np.sqrt(np.mean((scores - k) ** 2))),
        "roc_auc_micro": r(skm.roc_auc_score(truth.ravel(), scores.ravel())),
        "roc_auc_macro": r(np.mean(list(per_kind.values()))),
        "auc_kinds": len(per_kind),
        "roc_auc_per_kind": per_kind,
    }


def roc_records(k: np.ndarray, scores: np.ndarray, threshold: float) -> list[dict]:
    """Micro-averaged ROC curve points, as DVC plot data."""
    fpr, tpr, thr = skm.roc_curve(_present(k, threshold).ravel(), scores.ravel())
    # sklearn's first threshold is inf (nothing predicted positive): not valid JSON, so cap it.
    thr = np.minimum(thr, 1.0)
    return [{"fpr": r(f), "tpr": r(t), "threshold": r(h)} for f, t, h in zip(fpr, tpr, thr, strict=True)]


def roc_per_kind_png(path: Path, k: np.ndarray, scores: np.ndarray, threshold: float, title: str) -> None:
    truth = _present(k, threshold)
    fig, axes = subplots(3, 5, figsize=(13, 8), sharex=True, sharey=True)
    for j, (kind, ax) in enumerate(zip(tweets.KINDS, axes.ravel(), strict=True)):
        positives = int(truth[:, j].sum())
        if 0 < positives < len(truth):
            fpr, tpr, _ = skm.roc_curve(truth[:, j], scores[:, j])
            auc = skm.roc_auc_score(truth[:, j], scores[:, j])
            ax.plot(fpr, tpr)
            ax.set_title(f"{kind} (n={positives}) AUC {auc:.3f}", fontsize=9)
        else:
            ax.set_title(f"{kind}: no positive tweets", fontsize=9)
        ax.plot([0, 1], [0, 1], ls=":", c="grey")
    fig.suptitle(f"{title}: ROC per kind (present when fraction >= {threshold})")
    fig.supxlabel("false positive rate")
    fig.supylabel("true positive rate")
    fig.tight_layout()
    save_figure(fig, path, dpi=70)


def write_text_results(
    name: str, k: np.ndarray, scores: np.ndarray, threshold: float, extra: dict | None = None
) -> None:
    """The test figures (and `extra` entries, e.g. the pass's FLOPs) and the ROC plots."""
    files.write_json(METRICS / f"{name}.json", {"test": text_metrics(k, scores, threshold), **(extra or {})})
    files.write_json(PLOTS / name / "roc.json", roc_records(k, scores, threshold))
    roc_per_kind_png(PLOTS / name / "roc_per_kind.png", k, scores, threshold, name)
