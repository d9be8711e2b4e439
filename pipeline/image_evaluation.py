"""The image models' figures: classification metrics and confusion data, the PCA baseline of the
autoencoder and its reconstructions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn import metrics as skm
from sklearn.decomposition import PCA

from pipeline import fashion
from pipeline.evaluation import r, save_figure, subplots


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


def code_size(autoencoder) -> int:
    """The length of a saved autoencoder's code: its layer named "code" (pipeline.models.autoencoder)."""
    return int(autoencoder.get_layer("code").units)


def pca_baseline(x_train: np.ndarray, x_test: np.ndarray, components: int, seed: int) -> float:
    """Test MSE of PCA with `components` components fitted on the training images, in [0, 1]."""
    flat_train = x_train.reshape(len(x_train), -1).astype("float32") / 255
    flat_test = x_test.reshape(len(x_test), -1).astype("float32") / 255
    pca = PCA(components, svd_solver="randomized", random_state=seed).fit(flat_train)
    recon = pca.inverse_transform(pca.transform(flat_test))
    return r(np.mean((recon - flat_test) ** 2))


def reconstructions_png(path: Path, originals: np.ndarray, recon: np.ndarray) -> None:
    n = len(originals)
    fig, axes = subplots(2, n, figsize=(1.2 * n, 2.8), squeeze=False)
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
