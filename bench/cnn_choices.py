"""Validation accuracy and CPU cost of train_cnn choices on the real prepared data (validation
split only; the test split is never read), to pick train_cnn's defaults.

    .venv/bin/python -m bench.cnn_choices precision=mixed_bfloat16 batch_norm=false epochs=20
    .venv/bin/python -m bench.cnn_choices --train-images 48600

Each argument overrides one key of params.yaml's train_cnn section (values parsed as YAML).
`--train-images N` trains on the first N images of the (shuffled) training split: how accuracy
grows with the images, e.g. what training on train + val (`with_val`) would bring.
Prints per-epoch validation accuracy, the best and final, the final with flip test-time
augmentation, and wall and CPU seconds of the fit.
"""

import sys

from bench import stage_params, timed_fit
from pipeline import hardware, quiet_start


def main() -> None:
    quiet_start.tensorflow()
    import keras
    import numpy as np

    from pipeline import batches, fashion, flops, training
    from pipeline.models import cnn

    args = sys.argv[1:]
    keep = None
    if args[:1] == ["--train-images"]:
        if len(args) < 2 or not args[1].isdigit() or int(args[1]) < 1:
            raise SystemExit("--train-images: expected a positive number of images, e.g. --train-images 48600")
        keep, args = int(args[1]), args[2:]
    p = stage_params("train_cnn", args)
    print(p, flush=True)
    hardware.start("cnn_choices", p["precision"], p["distribute"])
    training.seed_everything(p["seed"])
    x_train, y_train = fashion.load("train")
    x_train, y_train = x_train[:keep], y_train[:keep]
    x_val, y_val = fashion.load("val")
    model = cnn.from_params(p, len(x_train))
    hist, wall, cpu = timed_fit(
        model,
        p,
        (x_train, keras.utils.to_categorical(y_train, 10)),
        (x_val, keras.utils.to_categorical(y_val, 10)),
    )
    per_example = flops.training_step(model, x_train.shape[1:])

    def scores(x):
        # As the stages predict (pipeline/batches.py): no autotuner to wait for after each pass.
        return model.predict(batches.of_arrays(x, batch_size=512), verbose=0)

    probs = scores(x_val)
    flipped = scores(x_val[:, :, ::-1])
    acc = np.mean(probs.argmax(1) == y_val)
    tta = np.mean((probs + flipped).argmax(1) == y_val)
    # Both views again, each shifted by one pixel in each of the four directions.
    shifted = probs + flipped
    for axis, step in ((1, 1), (1, -1), (2, 1), (2, -1)):
        moved = np.roll(x_val, step, axis=axis)
        edge = [slice(None)] * 3
        edge[axis] = 0 if step == 1 else -1
        moved[tuple(edge)] = 0
        shifted = shifted + scores(moved)
        shifted = shifted + scores(moved[:, :, ::-1])
    tta10 = np.mean(shifted.argmax(1) == y_val)
    best = max(hist.history["val_accuracy"])
    print(
        f"RESULT {sys.argv[1:]}: val accuracy final {acc:.4f} best {best:.4f} flip-TTA {tta:.4f} "
        f"flip+shift-TTA {tta10:.4f}; "
        f"train FLOPs {per_example * len(x_train) * len(hist.epoch):.3g} ({per_example / 1e6:.1f} M per image); "
        f"fit wall {wall:.0f} s, cpu {cpu:.0f} s, params {model.count_params()}",
        flush=True,
    )


if __name__ == "__main__":
    main()
