"""How fast this CPU runs each convolution of train_cnn's or train_ae's network, alone: forward,
and forward + backward as training runs it, in multiply-adds per second. It tells whether a
step's time follows its FLOPs (every layer near the CPU's peak: only fewer FLOPs make it cheaper)
or whether some layer shape runs far below the others (a cheaper shape for the same FLOPs).

    .venv/bin/python -m bench.conv_rates cnn [KEY=VALUE ...]
    ONEDNN_MAX_CPU_ISA=AVX2 .venv/bin/python -m bench.conv_rates cnn "filters=[32,64,128]"

KEY=VALUE overrides params.yaml's section as in bench.step_time. Each layer gets random inputs of
its shape at the section's batch size; rounds of CALLS calls, after a warm-up call, ROUNDS times,
and the fastest round is printed (the machine's speed when nothing slowed it).
"""

from __future__ import annotations

import sys
import time

from bench import stage_params
from pipeline import hardware, quiet_start

ROUNDS, CALLS = 5, 20


def convolutions(model) -> list:
    """The Conv2D layers of `model` and of the models nested in it, in the order they run (the
    walk pipeline.flops counts layers by)."""
    import keras

    from pipeline import flops

    return [layer for layer in flops._layers(model) if isinstance(layer, keras.layers.Conv2D)]


def multiply_adds(layer) -> int:
    """Multiply-adds of `layer` (a Conv2D) per example, forward."""
    _, h, w, c_out = layer.output.shape
    kh, kw, c_in, _ = layer.kernel.shape
    return h * w * kh * kw * c_in * c_out


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


def rates(layer, batch_size: int, input_gradient: bool) -> tuple[float, float]:
    """Seconds of `layer` forward, and forward + backward (the kernel's gradient, and the
    input's if `input_gradient`), on random inputs of a batch."""
    import tensorflow as tf

    x = tf.random.normal((batch_size, *layer.input.shape[1:]), dtype=layer.compute_dtype)

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
    if not argv or argv[0] not in ("cnn", "ae"):
        sys.exit("usage: python -m bench.conv_rates {cnn,ae} [KEY=VALUE ...]")
    section = f"train_{argv[0]}"
    p = stage_params(section, argv[1:])
    quiet_start.tensorflow()
    from pipeline.models import autoencoder, cnn

    hardware.start(f"conv_rates {section}", p.get("precision"))
    model = (cnn if argv[0] == "cnn" else autoencoder).from_params(p, 60_000)
    bs = p["batch_size"]
    seconds = flops = 0.0
    for i, layer in enumerate(convolutions(model)):
        # The first convolution reads the image, whose gradient training never computes.
        fwd, step = rates(layer, bs, input_gradient=i > 0)
        macs = multiply_adds(layer) * bs
        passes = 3 if i > 0 else 2
        shape = "x".join(str(d) for d in layer.input.shape[1:])
        print(
            f"{layer.name}: {shape} -> {layer.output.shape[-1]}, {macs / bs / 1e6:.2f} M multiply-adds per example; "
            f"forward {fwd * 1e3:.2f} ms ({2 * macs / fwd / 1e9:.0f} GFLOP/s), forward + backward "
            f"{step * 1e3:.2f} ms ({2 * passes * macs / step / 1e9:.0f} GFLOP/s)",
            flush=True,
        )
        seconds, flops = seconds + step, flops + 2 * passes * macs
    rate = flops / seconds / 1e9
    print(f"all convolutions, batch {bs}: forward + backward {seconds * 1e3:.1f} ms, {rate:.0f} GFLOP/s")


if __name__ == "__main__":
    main(sys.argv[1:])
