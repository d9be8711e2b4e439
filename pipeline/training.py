"""What every training stage shares: determinism, its callbacks and record (dvclive summary,
curves, FLOPs), early stopping, progress, saving and loading."""

from __future__ import annotations

import json
import math
import shutil
import sys
import time
import zipfile
from pathlib import Path

import keras
import tensorflow as tf
from dvclive import Live
from dvclive.utils import standardize_metric_name

from pipeline import batches, files, outputs

STEPS_PER_EXECUTION = 8


def steps_per_execution() -> int:
    """Training steps per call of Keras's compiled step function, for `compile`: the same steps
    in the same order, so the same weights, with Keras's per-step Python work once per
    STEPS_PER_EXECUTION steps, several percent of a small model's step on a CPU. Batch-level
    callbacks then see every STEPS_PER_EXECUTION-th step; the training callbacks here act per
    epoch. One step per call when the active strategy has several replicas: Keras 3's multi-step
    loop fails under MirroredStrategy (keras-team/keras#19246)."""
    return STEPS_PER_EXECUTION if tf.distribute.get_strategy().num_replicas_in_sync == 1 else 1


def seed_everything(seed: int) -> None:
    """Same seed, same data, same machine: bit-identical weights and metrics."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def one_cycle(learning_rate: float, warmup: float, steps: int) -> keras.optimizers.schedules.LearningRateSchedule:
    """Smith's one-cycle: a linear warm-up from a tenth of `learning_rate` over `warmup` of the
    `steps`, then cosine decay to 0 at the last step. A high peak explores, the long decay settles:
    it reaches in a fixed number of epochs what a constant rate needs plateaus and halvings for."""
    steps = max(steps, 1)
    warm = round(steps * warmup)
    return keras.optimizers.schedules.CosineDecay(
        learning_rate / 10 if warm else learning_rate,
        decay_steps=max(steps - warm, 1),
        warmup_target=learning_rate if warm else None,
        warmup_steps=warm,
    )


def callbacks(
    name: str,
    flops,
    patience: int = 0,
    monitor: str = "val_loss",
    mode: str = "auto",
    summary: dict | None = None,
    scores: tuple = (),
    schedule: tuple = (),
) -> list:
    """Every callback of a training stage, in the one order that works: each reads what those
    before it wrote into the epoch's logs.
    1. `scores`: callbacks that add validation figures to the logs (text_training.ValidationScores);
    2. `schedule`: learning-rate schedules, which may watch those figures (ReduceLROnPlateau) and
       add the learning rate to the logs;
    3. the Record of all of the above, the training FLOPs (`flops(epochs done)`) and the entries
       of `summary`, under metrics/train/<name>/;
    4. early stopping on `monitor`, which may watch the scores too."""
    found = [*scores, *schedule, Record(name, flops, summary or {})]
    if patience:
        found.append(
            keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=patience, restore_best_weights=True)
        )
    return found


class Record(keras.callbacks.Callback):
    """A training stage's record in metrics/train/<name>/, rewritten at each epoch's end:
    - metrics.json, dvclive's summary: the last epoch's train and validation figures, the
      training FLOPs spent so far (every step run, the epochs early stopping discards too), the
      precision and device (the hardware path is part of the result: `dvc exp show` lists it);
    - curves/<quantity>.json: one row per epoch and split (train, validation) for each quantity
      Keras logs, drawn as one figure per quantity with both splits (.dvc/plots/train_validation.json).
    dvclive writes no per-metric plot files (plot=False): each would be a second figure of the
    same curve on `dvc plots show`."""

    def __init__(self, name: str, flops, summary: dict):
        super().__init__()
        # dvcyaml=False: the plots are declared in our dvc.yaml; save_dvc_exp=False: a stage inside
        # `dvc repro` must not create experiments of its own.
        self.live = Live(dir=str(outputs.CURVES / name), dvcyaml=False, save_dvc_exp=False, report=None)
        self.live.summary["precision"] = keras.mixed_precision.global_policy().name
        self.live.summary["device"] = "gpu" if tf.config.list_logical_devices("GPU") else "cpu"
        self.live.summary.update(summary)
        self.curves = outputs.CURVES / name / "curves"
        shutil.rmtree(self.curves, ignore_errors=True)  # a quantity an earlier run logged must not linger
        self.flops, self.epochs, self.rows = flops, 0, {}

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1
        # Before the figures: the summary keeps its keys in the order they were first set.
        self.live.summary["train_flops"] = float(self.flops(self.epochs))
        for metric, value in (logs or {}).items():
            self.live.log_metric(standardize_metric_name(metric, "dvclive.keras"), value, plot=False)
            quantity = metric.removeprefix("val_")
            split = "validation" if metric.startswith("val_") else "train"
            self.rows.setdefault(quantity, []).append({"epoch": epoch + 1, "split": split, quantity: float(value)})
        for quantity, rows in self.rows.items():
            files.write_json(self.curves / f"{quantity}.json", rows)
        self.live.next_step()

    def on_train_end(self, logs=None):
        self.live.end()

    def update(self) -> None:
        """Count the FLOPs again and rewrite the summary: for training that runs after this
        callback's fit (the tweet models' refit)."""
        self.live.summary["train_flops"] = float(self.flops(self.epochs))
        self.live.make_summary()


def per_epoch(flops_per_example: int, examples: int):
    """`flops` for `callbacks` when every epoch trains on the same `examples` (fixed shapes)."""
    return lambda epochs: flops_per_example * examples * epochs


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
    return model.predict(
        batches.of_arrays(x, batch_size=batch_size), verbose=0, callbacks=[Progress(what, len(x), batch_size)]
    )


def uncompiled(trained: keras.Model) -> keras.Model:
    """A functional model's trained layers without its optimizer. Keras stores a compiled
    model's optimizer in the .keras file and rebuilds it on loading: a model trained with one of
    this project's optimizers (pipeline/muon.py) would need this project's code to load."""
    return keras.Model(trained.input, trained.output, name=trained.name)


def save(model: keras.Model, name: str) -> Path:
    path = outputs.model_path(name)
    with files.replacing(path) as tmp:
        model.save(tmp)
        byte_stable(tmp)
    return path


# The zip epoch; reproducible builds clamp timestamps the same way.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def byte_stable(path: Path) -> None:
    """Rewrite a .keras file so that the same model gives the same bytes: Keras stamps the save
    time into metadata.json and into the weights member's zip header, and numbers the objects
    that layers share (their dtype policy) in config.json by their memory address. Without this,
    every rerun of a stage makes a "new" model, DVC reruns everything downstream of it, and the
    run cache keeps one entry per run instead of one per set of inputs."""
    with zipfile.ZipFile(path) as zf:
        members = [(info, zf.read(info)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w") as zf:
        for info, data in members:
            if info.filename == "metadata.json":
                meta = json.loads(data)
                meta["date_saved"] = "1980-01-01@00:00:00"
                data = json.dumps(meta).encode()
            elif info.filename == "config.json":
                data = json.dumps(_renumber_shared_objects(json.loads(data), {})).encode()
            stable = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            stable.compress_type, stable.external_attr = info.compress_type, info.external_attr
            zf.writestr(stable, data)


def _renumber_shared_objects(node, numbers: dict):
    """The same config with each `shared_object_id` replaced by its order of first appearance:
    loading only matches equal ids, so any consistent numbering loads the same model."""
    if isinstance(node, dict):
        return {
            key: numbers.setdefault(value, len(numbers) + 1)
            if key == "shared_object_id"
            else _renumber_shared_objects(value, numbers)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_renumber_shared_objects(item, numbers) for item in node]
    return node


def load(path: Path | str) -> keras.Model:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model; run `dvc repro {outputs.trained_by(path.stem)}` first")
    # Registers the project's custom layers with Keras before loading.
    from pipeline.models import layers  # noqa: F401  (imported for its side effect)

    return keras.models.load_model(path, compile=False)


def kind(model: keras.Model) -> str:
    """What a saved model takes and gives: "tweets" (raw strings to 15 kind scores),
    "autoencoder" (images to images) or "classifier" (images to 10 class probabilities)."""
    if model.inputs[0].dtype == "string":
        return "tweets"
    return "autoencoder" if model.name == "autoencoder" else "classifier"
