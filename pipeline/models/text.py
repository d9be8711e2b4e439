"""What the two tweet models share: raw strings in, the loss choice and their output layer.

`softmax`: one distribution over the 15 kinds, trained with cross-entropy on the renormalised
fractions (pipeline.tweets.softmax_targets). `sigmoid`: an independent probability per kind,
trained with binary cross-entropy on the fractions as given; suits tweets about several kinds.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from pipeline import batches, flops

N_KINDS = 15


def output_layer(loss: str) -> layers.Layer:
    return layers.Dense(N_KINDS, activation=loss, name="kinds")


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


def batched(texts, batch_size: int) -> tf.data.Dataset:
    """`texts` in order, `batch_size` tweets a batch, as the models read them: what `predict`
    feeds a model and what `predict_flops` counts."""
    return batches.untuned(tf.data.Dataset.from_tensor_slices(as_strings(texts)).batch(batch_size))


def predict(model: keras.Model, texts, batch_size: int = 512):
    """Kind scores (N, 15) of a saved tweet model for raw tweet strings."""
    return model.predict(batched(texts, batch_size), verbose=0)


def split(model: keras.Model) -> tuple[keras.layers.Layer, keras.Model]:
    """(the layer that turns the model's strings into ids, the rest of the model from those ids)."""
    readers = [layer for layer in model.layers[1:] if layer.input is model.inputs[0]]
    if len(readers) != 1:
        raise ValueError(f"{model.name}: {len(readers)} layers read the tweet strings; expected one, the ids layer")
    vectorize = readers[0]
    return vectorize, keras.Model(vectorize.output, model.output, name=f"{model.name}_from_ids")


def averaged(models: list[keras.Model], name: str) -> keras.Model:
    """One model of raw tweets to the mean of `models`' kind scores, each model whole inside it
    (renamed `name`_1, `name`_2, ...: Keras needs each layer's name once)."""
    inputs = string_input()
    scores = [keras.Model(m.inputs[0], m.outputs[0], name=f"{name}_{i}")(inputs) for i, m in enumerate(models, start=1)]
    return keras.Model(inputs, layers.Average(name="kinds")(scores), name=name)


def leaves(model: keras.Model) -> list[keras.Model]:
    """The tweet models that compute `model`'s scores: itself, or those inside it (an ensemble's
    members, an averaged model's fits), however deeply nested."""
    inner = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return [leaf for m in inner for leaf in leaves(m)] if inner else [model]


def predict_flops(model: keras.Model, texts, batch_size: int = 512) -> float:
    """FLOPs of `pipeline.models.text.predict(model, texts, batch_size)`: the forward pass of
    each model `leaves` finds, at each batch's padded length."""
    total = 0.0
    for member in leaves(model):
        vectorize, core = split(member)
        a, b = flops.per_length(core, tuple(vectorize.output.shape[1:]), vectorize.output.dtype, training=False)
        for batch in batched(texts, batch_size):
            ids = vectorize(batch)
            total += ids.shape[0] * (a + b * ids.shape[1])
    return total
