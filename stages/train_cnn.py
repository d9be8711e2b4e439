"""train_cnn: data/prepared/fashion -> data/models/cnn.keras, curves in metrics/train/cnn/.

With `with_val` the network learns from the train and validation splits together, for the
epochs of its one-cycle schedule: the recipe was chosen on the validation split beforehand
(bench/cnn_choices.py trains on the train split alone), and the schedule has nothing left to
choose on it. The curves then have training figures only."""

import stages.with_tensorflow  # noqa: F401  (first: TensorFlow starts quietly)

# isort: split

import keras
import numpy as np

from pipeline import batches, errors, fashion, flops, hardware, params, training
from pipeline.models import cnn


def main() -> None:
    p = params.load("train_cnn")
    strategy = hardware.start("train_cnn", p["precision"], p["distribute"])
    training.seed_everything(p["seed"])
    x_train, y_train = fashion.load("train")
    x_val, y_val = fashion.load("val")
    if p["with_val"]:
        x_train, y_train = np.concatenate([x_train, x_val]), np.concatenate([y_train, y_val])
        validation = None
    else:
        validation = batches.of_arrays(x_val, keras.utils.to_categorical(y_val, 10), batch_size=p["batch_size"])
    with strategy.scope():
        model = cnn.from_params(p, len(x_train))
        per_image = flops.training_step(model, x_train.shape[1:])
    model.fit(
        batches.of_arrays(
            x_train, keras.utils.to_categorical(y_train, 10), batch_size=p["batch_size"], shuffle_seed=p["seed"]
        ),
        validation_data=validation,
        epochs=p["epochs"],
        callbacks=training.callbacks("cnn", training.per_epoch(per_image, len(x_train))),
        verbose=2,
        shuffle=False,  # the batches reshuffle themselves, seeded; Keras would only warn
    )
    training.save(cnn.for_saving(model, p["test_time_flip"]), "cnn")


if __name__ == "__main__":
    errors.run_stage("train_cnn", main)
