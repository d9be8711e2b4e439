"""evaluate <model>: the trained model on the test split -> metrics/evaluate/<model>.json and
plots/evaluate/<model>/. One stage per model (a foreach in dvc.yaml), so retraining one model
re-evaluates that model alone."""

import sys

import numpy as np

from pipeline import evaluation as ev
from pipeline import fashion, params, training, tweets
from pipeline.models import autoencoder, text


def evaluate_ae(p: dict) -> None:
    model = training.load(training.model_path("ae"))
    x_train, _ = fashion.load("train")
    x_test, _ = fashion.load("test")
    recon = training.predict(model, x_test, "evaluate ae: test images")
    mse = ev.r(np.mean((recon - autoencoder.scaled(x_test)) ** 2))
    size = autoencoder.code_size(model)
    pca = ev.pca_baseline(x_train, x_test, size, p["seed"])
    ev.write_json(
        ev.METRICS / "ae.json",
        {"code_size": size, "test": {"mse": mse, "pca_mse": pca, "mse_vs_pca": ev.r(mse / pca)}},
    )
    n = min(p["ae_examples"], len(x_test))
    ev.reconstructions_png(ev.PLOTS / "ae" / "reconstructions.png", autoencoder.scaled(x_test[:n]), recon[:n])


def evaluate_classifier(name: str) -> None:
    model = training.load(training.model_path(name))
    results = {}
    for split in fashion.SPLITS:  # train and val too: the gap to test shows over-fitting
        x, y = fashion.load(split)
        probs = training.predict(model, x, f"evaluate {name}: {split} images")
        results[split] = ev.classification(probs, y)
        if split == "test":
            results[split]["per_class_accuracy"] = ev.per_class_accuracy(probs, y)
            ev.write_json(ev.PLOTS / name / "confusion.json", ev.confusion_records(probs, y))
    ev.write_json(ev.METRICS / f"{name}.json", results)


def evaluate_text(name: str, p: dict) -> None:
    model = training.load(training.model_path(name))
    texts, k = tweets.load_prepared("test")
    scores = text.predict(model, texts)
    ev.write_text_results(name, k, scores, p["roc_threshold"])


def main(name: str) -> None:
    p = params.load("evaluate")
    if name == "ae":
        evaluate_ae(p)
    elif name in ("cnn", "transfer"):
        evaluate_classifier(name)
    elif name in ("rnn", "charcnn"):
        evaluate_text(name, p)
    else:
        sys.exit(f"evaluate: unknown model {name!r}; expected ae, cnn, transfer, rnn or charcnn")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) == 2 else "")
