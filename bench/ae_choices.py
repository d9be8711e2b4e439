"""Validation MSE of train_ae choices against PCA's with the same code size, on the real prepared
data (validation split only; the test split is never read), to pick train_ae's defaults.

    .venv/bin/python -m bench.ae_choices epochs=6 learning_rate=0.005

Each argument overrides one key of params.yaml's train_ae section (values parsed as YAML).
Prints the validation MSE of every epoch, the final one over PCA's (the ratio the goal sets on
the test split) and the wall and CPU seconds of the fit.
"""

import sys

from bench import stage_params, timed_fit
from pipeline import hardware, quiet_start


def main() -> None:
    quiet_start.tensorflow()
    from pipeline import fashion, image_evaluation, training
    from pipeline.models import autoencoder

    p = stage_params("train_ae", sys.argv[1:])
    hardware.start("ae_choices", distribute=p["distribute"])
    training.seed_everything(p["seed"])
    x_train, _ = fashion.load("train")
    x_val, _ = fashion.load("val")
    model = autoencoder.from_params(p, len(x_train))
    hist, wall, cpu = timed_fit(model, p, (x_train, fashion.scaled(x_train)), (x_val, fashion.scaled(x_val)))
    pca = image_evaluation.pca_baseline(x_train, x_val, p["code_size"], p["seed"])
    final = hist.history["val_loss"][-1]
    print(
        f"RESULT {sys.argv[1:]}: val MSE per epoch {[round(v, 6) for v in hist.history['val_loss']]}; "
        f"final {final:.6f}, PCA {pca:.6f}, ratio {final / pca:.4f}; fit wall {wall:.0f} s, cpu {cpu:.0f} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
