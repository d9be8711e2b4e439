"""Two train_cnn recipes that are more than a params override, tried on the validation split and
not kept (docs/tuning.md, "A whitened stem and progressive resizing for the CNN"):

    .venv/bin/python -m bench.cnn_trials whiten [KEY=VALUE ...]
    .venv/bin/python -m bench.cnn_trials low-res EPOCHS SIZE [KEY=VALUE ...]

- `whiten`: airbench's frozen patch-whitening first layer. The stem (18 filters of 3x3) is set to
  the eigenvectors of the training images' 3x3 patch second moments, each scaled by 1 / sqrt(its
  eigenvalue + 5e-4), with both signs (9 x 2 filters: both halves of each direction pass the
  ReLU), and frozen: the network starts from decorrelated inputs instead of learning its first
  layer.
- `low-res EPOCHS SIZE`: progressive resizing. The first EPOCHS epochs see every image resized to
  SIZE x SIZE (bilinear, antialiased) by the same layers, then the rest at 28 x 28, on one
  one-cycle schedule. Only sizes that pool down to the same map as 28 keep the flattened head's
  weights (24 to 29 with three blocks).

KEY=VALUE overrides params.yaml's train_cnn section as in bench.cnn_choices; both train on the
training split and score val, with and without flip averaging, and print the training FLOPs
counted from the graphs they trained.
"""

from __future__ import annotations

import sys
import time

from bench import stage_params
from pipeline import hardware, quiet_start

USAGE = "usage: python -m bench.cnn_trials whiten [KEY=VALUE ...] | low-res EPOCHS SIZE [KEY=VALUE ...]"
WHITEN_EPS = 5e-4  # airbench's


def whitening_kernel(images, size: int = 3, eps: float = WHITEN_EPS):
    """A (size, size, 1, 2 * size**2) convolution kernel whose first size**2 filters map the
    `images`' size x size patches ("same" zero padding, as the stem convolves) to uncorrelated
    outputs of unit second moment (up to eps), the rest their negatives."""
    import numpy as np

    x = np.asarray(images, "float64")
    half = size // 2
    padded = np.pad(x, ((0, 0), (half, size - 1 - half), (half, size - 1 - half)))
    h, w = x.shape[1:]
    patches = np.stack([padded[:, i : i + h, j : j + w] for i in range(size) for j in range(size)], -1)
    patches = patches.reshape(-1, size * size)
    values, vectors = np.linalg.eigh(patches.T @ patches / len(patches))
    scaled = vectors / np.sqrt(values + eps)
    return np.concatenate([scaled, -scaled], 1).reshape(size, size, 1, 2 * size * size).astype("float32")


def check_size(size: int, blocks: int) -> None:
    """Refuses a size whose last map, after `blocks` poolings by 2, differs from 28's: the
    flattened head's weights would not fit it."""
    if size // 2**blocks != 28 // 2**blocks:
        raise SystemExit(
            f"low-res: SIZE {size} pools to a {size // 2**blocks} x {size // 2**blocks} map, 28 to "
            f"{28 // 2**blocks} x {28 // 2**blocks}; the flattened head needs the same (24 to 29 with three blocks)"
        )


def at_resolution(model, size: int, blocks: int):
    """`model` (train_cnn's network of `blocks` pooling blocks) behind a resize of its 28 x 28
    input to size x size: the same layers, so the same weights, applied in order (the network is
    a chain). check_size's sizes only."""
    import keras

    check_size(size, blocks)
    inputs = keras.Input(model.input_shape[1:])
    x = model.layers[1](inputs)  # the reshape to one channel
    x = keras.layers.Resizing(size, size, interpolation="bilinear", antialias=True)(x)
    for layer in model.layers[2:]:
        x = layer(x)
    return keras.Model(inputs, x, name=f"{model.name}_at_{size}")


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in ("whiten", "low-res") or (argv[0] == "low-res" and len(argv) < 3):
        raise SystemExit(USAGE)
    trial, argv = argv[0], argv[1:]
    low_epochs = size = 0
    if trial == "low-res":
        if not (argv[0].isdigit() and argv[1].isdigit()):
            raise SystemExit(f"low-res: EPOCHS and SIZE must be whole numbers, got {argv[0]!r} {argv[1]!r}; {USAGE}")
        low_epochs, size, argv = int(argv[0]), int(argv[1]), argv[2:]
    p = stage_params("train_cnn", (["stem_filters=18"] if trial == "whiten" else []) + argv)
    if low_epochs:
        check_size(size, len(p["filters"]))
    if low_epochs >= p["epochs"]:
        raise SystemExit(f"low-res: EPOCHS {low_epochs} leaves none of the {p['epochs']} epochs at 28 x 28")
    quiet_start.tensorflow()
    import keras
    import numpy as np

    from pipeline import fashion, flops, training
    from pipeline.models import cnn

    print(trial, low_epochs or "", size or "", p, flush=True)
    hardware.start("cnn_trials", p["precision"], p["distribute"])
    training.seed_everything(p["seed"])
    x_train, y_train = fashion.load("train")
    x_val, y_val = fashion.load("val")
    model = cnn.from_params(p, len(x_train))
    targets = (keras.utils.to_categorical(y_train, 10), keras.utils.to_categorical(y_val, 10))

    def compile_like_model(net) -> None:
        # model's own optimizer: one one-cycle schedule runs on across the fits that share it.
        net.compile(
            model.optimizer, model.loss, metrics=["accuracy"], steps_per_execution=training.steps_per_execution()
        )

    def fit(net, **epochs) -> None:
        net.fit(
            x_train, targets[0], validation_data=(x_val, targets[1]), batch_size=p["batch_size"], verbose=2, **epochs
        )

    if trial == "whiten":
        stem = next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
        # As the network's Rescaling layer scales its input.
        scaled = (x_train[:5000].astype("float32") / 255 - 0.286) / 0.353
        stem.kernel.assign(whitening_kernel(scaled).astype(stem.kernel.dtype))
        stem.trainable = False
        compile_like_model(model)  # again: Keras fixes the trainable weights when it compiles
    wall = time.perf_counter()
    train_flops = 0.0
    if low_epochs:
        small = at_resolution(model, size, len(p["filters"]))
        compile_like_model(small)
        fit(small, epochs=low_epochs)
        train_flops += flops.training_step(small, x_train.shape[1:]) * len(x_train) * low_epochs
    fit(model, initial_epoch=low_epochs, epochs=p["epochs"])
    wall = time.perf_counter() - wall
    train_flops += flops.training_step(model, x_train.shape[1:]) * len(x_train) * (p["epochs"] - low_epochs)
    probs = model.predict(x_val, batch_size=512, verbose=0)
    averaged = cnn.with_flip_averaging(model).predict(x_val, batch_size=512, verbose=0)  # as the stage saves it
    print(
        f"RESULT {trial} {low_epochs or ''} {size or ''} {argv}: val accuracy final "
        f"{np.mean(probs.argmax(1) == y_val):.4f} flip-TTA {np.mean(averaged.argmax(1) == y_val):.4f}; "
        f"train FLOPs {train_flops:.3g}; fit wall {wall:.0f} s",
        flush=True,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
