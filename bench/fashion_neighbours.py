"""How far the validation and test images lie from the training images, and how well their
nearest training image's label predicts theirs: whether the validation split is easier than the
test split (near-duplicates of training images, say) for any classifier, not only the CNN.

    .venv/bin/python -m bench.fashion_neighbours

Reads the prepared splits (the test split only for this comparison of the splits, never to
choose a model). Prints, for each split, percentiles of the Euclidean distance from each image
to its nearest training image (pixels in [0, 1]), the share within 2.0 of one, and the 1-nearest-
neighbour accuracy, overall and per class.
"""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import NearestNeighbors

from pipeline import fashion


def flat(x: np.ndarray) -> np.ndarray:
    return fashion.scaled(x).reshape(len(x), -1)


def neighbour_figures(nn: NearestNeighbors, y_fit: np.ndarray, x: np.ndarray, y: np.ndarray) -> dict:
    """Distances to the nearest fitted image and the accuracy of its label, overall and per class."""
    distance, index = nn.kneighbors(flat(x), n_neighbors=1)
    distance, right = distance[:, 0], y_fit[index[:, 0]] == y
    return {
        "percentiles": dict(zip((1, 10, 50, 90), np.percentile(distance, (1, 10, 50, 90)).round(3), strict=True)),
        "within_2": float(np.mean(distance < 2.0)),
        "accuracy": float(right.mean()),
        "per_class": {c: float(right[y == i].mean()) for i, c in enumerate(fashion.CLASSES) if (y == i).any()},
    }


def main() -> None:
    x_train, y_train = fashion.load("train")
    nn = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(flat(x_train))
    figures = {split: neighbour_figures(nn, y_train, *fashion.load(split)) for split in ("val", "test")}
    print(f"nearest of {len(x_train):,} training images, distance on pixels in [0, 1]")
    for split, f in figures.items():
        pct = " ".join(f"p{k} {v:.2f}" for k, v in f["percentiles"].items())
        print(f"{split:>4}: {pct}; within 2.0: {f['within_2']:.4f}; 1-NN accuracy {f['accuracy']:.4f}")
    print("1-NN accuracy per class, val / test / difference:")
    for c in fashion.CLASSES:
        v, t = figures["val"]["per_class"][c], figures["test"]["per_class"][c]
        print(f"  {c:<12} {v:.4f} / {t:.4f} / {v - t:+.4f}")


if __name__ == "__main__":
    main()
