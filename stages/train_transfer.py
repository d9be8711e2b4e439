"""train_transfer: data/prepared/fashion + backbone weights -> data/models/transfer.keras.

The backbone is frozen, so its features are computed once per image and only the Dense head
is fitted on them; the saved model chains both, from 28x28 images to class probabilities.
"""

import stages.with_tensorflow  # noqa: F401  (first: TensorFlow starts quietly)

# isort: split

import numpy as np

from pipeline import batches, errors, fashion, flops, hardware, params, training
from pipeline.models import transfer


def main() -> None:
    p = params.load("train_transfer")
    strategy = hardware.start("train_transfer", distribute=p["distribute"])
    training.seed_everything(p["seed"])
    x_train, y_train = fashion.load("train")
    x_val, y_val = fashion.load("val")
    features = transfer.features_from_params(p)
    f_train = training.predict(features, x_train, "train_transfer: embedding the training images", 256)
    f_val = training.predict(features, x_val, "train_transfer: embedding the validation images", 256)
    if p["flip_augment"]:
        # Mirrored clothes are still the same class: twice the training features, one pass each.
        mirrored = training.predict(features, x_train[:, :, ::-1], "train_transfer: embedding mirrored images", 256)
        f_train = np.concatenate([f_train, mirrored])
        y_train = np.concatenate([y_train, y_train])
    with strategy.scope():
        head = transfer.head_from_params(p, f_train.shape[1])
    per_example = flops.training_step(head, f_train.shape[1:], target=((), "int64"))
    # The frozen backbone's passes are inference, counted apart from training.
    embedded = (len(f_train) + len(f_val)) * flops.forward(features, x_train.shape[1:])
    head.fit(
        batches.of_arrays(f_train, y_train, batch_size=p["batch_size"], shuffle_seed=p["seed"]),
        validation_data=batches.of_arrays(f_val, y_val, batch_size=p["batch_size"]),
        epochs=p["epochs"],
        callbacks=training.callbacks(
            "transfer",
            training.per_epoch(per_example, len(f_train)),
            p["patience"],
            monitor="val_accuracy",
            summary={"embedding_flops": float(embedded)},
        ),
        verbose=2,
        shuffle=False,  # the batches reshuffle themselves, seeded; Keras would only warn
    )
    training.save(transfer.combine(features, head), "transfer")


if __name__ == "__main__":
    errors.run_stage("train_transfer", main)
