"""What every training stage shares: determinism, dvclive logging, early stopping, saving."""

from __future__ import annotations

import os

# TensorFlow's C++ start-up chatter would bury the stage's own output in `dvc repro`.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path  # noqa: E402

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from dvclive import Live  # noqa: E402
from dvclive.keras import DVCLiveCallback  # noqa: E402

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
    found = [DVCLiveCallback(live=live)]
    if patience:
        found.append(
            keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=patience, restore_best_weights=True)
        )
    return found


def model_path(name: str) -> Path:
    return MODELS / f"{name}.keras"


def save(model: keras.Model, name: str) -> Path:
    path = model_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return path


def load(path: Path | str) -> keras.Model:
    # Importing the model modules registers their custom layers with Keras before loading.
    from pipeline.models import cnn, rnn, transfer  # noqa: F401

    return keras.models.load_model(path, compile=False)
