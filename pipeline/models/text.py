"""What the two tweet models share: the loss choice and their output layer.

`softmax`: one distribution over the 15 kinds, trained with cross-entropy on the renormalised
fractions (pipeline.tweets.softmax_targets). `sigmoid`: an independent probability per kind,
trained with binary cross-entropy on the fractions as given; suits tweets about several kinds.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from pipeline import training, tweets

N_KINDS = 15


def output_layer(loss: str) -> layers.Layer:
    return layers.Dense(N_KINDS, activation=loss, name="kinds")


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


def string_input() -> keras.KerasTensor:
    """Raw tweets, one string per row: the saved model needs none of our preprocessing."""
    return keras.Input(shape=(1,), dtype="string", name="tweet")


def as_strings(texts):
    """Tweets as a (N, 1) string tensor, the model's input. Raises on anything but text."""
    texts = np.asarray(texts, dtype=object).reshape(-1)
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise TypeError(f"tweet {bad[0]} is {type(texts[bad[0]]).__name__}, not text: {texts[bad[0]]!r}")
    return tf.constant(texts.astype(str).reshape(-1, 1))


def predict(model: keras.Model, texts, batch_size: int = 512):
    """Kind scores (N, 15) of a saved tweet model for raw tweet strings."""
    ds = tf.data.Dataset.from_tensor_slices(as_strings(texts)).batch(batch_size)
    return model.predict(ds, verbose=0)


def dataset(texts, targets, batch_size: int, shuffle_seed: int | None = None):
    ds = tf.data.Dataset.from_tensor_slices((as_strings(texts), targets))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(targets), seed=shuffle_seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size)


def fit(model: keras.Model, name: str, p: dict, train, val) -> None:
    """Train on (texts, kind fractions) pairs with the targets `p["loss"]` needs."""
    compile(model, p["loss"], p["learning_rate"])
    model.fit(
        dataset(train[0], tweets.targets(train[1], p["loss"]), p["batch_size"], p["seed"]),
        validation_data=dataset(val[0], tweets.targets(val[1], p["loss"]), p["batch_size"]),
        epochs=p["epochs"],
        callbacks=training.callbacks(name, p["patience"]),
        shuffle=False,  # the dataset shuffles itself, seeded
        verbose=2,
    )
