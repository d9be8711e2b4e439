"""Metrics and plot data for the evaluate and baseline_text stages.

Everything written here is rounded to 6 significant digits, so the committed files stay
readable and diffs show real changes, and holds only values that the same inputs reproduce.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on these machines; every figure goes to a file
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn import metrics as skm  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402

from pipeline import fashion, files, tweets  # noqa: E402

METRICS = Path("metrics/evaluate")
PLOTS = Path("plots/evaluate")
# PNG metadata would otherwise carry the matplotlib version, making identical runs differ
# across machines with another patch release.
PNG_META = {"Software": None}


def r(x: float) -> float:
    return float(f"{float(x):.6g}")


def save_figure(fig, path: Path, dpi: int) -> None:
    with files.replacing(path) as tmp:
        fig.savefig(tmp, dpi=dpi, metadata=PNG_META)
    plt.close(fig)


# ----------------------------------------------------------------------------- images


def classification(probs: np.ndarray, y: np.ndarray) -> dict:
    """Accuracy and cross-entropy loss of class probabilities against integer labels."""
    return {
        "accuracy": r(skm.accuracy_score(y, probs.argmax(axis=1))),
        "loss": r(skm.log_loss(y, probs, labels=list(range(probs.shape[1])))),
    }


def per_class_accuracy(probs: np.ndarray, y: np.ndarray) -> dict:
    pred = probs.argmax(axis=1)
    return {name: r((pred[y == i] == i).mean()) for i, name in enumerate(fashion.CLASSES) if (y == i).any()}


def confusion_records(probs: np.ndarray, y: np.ndarray) -> list[dict]:
    """One {actual, predicted} row per test image: the input of DVC's confusion template."""
    names = np.array(fashion.CLASSES)
    return [{"actual": a, "predicted": p} for a, p in zip(names[y], names[probs.argmax(axis=1)], strict=True)]


def pca_baseline(x_train: np.ndarray, x_test: np.ndarray, components: int, seed: int) -> float:
    """Test MSE of PCA with `components` components fitted on the training images, in [0, 1]."""
    flat_train = x_train.reshape(len(x_train), -1).astype("float32") / 255
    flat_test = x_test.reshape(len(x_test), -1).astype("float32") / 255
    pca = PCA(components, svd_solver="randomized", random_state=seed).fit(flat_train)
    recon = pca.inverse_transform(pca.transform(flat_test))
    return r(np.mean((recon - flat_test) ** 2))


def reconstructions_png(path: Path, originals: np.ndarray, recon: np.ndarray) -> None:
    n = len(originals)
    fig, axes = plt.subplots(2, n, figsize=(1.2 * n, 2.8), squeeze=False)
    for i in range(n):
        for row, img in enumerate((originals[i], recon[i])):
            ax = axes[row, i]
            ax.imshow(img, cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("test image")
    axes[1, 0].set_ylabel("reconstructed")
    fig.tight_layout()
    save_figure(fig, path, dpi=80)


# ----------------------------------------------------------------------------- tweets


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
    fig, axes = plt.subplots(3, 5, figsize=(13, 8), sharex=True, sharey=True)
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
