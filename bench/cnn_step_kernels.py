"""The CNN's training step as train_cnn runs it, against the two things that make it cheaper
without changing what it computes: Keras 3's own BatchNormalization in place of the fused
kernels (pipeline.models.layers.FusedBatchNormalization), and one step per call of Keras's step
function in place of training.STEPS_PER_EXECUTION.

    ONEDNN_MAX_CPU_ISA=AVX2 .venv/bin/python -m bench.cnn_step_kernels [KEY=VALUE ...]

KEY=VALUE overrides train_cnn's params as in bench.step_time, whose rounds (`step_time.rounds`)
this shares: rounds of 32 batches (a multiple of the steps per call) of the real training split,
after one warm-up round each, variant after variant, so every variant goes through the same
minutes of a noisy host; each prints its fastest and median round.
"""

from __future__ import annotations

import functools
import sys

from bench import stage_params, step_time
from pipeline import hardware, quiet_start

STEPS = 32


def main(argv: list[str]) -> None:
    p = stage_params("train_cnn", argv)
    quiet_start.tensorflow()
    import keras

    from pipeline import fashion, training
    from pipeline.models import cnn

    hardware.start("cnn_step_kernels", p["precision"], p["distribute"])
    policy = keras.mixed_precision.global_policy().name
    training.seed_everything(p["seed"])
    x_all, y_all = fashion.load("train")
    bs = p["batch_size"]
    x, y = x_all[: bs * STEPS], keras.utils.to_categorical(y_all[: bs * STEPS], 10)
    fused = cnn.FusedBatchNormalization
    variants = {
        "Keras BatchNormalization, 1 step per call": (keras.layers.BatchNormalization, 1),
        "fused batch norm, 1 step per call": (fused, 1),
        f"fused batch norm, {training.STEPS_PER_EXECUTION} steps per call (train_cnn)": (
            fused,
            training.STEPS_PER_EXECUTION,
        ),
    }
    fits = {}
    try:
        for name, (norm, steps) in variants.items():
            cnn.FusedBatchNormalization = norm  # what cnn.build calls for each batch norm
            model = cnn.from_params(p, len(x_all))
            model.compile(optimizer=model.optimizer, loss=model.loss, metrics=["accuracy"], steps_per_execution=steps)
            fits[name] = functools.partial(model.fit, x, y, batch_size=bs, epochs=1, verbose=0)
        times = dict(zip(fits, step_time.rounds(list(fits.values()), STEPS), strict=True))
    finally:
        cnn.FusedBatchNormalization = fused
    for name, spent in times.items():
        print(step_time.summary(f"train_cnn, {name} [{policy}]", spent, bs, len(x_all)))


if __name__ == "__main__":
    main(sys.argv[1:])
