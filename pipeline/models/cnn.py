"""train_cnn: a deep convolutional classifier for 28x28 Fashion-MNIST images.

The recipe is chosen as a whole for accuracy per training FLOP on the validation split
(bench/cnn_choices.py; docs/tuning.md has every row, docs/models.md the figures). Each trick is
named where it is used:

- A stem convolution (`stem_filters`, 3x3) at full resolution, then one block per entry of
  `filters`. Stride 1 with "same" padding keeps every pixel and the image border, which matters
  at 28x28 where a 1-pixel edge is 7% of the width.
- Pooling first (`pool_first`, airbench's block): each block's first convolution widens the
  features, 2x2 max pooling halves the resolution right after it, and the block's remaining
  convolutions run at the halved resolution, a quarter of the positions. The VGG order
  (`pool_first: false`: every convolution of a block at full resolution, pooling last) costs
  about twice as much for the same widths.
- Batch normalisation after the pooling (`batch_norm`), without a learned scale (airbench: the
  next convolution can scale), then the `activation`: it lets a high learning rate train a
  six-convolution network in a few epochs. TensorFlow's fused kernel computes it
  (`FusedBatchNormalization`): Keras 3's layer is a chain of element-wise passes over each map.
- The widths double as the resolution halves (28 -> 14 -> 7 -> 3), so each block costs about
  the same; convolutions are nearly all of the arithmetic.
- The head (`head`): the last 3x3 map flattened, so the classifier knows where a feature is
  (position separates e.g. sandals from sneakers), or global max pooling (whether it occurs
  anywhere); then the 10-way classifier, whose logits are scaled down (`logit_scale`,
  airbench's 1/9) so the softmax does not saturate early in training; `dense_units` adds a
  hidden Dense layer before it.
- Augmentation, in training only: random horizontal flip (clothes are left-right symmetric) and
  random translation by whole pixels (`augment.translate`, as a fraction of the width; nearest
  neighbour, so no blur), zoom and random erasing as params.
- Label smoothing, decoupled weight decay, and a one-cycle learning rate (linear warm-up over
  `warmup` of the steps, then cosine decay to 0; Smith's super-convergence) with Nesterov SGD,
  AdamW, or Muon for the convolution kernels and Nesterov SGD for the rest (`optimizer: muon`,
  airbench94_muon's split; pipeline.muon.ConvMuon): the kernels' updates orthogonalised,
  at their own peak rate `muon_learning_rate` on the same schedule.
- `precision` (train_cnn's param; `auto` by default, see pipeline.hardware): bfloat16 compute
  with float32 weights where the hardware has native bfloat16 units, float32 elsewhere; the
  softmax stays in float32 either way.
- The saved model averages the predictions for the image and its mirror image
  (`test_time_flip`), see `with_flip_averaging`.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from pipeline import params, training
from pipeline.models.layers import FlipLeftRight, FusedBatchNormalization
from pipeline.muon import ConvMuon

# Fashion-MNIST's pixel mean and standard deviation, of intensities scaled to [0, 1].
PIXEL_MEAN, PIXEL_STD = 0.286, 0.353


def build(
    *,
    stem_filters: int,
    filters: list[int],
    convs_per_block: list[int],
    pool_first: bool,
    kernel_size: int,
    activation: str,
    batch_norm: bool,
    head: str,
    dense_units: int,
    dropout: float,
    logit_scale: float,
    augment: dict,
) -> keras.Model:
    inputs = keras.Input((28, 28), name="image")
    x = layers.Reshape((28, 28, 1))(inputs)
    # Zero-centred inputs of unit variance for the first layer.
    x = layers.Rescaling(1 / (255 * PIXEL_STD), offset=-PIXEL_MEAN / PIXEL_STD)(x)
    if augment["flip"]:
        x = layers.RandomFlip("horizontal")(x)
    if augment["translate"]:
        t = augment["translate"]
        x = layers.RandomTranslation(t, t, fill_mode="constant", interpolation="nearest")(x)
    if augment["zoom"]:
        x = layers.RandomZoom(augment["zoom"], fill_mode="constant")(x)
    if augment["erase"]:
        # Random erasing (Zhong et al. 2017): a random rectangle of noise, with this probability.
        x = layers.RandomErasing(factor=(augment["erase"],) * 2, value_range=(-1, 1))(x)

    def conv_norm_act(x, width):
        x = layers.Conv2D(width, kernel_size, padding="same", use_bias=not batch_norm)(x)
        return norm_act(x)

    def norm_act(x):
        if batch_norm:
            x = FusedBatchNormalization(scale=False, momentum=0.9)(x)
        return layers.Activation(activation)(x)

    if stem_filters:
        x = conv_norm_act(x, stem_filters)
    for width, convs in zip(filters, convs_per_block, strict=True):
        if pool_first:
            x = layers.Conv2D(width, kernel_size, padding="same", use_bias=not batch_norm)(x)
            x = norm_act(layers.MaxPooling2D(2)(x))
            for _ in range(convs - 1):
                x = conv_norm_act(x, width)
        else:
            for _ in range(convs):
                x = conv_norm_act(x, width)
            x = layers.MaxPooling2D(2)(x)
        if dropout:
            x = layers.Dropout(dropout / 2)(x)
    x = layers.Flatten()(x) if head == "flatten" else layers.GlobalMaxPooling2D()(x)
    if dense_units:
        x = layers.Dense(dense_units, activation="relu")(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
    x = layers.Dense(10, use_bias=False, name="logits")(x)
    if logit_scale != 1:
        x = layers.Rescaling(logit_scale)(x)
    # float32 even under a mixed-precision policy: a softmax in bfloat16 loses small probabilities.
    outputs = layers.Activation("softmax", name="probabilities", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="cnn")


def for_saving(trained: keras.Model, test_time_flip: bool) -> keras.Model:
    """The model `train_cnn` saves: the trained layers without their optimizer
    (training.uncompiled), averaged with the mirror view when `test_time_flip` (see
    with_flip_averaging)."""
    network = training.uncompiled(trained)
    return with_flip_averaging(network) if test_time_flip else network


def with_flip_averaging(trained: keras.Model) -> keras.Model:
    """The mean of the trained network's probabilities for the image and its
    mirror image (test-time augmentation). Training already showed it mirrored images, so both
    views are in-distribution, and averaging two views cancels some of each view's errors."""
    inputs = keras.Input((28, 28), name="image")
    views = [trained(inputs), trained(FlipLeftRight()(inputs))]
    outputs = layers.Average(name="probabilities", dtype="float32")(views)
    return keras.Model(inputs, outputs, name="cnn_flip_averaged")


def compile_model(
    model: keras.Model,
    *,
    optimizer: str,
    learning_rate: float,
    warmup: float,
    weight_decay: float,
    label_smoothing: float,
    steps: int,
    muon_learning_rate: float,
) -> None:
    """training.one_cycle's learning rate with Nesterov SGD (momentum 0.9), AdamW, or ConvMuon
    (the kernels at `muon_learning_rate` where the rest have `learning_rate`, on the same
    schedule), each with decoupled weight decay."""
    schedule = training.one_cycle(learning_rate, warmup, steps)
    if optimizer == "sgd":
        opt = keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True, weight_decay=weight_decay)
    elif optimizer == "muon":
        opt = ConvMuon(schedule, kernel_scale=muon_learning_rate / learning_rate, weight_decay=weight_decay)
    else:
        opt = keras.optimizers.AdamW(schedule, weight_decay=weight_decay)
    model.compile(
        optimizer=opt,
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
        metrics=["accuracy"],
        steps_per_execution=training.steps_per_execution(),
    )


def from_params(p: dict, n_train: int) -> keras.Model:
    """The compiled model a `train_cnn` params section describes, for `n_train` training images
    (shared by the stage and bench/cnn_choices.py). Set the precision policy first."""
    model = build(**params.keywords(build, p))
    compile_model(
        model,
        optimizer=p["optimizer"],
        learning_rate=p["learning_rate"],
        warmup=p["warmup"],
        weight_decay=p["weight_decay"],
        label_smoothing=p["label_smoothing"],
        muon_learning_rate=p["muon_learning_rate"],
        steps=p["epochs"] * math.ceil(n_train / p["batch_size"]),
    )
    return model
