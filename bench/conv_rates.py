"""How fast this CPU runs each convolution of train_cnn's, train_ae's or train_charcnn's network,
alone: forward, and forward + backward as training runs it, in FLOPs per second. It tells
whether a step's time follows its FLOPs (every layer near the CPU's peak: only fewer FLOPs make
it cheaper) or whether some layer shape runs far below the others (a cheaper shape for the same
FLOPs).

    .venv/bin/python -m bench.conv_rates cnn [KEY=VALUE ...]
    ONEDNN_MAX_CPU_ISA=AVX2 .venv/bin/python -m bench.conv_rates cnn "filters=[32,64,128]"
    .venv/bin/python -m bench.conv_rates charcnn

KEY=VALUE overrides params.yaml's section as in bench.step_time. Each layer gets random inputs of
its shape at the section's batch size; rounds of CALLS calls, after a warm-up call, ROUNDS times,
and the fastest round is printed (the machine's speed when nothing slowed it). The char CNN's
batches are as long as their longest tweet: its layers get the mean of that length over an
epoch of the stage's random batches of the training tweets (data/prepared/tweets).
"""

from __future__ import annotations

import math
import sys
import time

from bench import stage_params
from pipeline import hardware, quiet_start

ROUNDS, CALLS = 5, 20


def convolutions(model) -> list:
    """The Conv1D and Conv2D layers of `model` and of the models nested in it, in the order they
    run (the walk pipeline.flops counts layers by)."""
    import keras

    from pipeline import flops

    kinds = (keras.layers.Conv1D, keras.layers.Conv2D)
    return [layer for layer in flops._layers(model) if isinstance(layer, kinds)]


def multiply_adds(layer, input_shape: tuple) -> int:
    """Multiply-adds of `layer` (a Conv1D or Conv2D) per example of `input_shape` (no batch axis),
    forward: each output position's window (kernel size x input channels) times each filter."""
    *positions, filters = layer.compute_output_shape((1, *input_shape))[1:]
    return math.prod(positions) * math.prod(layer.kernel.shape[:-1]) * filters


def mean_batch_length(texts, batch_size: int, sequence_length: int, seed: int) -> int:
    """The mean, over one epoch of random batches of `texts`, of a batch's longest tweet in
    characters (at most `sequence_length`): the length the char CNN's convolutions run at."""
    import numpy as np

    lengths = np.minimum([len(t) for t in texts], sequence_length)
    order = np.random.default_rng(seed).permutation(len(lengths))
    longest = [lengths[order[i : i + batch_size]].max() for i in range(0, len(order), batch_size)]
    return round(float(np.mean(longest)))


def timed(fn, x) -> float:
    """Seconds per call of `fn(x)`, fastest of ROUNDS rounds."""
    fn(x)
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(CALLS):
            out = fn(x)
        for tensor in out if isinstance(out, list) else [out]:
            tensor.numpy()  # waits for the last call to finish
        best = min(best, (time.perf_counter() - start) / CALLS)
    return best


def rates(layer, batch_size: int, input_gradient: bool, input_shape: tuple) -> tuple[float, float]:
    """Seconds of `layer` forward, and forward + backward (the kernel's gradient, and the
    input's if `input_gradient`), on random inputs of a batch of `input_shape`."""
    import tensorflow as tf

    x = tf.random.normal((batch_size, *input_shape), dtype=layer.compute_dtype)

    @tf.function
    def forward(x):
        return layer(x)

    @tf.function
    def forward_backward(x):
        sources = [layer.kernel.value, x] if input_gradient else [layer.kernel.value]
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.cast(layer(x), "float32") ** 2)
        return tape.gradient(loss, sources)

    return timed(forward, x), timed(forward_backward, x)


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in ("cnn", "ae", "charcnn"):
        sys.exit("usage: python -m bench.conv_rates {cnn,ae,charcnn} [KEY=VALUE ...]")
    section = f"train_{argv[0]}"
    p = stage_params(section, argv[1:])
    quiet_start.tensorflow()
    from pipeline.models import autoencoder, charcnn, cnn

    hardware.start(f"conv_rates {section}", p.get("precision"))
    bs = p["batch_size"]
    length = None  # the char CNN's: its layers' inputs have no fixed length
    if argv[0] == "charcnn":
        from pipeline import tweets

        texts, _ = tweets.load_prepared("train")
        model = charcnn.from_params(texts, p)
        length = mean_batch_length(texts, bs, p["sequence_length"], p["seed"])
        print(f"char CNN batches of {bs}: {length} characters on average (the longest tweet of each)")
    else:
        model = (cnn if argv[0] == "cnn" else autoencoder).from_params(p, 60_000)
    seconds = flops = 0.0
    for i, layer in enumerate(convolutions(model)):
        shape = tuple(layer.input.shape[1:]) if length is None else (length, *layer.input.shape[2:])
        # The first image convolution reads the image, whose gradient training never computes;
        # the char CNN's read the character embeddings, which training updates.
        input_gradient = i > 0 or length is not None
        fwd, step = rates(layer, bs, input_gradient, shape)
        macs = multiply_adds(layer, shape) * bs
        passes = 3 if input_gradient else 2
        print(
            f"{layer.name}: {'x'.join(map(str, shape))} -> {layer.filters}, "
            f"{macs / bs / 1e6:.2f} M multiply-adds per example; forward {fwd * 1e3:.2f} ms "
            f"({2 * macs / fwd / 1e9:.0f} GFLOP/s), forward + backward {step * 1e3:.2f} ms "
            f"({2 * passes * macs / step / 1e9:.0f} GFLOP/s)",
            flush=True,
        )
        seconds, flops = seconds + step, flops + 2 * passes * macs
    rate = flops / seconds / 1e9
    print(f"all convolutions, batch {bs}: forward + backward {seconds * 1e3:.1f} ms, {rate:.0f} GFLOP/s")


if __name__ == "__main__":
    main(sys.argv[1:])
