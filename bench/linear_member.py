"""Whether a linear n-gram model would be worth adding to the ensemble as a third member, before
building one inside Keras (the saved ensemble must take raw strings as one Keras model, so the
scikit-learn baseline itself cannot join it): baseline_text's TF-IDF + ridge, fitted on the
training split alone, scored on val, and the ensemble's weights chosen on val by ensemble.choose_weights,
with and without it. Reads the members' validation scores that `dvc repro
train_tweets` saved; the test split is never read.

    .venv/bin/python -m bench.linear_member

Weights and figures on the same validation tweets are optimistic for every row alike.
"""

import stages.with_tensorflow  # noqa: F401  (first: TensorFlow starts quietly)

# isort: split

import numpy as np

from pipeline import outputs, params, tweets
from pipeline.models import ensemble
from stages import baseline_text


def row(name: str, weights: dict, m: dict) -> str:
    shown = " / ".join(f"{member} {w:g}" for member, w in sorted(weights.items()))
    return f"| {name} | {shown} | {m['roc_auc_micro']:.5f} | {m['roc_auc_macro']:.4f} | {m['rmse']:.5f} |"


def main() -> None:
    threshold = params.load("evaluate")["roc_threshold"]
    p, members = params.load("baseline_text"), params.load("train_ensemble")["members"]
    (x_train, k_train), (x_val, k_val) = tweets.load_prepared("train"), tweets.load_prepared("val")
    model = baseline_text.fit(x_train, k_train, **params.keywords(baseline_text.fit, p))
    scores = {name: np.load(outputs.val_scores_path(name)) for name in members}
    scores["linear"] = baseline_text.predict(model, x_val)
    print("| ensemble on val | weights | micro ROC-AUC | macro | RMSE |")
    print("| --- | --- | ---: | ---: | ---: |")
    for name in scores:
        weights, figures = ensemble.choose_weights({name: scores[name]}, k_val, threshold, 1.0)
        print(row(f"{name} alone", weights, figures["ensemble"]))
    for names in (members, [*members, "linear"]):
        weights, figures = ensemble.choose_weights({n: scores[n] for n in names}, k_val, threshold)
        print(row(" + ".join(names), weights, figures["ensemble"]))


if __name__ == "__main__":
    main()
