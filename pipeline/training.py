"""What every training stage shares: determinism, dvclive logging, early stopping, progress,
saving."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import keras
import tensorflow as tf
from dvclive import Live
from dvclive.keras import DVCLiveCallback

MODELS = Path("data/models")
CURVES = Path("metrics/train")


def seed_everything(seed: int) -> None:
    """Same seed, same data, same machine: bit-identical weights and metrics."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def callbacks(name: str, patience: int = 0, monitor: str = "val_loss", mode: str = "auto") -> list:
    """dvclive per-epoch curves under metrics/train/<name>/, and early stopping on validation."""
    # dvcyaml=False: the plots are declared in our dvc.yaml; save_dvc_exp=False: a stage inside
    # `dvc repro` must not create experiments of its own.
    live = Live(dir=str(CURVES / name), dvcyaml=False, save_dvc_exp=False, report=None)
    # The hardware path is part of the result: `dvc exp show` lists it beside the metrics.
    live.summary["precision"] = keras.mixed_precision.global_policy().name
    live.summary["device"] = "gpu" if tf.config.list_logical_devices("GPU") else "cpu"
    found = [DVCLiveCallback(live=live)]
    if patience:
        found.append(
            keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=patience, restore_best_weights=True)
        )
    return found


class Progress(keras.callbacks.Callback):
    """Prints how far a `predict` pass has come, about every tenth of it, with the time elapsed."""

    def __init__(self, what: str, n_items: int, batch_size: int):
        super().__init__()
        self.what, self.n_items, self.batch_size = what, n_items, batch_size
        self.steps = max(1, math.ceil(n_items / batch_size))
        self.every = max(1, self.steps // 10)

    def on_predict_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_predict_batch_end(self, batch, logs=None):
        done = batch + 1
        if done % self.every == 0 or done == self.steps:
            items = min(done * self.batch_size, self.n_items)
            print(
                f"{self.what}: {items:,}/{self.n_items:,} ({items / self.n_items:.0%}), "
                f"{time.perf_counter() - self.start:.0f} s",
                file=sys.stderr,
                flush=True,
            )


def predict(model: keras.Model, x, what: str, batch_size: int = 512):
    """`model.predict` over an array, printing its progress as `what`."""
    return model.predict(x, batch_size=batch_size, verbose=0, callbacks=[Progress(what, len(x), batch_size)])


def model_path(name: str) -> Path:
    return MODELS / f"{name}.keras"


def save(model: keras.Model, name: str) -> Path:
    path = model_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return path


def load(path: Path | str) -> keras.Model:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model; run `dvc repro train_{path.stem}` first")
    # Registers the project's custom layers with Keras before loading.
    from pipeline.models import layers  # noqa: F401  (imported for its side effect)

    return keras.models.load_model(path, compile=False)


def val_scores_path(name: str) -> Path:
    """Where a tweet model's stage keeps its validation scores from before the refit."""
    return MODELS / f"{name}.val_scores.npy"
