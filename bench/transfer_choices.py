"""Validation accuracy of a train_transfer configuration on the real prepared data (validation
split only; the test split is never read), to pick train_transfer's defaults.

    .venv/bin/python -m bench.transfer_choices pooling=avg
    .venv/bin/python -m bench.transfer_choices input_size=96 flip_augment=true l2=0

Each argument overrides one key of params.yaml's train_transfer section (values parsed as YAML).
Trains the head as the stage does (early stopping on validation accuracy included) and prints
the best validation accuracy and the time of the embedding pass and of the fit.
"""

import sys
import time

from bench import stage_params
from pipeline import hardware, quiet_start


def main() -> None:
    p = stage_params("train_transfer", sys.argv[1:])
    quiet_start.tensorflow()
    import numpy as np

    from pipeline import batches, fashion, training
    from pipeline.models import transfer

    hardware.start("transfer_choices")
    training.seed_everything(p["seed"])
    x_train, y_train = fashion.load("train")
    x_val, y_val = fashion.load("val")
    start = time.perf_counter()
    features = transfer.features_from_params(p)
    f_train = training.predict(features, x_train, "embedding the training images", 256)
    f_val = training.predict(features, x_val, "embedding the validation images", 256)
    if p["flip_augment"]:
        mirrored = training.predict(features, x_train[:, :, ::-1], "embedding mirrored images", 256)
        f_train, y_train = np.concatenate([f_train, mirrored]), np.concatenate([y_train, y_train])
    embedded = time.perf_counter()
    head = transfer.head_from_params(p, f_train.shape[1])
    stopping = training.keras.callbacks.EarlyStopping("val_accuracy", patience=p["patience"] or p["epochs"])
    hist = head.fit(
        batches.of_arrays(f_train, y_train, batch_size=p["batch_size"], shuffle_seed=p["seed"]),
        validation_data=batches.of_arrays(f_val, y_val, batch_size=p["batch_size"]),
        epochs=p["epochs"],
        callbacks=[stopping],
        verbose=0,
        shuffle=False,  # the batches reshuffle themselves, seeded; Keras would only warn
    )
    print(
        f"RESULT {sys.argv[1:]}: best val accuracy {max(hist.history['val_accuracy']):.4f} "
        f"({len(hist.epoch)} epochs, {f_train.shape[1]} features); embedding {embedded - start:.0f} s, "
        f"fit {time.perf_counter() - embedded:.0f} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
