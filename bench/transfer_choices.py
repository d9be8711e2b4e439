"""Validation accuracy of the transfer model's choices (pooling, mirrored training copies, L2),
on the real data, to pick train_transfer's defaults. Uses the validation split only.

    .venv/bin/python bench/transfer_choices.py [INPUT_SIZE] [POOLING ...]    # e.g. 128 grid2 avg
"""

import os
import sys
from pathlib import Path

import keras
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipeline import fashion, idx  # noqa: E402
from pipeline.models import transfer  # noqa: E402

MIRROR = Path(os.environ.get("DATA_MIRROR", Path(__file__).resolve().parents[2] / "shared" / "data"))


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 128
    poolings = sys.argv[2:] or ["grid2", "avg"]
    raw = MIRROR / "fashion-mnist"
    x, y = idx.read_images_labels(raw / "train-images-idx3-ubyte.gz", raw / "train-labels-idx1-ubyte.gz")
    x_train, x_val, y_train, y_val = fashion.split_train_val(x, y, 0.1, 42)
    weights = str(MIRROR / "weights" / "mobilenet_2_5_224_tf_no_top.h5")
    for pooling in poolings:
        features = transfer.build_features("MobileNet", weights, "", "tf", size, 0.25, pooling)
        f_train = features.predict(x_train, batch_size=256, verbose=0)
        f_val = features.predict(x_val, batch_size=256, verbose=0)
        f_flip = features.predict(x_train[:, :, ::-1], batch_size=256, verbose=0)
        for flip in (False, True):
            for l2 in (0.0, 1e-4):
                keras.utils.set_random_seed(0)
                head = transfer.build_head(f_train.shape[1], l2)
                head.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
                xs = np.concatenate([f_train, f_flip]) if flip else f_train
                ys = np.concatenate([y_train, y_train]) if flip else y_train
                hist = head.fit(xs, ys, batch_size=256, epochs=30, validation_data=(f_val, y_val), verbose=0)
                print(f"input {size} pooling {pooling} features {f_train.shape[1]} flip {flip} l2 {l2}: "
                      f"best val accuracy {max(hist.history['val_accuracy']):.4f}", flush=True)


if __name__ == "__main__":
    main()
