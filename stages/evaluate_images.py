"""evaluate_images <model>: an image model on the test split -> metrics/evaluate/<model>.json and
plots/evaluate/<model>/. One stage per model (a foreach in dvc.yaml), so retraining one model
re-evaluates that model alone. The autoencoder is scored on its reconstructions against PCA,
a classifier on its class probabilities (a sample of the train split too)."""

import stages.with_tensorflow  # noqa: F401  (first: TensorFlow starts quietly)

# isort: split

import sys

import numpy as np

from pipeline import errors, evaluation, fashion, files, flops, outputs, params, training
from pipeline import image_evaluation as ev


def evaluate_ae(name: str, model, p: dict) -> None:
    x_train, _ = fashion.load("train")
    x_test, _ = fashion.load("test")
    recon = training.predict(model, x_test, f"evaluate {name}: test images")
    mse = evaluation.r(np.mean((recon - fashion.scaled(x_test)) ** 2))
    size = ev.code_size(model)
    pca = ev.pca_baseline(x_train, x_test, size, p["seed"])
    files.write_json(
        evaluation.METRICS / f"{name}.json",
        {
            "code_size": size,
            "test": {"mse": mse, "pca_mse": pca, "mse_vs_pca": evaluation.r(mse / pca)},
            "predict_flops": evaluation.r(flops.forward(model, x_test.shape[1:]) * len(x_test)),
        },
    )
    n = min(p["ae_examples"], len(x_test))
    ev.reconstructions_png(evaluation.PLOTS / name / "reconstructions.png", fashion.scaled(x_test[:n]), recon[:n])


def evaluate_classifier(name: str, model, p: dict) -> None:
    results, images = {}, 0
    # Train too: the gap to test shows over-fitting. Not val: the CNN learns from it (`with_val`)
    # and the transfer model stops early on it, and either's validation figures per epoch are in
    # its training curves already (metrics/train/<model>/).
    for split in ("train", "test"):
        x, y = fashion.load(split)
        if split == "train" and 0 < p["train_images"] < len(x):
            # An estimate of the train figures (standard error ~0.002 at 10,000 images) at a
            # fraction of the cost of the whole split, which for the transfer model means
            # running the backbone over every training image again.
            keep = np.sort(np.random.default_rng(p["seed"]).permutation(len(x))[: p["train_images"]])
            x, y = x[keep], y[keep]
        probs = training.predict(model, x, f"evaluate {name}: {split} images")
        images += len(x)
        results[split] = ev.classification(probs, y)
        if split == "test":
            results[split]["per_class_accuracy"] = ev.per_class_accuracy(probs, y)
            files.write_json(evaluation.PLOTS / name / "confusion.json", ev.confusion_records(probs, y))
    # Every split's pass, as this stage computes it (test-time augmentation included).
    results["predict_flops"] = evaluation.r(flops.forward(model, x.shape[1:]) * images)
    files.write_json(evaluation.METRICS / f"{name}.json", results)


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise errors.UserError("usage: python -m stages.evaluate_images MODEL (ae, cnn or transfer)")
    name = argv[0]
    p = params.load("evaluate")
    model = training.load(outputs.model_path(name))
    kind = training.kind(model)
    if kind == "tweets":
        raise errors.UserError(f"{name} takes tweets: run `python -m stages.evaluate_tweets {name}`")
    (evaluate_ae if kind == "autoencoder" else evaluate_classifier)(name, model, p)


if __name__ == "__main__":
    errors.run_stage("evaluate_images", lambda: main(sys.argv[1:]))
