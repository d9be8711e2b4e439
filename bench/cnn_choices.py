"""Validation accuracy and CPU cost of train_cnn choices on the real prepared data (validation
split only; the test split is never read), to pick train_cnn's defaults.

    .venv/bin/python bench/cnn_choices.py precision=mixed_bfloat16 batch_norm=false epochs=20

Each argument overrides one key of params.yaml's train_cnn section (values parsed as YAML).
Prints per-epoch validation accuracy, the best and final, the final with flip test-time
augmentation, and wall and CPU seconds of the fit.
"""

import sys
import time
from pathlib import Path

import keras
import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipeline import fashion, runtime, training  # noqa: E402
from pipeline.models import cnn  # noqa: E402


def main() -> None:
    p = yaml.safe_load(open("params.yaml"))["train_cnn"]
    for arg in sys.argv[1:]:
        key, value = arg.split("=", 1)
        p[key] = yaml.safe_load(value)
    print(p, flush=True)
    runtime.start("cnn_choices", p.get("precision", "auto"))
    training.seed_everything(p.get("seed", 42))
    x_train, y_train = fashion.load("train")
    x_val, y_val = fashion.load("val")
    model = cnn.from_params(p, len(x_train))
    wall, cpu = time.perf_counter(), time.process_time()
    hist = model.fit(
        x_train, keras.utils.to_categorical(y_train, 10),
        validation_data=(x_val, keras.utils.to_categorical(y_val, 10)),
        epochs=p["epochs"], batch_size=p["batch_size"], verbose=2,
    )  # fmt: skip
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    probs = model.predict(x_val, batch_size=512, verbose=0)
    flipped = model.predict(x_val[:, :, ::-1], batch_size=512, verbose=0)
    if p.get("save"):  # validation probabilities, to score ensembles of runs afterwards
        np.save(p["save"], np.stack([probs, flipped]))
    acc = np.mean(probs.argmax(1) == y_val)
    tta = np.mean((probs + flipped).argmax(1) == y_val)
    best = max(hist.history["val_accuracy"])
    print(f"RESULT {sys.argv[1:]}: val accuracy final {acc:.4f} best {best:.4f} flip-TTA {tta:.4f}; "
          f"fit wall {wall:.0f} s, cpu {cpu:.0f} s, params {model.count_params()}", flush=True)


if __name__ == "__main__":
    main()
