"""preprocess_fashion: data/raw/fashion-mnist -> data/prepared/fashion (validated, split, compact)
and metrics/data/fashion.json."""

from pathlib import Path

import numpy as np

from pipeline import errors, fashion, files, idx, params

RAW = Path("data/raw/fashion-mnist")
STATS = Path("metrics/data/fashion.json")


def prepare(p: dict) -> dict:
    x, y = idx.read_images_labels(RAW / "train-images-idx3-ubyte.gz", RAW / "train-labels-idx1-ubyte.gz")
    x_test, y_test = idx.read_images_labels(RAW / "t10k-images-idx3-ubyte.gz", RAW / "t10k-labels-idx1-ubyte.gz")
    x_train, x_val, y_train, y_val = fashion.split_train_val(x, y, p["val_fraction"], p["seed"])
    splits = {"train": (x_train, y_train), "val": (x_val, y_val), "test": (x_test, y_test)}
    for name in fashion.SPLITS:
        limit = p[f"max_{name}"]
        if limit:
            splits[name] = tuple(a[:limit] for a in splits[name])
    fashion.save(fashion.PREPARED, splits)
    return {
        name: {
            "rows": len(yy),
            "per_class": {c: int(n) for c, n in zip(fashion.CLASSES, np.bincount(yy, minlength=10), strict=True)},
        }
        for name, (_, yy) in splits.items()
    }


def main() -> None:
    p = params.load("preprocess")
    files.write_json(STATS, prepare({"seed": p["seed"], **p["fashion"]}))


if __name__ == "__main__":
    errors.run_stage("preprocess_fashion", main, (idx.IdxError,))
