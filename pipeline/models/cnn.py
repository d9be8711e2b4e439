"""train_cnn: a deep convolutional classifier for 28x28 Fashion-MNIST images.

Architecture, and why (docs/models.md repeats this with the measured figures):
- Blocks of `convs_per_block` convolutions with `kernel_size` 3 (default), stride 1 and "same"
  padding. Two stacked 3x3 convolutions see a 5x5 window with fewer weights and one more
  non-linearity than a single 5x5 (the VGG argument); stride 1 with same padding keeps every
  pixel and the image border, which matters at 28x28 where a 1-pixel edge is 7% of the width.
- Each block ends in 2x2 max pooling, which halves the resolution (28 -> 14 -> 7 -> 3) while
  the filter count doubles (32 -> 64 -> 128 by default), so each block costs about the same to
  compute and the features grow more abstract as the field of view grows. Three blocks are as
  deep as 28 pixels allow: a fourth would pool 3x3 down to 1x1.
- Batch normalisation is a param, off by default: it adds about 15% to a float32 training step
  and 55% to a bfloat16 one, and the same CPU time spent on more epochs scored as high on the
  validation split (docs/tuning.md). Six convolutions deep, the
  network still trains stably without it at this learning rate (see its training curves).
- The width (32/64/128) and epochs are set by the budget of a 2-core AVX2 CPU (docs/tuning.md):
  convolutions are nearly all of the cost, and 48/96/192 costs 2-3x as much per epoch.
- Dropout after each block and before the classifier, decoupled weight decay (AdamW) and label
  smoothing regularise.
- Augmentation (random horizontal flip; translation, zoom and random erasing are params), active
  only in training: clothes are left-right symmetric and not always centred the same way.
- The classifier flattens the last 3x3 feature map (global average pooling would throw away
  where a feature is, and position separates e.g. sandals from sneakers), then one hidden Dense
  layer and a 10-way softmax.
- `precision` (train_cnn's param; `auto` by default, see pipeline.runtime): bfloat16 compute
  with float32 weights where the hardware has native bfloat16 units, float32 elsewhere; the
  softmax stays in float32 either way.
- The saved model averages the predictions for the image and its mirror image
  (`test_time_flip`), see `with_flip_averaging`.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from pipeline.models.layers import FlipLeftRight


def build(
    *,
    filters: list[int],
    convs_per_block: list[int],
    kernel_size: int,
    dense_units: int,
    dropout: float,
    batch_norm: bool,
    augment: dict,
) -> keras.Model:
    inputs = keras.Input((28, 28), name="image")
    x = layers.Reshape((28, 28, 1))(inputs)
    x = layers.Rescaling(1 / 255)(x)
    if augment["flip"]:
        x = layers.RandomFlip("horizontal")(x)
    if augment["translate"]:
        t = augment["translate"]
        x = layers.RandomTranslation(t, t, fill_mode="constant")(x)
    if augment["zoom"]:
        x = layers.RandomZoom(augment["zoom"], fill_mode="constant")(x)
    if augment["erase"]:
        # Random erasing (Zhong et al. 2017): a random rectangle of noise, with this probability.
        x = layers.RandomErasing(factor=(augment["erase"],) * 2, value_range=(0, 1))(x)
    for f, convs in zip(filters, convs_per_block, strict=True):
        for _ in range(convs):
            x = layers.Conv2D(f, kernel_size, padding="same", use_bias=not batch_norm)(x)
            if batch_norm:
                x = layers.BatchNormalization()(x)
            x = layers.ReLU()(x)
        x = layers.MaxPooling2D(2)(x)
        if dropout:
            x = layers.Dropout(dropout / 2)(x)
    x = layers.Flatten()(x)
    if dense_units:
        x = layers.Dense(dense_units, activation="relu")(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
    # float32 even under a mixed-precision policy: a softmax in bfloat16 loses small probabilities.
    outputs = layers.Dense(10, activation="softmax", name="probabilities", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="cnn")


def with_flip_averaging(trained: keras.Model) -> keras.Model:
    """The model to save: the mean of the trained network's probabilities for the image and its
    mirror image (test-time augmentation). Training already showed it mirrored images, so both
    views are in-distribution, and averaging two views cancels some of each view's errors."""
    inputs = keras.Input((28, 28), name="image")
    views = [trained(inputs), trained(FlipLeftRight()(inputs))]
    outputs = layers.Average(name="probabilities", dtype="float32")(views)
    return keras.Model(inputs, outputs, name="cnn_flip_averaged")


def compile(model: keras.Model, *, learning_rate: float, weight_decay: float, label_smoothing: float, steps: int):
    """AdamW with a cosine decay of the learning rate over all `steps` of training."""
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=max(steps, 1))
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=weight_decay),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
        metrics=["accuracy"],
    )


ARCHITECTURE = ("filters", "convs_per_block", "kernel_size", "dense_units", "dropout", "batch_norm", "augment")


def from_params(p: dict, n_train: int) -> keras.Model:
    """The compiled model a `train_cnn` params section describes, for `n_train` training images
    (shared by the stage and bench/cnn_choices.py). Set the precision policy first."""
    model = build(**{key: p[key] for key in ARCHITECTURE})
    compile(
        model,
        learning_rate=p["learning_rate"],
        weight_decay=p["weight_decay"],
        label_smoothing=p["label_smoothing"],
        steps=p["epochs"] * math.ceil(n_train / p["batch_size"]),
    )
    return model
