"""Fitting the tweet models: targets per loss, early stopping on the validation micro ROC-AUC,
and the refit on train + val with the schedule chosen on val (stages train_rnn, train_charcnn).

`softmax` trains with cross-entropy on the renormalised fractions (pipeline.tweets.
softmax_targets); `sigmoid` with binary cross-entropy on the fractions as given.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from pipeline import evaluation, training, tweets
from pipeline.models.text import as_strings, predict


def loss_fn(loss: str) -> keras.losses.Loss:
    if loss == "softmax":
        return keras.losses.CategoricalCrossentropy()
    if loss == "sigmoid":
        return keras.losses.BinaryCrossentropy()
    raise ValueError(f"loss: got {loss!r}, allowed values: softmax, sigmoid")


def compile(model: keras.Model, loss: str, learning_rate: float) -> None:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=loss_fn(loss),
        metrics=[keras.metrics.RootMeanSquaredError(name="rmse")],
    )


def dataset(texts, targets, batch_size: int, shuffle_seed: int | None = None):
    ds = tf.data.Dataset.from_tensor_slices((as_strings(texts), targets))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(targets), seed=shuffle_seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size)


class ValidationAUC(keras.callbacks.Callback):
    """Adds `val_auc_micro`, the micro ROC-AUC on the validation tweets, to each epoch's logs.

    The goal metric, scored as `evaluate` scores the test split (a kind present when its
    fraction >= threshold). Early stopping can watch it: on the validation split it kept rising
    for 3-4 epochs after the validation loss had turned, while the model learned the kinds with
    a handful of training tweets (hurricane, ice), which the loss barely weighs.
    """

    def __init__(self, texts, k, threshold: float):
        super().__init__()
        present = np.asarray(k) >= threshold
        if present.all() or not present.any():
            raise ValueError(
                f"micro ROC-AUC is undefined on this validation split: {'every' if present.all() else 'no'} "
                f"(tweet, kind) pair has a fraction >= {threshold}; use more rows or monitor: val_loss"
            )
        self.texts, self.k, self.threshold = texts, k, threshold

    def on_epoch_end(self, epoch, logs=None):
        scores = predict(self.model, self.texts)
        logs["val_auc_micro"] = evaluation.text_metrics(self.k, scores, self.threshold)["roc_auc_micro"]


MONITOR_MODE = {"val_loss": "min", "val_auc_micro": "max"}


def fit(model: keras.Model, name: str, p: dict, train, val, threshold: float) -> list[float]:
    """Train on (texts, kind fractions) pairs with the targets `p["loss"]` needs, keeping the
    weights of the epoch with the best `p["monitor"]` on the validation split. Returns the
    learning rate of each epoch up to that best one: the schedule `refit` replays."""
    mode = MONITOR_MODE[p["monitor"]]
    # In this order: the learning-rate schedule, dvclive and early stopping all read
    # val_auc_micro, and dvclive logs the learning rate.
    callbacks = [
        ValidationAUC(*val, threshold),
        *(
            [keras.callbacks.ReduceLROnPlateau(p["monitor"], 0.5, p["lr_patience"], mode=mode, min_delta=0)]
            if p["lr_patience"]
            else []
        ),
        *training.callbacks(name, p["patience"], p["monitor"], mode),
    ]
    compile(model, p["loss"], p["learning_rate"])
    history = model.fit(
        dataset(train[0], tweets.targets(train[1], p["loss"]), p["batch_size"], p["seed"]),
        validation_data=dataset(val[0], tweets.targets(val[1], p["loss"]), p["batch_size"]),
        epochs=p["epochs"],
        callbacks=callbacks,
        shuffle=False,  # the dataset shuffles itself, seeded
        verbose=2,
    )
    # The model holds the weights of early stopping's best epoch, or of the last one without it.
    stopping = [c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)]
    kept = stopping[0].best_epoch + 1 if stopping else len(history.epoch)
    return history.history.get("learning_rate", [p["learning_rate"]] * kept)[:kept]


def refit(build, p: dict, train, val, learning_rates: list[float]) -> keras.Model:
    """A fresh model from `build(texts, p)`, trained on train and val together with the epochs
    and learning rates `fit` chose on val alone: the model then learns from the validation
    tweets too (1/7 more with the default split).
    On a split of the training tweets (bench/text_refit.py) this raised validation micro ROC-AUC."""
    texts, k = (np.concatenate(pair) for pair in zip(train, val))
    keras.utils.set_random_seed(p["seed"])
    model = build(texts, p)
    compile(model, p["loss"], learning_rates[0])
    model.fit(
        dataset(texts, tweets.targets(k, p["loss"]), p["batch_size"], p["seed"]),
        epochs=len(learning_rates),
        callbacks=[keras.callbacks.LearningRateScheduler(lambda epoch: learning_rates[epoch])],
        shuffle=False,
        verbose=2,
    )
    return model
