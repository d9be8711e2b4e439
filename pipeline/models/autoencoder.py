"""train_ae: a convolutional autoencoder for 28x28 images.

Encoder: per entry of `filters`, a 3x3 Conv2D (same padding, so only pooling changes the size)
then 2x2 MaxPooling: 28 -> 14 -> 7. A linear Dense layer named "code" squeezes the feature map
to `code_size` numbers; a linear bottleneck lets the code span the same kind of subspace PCA
finds, and the non-linear layers around it are what lets it do better than PCA.
Decoder: Dense back to the pooled feature map, then per level a 3x3 Conv2D followed by
UpSampling2D (nearest), back to 28x28, and a last 3x3 Conv2D to one channel that smooths the
blocky upsampled map; a sigmoid output matches pixel intensities scaled to [0, 1]. Convolving
before upsampling keeps the wide layers at the low resolutions: about 3x cheaper to train
than upsampling first, for the same depth.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from pipeline import training
from pipeline.muon import KernelMuon

OUTPUT = "pixels"  # the last convolution, to one channel

OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    # The output layer stays on Adam, as Muon's authors keep it.
    "muon": lambda learning_rate: KernelMuon(learning_rate, exclude_layers=[OUTPUT]),
}


def build(*, filters: list[int], code_size: int) -> keras.Model:
    if len(filters) > 2:
        raise ValueError("train_ae.filters: at most 2 levels (28 -> 14 -> 7 pools evenly)")
    inputs = keras.Input((28, 28), name="image")
    x = layers.Reshape((28, 28, 1))(inputs)
    x = layers.Rescaling(1 / 255)(x)
    for f in filters:
        x = layers.Conv2D(f, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    pooled = tuple(x.shape[1:])
    x = layers.Flatten()(x)
    code = layers.Dense(code_size, name="code")(x)
    x = layers.Dense(math.prod(pooled), activation="relu")(code)
    x = layers.Reshape(pooled)(x)
    for f in reversed(filters):
        x = layers.Conv2D(f, 3, padding="same", activation="relu")(x)
        x = layers.UpSampling2D(2)(x)
    x = layers.Conv2D(1, 3, padding="same", activation="sigmoid", name=OUTPUT)(x)
    outputs = layers.Reshape((28, 28), name="reconstruction")(x)
    return keras.Model(inputs, outputs, name="autoencoder")


def from_params(p: dict, n_train: int) -> keras.Model:
    """The compiled model a `train_ae` params section describes, for `n_train` training images
    (shared by the stage and bench/). `optimizer` (a key of OPTIMIZERS) with a cosine decay of
    the learning rate over all steps: on the validation split, 10 epochs of Adam so reached the
    loss 15 at a constant rate did."""
    model = build(filters=p["filters"], code_size=p["code_size"])
    steps = p["epochs"] * math.ceil(n_train / p["batch_size"])
    schedule = keras.optimizers.schedules.CosineDecay(p["learning_rate"], decay_steps=max(steps, 1))
    model.compile(
        optimizer=OPTIMIZERS[p["optimizer"]](schedule), loss="mse", steps_per_execution=training.steps_per_execution()
    )
    return model
