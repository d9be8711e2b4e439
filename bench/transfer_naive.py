"""What computing the frozen backbone's features once saves: times one epoch of the naive fit
(images through the frozen backbone every step) against the features-once fit of train_transfer,
on the real prepared data, with the committed params.

    .venv/bin/python bench/transfer_naive.py      # after `dvc repro preprocess`
"""

import sys
import time
from pathlib import Path

import keras

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipeline import fashion, params  # noqa: E402
from pipeline.models import transfer  # noqa: E402


def main() -> None:
    p = params.load("train_transfer")
    x, y = fashion.load("train")
    features = transfer.build_features(
        p["backbone"], p["weights"], p["hub_handle"], p["preprocess"], p["input_size"], p["alpha"], p["pooling"]
    )
    start = time.perf_counter()
    f = features.predict(x, batch_size=256, verbose=0)
    embed = time.perf_counter() - start
    head = transfer.build_head(f.shape[1], p["l2"])
    head.compile(optimizer=keras.optimizers.Adam(p["learning_rate"]), loss="sparse_categorical_crossentropy")
    start = time.perf_counter()
    head.fit(f, y, epochs=p["epochs"], batch_size=p["batch_size"], verbose=0)
    heads = time.perf_counter() - start
    model = transfer.combine(features, transfer.build_head(f.shape[1], p["l2"]))
    model.compile(optimizer=keras.optimizers.Adam(p["learning_rate"]), loss="sparse_categorical_crossentropy")
    start = time.perf_counter()
    model.fit(x, y, epochs=1, batch_size=p["batch_size"], verbose=0)
    naive_epoch = time.perf_counter() - start
    print(f"{len(x)} training images, {p['epochs']} epochs, input {p['input_size']}x{p['input_size']}")
    print(f"features once: {embed:.0f} s embedding + {heads:.0f} s for all epochs of the Dense layer = {embed + heads:.0f} s")
    print(f"naive: {naive_epoch:.0f} s per epoch x {p['epochs']} epochs = {naive_epoch * p['epochs'] / 60:.0f} min")


if __name__ == "__main__":
    main()
