"""The prepared Fashion-MNIST arrays: class names, splitting, and reading them back."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline import files

PREPARED = Path("data/prepared/fashion")
CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip
SPLITS = ("train", "val", "test")


def split_train_val(x, y, val_fraction: float, seed: int):
    """A stratified, seeded hold-out of `val_fraction` of the training set."""
    # Imported here: the stages that only read the splits back would pay scikit-learn's import
    # for nothing (tests/test_stages.py checks they do not).
    from sklearn.model_selection import train_test_split

    return train_test_split(x, y, test_size=val_fraction, random_state=seed, stratify=y)


def save(root: Path, splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    # One .npy per array rather than one .npz: npz stores zip timestamps, so identical arrays
    # would hash differently and DVC would retrain every model downstream.
    for name, (x, y) in splits.items():
        files.save_npy(root / f"x_{name}.npy", x)
        files.save_npy(root / f"y_{name}.npy", y)


def scaled(x: np.ndarray) -> np.ndarray:
    """Images as float32 in [0, 1]: what the autoencoder reconstructs and is scored against."""
    return x.astype("float32") / 255.0


def load(split: str, root: Path = PREPARED) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (N, 28, 28) and uint8 labels (N,) of one split."""
    paths = root / f"x_{split}.npy", root / f"y_{split}.npy"
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file; run `dvc repro preprocess_fashion` first")
    return np.load(paths[0]), np.load(paths[1])
