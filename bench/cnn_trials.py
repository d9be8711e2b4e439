"""train_cnn recipes that are more than a params override, tried on the validation split and
not kept (docs/tuning.md, "A whitened stem and progressive resizing for the CNN" and "Alternating
flips, identity initialisation and an average of the weights"):

    .venv/bin/python -m bench.cnn_trials whiten [KEY=VALUE ...]
    .venv/bin/python -m bench.cnn_trials low-res EPOCHS SIZE [KEY=VALUE ...]
    .venv/bin/python -m bench.cnn_trials alt-flip [KEY=VALUE ...]
    .venv/bin/python -m bench.cnn_trials dirac [KEY=VALUE ...]
    .venv/bin/python -m bench.cnn_trials ema MOMENTUM [KEY=VALUE ...]

- `whiten`: airbench's frozen patch-whitening first layer. The stem (18 filters of 3x3) is set to
  the eigenvectors of the training images' 3x3 patch second moments, each scaled by 1 / sqrt(its
  eigenvalue + 5e-4), with both signs (9 x 2 filters: both halves of each direction pass the
  ReLU), and frozen: the network starts from decorrelated inputs instead of learning its first
  layer.
- `low-res EPOCHS SIZE`: progressive resizing. The first EPOCHS epochs see every image resized to
  SIZE x SIZE (bilinear, antialiased) by the same layers, then the rest at 28 x 28, on one
  one-cycle schedule. Only sizes that pool down to the same map as 28 keep the flattened head's
  weights (24 to 29 with three blocks).
- `alt-flip`: airbench's derandomised flip. A random half of the images is mirrored in the first
  epoch, and every image is shown the other way round in each epoch after it, so consecutive
  epochs never repeat a view (`AlternatingFlips`; the network's own random flip is off).
- `dirac`: airbench's partial identity initialisation. Every block convolution starts with its
  first `in` filters as the identity on its `in` input channels (`identity_init`), the rest as
  Keras initialises them: the network starts close to a shallower one.
- `ema MOMENTUM`: the weights the model keeps are an exponential moving average of the trained
  ones (Keras's `use_ema`, updated every step with this momentum).

KEY=VALUE overrides params.yaml's train_cnn section as in bench.cnn_choices; each trial trains on
the training split and scores val, with and without flip averaging, and print the training FLOPs
counted from the graphs they trained.
"""

from __future__ import annotations

import sys
import time

from bench import stage_params
from pipeline import hardware, quiet_start

USAGE = (
    "usage: python -m bench.cnn_trials whiten | low-res EPOCHS SIZE | alt-flip | dirac | ema MOMENTUM [KEY=VALUE ...]"
)
TRIALS = ("whiten", "low-res", "alt-flip", "dirac", "ema")
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


def flipped_views(images, first_flips, epoch: int):
    """The `images` as alternating flips show them in `epoch` (from 0): those marked in
    `first_flips` mirrored in even epochs, the others in odd ones."""
    import numpy as np

    views = np.array(images)
    mirror = np.asarray(first_flips, bool) ^ bool(epoch % 2)
    views[mirror] = views[mirror][:, :, ::-1]
    return views


def identity_init(model, stem: bool) -> int:
    """Sets the first `in` filters of each Conv2D of the blocks (after the first, with `stem`)
    whose `in` input channels are at most its filters to the identity on those channels (a 1 at
    the kernel's centre), as airbench does; returns how many convolutions it set."""
    import keras
    import numpy as np

    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)][int(stem) :]
    done = 0
    for conv in convs:
        kernel = np.array(conv.kernel)
        k_h, k_w, n_in, n_out = kernel.shape
        if n_in > n_out:
            continue
        kernel[:, :, :, :n_in] = 0
        kernel[k_h // 2, k_w // 2, np.arange(n_in), np.arange(n_in)] = 1
        conv.kernel.assign(kernel)
        done += 1
    return done


def parse(argv: list[str]) -> tuple[str, int, int, float, list[str]]:
    """(trial, low-res epochs, low-res size, EMA momentum, the KEY=VALUE overrides), or SystemExit
    with the usage."""
    if (
        not argv
        or argv[0] not in TRIALS
        or (argv[0] == "low-res" and len(argv) < 3)
        or (argv[0] == "ema" and len(argv) < 2)
    ):
        raise SystemExit(USAGE)
    trial, argv = argv[0], argv[1:]
    low_epochs = size = 0
    momentum = 0.0
    if trial == "low-res":
        if not (argv[0].isdigit() and argv[1].isdigit()):
            raise SystemExit(f"low-res: EPOCHS and SIZE must be whole numbers, got {argv[0]!r} {argv[1]!r}; {USAGE}")
        low_epochs, size, argv = int(argv[0]), int(argv[1]), argv[2:]
    if trial == "ema":
        try:
            momentum = float(argv[0])
        except ValueError:
            momentum = -1.0
        if not 0 < momentum < 1:
            raise SystemExit(f"ema: MOMENTUM must be a number between 0 and 1, e.g. 0.99, got {argv[0]!r}")
        argv = argv[1:]
    return trial, low_epochs, size, momentum, argv


def main(argv: list[str]) -> None:
    trial, low_epochs, size, momentum, argv = parse(argv)
    fixed = {"whiten": ["stem_filters=18"], "alt-flip": ["augment.flip=false"]}.get(trial, [])
    p = stage_params("train_cnn", fixed + argv)
    if low_epochs:
        check_size(size, len(p["filters"]))
    if trial == "alt-flip" and p["augment"]["flip"]:
        raise SystemExit("alt-flip: flips the images itself; leave out augment.flip=true (the network's random flip)")
    if low_epochs >= p["epochs"]:
        raise SystemExit(f"low-res: EPOCHS {low_epochs} leaves none of the {p['epochs']} epochs at 28 x 28")
    quiet_start.tensorflow()
    import keras
    import numpy as np

    from pipeline import batches, fashion, flops, training
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

    class AlternatingFlips(keras.utils.PyDataset):
        """The training split in batches, shuffled each epoch, through flipped_views."""

        def __init__(self, seed: int):
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.first_flips = self.rng.random(len(x_train)) < 0.5
            self.epoch, self.order = 0, self.rng.permutation(len(x_train))

        def __len__(self) -> int:
            return -(-len(x_train) // p["batch_size"])

        def on_epoch_end(self) -> None:
            self.epoch, self.order = self.epoch + 1, self.rng.permutation(len(x_train))

        def __getitem__(self, i: int):
            rows = self.order[i * p["batch_size"] : (i + 1) * p["batch_size"]]
            return flipped_views(x_train[rows], self.first_flips[rows], self.epoch), targets[0][rows]

    def fit(net, **epochs) -> None:
        if trial == "alt-flip":
            data = {"x": AlternatingFlips(p["seed"])}
        else:
            # As the stage: a new order each epoch, no autotuning (pipeline/batches.py).
            data = {"x": batches.of_arrays(x_train, targets[0], batch_size=p["batch_size"], shuffle_seed=p["seed"])}
        validation = batches.of_arrays(x_val, targets[1], batch_size=p["batch_size"])
        # Both kinds of batches order themselves; Keras's shuffle would only warn.
        net.fit(**data, validation_data=validation, verbose=2, shuffle=False, **epochs)

    if trial == "whiten":
        stem = next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
        # As the network's Rescaling layer scales its input.
        scaled = (x_train[:5000].astype("float32") / 255 - cnn.PIXEL_MEAN) / cnn.PIXEL_STD
        stem.kernel.assign(whitening_kernel(scaled).astype(stem.kernel.dtype))
        stem.trainable = False
        compile_like_model(model)  # again: Keras fixes the trainable weights when it compiles
    if trial == "dirac":
        print("identity-initialised convolutions:", identity_init(model, bool(p["stem_filters"])), flush=True)
    if trial == "ema":
        # Before the first step builds the optimizer, which then makes the average's variables.
        model.optimizer.use_ema, model.optimizer.ema_momentum = True, momentum
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
    # As the stages predict (pipeline/batches.py): no autotuner to wait for after each pass.
    val_images = batches.of_arrays(x_val, batch_size=512)
    probs = model.predict(val_images, verbose=0)
    # As the stage saves it: the image and its mirror averaged.
    averaged = cnn.with_flip_averaging(model).predict(val_images, verbose=0)
    print(
        f"RESULT {trial} {low_epochs or ''} {size or ''} {momentum or ''} {argv}: val accuracy final "
        f"{np.mean(probs.argmax(1) == y_val):.4f} flip-TTA {np.mean(averaged.argmax(1) == y_val):.4f}; "
        f"train FLOPs {train_flops:.3g}; fit wall {wall:.0f} s",
        flush=True,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
