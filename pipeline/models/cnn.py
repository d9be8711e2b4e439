"""train_cnn: a deep convolutional classifier for 28x28 Fashion-MNIST images.

Architecture, and why (README "The CNN" repeats this with the measured figures):
- Blocks of `convs_per_block` convolutions with `kernel_size` 3 (default), stride 1 and "same"
  padding. Two stacked 3x3 convolutions see a 5x5 window with fewer weights and one more
  non-linearity than a single 5x5 (the VGG argument); stride 1 with same padding keeps every
  pixel and the image border, which matters at 28x28 where a 1-pixel edge is 7% of the width.
- Each block ends in 2x2 max pooling, which halves the resolution (28 -> 14 -> 7 -> 3) while
  the filter count doubles (32 -> 64 -> 128), so each block costs about the same to compute
  and the features grow more abstract as the field of view grows. Three blocks are as deep as
  28 pixels allow: a fourth would pool 3x3 down to 1x1.
- Batch normalisation after each convolution (before ReLU) keeps training stable at a high
  learning rate; dropout after each block and before the classifier, decoupled weight decay
  (AdamW) and label smoothing regularise; the default has ~0.6 M weights for 54,000 images.
- Augmentation (random horizontal flip, small translations and zoom), active only in training:
  clothes are left-right symmetric and not always centred the same way.
- The classifier flattens the last 3x3 feature map (global average pooling would throw away
  where a feature is, and position separates e.g. sandals from sneakers), then one hidden Dense
  layer and a 10-way softmax.
"""

from __future__ import annotations

import keras
from keras import layers


def build(
    filters: list[int],
    convs_per_block: int = 2,
    kernel_size: int = 3,
    dense_units: int = 256,
    dropout: float = 0.3,
    batch_norm: bool = True,
    augment: dict | None = None,
) -> keras.Model:
    augment = augment or {}
    inputs = keras.Input((28, 28), name="image")
    x = layers.Reshape((28, 28, 1))(inputs)
    x = layers.Rescaling(1 / 255)(x)
    if augment.get("flip"):
        x = layers.RandomFlip("horizontal")(x)
    if augment.get("translate"):
        t = augment["translate"]
        x = layers.RandomTranslation(t, t, fill_mode="constant")(x)
    if augment.get("zoom"):
        x = layers.RandomZoom(augment["zoom"], fill_mode="constant")(x)
    for f in filters:
        for _ in range(convs_per_block):
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
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="cnn")


def compile(model: keras.Model, learning_rate: float, weight_decay: float, label_smoothing: float, steps: int):
    """AdamW with a cosine decay of the learning rate over all `steps` of training."""
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=max(steps, 1))
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=weight_decay),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
        metrics=["accuracy"],
    )
