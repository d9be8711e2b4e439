"""evaluate <model>: the trained model on the test split -> metrics/evaluate/<model>.json and
plots/evaluate/<model>/. One stage per model (a foreach in dvc.yaml), so retraining one model
re-evaluates that model alone. What is measured follows from what the model takes and gives:
tweets (raw strings), images to reconstructed images, or images to class probabilities."""

import sys

import numpy as np

from pipeline import evaluation as ev
from pipeline import fashion, files, flops, params, runtime, training, tweets
from pipeline.models import autoencoder, text


def evaluate_ae(name: str, model, p: dict) -> None:
    x_train, _ = fashion.load("train")
    x_test, _ = fashion.load("test")
    recon = training.predict(model, x_test, f"evaluate {name}: test images")
    mse = ev.r(np.mean((recon - autoencoder.scaled(x_test)) ** 2))
    size = autoencoder.code_size(model)
    pca = ev.pca_baseline(x_train, x_test, size, p["seed"])
    files.write_json(
        ev.METRICS / f"{name}.json",
        {
            "code_size": size,
            "test": {"mse": mse, "pca_mse": pca, "mse_vs_pca": ev.r(mse / pca)},
            "predict_flops": ev.r(flops.forward(model, x_test.shape[1:]) * len(x_test)),
        },
    )
    n = min(p["ae_examples"], len(x_test))
    ev.reconstructions_png(ev.PLOTS / name / "reconstructions.png", autoencoder.scaled(x_test[:n]), recon[:n])


def evaluate_classifier(name: str, model, p: dict) -> None:
    results, images = {}, 0
    for split in fashion.SPLITS:  # train and val too: the gap to test shows over-fitting
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
            files.write_json(ev.PLOTS / name / "confusion.json", ev.confusion_records(probs, y))
    # Every split's pass, as this stage computes it (test-time augmentation included).
    results["predict_flops"] = ev.r(flops.forward(model, x.shape[1:]) * images)
    files.write_json(ev.METRICS / f"{name}.json", results)


def evaluate_text(name: str, model, p: dict) -> None:
    texts, k = tweets.load_prepared("test")
    scores = text.predict(model, texts)
    ev.write_text_results(
        name, k, scores, p["roc_threshold"], {"predict_flops": ev.r(text.predict_flops(model, texts))}
    )


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise runtime.UserError("usage: python -m stages.evaluate MODEL (a name in data/models/, e.g. cnn)")
    name = argv[0]
    p = params.load("evaluate")
    model = training.load(training.model_path(name))
    if model.inputs[0].dtype == "string":
        evaluate_text(name, model, p)
    elif model.name == "autoencoder":
        evaluate_ae(name, model, p)
    else:
        evaluate_classifier(name, model, p)


if __name__ == "__main__":
    runtime.main("evaluate", lambda: main(sys.argv[1:]))
