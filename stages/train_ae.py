"""train_ae: data/prepared/fashion -> data/models/ae.keras, curves in metrics/train/ae/."""

import stages.with_tensorflow  # noqa: F401  (first: TensorFlow starts quietly)

# isort: split

from pipeline import batches, errors, fashion, flops, hardware, params, training
from pipeline.models import autoencoder


def main() -> None:
    p = params.load("train_ae")
    strategy = hardware.start("train_ae", distribute=p["distribute"])
    training.seed_everything(p["seed"])
    x_train, _ = fashion.load("train")
    x_val, _ = fashion.load("val")
    with strategy.scope():
        model = autoencoder.from_params(p, len(x_train))
        per_image = flops.training_step(model, x_train.shape[1:])
    model.fit(
        batches.of_arrays(x_train, fashion.scaled(x_train), batch_size=p["batch_size"], shuffle_seed=p["seed"]),
        validation_data=batches.of_arrays(x_val, fashion.scaled(x_val), batch_size=p["batch_size"]),
        epochs=p["epochs"],
        callbacks=training.callbacks("ae", training.per_epoch(per_image, len(x_train)), p["patience"]),
        verbose=2,
        shuffle=False,  # the batches reshuffle themselves, seeded; Keras would only warn
    )
    training.save(training.uncompiled(model), "ae")


if __name__ == "__main__":
    errors.run_stage("train_ae", main)
